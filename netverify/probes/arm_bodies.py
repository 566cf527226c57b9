"""ARM bodies (the JSON of a GET, as in the REST specs' recorded examples) parsed into facts.

Pure functions, no I/O: ``parse_<kind>(body, id)`` returns the frozen fact or raises
``MalformedResource`` naming the property and the resource. The reader (``probes.arm``) turns
that into a ``malformed`` read; nothing here judges a value.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from netverify.azure.arm_ids import ResourceId, ResourceIdError
from netverify.facts import (
    CustomDnsConfig,
    DnsRecordSet,
    ForwardingRule,
    ForwardingRuleset,
    InboundEndpoint,
    KeyVault,
    OnlineDeployment,
    OnlineEndpoint,
    OutboundRule,
    PolicyAssignment,
    PolicyDefinition,
    PrivateDnsZone,
    PrivateEndpoint,
    PrivateEndpointConnection,
    PrivateLinkServiceConnection,
    Registry,
    StorageAccount,
    Subscription,
    VirtualNetwork,
    Workspace,
    ZoneGroupRecord,
)


class MalformedResource(ValueError):
    """An ARM body that lacks, or mistypes, a property netverify needs."""


def parse_workspace(body: Mapping[str, Any], rid: ResourceId) -> Workspace:
    props = _properties(body, rid)
    managed = _typed(props, "managedNetwork", dict, {}, rid)
    network_path = "properties.managedNetwork"
    return Workspace(
        id=str(rid),
        name=rid.name,
        resource_group=rid.resource_group,
        subscription=rid.subscription,
        location=_location(body, rid),
        workspace_guid=_typed(props, "workspaceId", str, None, rid),
        v1_legacy_mode=_typed(props, "v1LegacyMode", bool, False, rid),
        public_network_access=canonical(
            _typed(props, "publicNetworkAccess", str, None, rid), PUBLIC_NETWORK_ACCESS
        ),
        key_vault_id=_linked_id(props, "keyVault", rid),
        container_registry_id=_linked_id(props, "containerRegistry", rid),
        storage_account_id=_linked_id(props, "storageAccount", rid),
        private_endpoint_connections=_connections(props, rid),
        image_build_compute=_typed(props, "imageBuildCompute", str, None, rid) or None,
        kind=_typed(body, "kind", str, None, rid, "(top level)"),
        hub_id=_linked_id(props, "hubResourceId", rid),
        managed_network_isolation=canonical(
            _typed(managed, "isolationMode", str, None, rid, network_path), ISOLATION_MODE
        ),
        managed_network_status=canonical(
            _typed(
                _typed(managed, "status", dict, {}, rid, network_path),
                "status",
                str,
                None,
                rid,
                f"{network_path}.status",
            ),
            MANAGED_NETWORK_STATUS,
        ),
        outbound_rules=_outbound_rules(managed, rid, network_path),
    )


def _outbound_rules(
    managed: Mapping[str, Any], rid: ResourceId, network_path: str
) -> tuple[OutboundRule, ...]:
    """``managedNetwork.outboundRules`` (a map: rule name -> rule), sorted by name. Only a
    PrivateEndpoint rule's destination is read: an FQDN rule's is a string, a ServiceTag's an
    object without a resource id."""
    path = f"{network_path}.outboundRules"
    rules = _typed(managed, "outboundRules", dict, {}, rid, network_path)
    parsed = []
    for name in sorted(rules):
        rule = _typed(rules, name, dict, {}, rid, path)
        kind = canonical(_typed(rule, "type", str, None, rid, f"{path}.{name}"), RULE_TYPE)
        destination = (
            _typed(rule, "destination", dict, {}, rid, f"{path}.{name}")
            if kind == "PrivateEndpoint"
            else {}
        )
        where = f"{path}.{name}.destination"
        parsed.append(
            OutboundRule(
                name=name,
                type=kind,
                status=canonical(
                    _typed(rule, "status", str, None, rid, f"{path}.{name}"), RULE_STATUS
                ),
                category=canonical(
                    _typed(rule, "category", str, None, rid, f"{path}.{name}"), RULE_CATEGORY
                ),
                service_resource_id=_typed(destination, "serviceResourceId", str, None, rid, where),
                subresource_target=_typed(destination, "subresourceTarget", str, None, rid, where),
            )
        )
    return tuple(parsed)


def parse_subscription(body: Mapping[str, Any]) -> Subscription:
    subscription_id = body.get("subscription_id") or body.get("subscriptionId")
    if not isinstance(subscription_id, str):
        raise MalformedResource(f"a subscription in the list has no subscriptionId: {body!r}")
    return Subscription(
        subscription_id=subscription_id,
        display_name=str(body.get("display_name") or body.get("displayName") or subscription_id),
        state=body.get("state"),
    )


def parse_registry(
    body: Mapping[str, Any], connections: list[dict[str, Any]], rid: ResourceId
) -> Registry:
    props = _properties(body, rid)
    rules = _typed(props, "networkRuleSet", dict, {}, rid)
    return Registry(
        id=str(rid),
        name=rid.name,
        resource_group=rid.resource_group,
        public_network_access=canonical(
            _typed(props, "publicNetworkAccess", str, None, rid), PUBLIC_NETWORK_ACCESS
        ),
        default_action=canonical(
            _typed(rules, "defaultAction", str, None, rid, "properties.networkRuleSet"),
            DEFAULT_ACTION,
        ),
        private_endpoint_connections=tuple(_connection(c, rid) for c in connections),
        location=_location(body, rid),
    )


def parse_online_endpoint(
    body: Mapping[str, Any], workspace_id: str, workspace: ResourceId
) -> OnlineEndpoint:
    rid = _child_id(body, workspace)
    props = _properties(body, rid)
    traffic = _typed(props, "traffic", dict, {}, rid)
    for deployment, weight in traffic.items():
        if not isinstance(weight, int) or isinstance(weight, bool):
            raise MalformedResource(
                f"{rid.type} {rid.name}: properties.traffic.{deployment} is {weight!r}, "
                "expected an integer percentage"
            )
    return OnlineEndpoint(
        id=str(rid),
        name=rid.name,
        workspace_id=workspace_id,
        location=_location(body, rid),
        provisioning_state=_typed(props, "provisioningState", str, None, rid),
        public_network_access=canonical(
            _typed(props, "publicNetworkAccess", str, None, rid), PUBLIC_NETWORK_ACCESS
        ),
        traffic=dict(traffic),
        kind=_typed(body, "kind", str, None, rid, "(top level)"),
        scoring_uri=_typed(props, "scoringUri", str, None, rid) or None,
        compute=_typed(props, "compute", str, None, rid) or None,
        last_modified_at=_last_modified(body, rid),
    )


def parse_online_deployment(
    body: Mapping[str, Any], endpoint_id: str, endpoint: ResourceId
) -> OnlineDeployment:
    rid = _child_id(body, endpoint)
    props = _properties(body, rid)
    return OnlineDeployment(
        id=str(rid),
        name=rid.name,
        endpoint_id=endpoint_id,
        provisioning_state=_typed(props, "provisioningState", str, None, rid),
        egress_public_network_access=canonical(
            _typed(props, "egressPublicNetworkAccess", str, None, rid), PUBLIC_NETWORK_ACCESS
        ),
        compute_type=_typed(props, "endpointComputeType", str, None, rid),
        last_modified_at=_last_modified(body, rid),
        location=_location(body, rid),
    )


def _last_modified(body: Mapping[str, Any], rid: ResourceId) -> datetime | None:
    """``systemData.lastModifiedAt`` (RFC 3339, UTC when it names no zone), or None."""
    raw = _typed(
        _typed(body, "systemData", dict, {}, rid, "(top level)"),
        "lastModifiedAt",
        str,
        None,
        rid,
        "systemData",
    )
    if raw is None:
        return None
    try:
        stamp = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise MalformedResource(
            f"{rid.type} {rid.name}: systemData.lastModifiedAt is {raw!r}, not an RFC 3339 time"
        ) from exc
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def parse_policy_assignment(body: Mapping[str, Any]) -> PolicyAssignment:
    where = f"policy assignment {body.get('id')!r}"
    props = body.get("properties")
    if not isinstance(props, dict) or not isinstance(body.get("id"), str):
        raise MalformedResource(f"{where}: the ARM body has no 'id' or no 'properties' object")
    definition, scope = props.get("policyDefinitionId"), props.get("scope")
    if not isinstance(definition, str) or not isinstance(scope, str):
        raise MalformedResource(f"{where}: properties.policyDefinitionId or .scope is missing")
    parameters = props.get("parameters") or {}
    return PolicyAssignment(
        id=body["id"],
        name=str(body.get("name", "")),
        display_name=props.get("displayName"),
        scope=scope,
        not_scopes=tuple(str(s) for s in props.get("notScopes") or ()),
        policy_definition_id=definition,
        enforcement_mode=props.get("enforcementMode"),
        parameters={
            name: value.get("value") if isinstance(value, dict) else value
            for name, value in parameters.items()
        },
    )


def parse_policy_definition(body: Mapping[str, Any], definition_id: str) -> PolicyDefinition:
    props = body.get("properties")
    if not isinstance(props, dict):
        raise MalformedResource(
            f"policy definition {definition_id}: the ARM body has no 'properties' object"
        )
    rule = props.get("policyRule") or {}
    then = rule.get("then") if isinstance(rule, dict) else None
    parameters = props.get("parameters") or {}
    return PolicyDefinition(
        id=str(body.get("id") or definition_id),
        display_name=props.get("displayName"),
        policy_type=props.get("policyType"),
        fields=tuple(sorted(set(_rule_fields(rule.get("if") if isinstance(rule, dict) else None)))),
        effect=then.get("effect") if isinstance(then, dict) else None,
        parameter_defaults={
            name: spec.get("defaultValue")
            for name, spec in parameters.items()
            if isinstance(spec, dict) and "defaultValue" in spec
        },
    )


def _rule_fields(condition: Any) -> list[str]:
    """Every ``field`` named in a policy rule's (nested allOf/anyOf/not) conditions."""
    if isinstance(condition, list):
        return [f for item in condition for f in _rule_fields(item)]
    if not isinstance(condition, dict):
        return []
    found = [condition["field"]] if isinstance(condition.get("field"), str) else []
    for key in ("allOf", "anyOf", "not"):
        found.extend(_rule_fields(condition.get(key)))
    return found


