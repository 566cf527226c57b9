"""Everything DNS for one run: what must resolve (ARM), what each resolver says, what answers.

The control plane that names what must resolve first (the agent's VNet, the workspaces' private
endpoints and online endpoints, each read once through ``ArmReader``); then the names resolve
(``probes.dns``) while the rest of the control plane (zones, VNets, DNS Private Resolvers) is read
beside them; then the reachability and scoring probes, which need the answers. Nothing here
judges.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from netverify.azure.arm_ids import subscription_of
from netverify.azure.clouds import cloud
from netverify.azure.dns_names import (
    expected_names,
    registry_names,
    storage_names,
    vault_names,
)
from netverify.azure.net import is_private
from netverify.config import Config
from netverify.facts import (
    APPROVED,
    DnsAnswer,
    DnsFacts,
    ExpectedName,
    KeyVault,
    NameNote,
    PrivateEndpoint,
    PrivateEndpointConnection,
    Read,
    Registry,
    StorageAccount,
    Subscription,
    VirtualNetwork,
    Workspace,
    connection_status,
    outside_subscriptions,
    rulesets_of,
)
from netverify.probes.arm import ArmReader
from netverify.probes.cancel import Cancel
from netverify.probes.discovery import find_private_dns_zones
from netverify.probes.dns import ask_rule_targets, build_resolvers, resolve_all_sync, rule_targets
from netverify.probes.phases import PhaseClock
from netverify.probes.reach import probe_all
from netverify.probes.scoring import names_to_resolve, probe_endpoints, scoring_requests


@dataclass(frozen=True, slots=True)
class Dependencies:
    """The workspaces' linked resources as read, by lower-case id: their names resolve too."""

    vaults: Mapping[str, Read[KeyVault]]
    registries: Mapping[str, Read[Registry]]
    storage_accounts: Mapping[str, Read[StorageAccount]]


T = TypeVar("T")


