"""Scenario -> the JSON bodies a real ARM would serve, shaped like shared/reference/arm-examples."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from netverify.azure.clouds import cloud
from netverify.sim.dns_world import custom_dns_configs, zone_group, zone_records
from netverify.sim.scenario import (
    MICROSOFT_MANAGED_GROUP,
    MICROSOFT_MANAGED_SUBSCRIPTION,
    V1_LEGACY_MODE_POLICY,
    OnlineEndpointSpec,
    Placed,
    Scenario,
    service_zone,
)

ML = "Microsoft.MachineLearningServices/workspaces"
TYPES = {
    "workspace": ML,
    "key_vault": "Microsoft.KeyVault/vaults",
    "registry": "Microsoft.ContainerRegistry/registries",
    "storage": "Microsoft.Storage/storageAccounts",
    "vnet": "Microsoft.Network/virtualNetworks",
    "private_endpoint": "Microsoft.Network/privateEndpoints",
    "zone": "Microsoft.Network/privateDnsZones",
    "dns_resolver": "Microsoft.Network/dnsResolvers",
    "ruleset": "Microsoft.Network/dnsForwardingRulesets",
}


@dataclass
class ArmState:
    """Resources by lower-case id, and the lists ARM pages through, by lower-case path."""

    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    collections: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    # Management group name (lower case) -> every subscription under it, for Resource Graph.
    management_groups: dict[str, list[str]] = field(default_factory=dict)

    def add(self, body: dict[str, Any], *extra_collections: str) -> None:
        rid: str = body["id"]
        self.resources[rid.lower()] = body
        parent = rid.rsplit("/", 1)[0]
        self.collections[parent.lower()].append(body)
        parts = rid.split("/")
        if len(parts) == 9:  # top-level resource: also listed per subscription and in /resources
            subscription_list = "/".join([*parts[:3], "providers", parts[6], parts[7]])
            self.collections[subscription_list.lower()].append(body)
            self.collections["/".join(parts[:3]).lower() + "/resources"].append(body)
            self.collections["/".join(parts[:5]).lower() + "/resources"].append(body)
        for path in extra_collections:
            self.collections[path.lower()].append(body)


def resource_id(scenario: Scenario, kind: str, spec: Placed | None, name: str) -> str:
    """The id of a resource by name; unknown names still get an id (of a missing resource)."""
    subscription, group, _ = (
        scenario.place(spec)
        if spec
        else (scenario.subscriptions[0], scenario.default_resource_group, "")
    )
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{TYPES[kind]}/{name}"


def microsoft_managed_endpoint(name: str) -> str:
    """The id of a private endpoint Azure manages for the tenant in Microsoft's subscription."""
    return (
        f"/subscriptions/{MICROSOFT_MANAGED_SUBSCRIPTION}/resourceGroups/{MICROSOFT_MANAGED_GROUP}"
        f"/providers/{TYPES['private_endpoint']}/{name}"
    )


def build_arm_state(scenario: Scenario) -> ArmState:
    """Every ARM resource and list the scenario implies, as ARM serves them."""
    return _ArmBuilder(scenario).build()


