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
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest
from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from azure.mgmt.core.exceptions import ARMErrorFormat
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.privatedns import PrivateDnsManagementClient
from azure.mgmt.resource.policy import PolicyClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient
from requests import Session
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies

from netverify.azure.arm_ids import ResourceId, ResourceIdError
from netverify.azure.clouds import Cloud
from netverify.azure.permissions import required_action
from netverify.config import ArmConfig
from netverify.facts import (
    CustomDnsConfig,
    DnsRecordSet,
    KeyVault,
    OnlineDeployment,
    OnlineEndpoint,
    PolicyAssignment,
    PolicyDefinition,
    PrivateDnsZone,
    PrivateEndpoint,
    PrivateEndpointConnection,
    Read,
    ReadFailure,
    ReadProblem,
    Registry,
    Subscription,
    VirtualNetwork,
    Workspace,
)
from netverify.probes.throttle import ReadBudgetPolicy

# Newest stable Microsoft.MachineLearningServices version with v1LegacyMode and online endpoints;
# read through generic resources so no beta SDK is needed.
ML_API_VERSION = "2025-12-01"
# ManagementGroups_GetDescendants, stable; read generically so no extra SDK is needed.
MANAGEMENT_GROUPS_API_VERSION = "2020-05-01"
# Reads that name no subscription (Resource Graph, management groups, built-in policy
# definitions) share one concurrency bound under this key.
TENANT = "tenant"

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
        self._bounds: dict[str, threading.Semaphore] = {}
        # One connection pool for every client, sized for the reads in flight, so concurrent
        # reads reuse TLS connections instead of opening (and discarding) one each.
        session = Session()
        # requests would re-read the proxy variables from the environment on every request
        # (a scan of os.environ each time, the biggest CPU cost per read); read them once.
        session.proxies.update(get_environ_proxies(self.base_url))
        session.trust_env = False
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=config.max_concurrency)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        self._budget = ReadBudgetPolicy(config.reserve_reads)
        self._transport = RequestsTransport(
            session=session,
            session_owner=False,
            connection_verify=str(config.ca_bundle) if config.ca_bundle else True,
            connection_timeout=config.timeout_seconds,
            read_timeout=config.timeout_seconds,
        )

    @property
    def base_url(self) -> str:
        return (self._config.endpoint or self._cloud.arm_endpoint).rstrip("/")

    def workspace(self, resource_id: str) -> Read[Workspace]:
        return self._memoised(resource_id, lambda rid: self._read_workspace(resource_id, rid))

    def key_vault(self, resource_id: str) -> Read[KeyVault]:
        return self._memoised(resource_id, lambda rid: self._read_key_vault(resource_id, rid))

    def subscriptions(self) -> Read[tuple[Subscription, ...]]:
        """Every subscription the identity can see: those where it holds any role."""
        try:
            listed = self.client(SubscriptionClient, None).subscriptions.list()
            return Read(
                "/subscriptions", value=tuple(parse_subscription(s.as_dict()) for s in listed)
            )
        except Exception as exc:  # as in _attempt: the failure is the fact
            return Read("/subscriptions", failure=describe_failure(exc, "/subscriptions"))

    def registry(self, resource_id: str) -> Read[Registry]:
        return self._memoised(resource_id, lambda rid: self._read_registry(resource_id, rid))

    def online_endpoints(self, workspace_id: str) -> Read[tuple[OnlineEndpoint, ...]]:
        """The workspace's online endpoints (one paged list call)."""
        return self._memoised(
            f"{workspace_id}/onlineEndpoints",
            lambda rid: self._read_endpoints(workspace_id, rid),
            parent=workspace_id,
        )

    def online_deployments(self, endpoint_id: str) -> Read[tuple[OnlineDeployment, ...]]:
        """The endpoint's deployments (one paged list call)."""
        return self._memoised(
            f"{endpoint_id}/deployments",
            lambda rid: self._read_deployments(endpoint_id, rid),
            parent=endpoint_id,
        )

    def policy_assignments(self, subscription: str) -> Read[tuple[PolicyAssignment, ...]]:
        """Every assignment that applies in the subscription or to anything inside it."""
        key = f"/subscriptions/{subscription}/providers/Microsoft.Authorization/policyAssignments"
        return self._memoised_unparsed(
            key, subscription, lambda: self._read_assignments(subscription)
        )

    def policy_definition(self, definition_id: str) -> Read[PolicyDefinition]:
        return self._memoised_unparsed(
            definition_id,
            _subscription_of(definition_id) or TENANT,
            lambda: self._read_definition(definition_id),
        )

    def reads(self) -> dict[str, Read[Any]]:
        """Every read finished so far, by lower-case key (resource id, or list path)."""
        with self._lock:
            done = {key: f for key, f in self._reads.items() if f.done()}
        return {key: f.result() for key, f in done.items()}

    def get_paged(self, subscription: str, path: str, api_version: str) -> list[dict[str, Any]]:
        """Every item of an ARM list, following nextLink, through the resources client."""
        client = self.client(ResourceManagementClient, subscription or TENANT)
        url: str | None = f"{path}?api-version={api_version}"
        items: list[dict[str, Any]] = []
        while url:
            response = client.send_request(HttpRequest("GET", url))
            if response.status_code >= 400:
                raise HttpResponseError(response=response, error_format=ARMErrorFormat)
            body = response.json()
            if not isinstance(body, dict) or not isinstance(body.get("value", []), list):
                raise MalformedResource(
                    f"the list at {path} is not an ARM list ({{'value': [...]}})"
                )
            items.extend(body.get("value") or [])
            url = body.get("nextLink") or None
        return items

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
            client = self.client(PrivateDnsManagementClient, subscription)
            return tuple(str(z.id) for z in client.private_zones.list() if z.id)

        return self._memoised_unparsed(where, subscription, read)

    # -- reads -------------------------------------------------------------------------------

    def _read_workspace(self, raw_id: str, rid: ResourceId) -> Workspace:
        client = self.client(ResourceManagementClient, rid.subscription)
        body = client.resources.get_by_id(raw_id, api_version=ML_API_VERSION).as_dict()
        return parse_workspace(body, rid)

    def _read_key_vault(self, raw_id: str, rid: ResourceId) -> KeyVault:
        client = self.client(KeyVaultManagementClient, rid.subscription)
        body = client.vaults.get(rid.resource_group, rid.name).as_dict()
        return parse_key_vault(body, rid)

    def _read_registry(self, raw_id: str, rid: ResourceId) -> Registry:
        client = self.client(ContainerRegistryManagementClient, rid.subscription)
        body = client.registries.get(rid.resource_group, rid.name).as_dict()
        connections = [
            c.as_dict()
            for c in client.private_endpoint_connections.list(rid.resource_group, rid.name)
        ]
        return parse_registry(body, connections, rid)

    def _read_endpoints(self, workspace_id: str, rid: ResourceId) -> tuple[OnlineEndpoint, ...]:
        items = self.get_paged(rid.subscription, f"{workspace_id}/onlineEndpoints", ML_API_VERSION)
        return tuple(parse_online_endpoint(item, workspace_id, rid) for item in items)

    def _read_deployments(self, endpoint_id: str, rid: ResourceId) -> tuple[OnlineDeployment, ...]:
        items = self.get_paged(rid.subscription, f"{endpoint_id}/deployments", ML_API_VERSION)
        return tuple(parse_online_deployment(item, endpoint_id, rid) for item in items)

    def _read_assignments(self, subscription: str) -> tuple[PolicyAssignment, ...]:
        client = self.client(PolicyClient, subscription)
        return tuple(parse_policy_assignment(a.as_dict()) for a in client.policy_assignments.list())

    def _read_definition(self, definition_id: str) -> PolicyDefinition:
        name = definition_id.rstrip("/").rsplit("/", 1)[-1]
        subscription = _subscription_of(definition_id)
        group = _management_group_of(definition_id)
        client = self.client(PolicyClient, subscription or TENANT)
        if subscription:
            body = client.policy_definitions.get(name)
        elif group:
            body = client.policy_definitions.get_at_management_group(name, group)
        else:
            body = client.policy_definitions.get_built_in(name)
        return parse_policy_definition(body.as_dict(), definition_id)

    def _read_virtual_network(self, rid: ResourceId) -> VirtualNetwork:
        client = self.client(NetworkManagementClient, rid.subscription)
        body = client.virtual_networks.get(rid.resource_group, rid.name).as_dict()
        return parse_virtual_network(body, rid)

    def _read_private_endpoint(self, rid: ResourceId) -> PrivateEndpoint:
        client = self.client(NetworkManagementClient, rid.subscription)
        body = client.private_endpoints.get(rid.resource_group, rid.name).as_dict()
        groups = [
            g.as_dict() for g in client.private_dns_zone_groups.list(rid.name, rid.resource_group)
        ]
        return parse_private_endpoint(body, groups, rid)

    def _read_private_dns_zone(self, rid: ResourceId) -> PrivateDnsZone:
        client = self.client(PrivateDnsManagementClient, rid.subscription)
        client.private_zones.get(rid.resource_group, rid.name)  # 404 here: the zone is missing
        records = [r.as_dict() for r in client.record_sets.list(rid.resource_group, rid.name)]
        links = [
            link.as_dict()
            for link in client.virtual_network_links.list(rid.resource_group, rid.name)
        ]
        return parse_private_dns_zone(records, links, rid)

    # -- plumbing ----------------------------------------------------------------------------

    def _memoised(
        self, resource_id: str, read: Callable[[ResourceId], T], parent: str | None = None
    ) -> Read[T]:
        """Read once per run. For a list, ``parent`` is the resource it lists under: its id
        gives the ``ResourceId`` handed to ``read``, and its subscription the bound."""

        def attempt() -> Read[T]:
            try:
                rid = ResourceId.parse(parent or resource_id)
            except ResourceIdError as exc:
                return Read(resource_id, failure=ReadFailure(ReadProblem.MALFORMED, str(exc)))
            with self.bound(rid.subscription):
                try:
                    return Read(resource_id, value=read(rid))
                except Exception as exc:  # every SDK failure becomes a fact; see describe_failure
                    return Read(resource_id, failure=describe_failure(exc, resource_id))

        return self._once(resource_id, attempt)

    def _memoised_unparsed(self, key: str, subscription: str, read: Callable[[], T]) -> Read[T]:
        """As ``_memoised``, for reads whose key is not a resource-group resource id."""

        def attempt() -> Read[T]:
            with self.bound(subscription):
                try:
                    return Read(key, value=read())
                except Exception as exc:
                    return Read(key, failure=describe_failure(exc, key))

        return self._once(key, attempt)

    def _once(self, key: str, attempt: Callable[[], Read[T]]) -> Read[T]:
        with self._lock:
            pending = self._reads.get(key.lower())
            owner = pending is None
            if pending is None:
                pending = self._reads[key.lower()] = Future()
        if owner:
            pending.set_result(attempt())
        return pending.result()

    def bound(self, subscription: str) -> threading.Semaphore:
        """At most ``max_concurrency_per_subscription`` reads in flight per subscription."""
        with self._lock:
            bound = self._bounds.get(subscription.lower())
            if bound is None:
                bound = self._bounds[subscription.lower()] = threading.BoundedSemaphore(
                    self._config.max_concurrency_per_subscription
                )
            return bound

    def client(self, client_type: type[T], subscription: str | None) -> T:
        """One client per type and subscription; ``subscription=None`` for tenant-wide clients."""
        key = (client_type.__name__, (subscription or "").lower())
        with self._lock:
            if key not in self._clients:
                positional: tuple[Any, ...] = (
                    (self._credential,)
                    if subscription is None
                    else (self._credential, subscription)
                )
                self._clients[key] = client_type(  # type: ignore[call-arg]
                    *positional,
                    base_url=self.base_url,
                    credential_scopes=[self._cloud.arm_scope],
                    transport=self._transport,
                    custom_hook_policy=self._budget,
                    retry_total=self._config.retry_total,
                    retry_backoff_factor=self._config.retry_backoff_seconds,
                )
            client: T = self._clients[key]
            return client


