"""Builds all of ``Facts``: discovery, the ARM reads, then the DNS and reachability probes."""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from azure.core.credentials import TokenCredential

from netverify.azure.arm_ids import subscription_of
from netverify.azure.clouds import cloud
from netverify.config import Config, ScopeConfig
from netverify.facts import (
    Discovery,
    DiscoveryMethod,
    DnsFacts,
    Facts,
    KeyVault,
    OnlineDeployment,
    OnlineEndpoint,
    PolicyAssignment,
    PolicyDefinition,
    ProbeError,
    Read,
    Registry,
    StorageAccount,
    Subscription,
    Workspace,
    outside_subscriptions,
)
from netverify.probes.arm import ArmReader
from netverify.probes.cancel import Cancel
from netverify.probes.discovery import discover, interleave_by_subscription, read_linked_in_bulk
from netverify.probes.dns_scope import Dependencies, collect_dns_facts
from netverify.probes.phases import PhaseClock, describe
from netverify.secret import redact

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(slots=True)
class _Reads:
    """What one run read, by the keys ``Facts`` uses (lower-case ids; lists by their parent)."""

    key_vaults: dict[str, Read[KeyVault]] = field(default_factory=dict)
    registries: dict[str, Read[Registry]] = field(default_factory=dict)
    hubs: dict[str, Read[Workspace]] = field(default_factory=dict)
    storage_accounts: dict[str, Read[StorageAccount]] = field(default_factory=dict)
    online_endpoints: dict[str, Read[tuple[OnlineEndpoint, ...]]] = field(default_factory=dict)
    online_deployments: dict[str, Read[tuple[OnlineDeployment, ...]]] = field(default_factory=dict)
    policy_assignments: dict[str, Read[tuple[PolicyAssignment, ...]]] = field(default_factory=dict)
    policy_definitions: dict[str, Read[PolicyDefinition]] = field(default_factory=dict)

    def merge(self, other: _Reads) -> None:
        for name in self.__slots__:
            getattr(self, name).update(getattr(other, name))