def _child_id(body: Mapping[str, Any], parent: ResourceId) -> ResourceId:
    """The id of an item in a list under ``parent``; it must be a child of that parent."""
    raw = body.get("id")
    try:
        rid = ResourceId.parse(raw if isinstance(raw, str) else "")
    except ResourceIdError as exc:
        raise MalformedResource(f"an item listed under {parent.type} {parent.name}: {exc}") from exc
    if not str(rid).lower().startswith(str(parent).lower() + "/"):
        raise MalformedResource(
            f"{parent.type} {parent.name} lists {raw!r}, which is not one of its children"
        )
    return rid


def parse_key_vault(body: Mapping[str, Any], rid: ResourceId) -> KeyVault:
    props = _properties(body, rid)
    acls = _typed(props, "networkAcls", dict, None, rid)
    has_acls = acls is not None
    # A vault without networkAcls behaves as bypass=AzureServices, defaultAction=Allow.
    acls = acls or {"bypass": "AzureServices", "defaultAction": "Allow"}
    return KeyVault(
        id=str(rid),
        name=rid.name,
        resource_group=rid.resource_group,
        bypass=canonical(_typed(acls, "bypass", str, None, rid, "properties.networkAcls"), BYPASS),
        default_action=canonical(
            _typed(acls, "defaultAction", str, None, rid, "properties.networkAcls"),
            DEFAULT_ACTION,
        ),
        ip_rules=tuple(
            str(r.get("value")) for r in acls.get("ipRules") or [] if isinstance(r, dict)
        ),
        virtual_network_rules=tuple(
            str(r.get("id")) for r in acls.get("virtualNetworkRules") or [] if isinstance(r, dict)
        ),
        public_network_access=canonical(
            _typed(props, "publicNetworkAccess", str, None, rid), PUBLIC_NETWORK_ACCESS
        ),
        has_network_acls=has_acls,
        private_endpoint_connections=_connections(props, rid),
        location=_location(body, rid),
    )