def collect_dns_facts(
    config: Config,
    reader: ArmReader,
    workspaces: Sequence[Read[Workspace]],
    dependencies: Dependencies,
    subscriptions: Read[tuple[Subscription, ...]] | None,
    pool: Executor,
    cancel: Cancel,
    clock: PhaseClock | None = None,
) -> DnsFacts:
    """What must resolve, what answers, and what the names reach; ``clock`` times the phases
    (private-endpoint reads, zone reads, name resolution, reachability, scoring path)."""
    clock = clock or PhaseClock()
    clock.next("private endpoint reads")
    vaults, registries = dependencies.vaults, dependencies.registries
    accounts = dependencies.storage_accounts
    names = cloud(config.cloud)
    vnet_id = config.agent.vnet_id
    agent_vnet = reader.virtual_network(vnet_id) if vnet_id else None
    readable = [w.value for w in workspaces if w.value is not None]
    # A hub-based project has no private endpoint of its own: it is reached through its hub's.
    hubs = {
        ws.id.lower(): hub_read.value
        for ws in readable
        if ws.hub_id
        and not ws.private_endpoint_connections
        and (hub_read := reader.workspace(ws.hub_id)).value is not None
    }

    connected = _unique(
        [
            *(
                c.private_endpoint_id
                for ws in [*readable, *hubs.values()]
                for c in ws.private_endpoint_connections
                if c.private_endpoint_id
            ),
            *(pe for v in vaults.values() if v.value for pe in v.value.private_endpoint_ids),
            *(
                c.private_endpoint_id
                for r in registries.values()
                if r.value
                for c in r.value.private_endpoint_connections
                if c.private_endpoint_id
            ),
            *(pe for a in accounts.values() if a.value for pe in a.value.private_endpoint_ids),
        ]
    )
    # Endpoints Azure manages from Microsoft's subscriptions (online-endpoint egress to the
    # vault) cannot be read by any tenant identity: noted, never an error asking for a role.
    managed = [pe for pe in connected if outside_subscriptions(pe, subscriptions)]
    pe_ids = [pe for pe in connected if pe not in managed]
    endpoints = dict(zip(_keys(pe_ids), pool.map(reader.private_endpoint, pe_ids), strict=True))
    # The same list the online-endpoint checks read (memoised): one call per workspace.
    online = list(pool.map(reader.online_endpoints, [ws.id for ws in readable]))

    gaps = tuple(listing for listing in online if listing.failure is not None)
    expected: list[ExpectedName] = []
    notes = [
        NameNote(
            pe,
            "",
            f"Private endpoint {pe} is managed by Azure in a Microsoft subscription "
            "(an online deployment's egress endpoint): not read, not judged.",
        )
        for pe in managed
    ]
    seen: set[str] = set()  # resources several workspaces share: resolved once
    withheld_seen: set[str] = set()
    for ws, listing in zip(readable, online, strict=True):
        hub = hubs.get(ws.id.lower())
        owner = hub or ws
        own, held = _by_approval(endpoints, owner.private_endpoint_connections)
        found, left_out = expected_names(names, ws, own, listing.value or (), hub, held)
        expected += found
        notes += left_out
        # Each owner's withheld endpoints once (a hub serves several projects).
        if owner.id.lower() not in withheld_seen:
            withheld_seen.add(owner.id.lower())
            notes += _withheld_notes(owner.id, owner.private_endpoint_connections, endpoints)
        ws = ws.with_hub_dependencies(hub)  # a project uses its hub's vault, registry, storage
        vault = _unseen(vaults, ws.key_vault_id, seen)
        if vault is not None:
            of_vault, held = _by_approval(endpoints, vault.private_endpoint_connections)
            expected += vault_names(names, vault, of_vault, ws, held)
            notes += _withheld_notes(vault.id, vault.private_endpoint_connections, endpoints)
        registry = _unseen(registries, ws.container_registry_id, seen)
        if registry is not None:
            of_registry, held = _by_approval(endpoints, registry.private_endpoint_connections)
            expected += registry_names(names, registry, of_registry, ws, held)
            notes += _withheld_notes(registry.id, registry.private_endpoint_connections, endpoints)
        account = _unseen(accounts, ws.storage_account_id, seen)
        if account is not None:
            of_account, held = _by_approval(endpoints, account.private_endpoint_connections)
            expected += storage_names(names, account, of_account, ws, held)
            notes += _withheld_notes(account.id, account.private_endpoint_connections, endpoints)
    peered = _peered(agent_vnet)
    expected = [
        dataclasses.replace(
            name,
            reachable=tuple(
                e.private_endpoint_id
                for e in name.endpoints
                if e.vnet_id and e.vnet_id.lower() in peered
            ),
        )
        for name in expected
    ]
    vnet = agent_vnet.value if agent_vnet is not None else None
    vnet_servers = vnet.dns_servers if vnet is not None and config.dns.use_vnet_dns_servers else ()
    resolvers, local_problems = build_resolvers(config.dns, vnet_servers)
    requests = (
        scoring_requests(e for listing in online for e in listing.value or ())
        if config.scoring.enabled
        else []
    )
    # Kubernetes endpoints' hosts are no private endpoint's names: resolved for the scoring
    # probe only (resolve_all asks each name once).
    fqdns = [*(e.fqdn for e in expected), *names_to_resolve(requests)]
    # The names are known: their resolution (where a dead server's timeout is the run's one
    # unavoidable wait) runs on a thread of its own while the zones, VNets and resolvers -
    # which only the checks need - are read beside it, all at once.
    clock.next("name resolution, zone, VNet and resolver reads beside it")
    with ThreadPoolExecutor(1, thread_name_prefix="dns") as dns_thread:
        resolving = dns_thread.submit(resolve_all_sync, fqdns, resolvers, config.dns, cancel)
        vnet_ids = _unique(
            pe.value.vnet_id
            for pe in endpoints.values()
            if pe.value is not None and pe.value.vnet_id
        )
        vnet_reads = [pool.submit(reader.virtual_network, v) for v in vnet_ids]
        # Resolvers and rulesets live beside the VNets they serve (the hub's, the spoke's).
        resolver_subscriptions = _unique(
            s for v in [vnet_id or "", *vnet_ids] if (s := subscription_of(v))
        )
        resolver_reads = (
            [pool.submit(reader.private_resolvers, s) for s in resolver_subscriptions]
            if expected
            else []
        )
        zone_search = find_private_dns_zones(reader) if expected else None
        expected = _with_zones(expected, endpoints, zone_search)
        zone_ids = _unique(z for e in expected for z in e.zone_ids)
        zones = dict(zip(_keys(zone_ids), pool.map(reader.private_dns_zone, zone_ids), strict=True))
        endpoint_vnets = {
            v.lower(): read.result() for v, read in zip(vnet_ids, vnet_reads, strict=True)
        }
        private_resolvers = tuple(read.result() for read in resolver_reads)
        answers = resolving.result()
    # The rules' targets are known once the resolvers are read: each is asked directly.
    targets = rule_targets(rulesets_of(private_resolvers), expected, config.dns)
    rule_target_answers = ask_rule_targets(targets, config.dns, cancel)
    clock.next("reachability")
    reachability = (
        asyncio.run(probe_all(_private_answers(expected, answers), config.reachability, cancel))
        if config.reachability.enabled
        else ()
    )
    clock.next("scoring path")
    scoring = asyncio.run(probe_endpoints(requests, resolvers, answers, config, cancel))
    clock.end()
    return DnsFacts(
        agent_vnet_id=vnet_id,
        agent_vnet=agent_vnet,
        private_endpoints=endpoints,
        zones=zones,
        expected=tuple(expected),
        resolvers=resolvers,
        answers=answers,
        reachability=reachability,
        forwarder_zones=names.conditional_forwarder_zones,
        endpoint_vnets=endpoint_vnets,
        gaps=gaps,
        notes=tuple(notes),
        zone_search=zone_search,
        private_resolvers=private_resolvers,
        probe_errors=local_problems,
        scoring=scoring,
        rule_target_answers=rule_target_answers,
    )


