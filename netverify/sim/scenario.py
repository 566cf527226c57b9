"""The simulated tenant's declarative scenario: a healthy default plus planted problems.

A scenario names resources by name; links to names that are not declared become ids of
resources that do not exist, which is how a "linked resource was deleted" problem is planted.
From one scenario come both the ARM bodies (``arm_state``) and, later, the DNS data.
"""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from netverify.azure.clouds import AZURE_DNS_ADDRESS, Cloud, CloudName, cloud
from netverify.config import IpAddress, IpNetwork, describe_errors
from netverify.facts import EGRESS_DESCRIPTION
from netverify.model import CannotRun

# The built-in "Azure Machine Learning workspaces should enable V1LegacyMode ..." definition, as
# the simulated tenant serves it (netverify finds it by its rule, not by this name).
V1_LEGACY_MODE_POLICY = "e413671a-dd10-4cc1-a943-45b598596cb7"


# Where Azure creates the private endpoints it manages for a tenant (an online deployment's
# egress endpoint to the workspace's registry or vault): a subscription the tenant cannot see.
MICROSOFT_MANAGED_SUBSCRIPTION = "5a1e0b8c-0000-4000-8000-00000000a3e1"
MICROSOFT_MANAGED_GROUP = "azureml-managed-endpoints"


class ScenarioError(CannotRun):
    """A scenario file that cannot describe a tenant."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Placed(_Spec):
    """Where a resource lives; unset subscription / group fall back to the scenario defaults."""

    name: str
    subscription: str | None = None
    resource_group: str | None = None
    location: str | None = None


class KeyVaultSpec(Placed):
    private_endpoints: tuple[str, ...] = ()
    managed_private_endpoints: tuple[str, ...] = Field(
        (), description="Endpoints Azure ML made from Microsoft's subscription (egress)."
    )
    network_acls: bool = True
    bypass: str | None = "AzureServices"
    default_action: str | None = "Deny"
    ip_rules: tuple[IpNetwork, ...] = ()
    virtual_network_rules: tuple[str, ...] = ()
    public_network_access: str = "Disabled"


class ConnectionSpec(_Spec):
    """A registry's private-endpoint connection; by default an online deployment's egress one."""

    name: str
    private_endpoint: str
    status: str = "Approved"
    description: str = EGRESS_DESCRIPTION
    microsoft_managed: bool = Field(
        True, description="The endpoint lives in Microsoft's subscription, as egress ones do."
    )


class RegistrySpec(Placed):
    public_network_access: str = "Disabled"
    connections: tuple[ConnectionSpec, ...] = ()


class StorageSpec(Placed):
    public_network_access: str = "Disabled"
    private_endpoints: tuple[str, ...] = ()


class VnetSpec(Placed):
    address_space: tuple[IpNetwork, ...] = ("10.0.0.0/16",)
    dns_servers: tuple[IpAddress, ...] = ()
    subnets: tuple[str, ...] = ("default",)
    peerings: tuple[str, ...] = Field(
        (), description="VNets peered with this one (Connected; both sides list the peering)."
    )


class DnsConfigSpec(_Spec):
    fqdn: str
    ips: tuple[IpAddress, ...]


# The names an Azure ML workspace endpoint serves (netverify.azure.dns_names), as scenario keys.
# Storage keys are the sub-resources' group ids (netverify.azure.clouds.STORAGE_GROUP_IDS).
NameKey = Literal[
    "api",
    "cert",
    "notebooks",
    "scoring",
    "vault",
    "registry",
    "blob",
    "file",
    "queue",
    "table",
    "dfs",
]
ZoneService = Literal[
    "aml_api", "aml_notebooks", "keyvault", "acr", "blob", "file", "queue", "table", "dfs"
]


def service_zone(names: Cloud, service: str) -> str:
    """The zone of a scenario's zone ``service`` in a cloud: a storage sub-resource's, or the
    cloud table's ``<service>_zone``."""
    return names.storage_zone(service) or str(getattr(names, f"{service}_zone"))