def parse_storage_account(body: Mapping[str, Any], rid: ResourceId) -> StorageAccount:
    props = _properties(body, rid)
    access = _typed(props, "publicNetworkAccess", str, None, rid)
    return StorageAccount(
        id=str(rid),
        name=rid.name,
        resource_group=rid.resource_group,
        public_network_access=canonical(access, PUBLIC_NETWORK_ACCESS),
        private_endpoint_connections=_connections(props, rid),
        location=_location(body, rid),
    )


def _connections(
    props: Mapping[str, Any], rid: ResourceId
) -> tuple[PrivateEndpointConnection, ...]:
    """``properties.privateEndpointConnections``, each with its state."""
    return tuple(
        _connection(raw, rid) for raw in _typed(props, "privateEndpointConnections", list, [], rid)
    )


def _location(body: Mapping[str, Any], rid: ResourceId) -> str:
    """The body's top-level ``location`` as ARM spells it ("eastus", "global"); "" when absent."""
    location: str = _typed(body, "location", str, "", rid, "(top level)")
    return location


def _properties(body: Mapping[str, Any], rid: ResourceId) -> Mapping[str, Any]:
    props = body.get("properties")
    if not isinstance(props, dict):
        raise MalformedResource(f"{rid.type} {rid.name}: the ARM body has no 'properties' object")
    return props