def _unseen(reads: Mapping[str, Read[T]], resource_id: str | None, seen: set[str]) -> T | None:
    """The linked resource's value the first time a workspace names it (then ``seen``)."""
    read = reads.get((resource_id or "").lower())
    if read is None or read.value is None or read.resource_id.lower() in seen:
        return None
    seen.add(read.resource_id.lower())
    return read.value


def _by_approval(
    endpoints: Mapping[str, Read[PrivateEndpoint]],
    connections: Sequence[PrivateEndpointConnection],
) -> tuple[list[PrivateEndpoint], list[PrivateEndpoint]]:
    """The read endpoints of ``connections`` (failed reads are reported by the checks): those
    whose names are right answers, and those withheld because their connection is in a known
    state that is not Approved (Private Link drops their traffic). A connection in no known
    state is not withheld: privateendpoint_connection_approved says it could not tell."""
    serving: list[PrivateEndpoint] = []
    withheld: list[PrivateEndpoint] = []
    for connection, endpoint in _connected(endpoints, connections):
        status = connection_status(connection, endpoint)
        (withheld if status not in (None, APPROVED) else serving).append(endpoint)
    return serving, withheld


def _connected(
    endpoints: Mapping[str, Read[PrivateEndpoint]],
    connections: Sequence[PrivateEndpointConnection],
) -> Iterator[tuple[PrivateEndpointConnection, PrivateEndpoint]]:
    for connection in connections:
        pe = connection.private_endpoint_id
        read = endpoints.get(pe.lower()) if pe else None
        if read is not None and read.value is not None:
            yield connection, read.value


def _withheld_notes(
    owner_id: str,
    connections: Sequence[PrivateEndpointConnection],
    endpoints: Mapping[str, Read[PrivateEndpoint]],
) -> list[NameNote]:
    """A note per endpoint whose names are not judged because its connection is not Approved."""
    return [
        NameNote(
            endpoint.id,
            owner_id,
            f"Private endpoint {endpoint.name}: its connection to {owner_id.rsplit('/', 1)[-1]} "
            f"is {status}, so Private Link drops its traffic and the names it lists are not "
            "judged as right answers (privateendpoint_connection_approved reports the "
            "connection).",
        )
        for connection, endpoint in _connected(endpoints, connections)
        if (status := connection_status(connection, endpoint)) not in (None, APPROVED)
    ]


def _peered(agent_vnet: Read[VirtualNetwork] | None) -> set[str]:
    """The agent's VNet and those peered with it (Connected), lower-case: where it reaches."""
    vnet = agent_vnet.value if agent_vnet is not None else None
    if vnet is None:
        return set()
    return {vnet.id.lower(), *(v.lower() for v in vnet.peered_vnet_ids)}


def _with_zones(
    expected: list[ExpectedName],
    endpoints: Mapping[str, Read[PrivateEndpoint]],
    visible: Read[tuple[str, ...]] | None,
) -> list[ExpectedName]:
    """The zones each name may be served from: those of the serving endpoints' zone groups,
    and every zone of that name the identity can see (Resource Graph across its subscriptions,
    as landing zones keep them in a central one)."""
    out = []
    for name in expected:
        grouped = _unique(
            z
            for e in name.serving
            if (pe := endpoints.get(e.private_endpoint_id.lower())) and pe.value
            for z in pe.value.zone_ids
            if _zone_name(z) == name.zone_name.lower()
        )
        # Same-name zones elsewhere too: the agent's VNet may be linked to one of them (a
        # central zone), which is then what Azure DNS answers from - and a VNet cannot be
        # linked to two zones of one name, so the remedy must know.
        grouped = _unique(
            [
                *grouped,
                *(
                    z
                    for z in (visible.value or () if visible else ())
                    if _zone_name(z) == name.zone_name.lower()
                ),
            ]
        )
        out.append(dataclasses.replace(name, zone_ids=tuple(grouped)))
    return out


def _private_answers(
    expected: Sequence[ExpectedName], answers: Sequence[DnsAnswer]
) -> list[tuple[str, str]]:
    """(FQDN, private IP) for every private address any resolver gave for an expected name."""
    wanted = {e.fqdn.lower() for e in expected}
    return [
        (a.fqdn, ip)
        for a in answers
        if a.fqdn.lower() in wanted
        for ip in a.addresses
        if is_private(ip)
    ]


def _zone_name(zone_id: str) -> str:
    return zone_id.rstrip("/").rsplit("/", 1)[-1].lower()


def _unique(values: Iterable[str]) -> list[str]:
    return list({v.lower(): v for v in values}.values())


def _keys(ids: Iterable[str]) -> list[str]:
    return [i.lower() for i in ids]
