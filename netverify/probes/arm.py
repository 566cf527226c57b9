"""ARM reads through the real Azure SDK clients, each resource read once per run.

This is the only module that sees SDK models and exceptions: it turns them into ``Read``
facts (the resource's facts, or why there are none) and never judges them.
"""

from __future__ import annotations

import ipaddress
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    DecodeError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.rest import HttpRequest
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.privatedns import PrivateDnsManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

from netverify.arm_ids import ResourceId, ResourceIdError
from netverify.clouds import Cloud
from netverify.config import ArmConfig
from netverify.facts import (
    CustomDnsConfig,
    DnsRecordSet,
    KeyVault,
    PrivateDnsZone,
    PrivateEndpoint,
    PrivateEndpointConnection,
    Read,
    ReadFailure,
    ReadProblem,
    VirtualNetwork,
    Workspace,
)

# Newest stable Microsoft.MachineLearningServices version with v1LegacyMode and online endpoints;
# read through generic resources so no beta SDK is needed.
ML_API_VERSION = "2025-12-01"

T = TypeVar("T")
_ACTION_IN_MESSAGE = re.compile(r"perform action '([^']+)'")


class MalformedResource(ValueError):
    """An ARM body that lacks, or mistypes, a property netverify needs."""


class ArmReader:
    """Reads ARM resources for one run. Thread-safe; concurrent asks for one id share one call."""

    def __init__(self, credential: TokenCredential, cloud: Cloud, config: ArmConfig) -> None:
        self._credential = credential
        self._cloud = cloud
        self._config = config
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        self._reads: dict[str, Future[Read[Any]]] = {}

    def workspace(self, resource_id: str) -> Read[Workspace]:
        return self._memoised(resource_id, lambda rid: self._read_workspace(resource_id, rid))

    def key_vault(self, resource_id: str) -> Read[KeyVault]:
        return self._memoised(resource_id, lambda rid: self._read_key_vault(resource_id, rid))

    def virtual_network(self, resource_id: str) -> Read[VirtualNetwork]:
        return self._memoised(resource_id, self._read_virtual_network)

    def private_endpoint(self, resource_id: str) -> Read[PrivateEndpoint]:
        return self._memoised(resource_id, self._read_private_endpoint)

    def private_dns_zone(self, resource_id: str) -> Read[PrivateDnsZone]:
        return self._memoised(resource_id, self._read_private_dns_zone)

    def private_dns_zone_ids(self, subscription: str) -> Read[tuple[str, ...]]:
        """Ids of every private DNS zone in a subscription (to find zones by name)."""
        where = f"/subscriptions/{subscription}/providers/Microsoft.Network/privateDnsZones"

        def read() -> tuple[str, ...]:
            client = self._client(PrivateDnsManagementClient, subscription)
            return tuple(str(z.id) for z in client.private_zones.list() if z.id)

        return self._once(where, lambda: self._attempt_listing(where, read))

    def online_endpoint_names(self, workspace_id: str) -> Read[tuple[str, ...]]:
        """Names of a workspace's online endpoints (their scoring FQDNs must resolve privately)."""
        where = f"{workspace_id}/onlineEndpoints"

        def read() -> tuple[str, ...]:
            client = self._client(
                ResourceManagementClient, ResourceId.parse(workspace_id).subscription
            )
            names: list[str] = []
            url: str | None = f"{where}?api-version={ML_API_VERSION}"
            while url:
                response = client.send_request(HttpRequest("GET", url))
                response.raise_for_status()
                page = response.json()
                names += [str(e["name"]) for e in page.get("value") or [] if e.get("name")]
                url = page.get("nextLink")
            return tuple(names)

        return self._once(where, lambda: self._attempt_listing(where, read))

    # -- reads -------------------------------------------------------------------------------

    def _read_workspace(self, raw_id: str, rid: ResourceId) -> Workspace:
        client = self._client(ResourceManagementClient, rid.subscription)
        body = client.resources.get_by_id(raw_id, api_version=ML_API_VERSION).as_dict()
        return parse_workspace(body, rid)

    def _read_key_vault(self, raw_id: str, rid: ResourceId) -> KeyVault:
        client = self._client(KeyVaultManagementClient, rid.subscription)
        body = client.vaults.get(rid.resource_group, rid.name).as_dict()
        return parse_key_vault(body, rid)

    def _read_virtual_network(self, rid: ResourceId) -> VirtualNetwork:
        client = self._client(NetworkManagementClient, rid.subscription)
        body = client.virtual_networks.get(rid.resource_group, rid.name).as_dict()
        return parse_virtual_network(body, rid)

    def _read_private_endpoint(self, rid: ResourceId) -> PrivateEndpoint:
        client = self._client(NetworkManagementClient, rid.subscription)
        body = client.private_endpoints.get(rid.resource_group, rid.name).as_dict()
        groups = [
            g.as_dict() for g in client.private_dns_zone_groups.list(rid.name, rid.resource_group)
        ]
        return parse_private_endpoint(body, groups, rid)

    def _read_private_dns_zone(self, rid: ResourceId) -> PrivateDnsZone:
        client = self._client(PrivateDnsManagementClient, rid.subscription)
        client.private_zones.get(rid.resource_group, rid.name)  # 404 here: the zone is missing
        records = [r.as_dict() for r in client.record_sets.list(rid.resource_group, rid.name)]
        links = [
            link.as_dict()
            for link in client.virtual_network_links.list(rid.resource_group, rid.name)
        ]
        return parse_private_dns_zone(records, links, rid)

    # -- plumbing ----------------------------------------------------------------------------

    def _memoised(self, resource_id: str, read: Callable[[ResourceId], T]) -> Read[T]:
        return self._once(resource_id, lambda: self._attempt(resource_id, read))

    def _once(self, key: str, produce: Callable[[], Read[T]]) -> Read[T]:
        """``produce()`` once per key (case-insensitive) per run; concurrent callers share it."""
        key = key.lower()
        with self._lock:
            pending = self._reads.get(key)
            owner = pending is None
            if pending is None:
                pending = self._reads[key] = Future()
        if owner:
            pending.set_result(produce())
        return pending.result()

    def _attempt_listing(self, where: str, read: Callable[[], T]) -> Read[T]:
        """A list call under ``where``; failures become facts as for single resources."""
        try:
            return Read(where, value=read())
        except Exception as exc:  # every SDK failure becomes a fact; see describe_failure
            return Read(where, failure=describe_failure(exc, _listing_owner(where)))

    def _attempt(self, resource_id: str, read: Callable[[ResourceId], T]) -> Read[T]:
        try:
            rid = ResourceId.parse(resource_id)
        except ResourceIdError as exc:
            return Read(resource_id, failure=ReadFailure(ReadProblem.MALFORMED, str(exc)))
        try:
            return Read(resource_id, value=read(rid))
        except Exception as exc:  # every SDK failure becomes a fact; see describe_failure
            return Read(resource_id, failure=describe_failure(exc, rid))

    def _client(self, client_type: type[T], subscription: str) -> T:
        key = (client_type.__name__, subscription.lower())
        with self._lock:
            if key not in self._clients:
                self._clients[key] = client_type(  # type: ignore[call-arg]
                    self._credential,
                    subscription,
                    base_url=(self._config.endpoint or self._cloud.arm_endpoint).rstrip("/"),
                    credential_scopes=[self._cloud.arm_scope],
                    connection_verify=str(self._config.ca_bundle)
                    if self._config.ca_bundle
                    else True,
                    connection_timeout=self._config.timeout_seconds,
                    read_timeout=self._config.timeout_seconds,
                    retry_total=self._config.retry_total,
                    retry_backoff_factor=self._config.retry_backoff_seconds,
                )
            client: T = self._clients[key]
            return client