def _typed(
    where: Mapping[str, Any],
    key: str,
    kind: type[Any],
    default: Any,
    rid: ResourceId,
    path: str = "properties",
) -> Any:
    value = where.get(key)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise MalformedResource(
            f"{rid.type} {rid.name}: {path}.{key} is {value!r}, expected a {kind.__name__}"
        )
    return value


# ARM enums as the REST specs spell them. ARM matches them case-insensitively and templates
# write them in any case; parsed here once into one spelling, so checks compare with ``==``.
PUBLIC_NETWORK_ACCESS = ("Enabled", "Disabled", "SecuredByPerimeter")
DEFAULT_ACTION = ("Allow", "Deny")
BYPASS = ("AzureServices", "None")
ISOLATION_MODE = ("Disabled", "AllowInternetOutbound", "AllowOnlyApprovedOutbound")
MANAGED_NETWORK_STATUS = ("Active", "Inactive")
RULE_TYPE = ("PrivateEndpoint", "FQDN", "ServiceTag")
RULE_STATUS = ("Active", "Inactive")
RULE_CATEGORY = ("Required", "Recommended", "UserDefined", "Dependency")
CONNECTION_STATUS = ("Approved", "Pending", "Rejected", "Disconnected")


def canonical(value: str | None, spellings: tuple[str, ...]) -> str | None:
    """``value`` in the spec's spelling when it is one of ``spellings`` in any case, else as is.

    A value the spec does not list yet is kept verbatim (ARM adds enum members), not refused.
    """
    if value is None:
        return None
    folded = value.casefold()
    return next((s for s in spellings if s.casefold() == folded), value)


