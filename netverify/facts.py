"""What the probes observed in one run: plain, frozen data. Checks judge these; they never do I/O."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar

from netverify.azure.arm_ids import subscription_of
from netverify.azure.net import split_host_port

T = TypeVar("T")


# How Azure ML describes the private-endpoint connection an online deployment's egress makes to
# the workspace's registry while it is Pending (the troubleshooting guide queries on it). The
# registry owner's approval or rejection overwrites it, so it identifies the connection only
# until then; the private endpoint's subscription identifies it for good (``Facts.outside``).
EGRESS_DESCRIPTION = "Egress for Microsoft.MachineLearningServices/workspaces/onlineEndpoints"


def region_name(location: str) -> str | None:
    """An ARM ``location`` as Azure names the region: lower case without spaces, as ARM and
    Resource Graph return it for these resources ("eastus", "chinaeast2", "usgovvirginia"; a
    display name such as "East US" becomes "eastus"); None when it is empty."""
    return "".join(location.split()).lower() or None


class ReadProblem(StrEnum):
    NOT_FOUND = "not_found"  # ARM answered 404
    FORBIDDEN = "forbidden"  # 403: the agent's identity lacks a read permission
    UNAUTHENTICATED = "unauthenticated"  # no token, or ARM refused it (401)
    UNAVAILABLE = "unavailable"  # timeouts, 5xx and 429 that outlasted the retries
    MALFORMED = "malformed"  # the body could not be read as the resource it should be


@dataclass(frozen=True, slots=True)
class ReadFailure:
    problem: ReadProblem
    message: str
    status_code: int | None = None
    # For FORBIDDEN: the Azure action the identity needs, e.g. Microsoft.KeyVault/vaults/read.
    permission: str | None = None


@dataclass(frozen=True, slots=True)
class Read(Generic[T]):
    """The outcome of reading one ARM resource: its facts, or why there are none."""

    resource_id: str
    value: T | None = None
    failure: ReadFailure | None = None


@dataclass(frozen=True, slots=True)
class ProbeError:
    """A probe that could not do its work on one input: a local file it could not use, or an
    unexpected exception (then ``exception`` holds its type and ``at`` file:line).

    ``input`` is what the probe was working on (a file path, an ARM id); ``where`` tells apart
    several problems with one input (``line 3``); ``message`` names both, as the finding says it.
    """

    probe: str  # resolv.conf, workspace, policies, dns
    input: str
    message: str
    where: str = ""
    exception: str = ""
    at: str = ""


@dataclass(frozen=True, slots=True)
class PrivateEndpointConnection:
    """One of a resource's ``properties.privateEndpointConnections`` (its owner's side)."""

    id: str
    private_endpoint_id: str | None
    status: str | None  # Pending | Approved | Rejected | Disconnected | Timeout
    description: str | None
    actions_required: str | None = None  # privateLinkServiceConnectionState.actionsRequired


@dataclass(frozen=True, slots=True)
class OutboundRule:
    """One of a workspace's ``properties.managedNetwork.outboundRules`` (a map: rule name -> rule).

    ``type`` is PrivateEndpoint | FQDN | ServiceTag; only a PrivateEndpoint rule has a
    ``service_resource_id`` (``destination.serviceResourceId``, an ARM id as the body spells it)
    and ``subresource_target`` (``destination.subresourceTarget``: blob, file, vault, registry...).
    """

    name: str
    type: str | None
    status: str | None  # Active | Inactive
    category: str | None  # Required | Recommended | UserDefined | Dependency
    service_resource_id: str | None = None
    subresource_target: str | None = None


@dataclass(frozen=True, slots=True)
class Workspace:
    id: str
    name: str
    resource_group: str
    subscription: str
    location: str
    workspace_guid: str | None
    v1_legacy_mode: bool
    public_network_access: str | None
    key_vault_id: str | None
    container_registry_id: str | None
    storage_account_id: str | None
    private_endpoint_connections: tuple[PrivateEndpointConnection, ...] = ()
    image_build_compute: str | None = None
    # managedNetwork.isolationMode (Disabled | AllowInternetOutbound | AllowOnlyApprovedOutbound)
    # and managedNetwork.status.status (Inactive | Active); None when the body has no managedNetwork.
    managed_network_isolation: str | None = None
    managed_network_status: str | None = None
    outbound_rules: tuple[OutboundRule, ...] = ()  # managedNetwork.outboundRules, by rule name
    kind: str | None = None  # the body's top-level kind: Default | Hub | Project | FeatureStore
    # properties.hubResourceId of a hub-based project: it has no private endpoint of its own
    # and is reached through its hub's.
    hub_id: str | None = None

    def with_hub_dependencies(self, hub: Workspace | None) -> Workspace:
        """The workspace with the Key Vault, registry, storage account and image-build compute
        of ``hub`` where it names none of its own: a hub-based project uses its hub's."""
        if hub is None:
            return self
        return dataclasses.replace(
            self,
            key_vault_id=self.key_vault_id or hub.key_vault_id,
            container_registry_id=self.container_registry_id or hub.container_registry_id,
            storage_account_id=self.storage_account_id or hub.storage_account_id,
            image_build_compute=self.image_build_compute or hub.image_build_compute,
        )


