"""Everything DNS for one run: what must resolve (ARM), what each resolver says, what answers.

Control plane first (the agent's VNet, the workspaces' private endpoints, their zones and online
endpoints, each read once through ``ArmReader``), then the data plane (``probes.dns``) and the
reachability probe (``probes.reach``). Nothing here judges.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor

from netverify.azure.arm_ids import subscription_of
from netverify.azure.clouds import cloud
from netverify.azure.dns_names import expected_names, vault_names
from netverify.azure.net import is_private
from netverify.config import Config
from netverify.facts import (
    DnsAnswer,
    DnsFacts,
    ExpectedName,
    KeyVault,
    PrivateEndpoint,
    Read,
    VirtualNetwork,
    Workspace,
)
from netverify.probes.arm import ArmReader
from netverify.probes.dns import build_resolvers, resolve_all_sync
from netverify.probes.reach import probe_all


def collect_dns_facts(
    config: Config,
    reader: ArmReader,
    workspaces: Sequence[Read[Workspace]],
    vaults: Mapping[str, Read[KeyVault]],
    pool: Executor,
) -> DnsFacts:
    names = cloud(config.cloud)
    vnet_id = config.agent.vnet_id
    agent_vnet = reader.virtual_network(vnet_id) if vnet_id else None
    readable = [w.value for w in workspaces if w.value is not None]

    pe_ids = _unique(
        [
            *(
                c.private_endpoint_id
                for ws in readable
                for c in ws.private_endpoint_connections
                if c.private_endpoint_id
            ),
            *(pe for v in vaults.values() if v.value for pe in v.value.private_endpoint_ids),
        ]
    )
    endpoints = dict(zip(_keys(pe_ids), pool.map(reader.private_endpoint, pe_ids), strict=True))
    # The same list the online-endpoint checks read (memoised): one call per workspace.
    online = list(pool.map(reader.online_endpoints, [ws.id for ws in readable]))

    gaps = tuple(listing for listing in online if listing.failure is not None)
    expected: list[ExpectedName] = []
    seen: set[str] = set()  # vaults shared by several workspaces are resolved once
    for ws, listing in zip(readable, online, strict=True):
        own = [
            read.value
            for c in ws.private_endpoint_connections
            if c.private_endpoint_id
            and (read := endpoints[c.private_endpoint_id.lower()]).value is not None
        ]
        endpoint_names = tuple(e.name for e in listing.value or ())
        expected += expected_names(names, ws, own, endpoint_names)
        vault = vaults.get((ws.key_vault_id or "").lower())
        if vault is not None and vault.value is not None and vault.value.id.lower() not in seen:
            seen.add(vault.value.id.lower())
            of_vault = [
                read.value
                for pe in vault.value.private_endpoint_ids
                if (read := endpoints[pe.lower()]).value is not None
            ]
            expected += vault_names(names, vault.value, of_vault, ws)
    expected = _with_zones(expected, endpoints, reader, agent_vnet)

    zone_ids = _unique(z for e in expected for z in e.zone_ids)
    zones = dict(zip(_keys(zone_ids), pool.map(reader.private_dns_zone, zone_ids), strict=True))
    vnet_ids = _unique(
        pe.value.subnet_id.split("/subnets/")[0]
        for pe in endpoints.values()
        if pe.value is not None and pe.value.subnet_id
    )
    endpoint_vnets = dict(
        zip(_keys(vnet_ids), pool.map(reader.virtual_network, vnet_ids), strict=True)
    )

    vnet = agent_vnet.value if agent_vnet is not None else None
    vnet_servers = vnet.dns_servers if vnet is not None and config.dns.use_vnet_dns_servers else ()
    resolvers = build_resolvers(config.dns, vnet_servers)
    answers = resolve_all_sync([e.fqdn for e in expected], resolvers, config.dns)
    reachability = (
        asyncio.run(probe_all(_private_answers(expected, answers), config.reachability))
        if config.reachability.enabled
        else ()
    )
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
    )


def _with_zones(
    expected: list[ExpectedName],
    endpoints: dict[str, Read[PrivateEndpoint]],
    reader: ArmReader,
    agent_vnet: Read[VirtualNetwork] | None,
) -> list[ExpectedName]:
    """The zones each name may be served from: the endpoint's zone group names them; without
    one (DNS managed by hand), every zone of that name in the workspace's and the agent's
    subscriptions."""
    out = []
    for name in expected:
        pe = endpoints[name.private_endpoint_id.lower()].value
        grouped = [
            z for z in (pe.zone_ids if pe else ()) if _zone_name(z) == name.zone_name.lower()
        ]
        if not grouped:
            subscriptions = _unique(
                [subscription_of(name.workspace_id) or ""]
                + (
                    [subscription_of(agent_vnet.resource_id) or ""]
                    if agent_vnet is not None
                    else []
                )
            )
            grouped = [
                z
                for sub in subscriptions
                for z in reader.private_dns_zone_ids(sub).value or ()
                if _zone_name(z) == name.zone_name.lower()
            ]
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