class PrivateEndpointSpec(Placed):
    vnet: str
    subnet: str = "default"
    target: str = Field(description="Name of the workspace, vault, registry or storage account.")
    group_id: str
    status: str = Field(
        "Approved",
        description="The connection's state on both sides: Approved | Pending | Rejected | "
        "Disconnected (Private Link carries traffic only when Approved: nothing answers on the "
        "IPs of another state).",
    )
    manual: bool = Field(
        False,
        description="A manual-approval request (manualPrivateLinkServiceConnections), as made "
        "by a requester without rights on the target.",
    )
    dns_configs: tuple[DnsConfigSpec, ...] = Field(
        (), description="customDnsConfigs as written; unset: derived for the cloud from `ip`."
    )
    ip: IpAddress | None = Field(None, description="NIC IP of the workspace API (and cert) names.")
    notebooks_ip: IpAddress | None = None  # default: ip
    scoring_ip: IpAddress | None = None  # default: ip
    zone_group: bool = Field(True, description="Azure manages the records (privateDnsZoneGroups).")
    deleted_zones: tuple[ZoneService, ...] = Field(
        (), description="Zones the zone group still names (in its resource group) that are gone."
    )
    # Planted problems in the zone that holds this endpoint's records.
    missing_records: tuple[NameKey, ...] = ()
    stale_records: dict[NameKey, str] = Field(
        default_factory=dict, description="The zone holds this old IP instead of the NIC's."
    )


class RecordSpec(_Spec):
    name: str
    type: str = "A"
    values: tuple[str, ...]
    ttl: int = 10


class LinkSpec(_Spec):
    name: str
    vnet: str
    registration_enabled: bool = False


class ZoneSpec(Placed):
    name: str = Field("", description="Zone name; unset: the cloud's zone for `service`.")
    service: ZoneService | None = None
    records: tuple[RecordSpec, ...] = ()
    links: tuple[LinkSpec, ...] = ()
    endpoints: tuple[str, ...] | None = Field(
        None,
        description="Private endpoints whose A records the zone holds (its zone group); "
        "unset: every endpoint in the zone's resource group.",
    )


class ForwarderSpec(_Spec):
    zone: str
    to: str = Field("azure", description='"azure", "public", or an address that does not answer.')


class CustomDnsServerSpec(_Spec):
    """A customer's DNS server in the VNet (BIND, dnsmasq or Unbound in tests and the demo)."""

    address: IpAddress
    forwarders: tuple[ForwarderSpec, ...] | None = Field(
        None,
        description="Conditional forwarders; unset: Azure ML's and Key Vault's zones to Azure DNS.",
    )
    default_forwarder: str = Field(
        "public",
        description='"public", "azure" (Azure DNS of the VNet the server lives in), or "none" '
        "(refuse the rest).",
    )
    down: bool = Field(False, description="The server does not answer at all.")
    local_zones: dict[str, dict[str, tuple[str, ...]]] = Field(
        default_factory=dict,
        description="Zones the server is authoritative for: zone -> {owner relative to the "
        'zone, "@" for the apex, or a wildcard "*" -> IPv4 addresses} (manual DNS integration, '
        "or a hand-made copy of a privatelink zone).",
    )
    local_zones_file: str | None = Field(
        None, description="A JSON file of local_zones' shape, beside the scenario file."
    )
    rebinding_protection: bool = Field(
        False,
        description="DNS-rebinding protection, as firewall appliances ship it: answers in "
        "private ranges are stripped (Unbound private-address, dnsmasq --stop-dns-rebind, the "
        "stand-in alike; BIND has no such filter, so Unbound or dnsmasq plays the server).",
    )
    rebind_exempt: tuple[str, ...] = Field(
        (), description="Domains exempt from it (Unbound private-domain, rebind-domain-ok)."
    )
    kind: Literal["bind", "unbound", "dnsmasq"] | None = Field(
        None,
        description="The real server that plays this one with `config` (default: --custom-dns).",
    )
    config_file: str | None = Field(
        None, description="A file holding `config`, beside the scenario file."
    )
    config: str | None = Field(
        None,
        description="The server's own configuration file (named.conf, unbound.conf or dnsmasq "
        "options), run as written with {host}, {port}, {dir} and {azure.host}/{azure.port} (Azure "
        "DNS as seen from the server's VNet; {view:VNET.host}/{view:VNET.port} from another VNet) "
        "filled in; it may forward only to those addresses.",
    )

    @model_validator(mode="after")
    def _config_has_a_kind(self) -> CustomDnsServerSpec:
        if self.config is not None and self.kind is None:
            raise ValueError(f"custom server {self.address}: `config` needs `kind`")
        return self