@dataclass(frozen=True, slots=True)
class KeyVault:
    id: str
    name: str
    resource_group: str
    # networkAcls as `az keyvault network-rule list` shows them; None when the vault has none.
    bypass: str | None
    default_action: str | None
    ip_rules: tuple[str, ...]
    virtual_network_rules: tuple[str, ...]
    public_network_access: str | None
    has_network_acls: bool = True
    private_endpoint_connections: tuple[PrivateEndpointConnection, ...] = ()
    location: str = ""  # the body's top-level location, as ARM spells it ("" when absent)

    @property
    def private_endpoint_ids(self) -> tuple[str, ...]:
        """The private endpoints connected to the vault (its name resolves to them)."""
        return _endpoint_ids(self.private_endpoint_connections)


@dataclass(frozen=True, slots=True)
class StorageAccount:
    id: str
    name: str
    resource_group: str
    public_network_access: str | None
    private_endpoint_connections: tuple[PrivateEndpointConnection, ...] = ()
    location: str = ""

    @property
    def private_endpoint_ids(self) -> tuple[str, ...]:
        """The private endpoints connected to the account (its names resolve to them)."""
        return _endpoint_ids(self.private_endpoint_connections)


def _endpoint_ids(connections: tuple[PrivateEndpointConnection, ...]) -> tuple[str, ...]:
    return tuple(c.private_endpoint_id for c in connections if c.private_endpoint_id)


@dataclass(frozen=True, slots=True)
class Subscription:
    subscription_id: str
    display_name: str
    state: str | None  # Enabled | Disabled | Warned | PastDue | Deleted


@dataclass(frozen=True, slots=True)
class Registry:
    id: str
    name: str
    resource_group: str
    public_network_access: str | None
    default_action: str | None  # networkRuleSet.defaultAction
    # From the registry's privateEndpointConnections list call (`az acr private-endpoint-connection list`).
    private_endpoint_connections: tuple[PrivateEndpointConnection, ...] = ()
    location: str = ""


# provisioningState values (lower case) in which a deployment's running instances answer
# scoring requests: Succeeded, and Updating/Scaling (an update or autoscale keeps the instances
# it had serving). The checks judge by it and the simulated scoring front end answers by it.
SERVING_STATES = frozenset({"succeeded", "updating", "scaling"})


@dataclass(frozen=True, slots=True)
class OnlineDeployment:
    id: str
    name: str
    endpoint_id: str
    provisioning_state: str | None  # Creating|Deleting|Scaling|Updating|Succeeded|Failed|Canceled
    egress_public_network_access: str | None  # Enabled | Disabled
    compute_type: str | None  # Managed | Kubernetes
    # systemData.lastModifiedAt (UTC): when the operation behind a transient state began.
    last_modified_at: datetime | None = None
    location: str = ""


@dataclass(frozen=True, slots=True)
class OnlineEndpoint:
    id: str
    name: str
    workspace_id: str
    location: str
    provisioning_state: str | None
    public_network_access: str | None
    traffic: Mapping[str, int]  # deployment name -> percent
    kind: str | None = None  # the body's top-level kind: Managed | K8S
    scoring_uri: str | None = None  # properties.scoringUri, once Azure has assigned it
    compute: str | None = None  # properties.compute: the Kubernetes compute's id
    last_modified_at: datetime | None = None

    @property
    def kubernetes(self) -> bool:
        """Scored by a Kubernetes cluster (its own address), not through the workspace PE."""
        return (self.kind or "").lower() in {"k8s", "kubernetes"} or bool(self.compute)

    def named_by(self, target: str) -> bool:
        """Whether ``target`` names this endpoint: its name, its ARM id or the host of its
        scoring URI, in any case, a trailing slash or an FQDN's root dot ignored (how
        ``netverify explain`` finds its target)."""
        wanted = target.strip().lower().rstrip("/").rstrip(".")
        host = (self.scoring_uri or "").split("//")[-1].split("/")[0].lower()
        return wanted in {self.name.lower(), self.id.lower()} or (bool(host) and wanted == host)


