"""Scenario -> the DNS the agent sees, consistent with the ARM bodies built from the same scenario.

- Each workspace private endpoint's ``customDnsConfigs`` and the A records its zones hold are
  derived here (for the scenario's cloud, via ``netverify.azure.dns_names``), with the planted
  ``missing_records`` / ``stale_records``.
- Public DNS: each workspace name CNAMEs into its ``privatelink`` name, which has a public IP.
- Azure DNS (168.63.129.16), one view per VNet: public DNS, except that every zone linked to
  that VNet is answered from the zone's records (a name the linked zone lacks is NXDOMAIN, as in
  Azure). The agent asks its own VNet's view; a DNS server asks the view of the VNet it is in.
- The custom DNS servers' forwarder lists, and the host's resolver (with a stale cache).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from netverify.azure.clouds import cloud
from netverify.azure.dns_names import (
    API,
    CERT,
    KEY_VAULT,
    NOTEBOOKS,
    REGISTRY,
    SCORING,
    WorkspaceName,
    privatelink_name,
    scoring_fqdn,
    storage_shape,
    workspace_names,
)
from netverify.azure.net import is_private
from netverify.sim.dns_server import Record
from netverify.sim.scenario import (
    DnsConfigSpec,
    KeyVaultSpec,
    PrivateEndpointSpec,
    RecordSpec,
    RegistrySpec,
    Scenario,
    StorageSpec,
    WorkspaceSpec,
    ZoneSpec,
)

PURPOSE_KEYS = {API: "api", CERT: "cert", NOTEBOOKS: "notebooks", SCORING: "scoring"}


@dataclass(frozen=True, slots=True)
class EndpointName:
    key: str  # api | cert | notebooks | scoring
    name: WorkspaceName
    ip: str


def endpoint_workspace(scenario: Scenario, pe: PrivateEndpointSpec) -> WorkspaceSpec | None:
    if pe.group_id != "amlworkspace":
        return None
    return next((w for w in scenario.workspaces if w.name.lower() == pe.target.lower()), None)


def endpoint_names(scenario: Scenario, pe: PrivateEndpointSpec) -> list[EndpointName]:
    """The names this private endpoint serves (a workspace's, or a Key Vault's), with NIC IPs."""
    if pe.ip is None:
        return []
    names = cloud(scenario.cloud)
    vault = endpoint_vault(scenario, pe)
    if vault is not None:
        fqdn = f"{vault.name}.{names.keyvault_suffix}".lower()
        shape = WorkspaceName(KEY_VAULT, fqdn, names.keyvault_zone, vault.name.lower())
        return [EndpointName("vault", shape, pe.ip)]
    account = endpoint_storage(scenario, pe)
    zone = names.storage_zone(pe.group_id)
    if account is not None and zone is not None:
        return [EndpointName(pe.group_id, storage_shape(account.name, pe.group_id, zone), pe.ip)]
    registry = endpoint_registry(scenario, pe)
    if registry is not None:
        region = scenario.place(registry)[2]
        return [
            EndpointName(
                "registry",
                WorkspaceName(REGISTRY, f"{host}.{names.acr_suffix}", names.acr_zone, host),
                pe.ip,
            )
            for host in (registry.name.lower(), f"{registry.name.lower()}.{region}.data")
        ]
    ws = endpoint_workspace(scenario, pe)
    if ws is None:
        return []
    region = scenario.place(ws)[2]
    ips = {"notebooks": pe.notebooks_ip or pe.ip, "scoring": pe.scoring_ip or pe.ip}
    out = []
    for name in workspace_names(names, ws.name, region, ws.guid):
        key = PURPOSE_KEYS[name.purpose]
        out.append(EndpointName(key, name, ips.get(key, pe.ip)))
    return out


def endpoint_storage(scenario: Scenario, pe: PrivateEndpointSpec) -> StorageSpec | None:
    if cloud(scenario.cloud).storage_zone(pe.group_id) is None:
        return None
    return next((a for a in scenario.storage_accounts if a.name.lower() == pe.target.lower()), None)


def endpoint_registry(scenario: Scenario, pe: PrivateEndpointSpec) -> RegistrySpec | None:
    if pe.group_id != "registry":
        return None
    return next((r for r in scenario.registries if r.name.lower() == pe.target.lower()), None)


def endpoint_vault(scenario: Scenario, pe: PrivateEndpointSpec) -> KeyVaultSpec | None:
    if pe.group_id != "vault":
        return None
    return next((v for v in scenario.key_vaults if v.name.lower() == pe.target.lower()), None)


def custom_dns_configs(scenario: Scenario, pe: PrivateEndpointSpec) -> list[DnsConfigSpec]:
    if pe.dns_configs:
        return list(pe.dns_configs)
    return [DnsConfigSpec(fqdn=n.name.fqdn, ips=(n.ip,)) for n in endpoint_names(scenario, pe)]


def zone_holds(scenario: Scenario, zone: ZoneSpec, pe: PrivateEndpointSpec) -> bool:
    """Whether the zone holds the endpoint's records (it is in the endpoint's zone group)."""
    if not pe.zone_group:
        return False
    if zone.endpoints is not None:
        return pe.name in zone.endpoints
    return scenario.place(zone)[:2] == scenario.place(pe)[:2]


def zone_records(scenario: Scenario, zone: ZoneSpec) -> list[RecordSpec]:
    """The zone's explicit records plus the A records of the endpoints it holds."""
    records = {r.name.lower(): r for r in zone.records}
    for pe in scenario.private_endpoints:
        if not zone_holds(scenario, zone, pe):
            continue
        for n in endpoint_names(scenario, pe):
            if n.name.zone != zone.name or n.key in pe.missing_records:
                continue
            ip = pe.stale_records.get(n.key, n.ip)  # type: ignore[call-overload]
            records.setdefault(n.name.record.lower(), RecordSpec(name=n.name.record, values=(ip,)))
    return list(records.values())