class InboundEndpointSpec(_Spec):
    name: str
    ip: IpAddress
    subnet: str = "snet-dnsresolver-inbound"


class DnsResolverSpec(Placed):
    """An Azure DNS Private Resolver; its inbound endpoints are DNS servers of its VNet (what
    answers there is declared as a custom server at the endpoint's IP)."""

    vnet: str
    inbound_endpoints: tuple[InboundEndpointSpec, ...] = ()


class ForwardingRuleSpec(_Spec):
    name: str
    domain: str = Field(
        "", description='domainName, e.g. "privatelink.api.azureml.ms."; unset: `service`\'s zone.'
    )
    service: ZoneService | None = Field(None, description="The zone, for the scenario's cloud.")
    targets: tuple[str, ...] = Field(min_length=1, description="targetDnsServers' IPs (port 53).")
    enabled: bool = True


class ForwardingRulesetSpec(Placed):
    """A DNS forwarding ruleset: Azure DNS in each linked VNet forwards the rules' domains."""

    resolver: str = Field(description="The DNS resolver whose outbound endpoint it uses.")
    vnets: tuple[str, ...] = Field((), description="VNets it is linked to.")
    rules: tuple[ForwardingRuleSpec, ...] = ()


class HostEntrySpec(_Spec):
    fqdn: str
    ips: tuple[IpAddress, ...]


class TlsInterceptorSpec(_Spec):
    """A TLS-inspecting firewall or proxy in front of a private IP: it completes the handshake
    itself, with a certificate from a CA of its own that the agent does not trust."""

    ip: IpAddress = Field(description="The private IP whose traffic it intercepts.")
    names: tuple[str, ...] = Field(
        min_length=1, description="The dNSNames of the certificate it presents."
    )
    issuer: str = Field(description="Organization name of the CA that issued that certificate.")
    expired: bool = Field(False, description="The certificate's notAfter is in the past.")


class DnsWorldSpec(_Spec):
    """What the agent's resolvers see: the VNet's custom DNS servers, the host's resolver."""

    agent_vnet: str | None = Field(None, description="Where the agent runs; default: first VNet.")
    azure_dns: str = AZURE_DNS_ADDRESS
    custom_servers: tuple[CustomDnsServerSpec, ...] = ()
    host_nameservers: tuple[IpAddress, ...] | None = Field(
        None, description="The agent's /etc/resolv.conf; unset: the VNet's DNS servers."
    )
    host_stale: tuple[HostEntrySpec, ...] = Field(
        (), description="Answers the host's local cache still gives (a stale cache)."
    )
    silent_ips: tuple[IpAddress, ...] = Field(
        (), description="Private endpoint IPs whose front end accepts no connection."
    )
    tls_interceptors: tuple[TlsInterceptorSpec, ...] = Field(
        (), description="Devices that terminate TLS in front of private IPs (TLS inspection)."
    )

    @model_validator(mode="after")
    def _one_interceptor_per_ip(self) -> DnsWorldSpec:
        ips = [i.ip for i in self.tls_interceptors]
        twice = sorted({ip for ip in ips if ips.count(ip) > 1})
        if twice:
            raise ValueError(f"tls_interceptors: more than one in front of {', '.join(twice)}")
        return self


