"""ARM reads through the real Azure SDK clients, each resource read once per run.

This is the only module that sees SDK models and exceptions: it turns them into ``Read``
facts (the resource's facts, or why there are none) and never judges them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
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
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from netverify.arm_ids import ResourceId, ResourceIdError
from netverify.clouds import Cloud
from netverify.config import ArmConfig
from netverify.facts import (
    KeyVault,
    PrivateEndpointConnection,
    Read,
    ReadFailure,
    ReadProblem,
    Subscription,
    Workspace,
)
from netverify.permissions import required_action

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

    def subscriptions(self) -> Read[tuple[Subscription, ...]]:
        """Every subscription the identity can see: those where it holds any role."""
        try:
            listed = self._client(SubscriptionClient, None).subscriptions.list()
            return Read(
                "/subscriptions", value=tuple(parse_subscription(s.as_dict()) for s in listed)
            )
        except Exception as exc:  # as in _attempt: the failure is the fact
            return Read("/subscriptions", failure=describe_failure(exc, "/subscriptions"))

    # -- reads -------------------------------------------------------------------------------

    def _read_workspace(self, raw_id: str, rid: ResourceId) -> Workspace:
        client = self._client(ResourceManagementClient, rid.subscription)
        body = client.resources.get_by_id(raw_id, api_version=ML_API_VERSION).as_dict()
        return parse_workspace(body, rid)

    def _read_key_vault(self, raw_id: str, rid: ResourceId) -> KeyVault:
        client = self._client(KeyVaultManagementClient, rid.subscription)
        body = client.vaults.get(rid.resource_group, rid.name).as_dict()
        return parse_key_vault(body, rid)

    # -- plumbing ----------------------------------------------------------------------------

    def _memoised(self, resource_id: str, read: Callable[[ResourceId], T]) -> Read[T]:
        key = resource_id.lower()
        with self._lock:
            pending = self._reads.get(key)
            owner = pending is None
            if pending is None:
                pending = self._reads[key] = Future()
        if owner:
            pending.set_result(self._attempt(resource_id, read))
        return pending.result()

    def _attempt(self, resource_id: str, read: Callable[[ResourceId], T]) -> Read[T]:
        try:
            rid = ResourceId.parse(resource_id)
        except ResourceIdError as exc:
            return Read(resource_id, failure=ReadFailure(ReadProblem.MALFORMED, str(exc)))
        try:
            return Read(resource_id, value=read(rid))
        except Exception as exc:  # every SDK failure becomes a fact; see describe_failure
            return Read(resource_id, failure=describe_failure(exc, str(rid)))

    def _client(self, client_type: type[T], subscription: str | None) -> T:
        """A client per type and subscription; ``None`` for tenant-level clients."""
        key = (client_type.__name__, (subscription or "").lower())
        with self._lock:
            if key not in self._clients:
                self._clients[key] = client_type(  # type: ignore[call-arg]
                    self._credential,
                    *([subscription] if subscription is not None else []),
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


def parse_subscription(body: Mapping[str, Any]) -> Subscription:
    subscription_id = body.get("subscription_id") or body.get("subscriptionId")
    if not isinstance(subscription_id, str):
        raise MalformedResource(f"a subscription in the list has no subscriptionId: {body!r}")
    return Subscription(
        subscription_id=subscription_id,
        display_name=str(body.get("display_name") or body.get("displayName") or subscription_id),
        state=body.get("state"),
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