@dataclass(frozen=True, slots=True)
class PolicyAssignment:
    id: str
    name: str
    display_name: str | None
    scope: str
    not_scopes: tuple[str, ...]
    policy_definition_id: str
    enforcement_mode: str | None  # Default | DoNotEnforce
    parameters: Mapping[str, object]  # parameter name -> value


@dataclass(frozen=True, slots=True)
class PolicyDefinition:
    id: str
    display_name: str | None
    policy_type: str | None  # BuiltIn | Custom | Static
    # Every `field` the policy rule's conditions test, e.g. Microsoft.MachineLearningServices/workspaces/v1LegacyMode.
    fields: tuple[str, ...]
    effect: str | None  # then.effect as written, often "[parameters('effect')]"
    parameter_defaults: Mapping[str, object]


class DiscoveryMethod(StrEnum):
    CONFIG = "config"  # scope.workspaces only
    RESOURCE_GRAPH = "resource_graph"
    ARM_LIST = "arm_list"  # per-subscription ARM list calls (Resource Graph refused)


@dataclass(frozen=True, slots=True)
class Discovery:
    """How the workspaces in scope were found; notes go into the run summary."""

    method: DiscoveryMethod
    notes: tuple[str, ...] = ()


def outside_subscriptions(
    resource_id: str, subscriptions: Read[tuple[Subscription, ...]] | None
) -> bool | None:
    """``Facts.outside`` for a subscription list read on its own (the DNS probe uses it)."""
    if subscriptions is None or subscriptions.value is None:
        return None
    subscription = (subscription_of(resource_id) or "").lower()
    return subscription not in {s.subscription_id.lower() for s in subscriptions.value}


@dataclass(frozen=True, slots=True)
class Phase:
    """One phase of a run (discovery, workspace reads, name resolution...): when it started
    (seconds after the run began) and how long it took (wall seconds)."""

    name: str
    started_seconds: float
    seconds: float


@dataclass(frozen=True, slots=True)
class Facts:
    workspaces: tuple[Read[Workspace], ...] = ()
    key_vaults: Mapping[str, Read[KeyVault]] = field(default_factory=dict)  # by lower-case id
    registries: Mapping[str, Read[Registry]] = field(default_factory=dict)  # by lower-case id
    # The hubs of hub-based projects that have no private endpoint of their own (they are
    # reached through the hub's), by lower-case id.
    hubs: Mapping[str, Read[Workspace]] = field(default_factory=dict)
    storage_accounts: Mapping[str, Read[StorageAccount]] = field(default_factory=dict)
    # Lists, by the lower-case id of their parent: a workspace's endpoints, an endpoint's deployments.
    online_endpoints: Mapping[str, Read[tuple[OnlineEndpoint, ...]]] = field(default_factory=dict)
    online_deployments: Mapping[str, Read[tuple[OnlineDeployment, ...]]] = field(
        default_factory=dict
    )
    # Assignments that apply in a subscription (its own, its groups' and its management groups'),
    # by lower-case subscription id; definitions by lower-case id.
    policy_assignments: Mapping[str, Read[tuple[PolicyAssignment, ...]]] = field(
        default_factory=dict
    )
    policy_definitions: Mapping[str, Read[PolicyDefinition]] = field(default_factory=dict)
    discovery: Discovery = Discovery(DiscoveryMethod.CONFIG)
    dns: DnsFacts | None = None  # None when DNS was not probed (no workspace could be read)
    # Every subscription the identity can see (ARM's subscription list); None: not read.
    subscriptions: Read[tuple[Subscription, ...]] | None = None
    # When the run observed, and how long a transient provisioning state may last (config).
    observed_at: datetime | None = None
    transient_state_limit: timedelta = timedelta(hours=1)
    # Probes that crashed on one input (a workspace, a subscription's policies, the DNS probes):
    # the rest of the run went on without what they would have read.
    probe_errors: tuple[ProbeError, ...] = ()
    # The run's phases in order (``probes.phases``): its critical path; () when not timed.
    phases: tuple[Phase, ...] = ()

    def all_probe_errors(self) -> tuple[ProbeError, ...]:
        """Every probe error of the run: the collection's, then the DNS probes'."""
        return (*self.probe_errors, *(self.dns.probe_errors if self.dns is not None else ()))

    def outside(self, resource_id: str) -> bool | None:
        """Whether the resource lies in a subscription the identity cannot see: for the private
        endpoints of a connection, one Azure manages from Microsoft's own subscriptions (an
        online deployment's egress endpoint). None when the subscription list was not read."""
        return outside_subscriptions(resource_id, self.subscriptions)

    def with_hub(self, workspace: Workspace) -> Workspace:
        """``workspace`` with what it uses of its hub (a hub-based project's vault, registry,
        storage and image-build compute: ``Workspace.with_hub_dependencies``)."""
        hub = self.hubs.get((workspace.hub_id or "").lower())
        return workspace.with_hub_dependencies(hub.value if hub is not None else None)

    def regions(self) -> dict[str, str]:
        """The region (``region_name``) of every resource the run read, by lower-case ARM id,
        and of every name it expects (``ExpectedName.location``: its owner's), by lower-case
        FQDN. Left out: what was not read (a failed read), a body without ``location``, and a
        name whose owners disagree (so no region is ever guessed)."""
        reads: tuple[Read[Any], ...] = (
            *self.workspaces,
            *self.hubs.values(),
            *self.key_vaults.values(),
            *self.registries.values(),
            *self.storage_accounts.values(),
        )
        located: list[tuple[str, str]] = [(r.value.id, r.value.location) for r in reads if r.value]
        lists: tuple[Read[tuple[Any, ...]], ...] = (
            *self.online_endpoints.values(),
            *self.online_deployments.values(),
        )
        located += [(x.id, x.location) for listed in lists for x in listed.value or ()]
        names: dict[str, set[str | None]] = {}
        if self.dns is not None:
            dns_reads: tuple[Read[Any], ...] = (
                *self.dns.private_endpoints.values(),
                *self.dns.zones.values(),
            )
            located += [(r.value.id, r.value.location) for r in dns_reads if r.value]
            located += [(s.id, s.location) for s in self.dns.rulesets]
            for name in self.dns.expected:
                names.setdefault(name.fqdn.lower(), set()).add(region_name(name.location))
        regions = {rid.lower(): region for rid, loc in located if (region := region_name(loc))}
        for fqdn, found in names.items():
            if len(found) == 1 and (region := next(iter(found))) is not None:
                regions[fqdn] = region
        return regions

    def key_vault(self, resource_id: str) -> Read[KeyVault] | None:
        return self.key_vaults.get(resource_id.lower())

    def registry(self, resource_id: str) -> Read[Registry] | None:
        return self.registries.get(resource_id.lower())

    def endpoints_of(self, workspace_id: str) -> Read[tuple[OnlineEndpoint, ...]] | None:
        return self.online_endpoints.get(workspace_id.lower())

    def deployments_of(self, endpoint_id: str) -> Read[tuple[OnlineDeployment, ...]] | None:
        return self.online_deployments.get(endpoint_id.lower())