def _linked_id(props: Mapping[str, Any], key: str, rid: ResourceId) -> str | None:
    value: str | None = _typed(props, key, str, None, rid)
    if value:
        try:
            ResourceId.parse(value)
        except ResourceIdError as exc:
            raise MalformedResource(f"{rid.type} {rid.name}: properties.{key}: {exc}") from exc
    return value or None


def _connection(raw: Any, rid: ResourceId) -> PrivateEndpointConnection:
    if not isinstance(raw, dict):
        raise MalformedResource(f"{rid.name}: privateEndpointConnections holds {raw!r}")
    props = raw.get("properties")
    if not isinstance(props, dict):
        # Read as empty, the connection would have no endpoint and no state, and every check
        # would pass over it: a connection nobody judges.
        raise MalformedResource(
            f"{rid.type} {rid.name}: private endpoint connection {raw.get('id')!r} has "
            f"properties {props!r}, expected an object"
        )
    state = _state(props, rid, "privateEndpointConnections[].properties")
    return PrivateEndpointConnection(
        id=str(raw.get("id", "")),
        private_endpoint_id=(props.get("privateEndpoint") or {}).get("id"),
        status=state[0],
        description=state[1],
        actions_required=state[2],
    )


def _state(
    props: Mapping[str, Any], rid: ResourceId, path: str
) -> tuple[str | None, str | None, str | None]:
    """``privateLinkServiceConnectionState``: (status, description, actionsRequired)."""
    where = f"{path}.privateLinkServiceConnectionState"
    state = _typed(props, "privateLinkServiceConnectionState", dict, {}, rid, path)
    return (
        canonical(_typed(state, "status", str, None, rid, where), CONNECTION_STATUS),
        _typed(state, "description", str, None, rid, where),
        _typed(state, "actionsRequired", str, None, rid, where),
    )


def parse_virtual_network(body: Mapping[str, Any], rid: ResourceId) -> VirtualNetwork:
    props = _properties(body, rid)
    space = _typed(props, "addressSpace", dict, {}, rid)
    dhcp = _typed(props, "dhcpOptions", dict, {}, rid)
    prefixes = _strings(space, "addressPrefixes", rid, "properties.addressSpace")
    for prefix in prefixes:
        try:
            ipaddress.ip_network(prefix, strict=False)
        except ValueError as exc:
            raise MalformedResource(
                f"{rid.type} {rid.name}: properties.addressSpace.addressPrefixes holds {prefix!r}, "
                "not a CIDR prefix"
            ) from exc
    peerings = _typed(props, "virtualNetworkPeerings", list, [], rid)
    return VirtualNetwork(
        id=str(rid),
        name=rid.name,
        address_prefixes=prefixes,
        dns_servers=_strings(dhcp, "dnsServers", rid, "properties.dhcpOptions"),
        peered_vnet_ids=tuple(
            str(remote)
            for peering in peerings
            if isinstance(peering, dict)
            and str((peering.get("properties") or {}).get("peeringState", "")).lower()
            == "connected"
            and (
                remote := ((peering.get("properties") or {}).get("remoteVirtualNetwork") or {}).get(
                    "id"
                )
            )
        ),
    )