def describe_failure(exc: Exception, rid: ResourceId) -> ReadFailure:
    """Name what went wrong in words an on-call engineer can act on."""
    if isinstance(exc, MalformedResource):
        return ReadFailure(ReadProblem.MALFORMED, str(exc))
    if isinstance(exc, DecodeError):
        return ReadFailure(
            ReadProblem.MALFORMED, f"ARM answered with a body that is not JSON: {exc}"
        )
    status = getattr(exc, "status_code", None)
    if isinstance(exc, ResourceNotFoundError) or status == 404:
        return ReadFailure(ReadProblem.NOT_FOUND, "ARM answered 404 (not found)", 404)
    if isinstance(exc, ClientAuthenticationError) and status is None:
        # Raised by the credential itself: no token could be had.
        return ReadFailure(ReadProblem.UNAUTHENTICATED, f"no access token: {_first_line(exc)}")
    if status == 401:
        return ReadFailure(
            ReadProblem.UNAUTHENTICATED, f"ARM refused the token: {_arm_message(exc)}", 401
        )
    if status == 403:
        found = _ACTION_IN_MESSAGE.search(str(exc))
        permission = found.group(1) if found else f"{rid.type}/read"
        return ReadFailure(ReadProblem.FORBIDDEN, _arm_message(exc), 403, permission)
    if isinstance(exc, HttpResponseError) and status is not None:
        return ReadFailure(
            ReadProblem.UNAVAILABLE,
            f"ARM answered {status} after retries: {_arm_message(exc)}",
            status,
        )
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return ReadFailure(ReadProblem.UNAVAILABLE, f"cannot reach ARM: {_first_line(exc)}")
    if isinstance(exc, ClientAuthenticationError):
        return ReadFailure(ReadProblem.UNAUTHENTICATED, f"no access token: {_first_line(exc)}")
    return ReadFailure(ReadProblem.UNAVAILABLE, f"{type(exc).__name__}: {_first_line(exc)}")