class _ArmBuilder:
    """Builds an ``ArmState`` from a scenario, one resource kind per method."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.state = ArmState()
        self.names = cloud(scenario.cloud)
        self.specs: dict[tuple[str, str], Placed] = {}
        for kind, items in (
            ("workspace", scenario.workspaces),
            ("key_vault", scenario.key_vaults),
            ("registry", scenario.registries),
            ("storage", scenario.storage_accounts),
            ("vnet", scenario.vnets),
            ("private_endpoint", scenario.private_endpoints),
            ("zone", scenario.private_dns_zones),
            ("dns_resolver", scenario.dns_resolvers),
            ("ruleset", scenario.dns_forwarding_rulesets),
        ):
            for spec in items:
                self.specs[(kind, spec.name.lower())] = spec

    def build(self) -> ArmState:
        self._add_subscriptions()
        self._add_private_endpoints()
        self._add_private_dns_zone_groups()
        self._add_workspaces()
        self._add_key_vaults()
        self._add_registries()
        self._add_storage_accounts()
        self._add_vnets()
        self._add_private_dns_zones()
        self._add_online_endpoints()
        self._add_dns_resolvers()
        self._add_forwarding_rulesets()
        add_governance(self.state, self.scenario)
        return self.state

    def _add_subscriptions(self) -> None:
        for number, subscription in enumerate(self.scenario.subscriptions, 1):
            self.state.add(
                {
                    "id": f"/subscriptions/{subscription}",
                    "subscriptionId": subscription,
                    "tenantId": self.scenario.tenant_id,
                    "displayName": f"Simulated subscription {number}",
                    "state": "Enabled",
                    "authorizationSource": "RoleBased",
                }
            )

    def rid(self, kind: str, name: str) -> str:
        return resource_id(self.scenario, kind, self.specs.get((kind, name.lower())), name)

    def envelope(self, kind: str, spec: Placed, properties: dict[str, Any]) -> dict[str, Any]:
        return {
            # From the spec itself: two zones may share a name in different groups.
            "id": resource_id(self.scenario, kind, spec, spec.name),
            "name": spec.name,
            "type": TYPES[kind],
            "location": self.scenario.place(spec)[2],
            "tags": {},
            "properties": properties,
        }

    def target_id(self, name: str) -> str:
        for kind in ("workspace", "key_vault", "registry", "storage"):
            if (kind, name.lower()) in self.specs:
                return self.rid(kind, name)
        return self.rid("workspace", name)

    def _add_private_endpoints(self) -> None:
        for pe in self.scenario.private_endpoints:
            vnet_id = self.rid("vnet", pe.vnet)
            # As in PrivateEndpoints_Get and its manual-approval example: a manual request
            # sits in manualPrivateLinkServiceConnections, the other list stays empty.
            kind = (
                "manualPrivateLinkServiceConnections"
                if pe.manual
                else "privateLinkServiceConnections"
            )
            connection = {
                "id": f"{self.rid('private_endpoint', pe.name)}/{kind}/{pe.name}",
                "name": pe.name,
                "properties": {
                    "provisioningState": "Succeeded",
                    "privateLinkServiceId": self.target_id(pe.target),
                    "groupIds": [pe.group_id],
                    "privateLinkServiceConnectionState": connection_state(pe.status, pe.manual),
                },
            }
            self.state.add(
                self.envelope(
                    "private_endpoint",
                    pe,
                    {
                        "provisioningState": "Succeeded",
                        "subnet": {"id": f"{vnet_id}/subnets/{pe.subnet}"},
                        "privateLinkServiceConnections": [] if pe.manual else [connection],
                        "manualPrivateLinkServiceConnections": [connection] if pe.manual else [],
                        "customDnsConfigs": [
                            {"fqdn": c.fqdn, "ipAddresses": list(c.ips)}
                            for c in custom_dns_configs(self.scenario, pe)
                        ],
                        "networkInterfaces": [
                            {
                                "id": f"{vnet_id.rsplit('/virtualNetworks/', 1)[0]}/networkInterfaces/{pe.name}.nic"
                            }
                        ],
                    },
                )
            )

    def _add_private_dns_zone_groups(self) -> None:
        for pe in self.scenario.private_endpoints:
            pe_id = self.rid("private_endpoint", pe.name)
            self.state.collections[
                f"{pe_id}/privateDnsZoneGroups".lower()
            ] = []  # listed even if empty
            zone_ids = [
                resource_id(self.scenario, "zone", z, z.name) for z in zone_group(self.scenario, pe)
            ] + [
                resource_id(self.scenario, "zone", pe, service_zone(self.names, service))
                for service in pe.deleted_zones
            ]
            if zone_ids:
                self.state.add(
                    {
                        "id": f"{pe_id}/privateDnsZoneGroups/default",
                        "name": "default",
                        "properties": {
                            "provisioningState": "Succeeded",
                            "privateDnsZoneConfigs": [
                                {
                                    "name": zone_id.rsplit("/", 1)[-1].replace(".", "-"),
                                    "properties": {"privateDnsZoneId": zone_id, "recordSets": []},
                                }
                                for zone_id in zone_ids
                            ],
                        },
                    }
                )

    def connections(
        self, owner_id: str, names: tuple[str, ...], managed: tuple[str, ...] = ()
    ) -> list[dict[str, Any]]:
        return [
            *self._connections(owner_id, names),
            *(
                {
                    "id": f"{owner_id}/privateEndpointConnections/{name}",
                    "name": name,
                    "properties": {
                        "privateEndpoint": {"id": microsoft_managed_endpoint(name)},
                        "privateLinkServiceConnectionState": {
                            "status": "Approved",
                            "description": "Approved",
                            "actionsRequired": "None",
                        },
                        "provisioningState": "Succeeded",
                    },
                }
                for name in managed
            ),
        ]

    def _connections(self, owner_id: str, names: tuple[str, ...]) -> list[dict[str, Any]]:
        specs = {p.name.lower(): p for p in self.scenario.private_endpoints}
        return [
            {
                "id": f"{owner_id}/privateEndpointConnections/{name}",
                "name": name,
                "type": f"{owner_id.split('/providers/')[1].rsplit('/', 1)[0]}/privateEndpointConnections",
                "properties": {
                    "privateEndpoint": {"id": self.rid("private_endpoint", name)},
                    # The owner's side carries the same state as the endpoint's.
                    "privateLinkServiceConnectionState": connection_state(
                        spec.status if spec else "Approved", spec.manual if spec else False
                    ),
                    "provisioningState": "Succeeded",
                },
            }
            for name in names
            for spec in [specs.get(name.lower())]
        ]

    def _add_workspaces(self) -> None:
        for ws in self.scenario.workspaces:
            ws_id = self.rid("workspace", ws.name)
            self.state.collections[f"{ws_id}/onlineEndpoints".lower()] = []  # listed even if empty
            self.state.add(
                self.envelope(
                    "workspace",
                    ws,
                    {
                        "friendlyName": ws.name,
                        "workspaceId": ws.guid,
                        "v1LegacyMode": ws.v1_legacy_mode,
                        "publicNetworkAccess": ws.public_network_access,
                        "keyVault": self.rid("key_vault", ws.key_vault) if ws.key_vault else None,
                        "containerRegistry": self.rid("registry", ws.container_registry)
                        if ws.container_registry
                        else None,
                        "storageAccount": self.rid("storage", ws.storage_account)
                        if ws.storage_account
                        else None,
                        "imageBuildCompute": ws.image_build_compute,
                        "managedNetwork": {
                            "isolationMode": ws.managed_network,
                            "status": {"status": ws.managed_network_status, "sparkReady": False},
                            "outboundRules": {
                                rule.name: {
                                    "type": "PrivateEndpoint",
                                    "destination": {
                                        "serviceResourceId": self.target_id(rule.target),
                                        "subresourceTarget": rule.subresource,
                                        "sparkEnabled": False,
                                    },
                                    "status": rule.status,
                                    "category": rule.category,
                                }
                                for rule in ws.managed_outbound_rules()
                            },
                        },
                        "provisioningState": "Succeeded",
                        "privateEndpointConnections": self.connections(ws_id, ws.private_endpoints),
                        "hubResourceId": self.rid("workspace", ws.hub) if ws.hub else None,
                    }
                    | self._associated_workspaces(ws.name),
                )
                | {"kind": self._workspace_kind(ws.name, ws.hub)}
            )

    def _associated_workspaces(self, hub: str) -> dict[str, list[str]]:
        """A hub's properties.associatedWorkspaces: the ids of its projects (none: no key)."""
        projects = [
            self.rid("workspace", w.name)
            for w in self.scenario.workspaces
            if (w.hub or "").lower() == hub.lower()
        ]
        return {"associatedWorkspaces": projects} if projects else {}

    def _workspace_kind(self, name: str, hub: str | None) -> str:
        """A project names its hub (hubResourceId); a workspace some project names is a Hub."""
        if hub:
            return "Project"
        return "Hub" if self._associated_workspaces(name) else "Default"

    def _add_key_vaults(self) -> None:
        for kv in self.scenario.key_vaults:
            props: dict[str, Any] = {
                "tenantId": self.scenario.tenant_id,
                "sku": {"family": "A", "name": "standard"},
                "vaultUri": f"https://{kv.name}.{self.names.keyvault_suffix}/",
                "provisioningState": "Succeeded",
                "publicNetworkAccess": kv.public_network_access,
                "accessPolicies": [],
                "enableRbacAuthorization": True,
                "privateEndpointConnections": self.connections(
                    self.rid("key_vault", kv.name),
                    kv.private_endpoints,
                    kv.managed_private_endpoints,
                ),
            }
            if kv.network_acls:
                props["networkAcls"] = {
                    "bypass": kv.bypass,
                    "defaultAction": kv.default_action,
                    "ipRules": [{"value": ip} for ip in kv.ip_rules],
                    "virtualNetworkRules": [
                        {"id": v, "ignoreMissingVnetServiceEndpoint": False}
                        for v in kv.virtual_network_rules
                    ],
                }
            self.state.add(self.envelope("key_vault", kv, props))

    def _add_registries(self) -> None:
        for cr in self.scenario.registries:
            cr_id = self.rid("registry", cr.name)
            # ARM lists a registry's connections even when it has none.
            self.state.collections[f"{cr_id}/privateEndpointConnections".lower()] = []
            pecs = [
                {
                    "id": f"{cr_id}/privateEndpointConnections/{c.name}",
                    "name": c.name,
                    "type": "Microsoft.ContainerRegistry/registries/privateEndpointConnections",
                    "properties": {
                        "privateEndpoint": {
                            "id": microsoft_managed_endpoint(c.private_endpoint)
                            if c.microsoft_managed
                            else self.rid("private_endpoint", c.private_endpoint)
                        },
                        "privateLinkServiceConnectionState": {
                            "status": c.status,
                            "description": c.description,
                            "actionsRequired": "None",
                        },
                        "provisioningState": "Succeeded",
                    },
                }
                for c in cr.connections
            ]
            self.state.add(
                self.envelope(
                    "registry",
                    cr,
                    {
                        "loginServer": f"{cr.name}.{self.names.acr_suffix}",
                        "provisioningState": "Succeeded",
                        "adminUserEnabled": False,
                        "publicNetworkAccess": cr.public_network_access,
                        "networkRuleBypassOptions": "AzureServices",
                        "dataEndpointEnabled": True,
                        "privateEndpointConnections": pecs,
                    },
                )
                | {"sku": {"name": "Premium", "tier": "Premium"}}
            )
            for pec in pecs:
                self.state.add(pec)

    def _add_storage_accounts(self) -> None:
        for st in self.scenario.storage_accounts:
            self.state.add(
                self.envelope(
                    "storage",
                    st,
                    {
                        "publicNetworkAccess": st.public_network_access,
                        "provisioningState": "Succeeded",
                        "privateEndpointConnections": self.connections(
                            self.rid("storage", st.name), st.private_endpoints
                        ),
                    },
                )
                | {"kind": "StorageV2", "sku": {"name": "Standard_LRS"}}
            )

    def _add_vnets(self) -> None:
        peers: dict[str, set[str]] = defaultdict(set)
        for vnet in self.scenario.vnets:
            for other in vnet.peerings:
                peers[vnet.name].add(other)
                peers[other].add(vnet.name)
        for vnet in self.scenario.vnets:
            vnet_id = self.rid("vnet", vnet.name)
            self.state.add(
                self.envelope(
                    "vnet",
                    vnet,
                    {
                        "provisioningState": "Succeeded",
                        "addressSpace": {"addressPrefixes": list(vnet.address_space)},
                        "dhcpOptions": {"dnsServers": list(vnet.dns_servers)},
                        "subnets": [
                            {"id": f"{vnet_id}/subnets/{s}", "name": s, "properties": {}}
                            for s in vnet.subnets
                        ],
                        # As in VirtualNetworks_Get's recorded example: one entry per peering.
                        "virtualNetworkPeerings": [
                            {
                                "id": f"{vnet_id}/virtualNetworkPeerings/{vnet.name}-to-{other}",
                                "name": f"{vnet.name}-to-{other}",
                                "properties": {
                                    "allowVirtualNetworkAccess": True,
                                    "allowForwardedTraffic": True,
                                    "remoteVirtualNetwork": {"id": self.rid("vnet", other)},
                                    "peeringState": "Connected",
                                    "peeringSyncLevel": "FullyInSync",
                                    "provisioningState": "Succeeded",
                                },
                            }
                            for other in sorted(peers[vnet.name])
                        ],
                    },
                )
            )

    def _add_private_dns_zones(self) -> None:
        for zone in self.scenario.private_dns_zones:
            zone_id = resource_id(self.scenario, "zone", zone, zone.name)
            records = zone_records(self.scenario, zone)
            for child in ("ALL", "virtualNetworkLinks"):  # listed even if empty
                self.state.collections[f"{zone_id}/{child}".lower()] = []
            self.state.add(
                self.envelope(
                    "zone",
                    zone,
                    {
                        "provisioningState": "Succeeded",
                        "numberOfRecordSets": len(records) + 1,
                        "numberOfVirtualNetworkLinks": len(zone.links),
                    },
                )
                | {"location": "global"}
            )
            for rec in records:
                rtype = rec.type.upper()
                payload: dict[str, Any]
                if rtype == "A":
                    payload = {"aRecords": [{"ipv4Address": v} for v in rec.values]}
                elif rtype == "CNAME":
                    payload = {"cnameRecord": {"cname": rec.values[0]}}
                else:
                    payload = {"txtRecords": [{"value": [v]} for v in rec.values]}
                self.state.add(
                    {
                        "id": f"{zone_id}/{rtype}/{rec.name}",
                        "name": rec.name,
                        "type": f"Microsoft.Network/privateDnsZones/{rtype}",
                        "etag": "00000000-0000-0000-0000-000000000000",
                        "properties": {
                            "ttl": rec.ttl,
                            "fqdn": f"{rec.name}.{zone.name}.",
                            "isAutoRegistered": False,
                        }
                        | payload,
                    },
                    f"{zone_id}/ALL",
                )
            for link in zone.links:
                self.state.add(
                    {
                        "id": f"{zone_id}/virtualNetworkLinks/{link.name}",
                        "name": link.name,
                        "type": "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
                        "location": "global",
                        "etag": "00000000-0000-0000-0000-000000000000",
                        "properties": {
                            "virtualNetwork": {"id": self.rid("vnet", link.vnet)},
                            "registrationEnabled": link.registration_enabled,
                            "resolutionPolicy": "Default",
                            "virtualNetworkLinkState": "Completed",
                            "provisioningState": "Succeeded",
                        },
                    }
                )

    def _add_dns_resolvers(self) -> None:
        """DNS Private Resolvers and their inbound endpoints (DnsResolvers_Get and
        InboundEndpoints_List of the recorded 2022-07-01 examples)."""
        for resolver in self.scenario.dns_resolvers:
            resolver_id = self.rid("dns_resolver", resolver.name)
            vnet_id = self.rid("vnet", resolver.vnet)
            self.state.collections[f"{resolver_id}/inboundEndpoints".lower()] = []
            self.state.add(
                self.envelope(
                    "dns_resolver",
                    resolver,
                    {
                        "virtualNetwork": {"id": vnet_id},
                        "dnsResolverState": "Connected",
                        "provisioningState": "Succeeded",
                    },
                )
            )
            for inbound in resolver.inbound_endpoints:
                self.state.add(
                    {
                        "id": f"{resolver_id}/inboundEndpoints/{inbound.name}",
                        "name": inbound.name,
                        "type": "Microsoft.Network/dnsResolvers/inboundEndpoints",
                        "location": self.scenario.place(resolver)[2],
                        "properties": {
                            "ipConfigurations": [
                                {
                                    "subnet": {"id": f"{vnet_id}/subnets/{inbound.subnet}"},
                                    "privateIpAddress": inbound.ip,
                                    "privateIpAllocationMethod": "Static",
                                }
                            ],
                            "provisioningState": "Succeeded",
                        },
                    }
                )

    def _add_forwarding_rulesets(self) -> None:
        """Forwarding rulesets with their rules and VNet links (DnsForwardingRulesets_Get,
        ForwardingRules_CreateOrUpdate, VirtualNetworkLinks_Get of the 2022-07-01 examples)."""
        for ruleset in self.scenario.dns_forwarding_rulesets:
            ruleset_id = self.rid("ruleset", ruleset.name)
            resolver_id = self.rid("dns_resolver", ruleset.resolver)
            for child in ("forwardingRules", "virtualNetworkLinks"):  # listed even if empty
                self.state.collections[f"{ruleset_id}/{child}".lower()] = []
            self.state.add(
                self.envelope(
                    "ruleset",
                    ruleset,
                    {
                        "dnsResolverOutboundEndpoints": [
                            {"id": f"{resolver_id}/outboundEndpoints/outbound"}
                        ],
                        "provisioningState": "Succeeded",
                    },
                )
            )
            for rule in ruleset.rules:
                self.state.add(
                    {
                        "id": f"{ruleset_id}/forwardingRules/{rule.name}",
                        "name": rule.name,
                        "type": "Microsoft.Network/dnsForwardingRulesets/forwardingRules",
                        "etag": "00000000-0000-0000-0000-000000000000",
                        "properties": {
                            "domainName": rule.domain,
                            "targetDnsServers": [
                                {"ipAddress": ip, "port": 53} for ip in rule.targets
                            ],
                            "forwardingRuleState": "Enabled" if rule.enabled else "Disabled",
                            "provisioningState": "Succeeded",
                        },
                    }
                )
            for vnet in ruleset.vnets:
                self.state.add(
                    {
                        "id": f"{ruleset_id}/virtualNetworkLinks/link-{vnet}",
                        "name": f"link-{vnet}",
                        "type": "Microsoft.Network/dnsForwardingRulesets/virtualNetworkLinks",
                        "etag": "00000000-0000-0000-0000-000000000000",
                        "properties": {
                            "virtualNetwork": {"id": self.rid("vnet", vnet)},
                            "metadata": {},
                            "provisioningState": "Succeeded",
                        },
                    }
                )

    def _add_online_endpoints(self) -> None:
        for ep in self.scenario.online_endpoints:
            ws_spec = self.specs.get(("workspace", ep.workspace.lower()))
            ep_id = f"{self.rid('workspace', ep.workspace)}/onlineEndpoints/{ep.name}"
            region = self.scenario.place(ws_spec)[2] if ws_spec else self.scenario.default_location
            properties: dict[str, Any] = {
                "authMode": "Key",
                "provisioningState": ep.provisioning_state,
                "publicNetworkAccess": ep.public_network_access,
                "traffic": dict(ep.traffic),
            }
            uri = scoring_uri(self.scenario, ep)
            if uri is not None:
                properties["scoringUri"] = uri
            if ep.kind == "K8S":
                workspace_id = self.rid("workspace", ep.workspace)
                properties["compute"] = f"{workspace_id}/computes/k8s-{ep.name}"
            self.state.add(
                {
                    "id": ep_id,
                    "name": ep.name,
                    "type": f"{ML}/onlineEndpoints",
                    "location": region,
                    "kind": ep.kind,
                    "identity": {"type": "SystemAssigned"},
                    "properties": properties,
                }
            )
            for dep in ep.deployments:
                self.state.add(
                    {
                        "id": f"{ep_id}/deployments/{dep.name}",
                        "name": dep.name,
                        "type": f"{ML}/onlineEndpoints/deployments",
                        "location": region,
                        "kind": dep.compute_type,
                        "sku": {"name": "Default", "capacity": 1},
                        "properties": {
                            "endpointComputeType": dep.compute_type,
                            "provisioningState": dep.provisioning_state,
                            "egressPublicNetworkAccess": dep.egress_public_network_access,
                            "instanceType": "Standard_DS3_v2",
                        },
                    }
                )