# -- DNS: what must resolve, what each resolver answered, whether the answer is reachable ------


@dataclass(frozen=True, slots=True)
class VirtualNetwork:
    id: str
    name: str
    address_prefixes: tuple[str, ...]
    # dhcpOptions.dnsServers: empty means the VNet uses Azure DNS (168.63.129.16).
    dns_servers: tuple[str, ...]
    # remoteVirtualNetwork.id of each virtualNetworkPeerings entry whose peeringState is Connected.
    peered_vnet_ids: tuple[str, ...] = ()

    def holds(self, address: str) -> bool:
        """``address`` (an IP, maybe with a port) lies in one of the VNet's address prefixes."""
        try:
            ip = ipaddress.ip_address(split_host_port(address)[0])
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(p, strict=False) for p in self.address_prefixes)


@dataclass(frozen=True, slots=True)
class InboundEndpoint:
    """A DNS Private Resolver's inbound endpoint (Microsoft.Network/dnsResolvers/
    inboundEndpoints): a DNS server at ``ip`` that asks Azure DNS of ``vnet_id``."""

    id: str
    ip: str  # properties.ipConfigurations[].privateIpAddress
    vnet_id: str  # the VNet of the ipConfiguration's subnet


@dataclass(frozen=True, slots=True)
class ForwardingRule:
    """One rule of a DNS forwarding ruleset (Microsoft.Network/dnsForwardingRulesets/
    forwardingRules): Azure DNS in the linked VNets sends names under ``domain`` to
    ``targets``."""

    id: str
    domain: str  # domainName, lower-case, without the trailing dot
    targets: tuple[str, ...]  # targetDnsServers[].ipAddress
    enabled: bool  # forwardingRuleState == "Enabled"

    def covers(self, fqdn: str) -> bool:
        return fqdn == self.domain or fqdn.endswith("." + self.domain)


@dataclass(frozen=True, slots=True)
class ForwardingRuleset:
    id: str
    linked_vnet_ids: tuple[str, ...]  # virtualNetworkLinks[].properties.virtualNetwork.id
    rules: tuple[ForwardingRule, ...]
    location: str = ""