def describe_failure(exc: Exception, path: str) -> ReadFailure:
    """Name what went wrong in words an on-call engineer can act on; ``path``: what was read."""
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
        permission = found.group(1) if found else required_action("GET", path)
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


def _arm_message(exc: Exception) -> str:
    error = getattr(exc, "error", None)
    code, message = getattr(error, "code", None), getattr(error, "message", None)
    if code or message:
        return f"{code}: {message}"
    return _first_line(exc)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _subscription_of(arm_id: str) -> str | None:
    parts = arm_id.strip("/").split("/")
    return parts[1] if len(parts) > 1 and parts[0].lower() == "subscriptions" else None


def _management_group_of(arm_id: str) -> str | None:
    parts = arm_id.strip("/").split("/")
    if len(parts) > 3 and parts[1].lower() == "microsoft.management":
        return parts[3]
    return None


# -- bodies -> facts -------------------------------------------------------------------------


def parse_workspace(body: Mapping[str, Any], rid: ResourceId) -> Workspace:
    props = _properties(body, rid)
    connections = _typed(props, "privateEndpointConnections", list, [], rid)
    managed = _typed(props, "managedNetwork", dict, {}, rid)
    network_path = "properties.managedNetwork"
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
        image_build_compute=_typed(props, "imageBuildCompute", str, None, rid) or None,
        managed_network_isolation=_typed(managed, "isolationMode", str, None, rid, network_path),
        managed_network_status=_typed(
            _typed(managed, "status", dict, {}, rid, network_path),
            "status",
            str,
            None,
            rid,
            f"{network_path}.status",
        ),
    )


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
        public_network_access=_typed(props, "publicNetworkAccess", str, None, rid),
        default_action=_typed(rules, "defaultAction", str, None, rid, "properties.networkRuleSet"),
        private_endpoint_connections=tuple(_connection(c, rid) for c in connections),
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
        location=_typed(body, "location", str, "", rid, "(top level)"),
        provisioning_state=_typed(props, "provisioningState", str, None, rid),
        public_network_access=_typed(props, "publicNetworkAccess", str, None, rid),
        traffic=dict(traffic),
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
        egress_public_network_access=_typed(props, "egressPublicNetworkAccess", str, None, rid),
        compute_type=_typed(props, "endpointComputeType", str, None, rid),
    )


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