# The descriptions Azure writes for each state when nobody types one (the recorded examples:
# "Auto-Approved", "Awaiting approval"); approving or rejecting by hand overwrites them.
DESCRIPTIONS = {
    "Approved": "Auto-Approved",
    "Pending": "Awaiting approval",
    "Rejected": "Rejected by the resource owner",
    "Disconnected": "Removed by the resource owner",
}


def scoring_uri(scenario: Scenario, ep: OnlineEndpointSpec) -> str | None:
    """The endpoint's properties.scoringUri; None while it is Creating (not assigned yet)."""
    if ep.provisioning_state == "Creating":
        return None
    if ep.scoring_host is not None:
        return f"https://{ep.scoring_host}/api/v1/endpoint/{ep.name}/score"
    ws = next((w for w in scenario.workspaces if w.name.lower() == ep.workspace.lower()), None)
    region = scenario.place(ws)[2] if ws else scenario.default_location
    return f"https://{ep.name}.{region}.{cloud(scenario.cloud).inference_suffix}/score"


def connection_state(status: str, manual: bool) -> dict[str, str]:
    """A ``privateLinkServiceConnectionState`` body for ``status``."""
    description = "Approved" if manual and status == "Approved" else DESCRIPTIONS.get(status, "")
    return {"status": status, "description": description, "actionsRequired": "None"}