def rule_target_label(ip: str) -> str:
    """The resolver label of a forwarding rule's target asked directly (``DnsAnswer.resolver``
    of ``DnsFacts.rule_target_answers``)."""
    return f"rule target {ip}"


def rulesets_of(reads: Iterable[Read[PrivateResolvers]]) -> tuple[ForwardingRuleset, ...]:
    """Every forwarding ruleset of the resolver reads that succeeded."""
    return tuple(s for r in reads if r.value for s in r.value.rulesets)


@dataclass(frozen=True, slots=True)
class PrivateResolvers:
    """The DNS Private Resolvers' inbound endpoints and the forwarding rulesets of the
    subscriptions that hold the agent's VNet and the private endpoints' VNets."""

    inbound_endpoints: tuple[InboundEndpoint, ...] = ()
    rulesets: tuple[ForwardingRuleset, ...] = ()


@dataclass(frozen=True, slots=True)
class CustomDnsConfig:
    """One entry of a private endpoint's ``customDnsConfigs``: an FQDN and the IPs it must get."""

    fqdn: str
    ip_addresses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PrivateLinkServiceConnection:
    """The private endpoint's own side of one connection: an entry of its
    ``privateLinkServiceConnections``, or of ``manualPrivateLinkServiceConnections`` (``manual``:
    a request that waits for the target's owner to approve it)."""

    id: str
    target_id: str | None  # privateLinkServiceId
    status: str | None  # privateLinkServiceConnectionState.status
    description: str | None = None
    actions_required: str | None = None
    manual: bool = False


@dataclass(frozen=True, slots=True)
class PrivateEndpoint:
    id: str
    name: str
    subnet_id: str | None
    target_ids: tuple[str, ...]  # privateLinkServiceId of each connection
    group_ids: tuple[str, ...]
    custom_dns_configs: tuple[CustomDnsConfig, ...]
    # privateDnsZoneGroups: the zones Azure writes this endpoint's A records into.
    zone_ids: tuple[str, ...] = ()
    # The A records the zone groups say they wrote (privateDnsZoneConfigs[].recordSets[]).
    zone_records: tuple[ZoneGroupRecord, ...] = ()
    zone_group_names: tuple[str, ...] = ()  # privateDnsZoneGroups[].name
    connections: tuple[PrivateLinkServiceConnection, ...] = ()
    location: str = ""

    @property
    def ips(self) -> tuple[str, ...]:
        """Every IP the endpoint gives a name (customDnsConfigs and its zone groups' records)."""
        return tuple(
            dict.fromkeys(
                [
                    *(ip for c in self.custom_dns_configs for ip in c.ip_addresses),
                    *(ip for r in self.zone_records for ip in r.ip_addresses),
                ]
            )
        )

    @property
    def vnet_id(self) -> str | None:
        return self.subnet_id.split("/subnets/")[0] if self.subnet_id else None


APPROVED = "Approved"


def connection_status(
    connection: PrivateEndpointConnection, endpoint: PrivateEndpoint | None
) -> str | None:
    """Whether Private Link carries the endpoint's traffic to the connection's resource.

    The resource owner's record (``connection``, the target's ``privateEndpointConnections``)
    is what approving or rejecting changes; the endpoint's own side (when it was read) mirrors
    it, and alone shows what the owner did from elsewhere (Disconnected: the owner removed
    it). So the first state of the two that is not Approved wins; None when neither says.
    """
    target = (connection.id.split("/privateEndpointConnections/")[0]).lower()
    own = [
        c.status
        for c in (endpoint.connections if endpoint is not None else ())
        if (c.target_id or "").lower() == target
    ]
    states = [s for s in (connection.status, *own) if s]
    return next((s for s in states if s != APPROVED), states[0] if states else None)


@dataclass(frozen=True, slots=True)
class ZoneGroupRecord:
    """One ``recordSets`` entry of a zone group: the record (relative to its zone) and IPs."""

    zone_id: str
    record_name: str
    ip_addresses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DnsRecordSet:
    name: str  # relative to the zone, e.g. "<guid>.workspace.eastus" or "*.<guid>.inference.eastus"
    type: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PrivateDnsZone:
    id: str
    name: str
    records: tuple[DnsRecordSet, ...]
    linked_vnet_ids: tuple[str, ...]
    location: str = ""  # "global": a private DNS zone is not in a region

    def record(self, name: str, rtype: str = "A") -> DnsRecordSet | None:
        return next(
            (
                r
                for r in self.records
                if r.name.lower() == name.lower() and r.type.upper() == rtype.upper()
            ),
            None,
        )

    def linked_to(self, vnet_id: str) -> bool:
        return vnet_id.lower() in {v.lower() for v in self.linked_vnet_ids}