class DeploymentSpec(_Spec):
    name: str
    provisioning_state: str = "Succeeded"
    egress_public_network_access: str = "Disabled"
    compute_type: str = "Managed"


# What a scoring front end can answer a request without a key: an HTTP status, an answer that
# is not HTTP, or nothing at all.
ScoringAnswerSpec = Literal[
    200, 401, 403, 404, 408, 424, 429, 500, 502, 503, 504, "garbage", "silent"
]


class OnlineEndpointSpec(_Spec):
    name: str
    workspace: str
    traffic: dict[str, int] = Field(default_factory=dict)
    public_network_access: str = "Disabled"
    provisioning_state: str = Field(
        "Succeeded", description="Creating: Azure has not assigned a scoringUri yet."
    )
    deployments: tuple[DeploymentSpec, ...] = ()
    kind: Literal["Managed", "K8S"] = "Managed"
    scoring_host: str | None = Field(
        None,
        description="A K8S endpoint's scoring host: its cluster's IP, or the name set on the "
        "inference router extension (a record in a zone of the scenario, or none).",
    )
    scoring: ScoringAnswerSpec | None = Field(
        None,
        description="What the scoring front end answers a request without a key (a K8S "
        "endpoint's router: its swagger request); unset: 401 (K8S: 200) when a serving "
        "deployment (Succeeded, Updating, Scaling) has traffic, else 404.",
    )
    tls_name_mismatch: bool = Field(
        False, description="The front end presents a certificate for another name to its host."
    )
    bandwidth_delay_ms: int | None = Field(
        None, description="The front end adds the guide's bandwidth-delay headers (both)."
    )

    @model_validator(mode="after")
    def _k8s_host(self) -> OnlineEndpointSpec:
        if (self.kind == "K8S") != (self.scoring_host is not None):
            raise ValueError(
                f'online endpoint {self.name}: scoring_host is set exactly when kind = "K8S"'
            )
        return self


class OutboundRuleSpec(_Spec):
    """A private-endpoint outbound rule of a workspace's managed VNet, to ``target`` (the name of
    a workspace, vault, registry or storage account of the scenario)."""

    name: str
    target: str
    subresource: str = Field(description="subresourceTarget: blob, file, vault, registry...")
    status: str = "Active"
    category: str = "Required"


class WorkspaceSpec(Placed):
    guid: str
    v1_legacy_mode: bool = False
    public_network_access: str = "Disabled"
    key_vault: str | None = None
    container_registry: str | None = None
    storage_account: str | None = None
    image_build_compute: str | None = None
    private_endpoints: tuple[str, ...] = ()
    hub: str | None = Field(
        None, description="The hub workspace of a hub-based project (kind Project)."
    )
    managed_network: str = Field(
        "Disabled",
        description="isolationMode: Disabled|AllowInternetOutbound|AllowOnlyApprovedOutbound",
    )
    managed_network_status: str = "Active"
    outbound_rules: tuple[OutboundRuleSpec, ...] | None = Field(
        None,
        description="The managed VNet's private-endpoint outbound rules; unset: the Required "
        "ones Azure creates (registry, storage blob and file, vault) in the network's status.",
    )

    def managed_outbound_rules(self) -> tuple[OutboundRuleSpec, ...]:
        """The outbound rules the workspace body lists: none without a managed VNet."""
        if self.managed_network == "Disabled":
            return ()
        if self.outbound_rules is not None:
            return self.outbound_rules
        targets = [
            (self.container_registry, "registry"),
            (self.storage_account, "blob"),
            (self.storage_account, "file"),
            (self.key_vault, "vault"),
        ]
        return tuple(
            OutboundRuleSpec(
                name=f"__SYS_PE_{name}_{sub}",
                target=name,
                subresource=sub,
                status=self.managed_network_status,
            )
            for name, sub in targets
            if name
        )


