"""Test doubles shipped with netverify: build Facts by hand to test checks without any I/O."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netverify.facts import (
    DnsAnswer,
    DnsFacts,
    DnsRecordSet,
    ExpectedName,
    Facts,
    KeyVault,
    PrivateDnsZone,
    Reachability,
    Read,
    ReadFailure,
    ReadProblem,
    Resolver,
    ResolverKind,
    VirtualNetwork,
    Workspace,
)

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
GROUP = "rg-test"


def arm_id(resource_type: str, name: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/{resource_type}/{name}"


def workspace(
    name: str = "mlw-test",
    *,
    v1_legacy_mode: bool = False,
    key_vault: str | None = "kv-test",
    guid: str = "11111111-2222-4333-8444-555555555555",
    location: str = "eastus",
) -> Workspace:
    return Workspace(
        id=arm_id("Microsoft.MachineLearningServices/workspaces", name),
        name=name,
        resource_group=GROUP,
        subscription=SUBSCRIPTION,
        location=location,
        workspace_guid=guid,
        v1_legacy_mode=v1_legacy_mode,
        public_network_access="Disabled",
        key_vault_id=arm_id("Microsoft.KeyVault/vaults", key_vault) if key_vault else None,
        container_registry_id=None,
        storage_account_id=None,
    )


def key_vault(
    name: str = "kv-test",
    *,
    bypass: str | None = "AzureServices",
    default_action: str | None = "Deny",
    public_network_access: str | None = "Disabled",
) -> KeyVault:
    return KeyVault(
        id=arm_id("Microsoft.KeyVault/vaults", name),
        name=name,
        resource_group=GROUP,
        bypass=bypass,
        default_action=default_action,
        ip_rules=(),
        virtual_network_rules=(),
        public_network_access=public_network_access,
    )


def failed(
    resource_id: str,
    problem: ReadProblem,
    *,
    message: str | None = None,
    status_code: int | None = None,
    permission: str | None = None,
) -> Read[Any]:
    """A read that failed, as the ARM probe reports it."""
    failure = ReadFailure(problem, message or problem.value, status_code, permission)
    return Read(resource_id, failure=failure)


def facts(
    workspaces: Sequence[Workspace | Read[Workspace]] = (),
    vaults: Sequence[KeyVault | Read[KeyVault]] = (),
) -> Facts:
    """Facts from resources (read fine) and failed reads, in any mix."""
    vault_reads = [v if isinstance(v, Read) else Read(v.id, value=v) for v in vaults]
    return Facts(
        workspaces=tuple(w if isinstance(w, Read) else Read(w.id, value=w) for w in workspaces),
        key_vaults={r.resource_id.lower(): r for r in vault_reads},
    )


# -- DNS -------------------------------------------------------------------------------------

VNET_ID = arm_id("Microsoft.Network/virtualNetworks", "vnet-hub")
ZONE_ID = arm_id("Microsoft.Network/privateDnsZones", "privatelink.api.azureml.ms")
ENDPOINT_ID = arm_id("Microsoft.Network/privateEndpoints", "pe-mlw-test")
API_NAME = "ws.workspace.eastus.api.azureml.ms"
HOST, CUSTOM, AZURE = "host", "custom 10.0.0.4", "azure 168.63.129.16"
RESOLVERS = (
    Resolver(HOST, ResolverKind.HOST, "/etc/resolv.conf", ("10.0.0.4:53",)),
    Resolver(CUSTOM, ResolverKind.CUSTOM, "10.0.0.4", ("10.0.0.4:53",)),
    Resolver(AZURE, ResolverKind.AZURE, "168.63.129.16", ("168.63.129.16:53",)),
)


def expected_name(
    fqdn: str = API_NAME,
    *,
    ips: tuple[str, ...] = ("10.0.1.5",),
    record: str = "ws.workspace.eastus",
    zone_ids: tuple[str, ...] = (ZONE_ID,),
    forwarder_zones: tuple[str, ...] = ("api.azureml.ms",),
) -> ExpectedName:
    return ExpectedName(
        fqdn=fqdn,
        purpose="workspace API",
        workspace_id=arm_id("Microsoft.MachineLearningServices/workspaces", "mlw-test"),
        workspace_name="mlw-test",
        private_endpoint_id=ENDPOINT_ID,
        expected_ips=ips,
        zone_name="privatelink.api.azureml.ms",
        record_name=record,
        zone_ids=zone_ids,
        forwarder_zones=forwarder_zones,
    )


def private_zone(
    records: dict[str, tuple[str, ...]] | None = None,
    *,
    linked: tuple[str, ...] = (VNET_ID,),
    zone_id: str = ZONE_ID,
) -> PrivateDnsZone:
    chosen = {"ws.workspace.eastus": ("10.0.1.5",)} if records is None else records
    return PrivateDnsZone(
        zone_id,
        zone_id.rsplit("/", 1)[-1],
        tuple(DnsRecordSet(name, "A", values) for name, values in chosen.items()),
        linked,
    )


def dns_answer(
    resolver: str,
    addresses: tuple[str, ...] = ("10.0.1.5",),
    *,
    fqdn: str = API_NAME,
    rcode: str = "NOERROR",
    chain: tuple[str, ...] = ("ws.workspace.eastus.privatelink.api.azureml.ms",),
) -> DnsAnswer:
    return DnsAnswer(fqdn, resolver, "10.0.0.4:53", rcode, chain, addresses, 1.0)


def dns_facts(
    answers: Sequence[DnsAnswer] = (),
    *,
    names: Sequence[ExpectedName] | None = None,
    zones: Sequence[PrivateDnsZone | Read[PrivateDnsZone]] | None = None,
    vnet: VirtualNetwork | None = None,
    resolvers: Sequence[Resolver] = RESOLVERS,
    reachability: Sequence[Reachability] = (),
) -> Facts:
    """Facts with DNS: by default one workspace API name, a linked zone holding its record and
    a hub VNet (10.0.0.0/16, DNS server 10.0.0.4); ``answers`` as given."""
    zone_reads = [
        z if isinstance(z, Read) else Read(z.id, value=z)
        for z in ([private_zone()] if zones is None else zones)
    ]
    agent_vnet = vnet or VirtualNetwork(VNET_ID, "vnet-hub", ("10.0.0.0/16",), ("10.0.0.4",))
    return Facts(
        dns=DnsFacts(
            agent_vnet_id=agent_vnet.id,
            agent_vnet=Read(agent_vnet.id, value=agent_vnet),
            private_endpoints={},
            zones={r.resource_id.lower(): r for r in zone_reads},
            expected=tuple([expected_name()] if names is None else names),
            resolvers=tuple(resolvers),
            answers=tuple(answers),
            reachability=tuple(reachability),
        )
    )


def healthy_answers(fqdn: str = API_NAME, ip: str = "10.0.1.5") -> list[DnsAnswer]:
    return [dns_answer(r, (ip,), fqdn=fqdn) for r in (HOST, CUSTOM, AZURE)]