def _listing_owner(where: str) -> ResourceId:
    """The resource a list call hangs off, to name the permission a 403 lacks."""
    try:
        return ResourceId.parse(where.rsplit("/", 1)[0])
    except ResourceIdError:
        # A subscription-wide list: the permission is the listed type's read action.
        provider = where.split("/providers/", 1)[-1]
        namespace, _, kind = provider.partition("/")
        return ResourceId(where.split("/")[2], "-", namespace, (kind,), ("*",))


def _arm_message(exc: Exception) -> str:
    error = getattr(exc, "error", None)
    code, message = getattr(error, "code", None), getattr(error, "message", None)
    if code or message:
        return f"{code}: {message}"
    return _first_line(exc)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- bodies -> facts -------------------------------------------------------------------------


def parse_workspace(body: Mapping[str, Any], rid: ResourceId) -> Workspace:
    props = _properties(body, rid)
    connections = _typed(props, "privateEndpointConnections", list, [], rid)
    return Workspace(
        id=str(rid),
        name=rid.name,
        resource_group=rid.resource_group,
        subscription=rid.subscription,
        location=_typed(body, "location", str, "", rid),
        workspace_guid=_typed(props, "workspaceId", str, None, rid),
        v1_legacy_mode=_typed(props, "v1LegacyMode", bool, False, rid),
        public_network_access=_typed(props, "publicNetworkAccess", str, None, rid),
        key_vault_id=_linked_id(props, "keyVault", rid),
        container_registry_id=_linked_id(props, "containerRegistry", rid),
        storage_account_id=_linked_id(props, "storageAccount", rid),
        private_endpoint_connections=tuple(_connection(c, rid) for c in connections),
    )


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
        bypass=_typed(acls, "bypass", str, None, rid, "properties.networkAcls"),
        default_action=_typed(acls, "defaultAction", str, None, rid, "properties.networkAcls"),
        ip_rules=tuple(
            str(r.get("value")) for r in acls.get("ipRules") or [] if isinstance(r, dict)
        ),
        virtual_network_rules=tuple(
            str(r.get("id")) for r in acls.get("virtualNetworkRules") or [] if isinstance(r, dict)
        ),
        public_network_access=_typed(props, "publicNetworkAccess", str, None, rid),
        has_network_acls=has_acls,
        private_endpoint_ids=tuple(
            pe
            for raw in _typed(props, "privateEndpointConnections", list, [], rid)
            if (pe := _connection(raw, rid).private_endpoint_id)
        ),
    )


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
    props = raw.get("properties") or {}
    state = props.get("privateLinkServiceConnectionState") or {}
    return PrivateEndpointConnection(
        id=str(raw.get("id", "")),
        private_endpoint_id=(props.get("privateEndpoint") or {}).get("id"),
        status=state.get("status"),
        description=state.get("description"),
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
    return VirtualNetwork(
        id=str(rid),
        name=rid.name,
        address_prefixes=prefixes,
        dns_servers=_strings(dhcp, "dnsServers", rid, "properties.dhcpOptions"),
    )


def parse_private_endpoint(
    body: Mapping[str, Any], zone_groups: Sequence[Mapping[str, Any]], rid: ResourceId
) -> PrivateEndpoint:
    props = _properties(body, rid)
    connections = [
        *_typed(props, "privateLinkServiceConnections", list, [], rid),
        *_typed(props, "manualPrivateLinkServiceConnections", list, [], rid),
    ]
    targets: list[str] = []
    groups: list[str] = []
    for connection in connections:
        cprops = connection.get("properties") if isinstance(connection, dict) else None
        if not isinstance(cprops, dict):
            raise MalformedResource(f"{rid.type} {rid.name}: a connection has no properties")
        target = _typed(cprops, "privateLinkServiceId", str, None, rid, "connection.properties")
        targets += [target] if target else []
        groups += _strings(cprops, "groupIds", rid, "connection.properties")
    configs = []
    for entry in _typed(props, "customDnsConfigs", list, [], rid):
        if not isinstance(entry, dict) or not isinstance(entry.get("fqdn"), str):
            raise MalformedResource(
                f"{rid.type} {rid.name}: properties.customDnsConfigs holds {entry!r}"
            )
        ips = _strings(entry, "ipAddresses", rid, "properties.customDnsConfigs[]")
        configs.append(CustomDnsConfig(entry["fqdn"].lower(), ips))
    zone_ids = [
        str(zc.get("properties", {}).get("privateDnsZoneId") or "")
        for group in zone_groups
        for zc in group.get("properties", {}).get("privateDnsZoneConfigs") or []
        if isinstance(zc, dict)
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
    )


def parse_private_dns_zone(
    records: Sequence[Mapping[str, Any]], links: Sequence[Mapping[str, Any]], rid: ResourceId
) -> PrivateDnsZone:
    sets = []
    for record in records:
        props = _properties(record, rid)
        rtype = str(record.get("type", "")).rsplit("/", 1)[-1].upper()
        values: tuple[str, ...]
        if rtype == "A":
            values = tuple(str(a.get("ipv4Address")) for a in props.get("aRecords") or [])
        elif rtype == "CNAME":
            values = (str((props.get("cnameRecord") or {}).get("cname")),)
        else:
            continue  # SOA, TXT, ...: nothing a check needs
        sets.append(DnsRecordSet(str(record.get("name", "")), rtype, values))
    linked = []
    for link in links:
        vnet = (_properties(link, rid).get("virtualNetwork") or {}).get("id")
        if not isinstance(vnet, str):
            raise MalformedResource(
                f"{rid.type} {rid.name}: virtual network link {link.get('name')!r} names no "
                "properties.virtualNetwork.id"
            )
        linked.append(vnet)
    return PrivateDnsZone(str(rid), rid.name, tuple(sets), tuple(linked))


def _strings(where: Mapping[str, Any], key: str, rid: ResourceId, path: str) -> tuple[str, ...]:
    values = _typed(where, key, list, [], rid, path)
    if not all(isinstance(v, str) for v in values):
        raise MalformedResource(
            f"{rid.type} {rid.name}: {path}.{key} is {values!r}, expected strings"
        )
    return tuple(values)