class FaultSpec(_Spec):
    """Answer requests whose path matches ``path`` (a regex, case-insensitive) differently.

    ``status = 200`` without a ``body`` only delays the normal answer by ``delay_seconds``.
    """

    path: str
    method: str = "GET"
    status: int = 500
    times: int | None = Field(None, description="How many requests it hits; unset: all of them.")
    retry_after: float | None = None
    delay_seconds: float = 0.0
    body: str | None = Field(None, description="Raw body to send instead of an ARM error body.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra answer headers (a redirect's Location)."
    )


class ManagementGroupSpec(_Spec):
    name: str
    subscriptions: tuple[str, ...] = ()
    children: tuple[str, ...] = Field((), description="Names of child management groups.")


class PolicyAssignmentSpec(_Spec):
    name: str
    scope: str = Field(
        description="ARM scope: a management group, subscription, group or resource."
    )
    definition: str = V1_LEGACY_MODE_POLICY
    effect: str = "Audit"
    enforcement_mode: str = "Default"
    not_scopes: tuple[str, ...] = ()


class PlantedProblem(_Spec):
    """A problem the scenario plants on purpose, as the test oracle states it: the check whose
    root-cause finding names it, and text its resource id (or subject) contains."""

    check: str
    resource: str
    what: str = ""


class Scenario(_Spec):
    cloud: CloudName = CloudName.PUBLIC
    tenant_id: str = "72f988bf-0000-4000-8000-000000000001"
    subscriptions: tuple[str, ...] = Field(min_length=1)
    default_resource_group: str = "rg-ml"
    default_location: str = "eastus"
    page_size: int = Field(100, ge=1)
    latency_ms: float = Field(0.0, ge=0)
    workspaces: tuple[WorkspaceSpec, ...] = ()
    key_vaults: tuple[KeyVaultSpec, ...] = ()
    registries: tuple[RegistrySpec, ...] = ()
    storage_accounts: tuple[StorageSpec, ...] = ()
    vnets: tuple[VnetSpec, ...] = ()
    private_endpoints: tuple[PrivateEndpointSpec, ...] = ()
    private_dns_zones: tuple[ZoneSpec, ...] = ()
    online_endpoints: tuple[OnlineEndpointSpec, ...] = ()
    faults: tuple[FaultSpec, ...] = ()
    management_groups: tuple[ManagementGroupSpec, ...] = ()
    policy_assignments: tuple[PolicyAssignmentSpec, ...] = ()
    dns_resolvers: tuple[DnsResolverSpec, ...] = ()
    dns_forwarding_rulesets: tuple[ForwardingRulesetSpec, ...] = ()
    resource_graph_page_size: int = Field(1000, ge=1, le=1000)
    # ARM's read throttling per subscription (token bucket; ARM's own is 250 and 25/s). Unset:
    # no throttling, and no x-ms-ratelimit-remaining-subscription-reads header.
    read_bucket: int | None = Field(None, ge=1)
    read_refill_per_second: float = Field(25.0, gt=0)
    dns: DnsWorldSpec = DnsWorldSpec()
    planted: tuple[PlantedProblem, ...] = Field(
        (), description="The problems planted on purpose (what a correct diagnosis finds)."
    )

    @model_validator(mode="after")
    def _zone_names(self) -> Scenario:
        """Zones given by service get their name from the cloud table, so one scenario works
        in every cloud."""
        names = cloud(self.cloud)
        zones = tuple(
            z
            if z.name
            else z.model_copy(update={"name": service_zone(names, z.service) if z.service else ""})
            for z in self.private_dns_zones
        )
        if any(not z.name for z in zones):
            raise ValueError("private_dns_zones: each zone needs a name or a service")
        object.__setattr__(self, "private_dns_zones", zones)  # still being constructed
        rulesets = tuple(
            rs.model_copy(update={"rules": tuple(_named_domain(r, names) for r in rs.rules)})
            for rs in self.dns_forwarding_rulesets
        )
        if any(not r.domain for rs in rulesets for r in rs.rules):
            raise ValueError("dns_forwarding_rulesets: each rule needs a domain or a service")
        object.__setattr__(self, "dns_forwarding_rulesets", rulesets)
        return self

    def place(self, spec: Placed) -> tuple[str, str, str]:
        """(subscription, resource group, location) of a resource."""
        return (
            spec.subscription or self.subscriptions[0],
            spec.resource_group or self.default_resource_group,
            spec.location or self.default_location,
        )


