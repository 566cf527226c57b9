"""One run: probe (I/O) into Facts, then evaluate every check (pure) into findings."""

from __future__ import annotations

import socket
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from azure.core.credentials import TokenCredential

from netverify.azure.clouds import cloud
from netverify.checklib.catalog import LoadedCheck, load_checks, load_meta
from netverify.config import Config
from netverify.diagnose import diagnose
from netverify.facts import Facts, ProbeError, ReadProblem
from netverify.model import Agent, Evidence, Finding, RunContext, Status, exit_code
from netverify.probes.cancel import Cancel
from netverify.probes.collect import collect_facts
from netverify.probes.credentials import make_credential
from netverify.secret import redact


@dataclass(frozen=True, slots=True)
class RunResult:
    context: RunContext
    findings: tuple[Finding, ...]
    facts: Facts

    @property
    def exit_code(self) -> int:
        """As ``exit_code`` for findings, but 2 when no resource could be read for want of a token."""
        failures = [r.failure for r in self.facts.workspaces]
        if failures and all(
            f is not None and f.problem is ReadProblem.UNAUTHENTICATED for f in failures
        ):
            return 2
        return exit_code(self.findings)


def agent_of(config: Config) -> Agent:
    return Agent(config.agent.name or socket.gethostname(), config.agent.vnet_id)


# Probe errors carry their metadata as the agent's own checks do (agent/checks): not in the
# catalog, because no Azure facts are judged to make them.
PROBE_COMPLETED = load_meta(
    Path(__file__).parent / "probes" / "checks" / "netverify_probe_completed"
)


def probe_findings(facts: Facts) -> list[Finding]:
    """An error finding per probe error of the run (resource: the input; subject: the probe
    and where); none when every probe completed."""
    return [
        Finding(
            PROBE_COMPLETED,
            Status.ERROR,
            error.input,
            error.message,
            Evidence(_probe_evidence(error)),
            PROBE_COMPLETED.remediation(input=error.input),
            subject=" ".join(filter(None, (error.probe, error.where))),
        )
        for error in facts.all_probe_errors()
    ]


def _probe_evidence(error: ProbeError) -> dict[str, str]:
    observed = {"probe": error.probe, "input": error.input}
    if error.where:
        observed["where"] = error.where
    if error.exception:
        observed |= {"exception": error.exception, "at": error.at}
    return observed


def evaluate(checks: Sequence[LoadedCheck], facts: Facts) -> tuple[Finding, ...]:
    """Every check's findings, then one per probe error, diagnosed (each symptom names its root
    causes, ``netverify.diagnose``) and located (``Finding.region``: the region of its
    resource, ``Facts.regions``); a check that crashes becomes an error finding, never a lost
    run."""
    findings: list[Finding] = []
    for check in checks:
        try:
            findings.extend(check.module.evaluate(facts))
        except Exception as exc:
            where = traceback.extract_tb(exc.__traceback__)[-1]
            findings.append(
                Finding(
                    check.meta,
                    Status.ERROR,
                    "netverify",
                    redact(f"Check {check.meta.id} crashed: {type(exc).__name__}: {exc}"),
                    Evidence(
                        {"exception": type(exc).__name__, "at": f"{where.filename}:{where.lineno}"}
                    ),
                )
            )
    regions = facts.regions()
    return tuple(
        replace(f, region=regions.get(f.resource_id.lower()))
        for f in diagnose((*findings, *probe_findings(facts)))
    )


def run_once(
    config: Config,
    *,
    credential: TokenCredential | None = None,
    checks: Sequence[LoadedCheck] | None = None,
    cancel: Cancel | None = None,
    run_id: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> RunResult:
    """Probe and evaluate once. ``run_id`` (a new UUID if None) names the run in its findings
    and in every ARM request; ``cancel`` stops it (``RunCancelled``, see ``probes.cancel``);
    ``progress`` hears each step (``collect_facts``)."""
    started = datetime.now(UTC)
    run_id = run_id or str(uuid.uuid4())
    facts = collect_facts(
        config,
        credential or make_credential(config.credential, cloud(config.cloud)),
        cancel,
        run_id,
        progress,
    )
    context = RunContext(
        run_id=run_id,
        started_at=started,
        observed_at=datetime.now(UTC),
        agent=agent_of(config),
        cloud=config.cloud.value,
    )
    return RunResult(context, evaluate(checks or load_checks(), facts), facts)