def collect_facts(
    config: Config,
    credential: TokenCredential,
    cancel: Cancel | None = None,
    run_id: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Facts:
    """Discover the workspaces in scope, then read each with what it links to, concurrently.

    A wider scope is found through Resource Graph, whose rows also read the workspaces found
    and (one more query per 200 ids) their vaults, registries and storage accounts
    (``arm.resource_graph_reads``; ``probes.discovery.read_linked_in_bulk``). Each workspace
    is then a small dependency graph (``_WorkspaceGraph``): the workspace, then its vault,
    registry, storage account and endpoint list side by side, each endpoint's deployments as
    soon as the list is read (what the bulk reads answered is not read again). Workspaces
    start interleaved across subscriptions, each subscription bounded, so a slow or failing
    subscription holds only its own reads. Shared resources are read once (the reader
    memoises by id); each graph returns the reads it made, so ``Facts`` is built from what
    the probes returned, not from the reader's cache.

    Raises ``RunCancelled`` once ``cancel`` is cancelled, after the reads in flight end (each
    within ``arm.timeout_seconds``) and without another request; ``run_id`` is the ARM
    correlation id of every request. ``progress`` gets a line of text per step (``reading
    12/40 workspaces``, then ``resolving names``), for people watching a long run.
    """
    say = progress or (lambda _: None)
    cancel = cancel or Cancel()
    clock = PhaseClock()
    reader = ArmReader(credential, cloud(config.cloud), config.arm, cancel=cancel, run_id=run_id)
    with ThreadPoolExecutor(config.arm.max_concurrency, thread_name_prefix="arm") as pool:
        # Which subscriptions the identity sees tells its own private endpoints from those Azure
        # manages for it in Microsoft's subscriptions (online-endpoint egress).
        visible_task = pool.submit(reader.subscriptions)
        if config.agent.vnet_id:  # needed by the DNS phase, known now: read at once (memoised)
            pool.submit(reader.virtual_network, config.agent.vnet_id)
        errors: list[ProbeError] = []
        bulk = config.arm.resource_graph_reads
        clock.next("discovery")
        try:
            workspace_ids, unlisted, discovery = discover(reader, config.scope, pool, bulk=bulk)
        except Exception as exc:  # the workspaces named in the scope are still read
            errors.append(crashed("discovery", _wider_scope(config.scope), exc))
            workspace_ids, unlisted = list(config.scope.workspaces), []
            discovery = Discovery(DiscoveryMethod.CONFIG)
        if bulk and discovery.method is DiscoveryMethod.RESOURCE_GRAPH:
            # Before the workspace tasks start, so they find these reads made or under way.
            clock.next("bulk reads")
            try:
                read_linked_in_bulk(reader, workspace_ids, pool)
            except Exception as exc:  # each workspace task reads what it links to from ARM
                errors.append(crashed("bulk reads", _wider_scope(config.scope), exc))
        ordered = interleave_by_subscription(workspace_ids)
        subscriptions = list({(subscription_of(rid) or "").lower(): None for rid in ordered})
        clock.next("workspace reads")  # they start as they are submitted
        workspace_tasks = [
            _WorkspaceGraph(reader, pool, rid, visible_task).result for rid in ordered
        ]
        policy_tasks = [pool.submit(_probe_policies, reader, sub) for sub in subscriptions]
        reads = _Reads()
        workspaces = []
        # Fault boundaries: a probe that raises on one input costs only what it would have
        # read; the error names the probe and the input, and the run goes on.
        for done, (rid, task) in enumerate(zip(ordered, workspace_tasks, strict=True)):
            say(f"reading {done}/{len(ordered)} workspaces")
            try:
                workspace, linked = task.result()
            except Exception as exc:
                errors.append(crashed("workspace", rid, exc))
                continue
            workspaces.append(workspace)
            reads.merge(linked)
        clock.next("policy reads")  # what is left of them: they ran beside the workspaces
        for sub, policy_task in zip(subscriptions, policy_tasks, strict=True):
            try:
                reads.merge(policy_task.result())
            except Exception as exc:
                errors.append(crashed("policies", f"/subscriptions/{sub}", exc))
        visible = visible_task.result()
        say(f"resolving the names of {len(workspaces)} workspaces")
        try:
            dns: DnsFacts | None = collect_dns_facts(
                config,
                reader,
                workspaces,
                Dependencies(reads.key_vaults, reads.registries, reads.storage_accounts),
                visible,
                pool,
                cancel,
                clock,
            )
        except Exception as exc:
            errors.append(crashed("dns", f"the names of {len(workspaces)} workspaces", exc))
            dns = None
    clock.end()
    phases = clock.phases()
    log.debug("run %s critical path: %s", run_id or "-", describe(phases))
    return Facts(
        workspaces=(*unlisted, *workspaces),
        key_vaults=reads.key_vaults,
        registries=reads.registries,
        hubs=reads.hubs,
        storage_accounts=reads.storage_accounts,
        online_endpoints=reads.online_endpoints,
        online_deployments=reads.online_deployments,
        policy_assignments=reads.policy_assignments,
        policy_definitions=reads.policy_definitions,
        discovery=discovery,
        dns=dns,
        subscriptions=visible,
        observed_at=datetime.now(UTC),
        transient_state_limit=timedelta(minutes=config.checks.transient_state_limit_minutes),
        probe_errors=tuple(errors),
        phases=phases,
    )


def _wider_scope(scope: ScopeConfig) -> str:
    """The scopes discovery lists, as the config names them: what a failed discovery was on."""
    group = [scope.management_group] if scope.management_group else []
    return ", ".join([*scope.resource_groups, *scope.subscriptions, *group])


def crashed(probe: str, input: str, exc: Exception) -> ProbeError:
    """The error a probe's unexpected exception on ``input`` becomes (secrets redacted)."""
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return ProbeError(
        probe,
        input,
        redact(
            f"The {probe} probe failed on {input}: {type(exc).__name__}: {exc}; what it would "
            "have read is not judged"
        ),
        exception=type(exc).__name__,
        at=f"{where.filename}:{where.lineno}",
    )


def _probe_workspace(
    reader: ArmReader, workspace_id: str
) -> tuple[Read[Workspace], Workspace | None, _Reads]:
    """The workspace and, for a hub-based project without private endpoints of its own, its
    hub: (the workspace's read, the workspace with the hub's vault, registry and storage where
    it names none, the hub's read in ``_Reads``). The graph's first step."""
    read = reader.workspace(workspace_id)
    linked = _Reads()
    ws = read.value
    if ws is not None and ws.hub_id and not ws.private_endpoint_connections:
        hub = linked.hubs[ws.hub_id.lower()] = reader.workspace(ws.hub_id)
        ws = ws.with_hub_dependencies(hub.value)
    return read, ws, linked


def _store(into: dict[str, Read[Any]], resource_id: str, read: Callable[[str], Read[T]]) -> Read[T]:
    """Read ``resource_id``, keep the read under its lower-case id and return it."""
    done = into[resource_id.lower()] = read(resource_id)
    return done


class _WorkspaceGraph:
    """One workspace's reads as a dependency graph: ``_probe_workspace`` first, then its Key
    Vault, registry, storage account and endpoint list side by side, and each endpoint's
    deployments as soon as the list is read.

    The private endpoints each of them connects are read as soon as it is (the DNS phase
    needs them and finds them read); those in subscriptions the identity cannot see
    (``visible``: Azure-managed ones) are not, as the DNS phase only notes them.

    Every step is a task on ``pool`` that submits the steps it makes possible and never waits
    for another task (``visible`` is submitted before any step, so it is running or done), so
    a pool full of steps cannot deadlock. ``result`` resolves to the
    workspace's read and every read made for it (in a fixed order, whatever order the reads
    ended in), or to the first exception a step raised: the workspace probe's fault boundary.
    """

    def __init__(
        self,
        reader: ArmReader,
        pool: Executor,
        workspace_id: str,
        visible: Future[Read[tuple[Subscription, ...]]],
    ) -> None:
        self.result: Future[tuple[Read[Workspace], _Reads]] = Future()
        self._reader = reader
        self._pool = pool
        self._visible = visible
        self._lock = threading.Lock()
        self._pending = 0
        self._failed = False
        self._read: Read[Workspace] | None = None
        self._linked = _Reads()
        self._endpoints: list[str] = []  # the endpoint ids, in the list's order
        self._submit(self._workspace, workspace_id)

    def _workspace(self, workspace_id: str) -> None:
        self._read, ws, self._linked = _probe_workspace(self._reader, workspace_id)
        if ws is None:
            return
        reader, linked = self._reader, self._linked
        for owner in (self._read.value, *(h.value for h in linked.hubs.values())):
            self._endpoints_of(owner)
        if ws.key_vault_id:
            self._submit(self._linked_read, linked.key_vaults, ws.key_vault_id, reader.key_vault)
        if ws.container_registry_id:
            registries = linked.registries
            self._submit(self._linked_read, registries, ws.container_registry_id, reader.registry)
        if ws.storage_account_id:
            accounts = linked.storage_accounts
            self._submit(self._linked_read, accounts, ws.storage_account_id, reader.storage_account)
        self._submit(self._online_endpoints, ws.id)

    def _linked_read(
        self,
        into: dict[str, Read[Any]],
        resource_id: str,
        read: Callable[[str], Read[KeyVault | Registry | StorageAccount]],
    ) -> None:
        self._endpoints_of(_store(into, resource_id, read).value)

    def _endpoints_of(self, owner: Workspace | KeyVault | Registry | StorageAccount | None) -> None:
        """Start the reads of the private endpoints ``owner`` (read or None) connects."""
        if owner is None:
            return
        visible = self._visible.result()
        for connection in owner.private_endpoint_connections:
            pe = connection.private_endpoint_id
            if pe and not outside_subscriptions(pe, visible):
                self._submit(self._reader.private_endpoint, pe)

    def _online_endpoints(self, workspace_id: str) -> None:
        endpoints = self._reader.online_endpoints(workspace_id)
        self._linked.online_endpoints[workspace_id.lower()] = endpoints
        self._endpoints = [e.id for e in endpoints.value or ()]
        for endpoint_id in self._endpoints:
            store = self._linked.online_deployments
            self._submit(_store, store, endpoint_id, self._reader.online_deployments)

    def _submit(self, step: Callable[..., object], *args: Any) -> None:
        with self._lock:
            self._pending += 1
        self._pool.submit(self._run, step, *args)

    def _run(self, step: Callable[..., object], *args: Any) -> None:
        try:
            step(*args)
        except BaseException as exc:  # RunCancelled too: whoever waits on the result sees it
            with self._lock:
                first, self._failed = not self._failed, True
            if first:
                self.result.set_exception(exc)
        finally:
            with self._lock:
                self._pending -= 1
                finished = self._pending == 0 and not self._failed
            if finished:
                self.result.set_result((self._finished_read(), self._ordered()))

    def _finished_read(self) -> Read[Workspace]:
        assert self._read is not None  # the first step set it, or failed
        return self._read

    def _ordered(self) -> _Reads:
        """The reads, the deployments in their endpoint list's order."""
        deployments = self._linked.online_deployments
        self._linked.online_deployments = {
            e.lower(): deployments[e.lower()] for e in self._endpoints if e.lower() in deployments
        }
        return self._linked


def _probe_policies(reader: ArmReader, subscription: str) -> _Reads:
    """The subscription's policy assignments and the definitions they assign."""
    linked = _Reads()
    assignments = linked.policy_assignments[subscription] = reader.policy_assignments(subscription)
    for assignment in assignments.value or ():
        definition_id = assignment.policy_definition_id
        if "/policydefinitions/" in definition_id.lower():
            read = reader.policy_definition(definition_id)
            linked.policy_definitions[definition_id.lower()] = read
    return linked