def add_governance(state: ArmState, scenario: Scenario) -> None:
    """Management groups (descendants), the built-in V1LegacyMode policy, and assignments."""
    groups = {g.name.lower(): g for g in scenario.management_groups}

    def subscriptions_under(name: str) -> list[str]:
        group = groups.get(name.lower())
        if group is None:
            return []
        return [*group.subscriptions, *(s for c in group.children for s in subscriptions_under(c))]

    for group in scenario.management_groups:
        group_id = f"{MANAGEMENT_GROUPS}/{group.name}"
        state.management_groups[group.name.lower()] = subscriptions_under(group.name)
        for subscription in subscriptions_under(group.name):
            state.collections[f"{group_id}/descendants".lower()].append(
                {
                    "id": f"/subscriptions/{subscription}",
                    "type": "/subscriptions",
                    "name": subscription,
                    "properties": {"displayName": subscription, "parent": {"id": group_id}},
                }
            )
    state.add(v1_legacy_mode_policy())
    for subscription in scenario.subscriptions:  # every subscription answers, if only with []
        state.collections.setdefault(_assignments_of(subscription), [])
    for assignment in scenario.policy_assignments:
        scope = assignment.scope.rstrip("/")
        if scope.lower().startswith(MANAGEMENT_GROUPS.lower() + "/"):
            covered = subscriptions_under(scope.rsplit("/", 1)[-1])
        else:
            covered = [scope.split("/")[2]]
        body = {
            "id": f"{scope}/providers/Microsoft.Authorization/policyAssignments/{assignment.name}",
            "name": assignment.name,
            "type": "Microsoft.Authorization/policyAssignments",
            "properties": {
                "displayName": assignment.name,
                "policyDefinitionId": f"{POLICY_DEFINITIONS}/{assignment.definition}",
                "scope": scope,
                "notScopes": list(assignment.not_scopes),
                "parameters": {"effect": {"value": assignment.effect}},
                "enforcementMode": assignment.enforcement_mode,
            },
        }
        for subscription in covered:
            # ARM lists, per subscription, the assignments at or above it and inside it.
            state.collections[_assignments_of(subscription)].append(body)