def _named_domain(rule: ForwardingRuleSpec, names: Cloud) -> ForwardingRuleSpec:
    """A rule given by zone service gets that zone's name in the scenario's cloud."""
    if rule.domain or rule.service is None:
        return rule
    return rule.model_copy(update={"domain": service_zone(names, rule.service) + "."})


def parse_scenario(data: dict[str, Any], source: str) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(describe_errors(source, exc, Scenario)) from exc


def load_scenario(path: Path) -> Scenario:
    """A scenario file; each custom server's ``local_zones_file`` and ``config_file`` are read
    from beside it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(f"{path}: {exc}") from exc
    servers = (
        data.get("dns", {}).get("custom_servers", []) if isinstance(data.get("dns"), dict) else []
    )
    for index, server in enumerate(servers if isinstance(servers, list) else []):
        if not isinstance(server, dict):
            continue
        where = f"{path}: dns.custom_servers[{index}]"
        if isinstance(server.get("local_zones_file"), str):
            zones = json.loads(
                _side_file(path, server.pop("local_zones_file"), where, "local_zones_file")
            )
            server["local_zones"] = {**zones, **server.get("local_zones", {})}
        if isinstance(server.get("config_file"), str):
            server["config"] = _side_file(path, server.pop("config_file"), where, "config_file")
    return parse_scenario(data, str(path))


def _side_file(scenario: Path, name: str, where: str, key: str) -> str:
    """A file beside the scenario (JSON is checked to parse), or a ScenarioError naming it."""
    side = scenario.parent / name
    try:
        text = side.read_text(encoding="utf-8")
        if side.suffix == ".json":
            json.loads(text)
    except (OSError, ValueError) as exc:
        raise ScenarioError(f"{where}.{key} {side}: {exc}") from exc
    return text


def builtin_scenario(name: str = "demo") -> Scenario:
    """A scenario shipped in ``netverify/sim/scenarios/``."""
    source = resources.files("netverify.sim") / "scenarios" / f"{name}.toml"
    return parse_scenario(tomllib.loads(source.read_text(encoding="utf-8")), f"scenario {name}")


def builtin_names() -> tuple[str, ...]:
    """The names of the scenarios shipped in ``netverify/sim/scenarios/``."""
    folder = resources.files("netverify.sim") / "scenarios"
    return tuple(
        sorted(f.name.removesuffix(".toml") for f in folder.iterdir() if f.name.endswith(".toml"))
    )


def scenario_named(choice: str | None) -> Scenario:
    """``netverify demo --scenario``'s value: a built-in scenario's name (unset: ``demo``), else
    a scenario file's path. Raises ScenarioError for a name that is neither."""
    if choice is None or choice in builtin_names():
        return builtin_scenario(choice or "demo")
    path = Path(choice)
    if path.is_dir():
        raise ScenarioError(f"--scenario {choice}: is a directory (expected a scenario TOML file)")
    if not path.is_file():
        raise ScenarioError(
            f"--scenario {choice}: no such file, and not a built-in scenario "
            f"({', '.join(builtin_names())})"
        )
    return load_scenario(path)