def parse_private_endpoint(
    body: Mapping[str, Any], zone_groups: Sequence[Mapping[str, Any]], rid: ResourceId
) -> PrivateEndpoint:
    props = _properties(body, rid)
    connections = [
        (connection, key == "manualPrivateLinkServiceConnections")
        for key in ("privateLinkServiceConnections", "manualPrivateLinkServiceConnections")
        for connection in _typed(props, key, list, [], rid)
    ]
    targets: list[str] = []
    groups: list[str] = []
    sides: list[PrivateLinkServiceConnection] = []
    for connection, manual in connections:
        cprops = connection.get("properties") if isinstance(connection, dict) else None
        if not isinstance(cprops, dict):
            raise MalformedResource(f"{rid.type} {rid.name}: a connection has no properties")
        target = _typed(cprops, "privateLinkServiceId", str, None, rid, "connection.properties")
        targets += [target] if target else []
        groups += _strings(cprops, "groupIds", rid, "connection.properties")
        status, description, actions = _state(cprops, rid, "connection.properties")
        sides.append(
            PrivateLinkServiceConnection(
                str(connection.get("id") or ""), target, status, description, actions, manual
            )
        )
    configs = []
    for entry in _typed(props, "customDnsConfigs", list, [], rid):
        if not isinstance(entry, dict) or not isinstance(entry.get("fqdn"), str):
            raise MalformedResource(
                f"{rid.type} {rid.name}: properties.customDnsConfigs holds {entry!r}"
            )
        ips = _strings(entry, "ipAddresses", rid, "properties.customDnsConfigs[]")
        configs.append(CustomDnsConfig(entry["fqdn"].lower(), ips))
    zone_configs = [
        zc.get("properties") or {}
        for group in zone_groups
        for zc in group.get("properties", {}).get("privateDnsZoneConfigs") or []
        if isinstance(zc, dict)
    ]
    zone_ids = [str(zc.get("privateDnsZoneId") or "") for zc in zone_configs]
    zone_records = [
        ZoneGroupRecord(
            str(zc.get("privateDnsZoneId") or ""),
            str(record.get("recordSetName") or "").lower(),
            _strings(record, "ipAddresses", rid, "privateDnsZoneConfigs[].recordSets[]"),
        )
        for zc in zone_configs
        for record in zc.get("recordSets") or []
        if isinstance(record, dict) and str(record.get("recordType", "A")).upper() == "A"
    ]
    subnet = _typed(props, "subnet", dict, {}, rid).get("id")
    return PrivateEndpoint(
        id=str(rid),
        name=rid.name,
        subnet_id=str(subnet) if subnet else None,
        target_ids=tuple(targets),
        group_ids=tuple(groups),
        custom_dns_configs=tuple(configs),
        zone_ids=tuple(z for z in zone_ids if z),
        zone_records=tuple(r for r in zone_records if r.zone_id and r.record_name),
        zone_group_names=tuple(str(g.get("name")) for g in zone_groups if g.get("name")),
        connections=tuple(sides),
        location=_location(body, rid),
    )


def parse_private_dns_zone(
    records: Sequence[Mapping[str, Any]],
    links: Sequence[Mapping[str, Any]],
    rid: ResourceId,
    body: Mapping[str, Any] | None = None,
) -> PrivateDnsZone:
    """A zone from its ``ALL`` record sets and ``virtualNetworkLinks`` lists, and its own GET
    ``body`` (its location, "global" for every private DNS zone) when it was read."""
    sets = []
    for record in records:
        props = _properties(record, rid)
        rtype = str(record.get("type", "")).rsplit("/", 1)[-1].upper()
        values: tuple[str, ...]
        name = str(record.get("name", ""))
        if rtype == "A":
            values = _a_values(props, rid, name)
        elif rtype == "CNAME":
            cname = _typed(props, "cnameRecord", dict, {}, rid).get("cname")
            if not isinstance(cname, str) or not cname:
                raise MalformedResource(
                    f"{rid.type} {rid.name}: record set {name!r}: properties.cnameRecord.cname "
                    f"is {cname!r}, expected a name"
                )
            values = (cname,)
        else:
            continue  # SOA, TXT, ...: nothing a check needs
        sets.append(DnsRecordSet(name, rtype, values))
    return PrivateDnsZone(
        str(rid), rid.name, tuple(sets), _linked_vnets(links, rid), _location(body or {}, rid)
    )


