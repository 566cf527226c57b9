"""One run: probe (I/O) into Facts, then evaluate every check (pure) into findings."""

from __future__ import annotations

import socket
import traceback
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from azure.core.credentials import TokenCredential

from netverify.azure.clouds import cloud
from netverify.checklib.catalog import LoadedCheck, load_checks
from netverify.config import Config
from netverify.facts import Facts, Read, ReadProblem, Workspace
from netverify.model import Evidence, Finding, Status, exit_code
from netverify.probes.arm import ArmReader
from netverify.probes.credentials import make_credential
from netverify.probes.discovery import discover, interleave_by_subscription
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


def agent_of(config: Config) -> Agent:
    return Agent(config.agent.name or socket.gethostname(), config.agent.vnet_id)


def collect_facts(config: Config, credential: TokenCredential) -> Facts:
    """Discover the workspaces in scope, then read each with what it links to, concurrently.

    One task per workspace reads it, its vault, registry, endpoints and their deployments in
    turn; tasks run side by side (interleaved across subscriptions, each subscription bounded),
    so a slow or failing subscription holds only its own tasks. Shared resources are read once.
    """
    reader = ArmReader(credential, cloud(config.cloud), config.arm)
    with ThreadPoolExecutor(config.arm.max_concurrency, thread_name_prefix="arm") as pool:
        workspace_ids, unlisted, discovery = discover(reader, config.scope, pool)
        ordered = interleave_by_subscription(workspace_ids)
        subscriptions = list({rid.split("/")[2].lower(): None for rid in ordered})
        workspace_tasks = [pool.submit(_probe_workspace, reader, rid) for rid in ordered]
        policy_tasks = [pool.submit(_probe_policies, reader, sub) for sub in subscriptions]
        workspaces = [task.result() for task in workspace_tasks]
        for task in policy_tasks:
            task.result()
        vaults = _of_kind(reader.reads(), "/providers/microsoft.keyvault/vaults/")
        dns = collect_dns_facts(config, reader, workspaces, vaults, pool)
    reads = reader.reads()
    return Facts(
        workspaces=(*unlisted, *workspaces),
        key_vaults=vaults,
        registries=_of_kind(reads, "/providers/microsoft.containerregistry/registries/"),
        online_endpoints=_lists(reads, "/onlineendpoints"),
        online_deployments=_lists(reads, "/deployments"),
        policy_assignments={
            key.split("/")[2]: read
            for key, read in _lists(
                reads, "/providers/microsoft.authorization/policyassignments"
            ).items()
        },
        policy_definitions=_of_kind(reads, "/providers/microsoft.authorization/policydefinitions/"),
        discovery=discovery,
        dns=dns,
    )


def _of_kind(reads: dict[str, Read[Any]], marker: str) -> dict[str, Read[Any]]:
    """The reads of one resource type, by lower-case id."""
    return {key: read for key, read in reads.items() if marker in key}


def _lists(reads: dict[str, Read[Any]], suffix: str) -> dict[str, Read[Any]]:
    """The list reads ending in ``suffix``, by the lower-case id of their parent."""
    return {key.removesuffix(suffix): read for key, read in reads.items() if key.endswith(suffix)}


def _probe_workspace(reader: ArmReader, workspace_id: str) -> Read[Workspace]:
    """The workspace and everything its own properties link to, read in turn."""
    read = reader.workspace(workspace_id)
    ws = read.value
    if ws is None:
        return read
    if ws.key_vault_id:
        reader.key_vault(ws.key_vault_id)
    if ws.container_registry_id:
        reader.registry(ws.container_registry_id)
    for endpoint in reader.online_endpoints(ws.id).value or ():
        reader.online_deployments(endpoint.id)
    return read


def _probe_policies(reader: ArmReader, subscription: str) -> None:
    """The subscription's policy assignments and the definitions they assign."""
    for assignment in reader.policy_assignments(subscription).value or ():
        if "/policydefinitions/" in assignment.policy_definition_id.lower():
            reader.policy_definition(assignment.policy_definition_id)


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
        agent=agent_of(config),
        cloud=config.cloud.value,
    )
    return RunResult(context, evaluate(checks or load_checks(), facts), facts)
