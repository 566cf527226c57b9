"""One run: probe (I/O) into Facts, then evaluate every check (pure) into findings."""

from __future__ import annotations

import socket
import traceback
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from azure.core.credentials import TokenCredential

from netverify.catalog import LoadedCheck, load_checks
from netverify.clouds import cloud
from netverify.config import Config
from netverify.credentials import make_credential
from netverify.facts import Facts, ReadProblem
from netverify.model import Evidence, Finding, Status, exit_code
from netverify.probes.arm import ArmReader
from netverify.probes.dns_scope import collect_dns_facts


@dataclass(frozen=True, slots=True)
class Agent:
    name: str
    vnet_id: str | None


@dataclass(frozen=True, slots=True)
class RunContext:
    run_id: str
    started_at: datetime
    observed_at: datetime
    agent: Agent
    cloud: str


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


def collect_facts(config: Config, credential: TokenCredential) -> Facts:
    reader = ArmReader(credential, cloud(config.cloud), config.arm)
    with ThreadPoolExecutor(config.arm.max_concurrency, thread_name_prefix="arm") as pool:
        workspaces = tuple(pool.map(reader.workspace, config.scope.workspaces))
        vault_ids = sorted(
            {
                w.value.key_vault_id.lower(): w.value.key_vault_id
                for w in workspaces
                if w.value is not None and w.value.key_vault_id
            }.values()
        )
        vaults = dict(
            zip((v.lower() for v in vault_ids), pool.map(reader.key_vault, vault_ids), strict=True)
        )
        dns = collect_dns_facts(config, reader, workspaces, vaults, pool)
    return Facts(workspaces=workspaces, key_vaults=vaults, dns=dns)


def evaluate(checks: Sequence[LoadedCheck], facts: Facts) -> tuple[Finding, ...]:
    """Every check's findings; a check that crashes becomes an error finding, never a lost run."""
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
                    f"Check {check.meta.id} crashed: {type(exc).__name__}: {exc}",
                    Evidence(
                        {"exception": type(exc).__name__, "at": f"{where.filename}:{where.lineno}"}
                    ),
                )
            )
    return tuple(findings)


def run_once(
    config: Config,
    *,
    credential: TokenCredential | None = None,
    checks: Sequence[LoadedCheck] | None = None,
) -> RunResult:
    started = datetime.now(UTC)
    facts = collect_facts(
        config, credential or make_credential(config.credential, cloud(config.cloud))
    )
    context = RunContext(
        run_id=str(uuid.uuid4()),
        started_at=started,
        observed_at=datetime.now(UTC),
        agent=Agent(config.agent.name or socket.gethostname(), config.agent.vnet_id),
        cloud=config.cloud.value,
    )
    return RunResult(context, evaluate(checks or load_checks(), facts), facts)