def _a_values(props: Mapping[str, Any], rid: ResourceId, name: str) -> tuple[str, ...]:
    """An A record set's addresses; one that is null or not an IPv4 address makes the zone
    malformed (read as "None", a check would call it stale and remedy removing IP None)."""
    values = []
    for index, entry in enumerate(_typed(props, "aRecords", list, [], rid)):
        address = entry.get("ipv4Address") if isinstance(entry, dict) else entry
        if not (isinstance(address, str) and _is_ipv4(address)):
            raise MalformedResource(
                f"{rid.type} {rid.name}: record set {name!r}: properties.aRecords[{index}]"
                f".ipv4Address is {address!r}, expected an IPv4 address"
            )
        values.append(address)
    return tuple(values)


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _strings(where: Mapping[str, Any], key: str, rid: ResourceId, path: str) -> tuple[str, ...]:
    values = _typed(where, key, list, [], rid, path)
    if not all(isinstance(v, str) for v in values):
        raise MalformedResource(
            f"{rid.type} {rid.name}: {path}.{key} is {values!r}, expected strings"
        )
    return tuple(values)


def parse_inbound_endpoints(
    items: Sequence[Mapping[str, Any]], rid: ResourceId
) -> tuple[InboundEndpoint, ...]:
    """A resolver's ``inboundEndpoints`` list (InboundEndpoints_List, 2022-07-01): one
    ``InboundEndpoint`` per IP configuration, in the VNet of its subnet."""
    endpoints = []
    for item in items:
        props = _properties(item, rid)
        for config in _typed(props, "ipConfigurations", list, [], rid):
            config = config if isinstance(config, dict) else {}
            subnet = (config.get("subnet") or {}).get("id")
            ip = config.get("privateIpAddress")
            if not isinstance(subnet, str) or "/subnets/" not in subnet.lower() or not ip:
                raise MalformedResource(
                    f"{rid.type} {rid.name}: inbound endpoint {item.get('name')!r} has an "
                    "ipConfiguration without subnet.id or privateIpAddress"
                )
            vnet = subnet[: subnet.lower().index("/subnets/")]
            endpoints.append(InboundEndpoint(str(item.get("id", "")), str(ip), vnet))
    return tuple(endpoints)


def parse_forwarding_ruleset(
    rules: Sequence[Mapping[str, Any]],
    links: Sequence[Mapping[str, Any]],
    rid: ResourceId,
    body: Mapping[str, Any] | None = None,
) -> ForwardingRuleset:
    """A ruleset from its ``forwardingRules`` and ``virtualNetworkLinks`` lists (2022-07-01)
    and its own ``body`` (an entry of the rulesets list: its location) when given."""
    parsed = []
    for rule in rules:
        props = _properties(rule, rid)
        domain = props.get("domainName")
        if not isinstance(domain, str) or not domain.strip("."):
            raise MalformedResource(
                f"{rid.type} {rid.name}: forwarding rule {rule.get('name')!r} has no domainName"
            )
        targets = tuple(
            str(t["ipAddress"])
            for t in _typed(props, "targetDnsServers", list, [], rid)
            if isinstance(t, dict) and t.get("ipAddress")
        )
        state = str(props.get("forwardingRuleState") or "Enabled").lower()
        parsed.append(
            ForwardingRule(
                str(rule.get("id", "")), domain.strip(".").lower(), targets, state == "enabled"
            )
        )
    return ForwardingRuleset(
        str(rid), _linked_vnets(links, rid), tuple(parsed), _location(body or {}, rid)
    )


def _linked_vnets(links: Sequence[Mapping[str, Any]], rid: ResourceId) -> tuple[str, ...]:
    """The VNet ids of a zone's or a ruleset's ``virtualNetworkLinks``."""
    linked = []
    for link in links:
        vnet = (_properties(link, rid).get("virtualNetwork") or {}).get("id")
        if not isinstance(vnet, str):
            raise MalformedResource(
                f"{rid.type} {rid.name}: virtual network link {link.get('name')!r} names no "
                "properties.virtualNetwork.id"
            )
        linked.append(vnet)
    return tuple(linked)