@dataclass(frozen=True, slots=True)
class EndpointAddresses:
    """One private endpoint that serves a name, with the IPs Azure gives the name on it."""

    private_endpoint_id: str
    ips: tuple[str, ...]
    vnet_id: str | None  # the VNet of the endpoint's subnet


@dataclass(frozen=True, slots=True)
class ExpectedName:
    """An FQDN that must resolve, inside the VNet, to the IPs of a private endpoint.

    ``endpoints`` are every private endpoint of the resource that serves the name (a resource
    may have several, in several VNets); ``reachable`` the ids of those the agent's VNet can
    reach (its own VNet or a peered one), which are the answers that are right from here.
    """

    fqdn: str
    purpose: str  # "workspace API", "workspace certificate", "notebooks", "scoring", ...
    workspace_id: str
    workspace_name: str
    endpoints: tuple[EndpointAddresses, ...]
    zone_name: (
        str  # the private DNS zone that must hold the record, e.g. privatelink.api.azureml.ms
    )
    record_name: str  # the record in that zone, e.g. "*.<guid>.inference.eastus"
    # Zones of that name the agent may be served from: the reachable endpoints' zone groups,
    # else every zone of that name the identity can see.
    zone_ids: tuple[str, ...] = ()
    # The zones a custom DNS server must forward to Azure DNS for this name, e.g.
    # api.azureml.ms; for a Key Vault vault.azure.net and vaultcore.azure.net (its CNAME target).
    forwarder_zones: tuple[str, ...] = ()
    # Where Azure says the name exists: "customDnsConfigs", "scoringUri" (an online endpoint).
    sources: tuple[str, ...] = ()
    reachable: tuple[str, ...] = ()  # ids of the endpoints the agent's VNet reaches
    # Endpoints of the resource that list the name but whose connection is not Approved
    # (``connection_status``): Private Link drops their traffic, so their IPs are no right
    # answer - nor a stale one; the connection is what is wrong.
    withheld: tuple[EndpointAddresses, ...] = ()
    # A hub-based project's names are served by its hub's private endpoint, zones and records:
    # the hub's id and name (the project is ``workspace_id``/``workspace_name``).
    hub_id: str = ""
    hub_name: str = ""
    # The ARM location of the resource the name belongs to (the workspace, the online endpoint
    # of a scoring name, the vault, registry or storage account): the region a finding about
    # the name is in ("" when not read).
    location: str = ""

    @property
    def owner(self) -> str:
        """Who needs the name, as a message says it: the workspace, or a project and its hub."""
        if self.hub_name:
            return f"project {self.workspace_name} through hub {self.hub_name}"
        return self.workspace_name

    @property
    def serving(self) -> tuple[EndpointAddresses, ...]:
        """The endpoints whose IPs are right answers from the agent's VNet: those it reaches,
        or every one when it reaches none (or its VNet is unknown)."""
        wanted = {r.lower() for r in self.reachable}
        near = tuple(e for e in self.endpoints if e.private_endpoint_id.lower() in wanted)
        return near or self.endpoints

    @property
    def expected_ips(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(ip for e in self.serving for ip in e.ips))

    @property
    def all_ips(self) -> tuple[str, ...]:
        """Every IP any endpoint of the resource has for the name (none of them is stale)."""
        return tuple(dict.fromkeys(ip for e in (*self.endpoints, *self.withheld) for ip in e.ips))

    @property
    def private_endpoint_ids(self) -> tuple[str, ...]:
        return tuple(e.private_endpoint_id for e in self.serving)

    @property
    def withheld_ips(self) -> tuple[str, ...]:
        """IPs of the resource's endpoints whose connection is not Approved (no right answer)."""
        return tuple(dict.fromkeys(ip for e in self.withheld for ip in e.ips))


@dataclass(frozen=True, slots=True)
class NameNote:
    """A name netverify deliberately does not judge, and why (e.g. a Kubernetes endpoint)."""

    resource_id: str
    workspace_id: str
    message: str


class ResolverKind(StrEnum):
    HOST = "host"  # the machine's own resolvers (/etc/resolv.conf), as the workload uses them
    CUSTOM = "custom"  # a custom DNS server of the VNet (dhcpOptions.dnsServers) or configured
    AZURE = "azure"  # Azure DNS, 168.63.129.16


@dataclass(frozen=True, slots=True)
class Resolver:
    name: str  # "host", "custom 10.0.0.4", "azure 168.63.129.16"
    kind: ResolverKind
    address: str  # as declared (VNet, config or resolv.conf)
    targets: tuple[str, ...]  # host:port actually asked, in order (after address mapping)