def zone_group(scenario: Scenario, pe: PrivateEndpointSpec) -> list[ZoneSpec]:
    return [z for z in scenario.private_dns_zones if zone_holds(scenario, z, pe)]


def agent_vnet(scenario: Scenario) -> str | None:
    if scenario.dns.agent_vnet:
        return scenario.dns.agent_vnet
    return scenario.vnets[0].name if scenario.vnets else None


def server_vnet(scenario: Scenario, address: str) -> str | None:
    """The VNet a DNS server's address lies in (its Azure DNS is that VNet's); else the
    agent's VNet."""
    ip = ipaddress.ip_address(address)
    for vnet in scenario.vnets:
        if any(ip in ipaddress.ip_network(p, strict=False) for p in vnet.address_space):
            return vnet.name
    return agent_vnet(scenario)


@dataclass(frozen=True, slots=True)
class DnsWorld:
    azure: list[Record]  # Azure DNS as the agent's VNet sees it
    public: list[Record]
    views: dict[str, list[Record]]  # Azure DNS as each VNet (by name) sees it
    # The zones these names live in (public and privatelink): negative answers carry their SOA.
    zones: tuple[str, ...] = ()


def _azure_view(scenario: Scenario, public: list[Record], vnet: str | None) -> list[Record]:
    linked = [z for z in scenario.private_dns_zones if any(link.vnet == vnet for link in z.links)]
    private = [
        Record(f"{r.name}.{z.name}", r.type, value, r.ttl)
        for z in linked
        for r in zone_records(scenario, z)
        for value in r.values
    ]
    shadowed = tuple("." + z.name.lower() for z in linked)
    return [r for r in public if not r.name.lower().endswith(shadowed)] + private


def build_dns_world(scenario: Scenario) -> DnsWorld:
    names = cloud(scenario.cloud)
    public: list[Record] = []
    named: set[str] = set()  # a workspace with several endpoints has one public name each
    for index, pe in enumerate(scenario.private_endpoints):
        ws = endpoint_workspace(scenario, pe)
        fqdns = [n.name.fqdn for n in endpoint_names(scenario, pe) if n.key != "scoring"]
        if ws is not None:
            region = scenario.place(ws)[2]
            # A hub's endpoint also serves the scoring names of its projects.
            served = {ws.name, *(w.name for w in scenario.workspaces if w.hub == ws.name)}
            endpoints = [e.name for e in scenario.online_endpoints if e.workspace in served]
            fqdns += [scoring_fqdn(names, e, region) for e in endpoints]
        for number, fqdn in enumerate(fqdns, start=1):
            if fqdn in named:
                continue
            named.add(fqdn)
            target = privatelink_name(names, fqdn, ws.guid if ws else "")
            public.append(Record(fqdn, "CNAME", target))
            # A public front end per name (documentation-style data, never contacted).
            public.append(Record(target, "A", f"52.160.{index}.{number}"))
    views = {v.name: _azure_view(scenario, public, v.name) for v in scenario.vnets}
    return DnsWorld(
        azure=_azure_view(scenario, public, agent_vnet(scenario)),
        public=public,
        views=views,
        zones=_zones(scenario),
    )


def _zones(scenario: Scenario) -> tuple[str, ...]:
    """The public zones of the cloud's names and the privatelink zones under them (which also
    exist in public DNS), plus every scenario zone."""
    names = cloud(scenario.cloud)
    privatelink = [
        names.aml_api_zone,
        names.aml_notebooks_zone,
        names.keyvault_zone,
        names.acr_zone,
        *(z.zone for z in names.storage_zones),
    ]
    public = [
        *names.conditional_forwarder_zones,
        names.keyvault_suffix,
        names.acr_suffix,
        *(z.removeprefix("privatelink.") for z in privatelink),
    ]
    return tuple(sorted({*public, *privatelink, *(z.name for z in scenario.private_dns_zones)}))


def private_ips(scenario: Scenario) -> set[str]:
    """Every private IP the scenario can make a resolver answer (for the reachability map)."""
    values = [
        ip
        for pe in scenario.private_endpoints
        for c in custom_dns_configs(scenario, pe)
        for ip in c.ips
    ]
    values += [ip for pe in scenario.private_endpoints for ip in pe.stale_records.values()]
    values += [
        v for z in scenario.private_dns_zones for r in zone_records(scenario, z) for v in r.values
    ]
    values += [ip for e in scenario.dns.host_stale for ip in e.ips]
    return {v for v in values if is_private(v)}


def forwarding_rules(scenario: Scenario, vnet: str | None) -> dict[str, str]:
    """The enabled rules of the rulesets linked to ``vnet``: domain -> the first target's IP
    (what Azure DNS of that VNet forwards where)."""
    return {
        rule.domain: rule.targets[0]
        for ruleset in scenario.dns_forwarding_rulesets
        if vnet in ruleset.vnets
        for rule in ruleset.rules
        if rule.enabled
    }