def _assignments_of(subscription: str) -> str:
    return (
        f"/subscriptions/{subscription}/providers/Microsoft.Authorization/policyAssignments".lower()
    )


MANAGEMENT_GROUPS = "/providers/Microsoft.Management/managementGroups"
POLICY_DEFINITIONS = "/providers/Microsoft.Authorization/policyDefinitions"


def v1_legacy_mode_policy() -> dict[str, Any]:
    """The built-in definition, shaped as Azure Policy serves it (rule on v1LegacyMode)."""
    return {
        "id": f"{POLICY_DEFINITIONS}/{V1_LEGACY_MODE_POLICY}",
        "name": V1_LEGACY_MODE_POLICY,
        "type": "Microsoft.Authorization/policyDefinitions",
        "properties": {
            "displayName": "Azure Machine Learning workspaces should enable V1LegacyMode to "
            "support network isolation backward compatibility",
            "policyType": "BuiltIn",
            "mode": "Indexed",
            "parameters": {
                "effect": {
                    "type": "String",
                    "allowedValues": ["Audit", "Deny", "Disabled"],
                    "defaultValue": "Audit",
                }
            },
            "policyRule": {
                "if": {
                    "allOf": [
                        {"field": "type", "equals": ML},
                        {"field": f"{ML}/v1LegacyMode", "notEquals": True},
                    ]
                },
                "then": {"effect": "[parameters('effect')]"},
            },
        },
    }