# rcodes from the server, and what the probe says when there was no usable answer.
ANSWERED_RCODES = frozenset({"NOERROR", "NXDOMAIN"})
TIMEOUT = "TIMEOUT"
UNREACHABLE = "UNREACHABLE"
MALFORMED_ANSWER = "MALFORMED"


@dataclass(frozen=True, slots=True)
class DnsAnswer:
    """One resolver's whole answer for one FQDN (type A)."""

    fqdn: str
    resolver: str  # Resolver.name
    server: str  # host:port that gave this answer (or the last one tried)
    rcode: str  # NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ... or TIMEOUT / UNREACHABLE / MALFORMED
    cname_chain: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    latency_ms: float = 0.0
    transport: str = "udp"  # "tcp" after a truncated UDP answer
    detail: str = ""
    authoritative: bool = False  # the AA flag: the server answered from a zone it holds itself
    # Owner of the SOA in the authority section (NXDOMAIN/NODATA): the zone that said "no".
    soa_zone: str | None = None

    @property
    def answered(self) -> bool:
        """The resolver gave a usable verdict on the name (an address, NODATA or NXDOMAIN)."""
        return self.rcode in ANSWERED_RCODES

    def summary(self) -> str:
        """The answer as one short string, for messages."""
        if not self.answered:
            return f"{self.rcode}{': ' + self.detail if self.detail else ''}"
        if self.rcode == "NXDOMAIN":
            return "NXDOMAIN"
        chain = " -> ".join((*self.cname_chain, ",".join(self.addresses) or "(no address)"))
        return chain


@dataclass(frozen=True, slots=True)
class PeerCertificate:
    """The X.509 certificate a TLS server presented (its leaf), read from the DER it sent.

    ``subject`` and ``issuer`` are RFC 4514 strings (``CN=tls-inspection.corp.example``);
    ``dns_names`` are the subjectAltName dNSName entries, lower-case; the validity bounds are
    UTC.
    """

    subject: str
    issuer: str
    dns_names: tuple[str, ...]
    not_before: datetime
    not_after: datetime


@dataclass(frozen=True, slots=True)
class Reachability:
    """TCP connect and TLS handshake (SNI = fqdn) to one resolved private IP.

    ``tls_ok``: the handshake completed and the certificate verified for ``fqdn`` against the
    system trust store plus ``reachability.ca_file``. A certificate that does not verify leaves
    ``connected`` true and sets ``verify_code`` / ``verify_message`` (OpenSSL's X509_V_ERR code
    and text, from ``ssl.SSLCertVerificationError``); ``certificate`` is what the server
    presented (read again without verification when verification failed; None when it could
    not be read).
    """

    fqdn: str
    address: str
    port: int
    target: str  # host:port actually connected to (after address mapping)
    connected: bool
    tls_ok: bool
    latency_ms: float = 0.0
    detail: str = ""
    certificate: PeerCertificate | None = None
    verify_code: int = 0
    verify_message: str = ""
    # False: the address lies outside reachability.address_map, so nothing was sent to it.
    contacted: bool = True


class HttpFailure(StrEnum):
    """Why an HTTPS request got no HTTP status (``HttpAnswer.failure``)."""

    UNRESOLVED = "unresolved"  # no resolver gave the host an address
    CONNECT = "connect"  # TCP connect refused, unreachable or timed out
    TLS = "tls"  # the handshake failed, timed out, or the certificate did not verify
    TIMEOUT = "timeout"  # connected and TLS done, but no whole answer head in time
    MALFORMED = "malformed"  # what came back is not an HTTP/1.x answer
    # The address lies outside a mapped world (reachability.address_map names others): nothing
    # was sent, so nothing about the path was observed.
    NOT_CONTACTED = "not_contacted"


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """One unauthenticated HTTPS GET (no key, no payload) and what came back.

    ``address`` is the IP connected to (an IP-literal host itself; None when the host did not
    resolve), ``resolver`` whose answer gave it ("" for an IP literal). ``status`` is None when
    ``failure`` says why there was none. ``headers`` holds only the headers of interest
    (lower-case names, ``probes.scoring.HEADERS_OF_INTEREST``); ``body`` the first 512
    characters of the body. ``verify_code`` / ``verify_message`` are OpenSSL's when the
    certificate did not verify (62: the name does not match).
    """

    url: str
    host: str  # lower-case
    address: str | None
    resolver: str
    target: str  # host:port connected to, after address mapping ("" when not connected)
    status: int | None = None
    reason: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str = ""
    failure: HttpFailure | None = None
    detail: str = ""
    verify_code: int = 0
    verify_message: str = ""
    latency_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class ScoringProbe:
    """The request the scoring path probe made for one online endpoint: a managed endpoint's
    scoringUri, or a Kubernetes endpoint's inference-router swagger document."""

    endpoint_id: str
    endpoint_name: str
    workspace_id: str
    kubernetes: bool
    answer: HttpAnswer


@dataclass(frozen=True, slots=True)
class DnsFacts:
    agent_vnet_id: str | None
    agent_vnet: Read[VirtualNetwork] | None
    private_endpoints: Mapping[str, Read[PrivateEndpoint]]  # by lower-case id
    zones: Mapping[str, Read[PrivateDnsZone]]  # by lower-case id
    expected: tuple[ExpectedName, ...]
    resolvers: tuple[Resolver, ...]
    answers: tuple[DnsAnswer, ...]
    reachability: tuple[Reachability, ...] = ()
    # The cloud's zones a custom DNS server must forward to Azure DNS (clouds.py).
    forwarder_zones: tuple[str, ...] = ()
    # The VNets of the private endpoints (an answer in a peered spoke is not "outside").
    endpoint_vnets: Mapping[str, Read[VirtualNetwork]] = field(default_factory=dict)
    # Failed list reads (a workspace's online endpoints): names that could not be known.
    gaps: tuple[Read[Any], ...] = ()
    notes: tuple[NameNote, ...] = ()
    # The search for zones by name across the identity's subscriptions (None: not needed).
    zone_search: Read[tuple[str, ...]] | None = None
    # Private resolvers and rulesets, one read per subscription (None: not read).
    private_resolvers: tuple[Read[PrivateResolvers], ...] = ()
    # Local inputs the DNS probes could not use (resolv.conf lines, a missing resolv.conf).
    probe_errors: tuple[ProbeError, ...] = ()
    # The scoring path probe's requests (none when scoring.enabled is false).
    scoring: tuple[ScoringProbe, ...] = ()
    # The target DNS servers of the enabled forwarding rules that cover a needed name, asked
    # directly for those names (``rule_target_label``), so what a target answers is observed;
    # kept apart from ``resolvers``: no client of the VNet asks them itself.
    rule_target_answers: tuple[DnsAnswer, ...] = ()
    _index: dict[tuple[str, str], DnsAnswer] = field(init=False, repr=False, compare=False)
    # Evidence the checks derive from these facts and several findings show alike (a name's
    # row of the resolution matrix, ``checklib.dns.name_evidence``), by what it is derived
    # from: built once per run and shared by those findings instead of copied into each.
    evidence_memo: dict[Any, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Checks look answers up per (FQDN, resolver); an index keeps that O(1) at 5,000 names.
        index = {
            (_lower(a.fqdn), a.resolver): a for a in (*self.answers, *self.rule_target_answers)
        }
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "evidence_memo", {})

    def answer(self, fqdn: str, resolver: str) -> DnsAnswer | None:
        return self._index.get((_lower(fqdn), resolver))

    def resolvers_of(self, kind: ResolverKind) -> tuple[Resolver, ...]:
        return tuple(r for r in self.resolvers if r.kind is kind)

    @property
    def inbound_endpoints(self) -> tuple[InboundEndpoint, ...]:
        return tuple(
            e for r in self.private_resolvers if r.value for e in r.value.inbound_endpoints
        )

    @property
    def rulesets(self) -> tuple[ForwardingRuleset, ...]:
        return rulesets_of(self.private_resolvers)

    def azure_dns_vnet(self, resolver: Resolver) -> str | None:
        """The id of the VNet whose Azure DNS answers at the end of ``resolver``'s path.

        Azure DNS itself: the agent's VNet. A custom server: the VNet of the Private Resolver
        inbound endpoint at its address, else the VNet read here (the agent's, or a private
        endpoint's) whose address space holds it. None for the host resolver and for an address
        no VNet read holds (a server on premises, or in a VNet netverify did not read).
        """
        if resolver.kind is ResolverKind.AZURE:
            return self.agent_vnet_id
        if resolver.kind is not ResolverKind.CUSTOM:
            return None
        for inbound in self.inbound_endpoints:
            if inbound.ip == resolver.address:
                return inbound.vnet_id
        vnets = [self.agent_vnet, *self.endpoint_vnets.values()]
        for vnet in (r.value for r in vnets if r is not None and r.value is not None):
            if vnet.holds(resolver.address):
                return vnet.id
        return None

    def zone(self, zone_id: str) -> Read[PrivateDnsZone] | None:
        return self.zones.get(zone_id.lower())


def _lower(text: str) -> str:
    """``text`` in lower case: ``text`` itself when it is already (no copy kept per answer)."""
    return text if text.islower() or not text else text.lower()
