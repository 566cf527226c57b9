"""ARM reads through one azure-core pipeline per run, each resource read once per run.

Every read is a plain GET (or a Resource Graph POST) whose JSON body ``probes.arm_bodies``
parses straight into facts: no management SDK client and no SDK model round trip per answer
(the models cost more CPU than the request itself and a client per type and subscription cost
memory). The pipeline keeps what the SDK clients brought: azure-core's retries with a capped
``Retry-After``, the read budget, ARM's bearer-token challenge handling and one keep-alive
connection pool. This is the only module that sees azure-core exceptions: it turns them into
``Read`` facts (the resource's facts, or why there are none) and never judges them.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, Future
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from azure.core import PipelineClient
from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    DecodeError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import RedirectPolicy, SansIOHTTPPolicy, UserAgentPolicy
from azure.core.rest import HttpRequest, HttpResponse
from azure.mgmt.core.exceptions import ARMErrorFormat
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy

from netverify import __version__ as NETVERIFY_VERSION
from netverify.azure.arm_ids import ResourceId, ResourceIdError, subscription_of
from netverify.azure.clouds import Cloud
from netverify.azure.permissions import required_action
from netverify.config import WORKSPACE_TYPE, ArmConfig
from netverify.facts import (
    InboundEndpoint,
    KeyVault,
    OnlineDeployment,
    OnlineEndpoint,
    PolicyAssignment,
    PolicyDefinition,
    PrivateDnsZone,
    PrivateEndpoint,
    PrivateResolvers,
    Read,
    ReadFailure,
    ReadProblem,
    Registry,
    StorageAccount,
    Subscription,
    VirtualNetwork,
    Workspace,
)
from netverify.probes.arm_bodies import (
    MalformedResource,
    parse_forwarding_ruleset,
    parse_inbound_endpoints,
    parse_key_vault,
    parse_online_deployment,
    parse_online_endpoint,
    parse_policy_assignment,
    parse_policy_definition,
    parse_private_dns_zone,
    parse_private_endpoint,
    parse_registry,
    parse_storage_account,
    parse_subscription,
    parse_virtual_network,
    parse_workspace,
)
from netverify.probes.arm_transport import RunTransport
from netverify.probes.cancel import Cancel
from netverify.probes.throttle import CappedRetryPolicy, ReadBudgetPolicy
from netverify.secret import redact

# The api-version of each kind of read. Where a management SDK was used before, its default
# version is kept, so every request is the one the SDK sent.
# Newest stable Microsoft.MachineLearningServices version with v1LegacyMode and online endpoints.
ML_API_VERSION = "2025-12-01"
STORAGE_API_VERSION = "2023-05-01"  # Microsoft.Storage, stable
MANAGEMENT_GROUPS_API_VERSION = "2020-05-01"  # ManagementGroups_GetDescendants, stable
# Microsoft.Network/dnsResolvers and dnsForwardingRulesets: the stable version of the
# recorded examples.
DNS_RESOLVER_API_VERSION = "2022-07-01"
KEY_VAULT_API_VERSION = "2026-05-15"  # azure-mgmt-keyvault 14.1
REGISTRY_API_VERSION = "2025-11-01"  # azure-mgmt-containerregistry 15.0
NETWORK_API_VERSION = "2026-03-01"  # azure-mgmt-network 33.1: VNets, private endpoints
PRIVATE_DNS_API_VERSION = "2024-06-01"  # azure-mgmt-privatedns 2.0
POLICY_API_VERSION = "2026-06-01"  # azure-mgmt-resource-policy 1.0
SUBSCRIPTIONS_API_VERSION = "2022-12-01"  # azure-mgmt-resource-subscriptions 1.0
RESOURCES_API_VERSION = "2025-04-01"  # azure-mgmt-resource 26.0: Resources_List
RESOURCE_GRAPH_API_VERSION = "2021-03-01"  # Microsoft.ResourceGraph, stable
# Reads that name no subscription (Resource Graph, management groups, built-in policy
# definitions) share one concurrency bound under this key.
TENANT = "tenant"

T = TypeVar("T")
_ACTION_IN_MESSAGE = re.compile(r"perform action '([^']+)'")
# What ARM answers with: a JSON body in UTF-8 (azure-core strips a byte-order mark only when
# the charset is written in lower case).
_UTF8_JSON = re.compile(r"(?i:application/json;\s*charset=)\"?utf-8\"?")


@functools.cache
def _version_query(api_version: str) -> str:
    return urlencode({"api-version": api_version})


class EndlessList(Exception):
    """A paged list whose continuation (nextLink, $skipToken) repeats or outruns the page cap."""


class ForeignHost(Exception):
    """A request (a nextLink, a redirect) to a host other than the ARM endpoint."""


class Pages:
    """The continuation tokens of one paged list, checked before the next page is asked for.

    ``where`` names the list in the error; ``cap`` is the most pages read (``arm.max_pages``);
    ``token`` is what the continuation is called (``nextLink``, ``$skipToken``).
    """

    def __init__(self, where: str, cap: int, token: str = "nextLink") -> None:
        self._where = where
        self._cap = cap
        self._token = token
        self._seen: set[str] = set()

    def follow(self, continuation: str | None) -> str | None:
        """``continuation`` if the list may go on to the page it names; None if the list ended.

        Raises ``EndlessList`` for a continuation seen before (the list would loop for ever)
        or one past the ``cap``-th page.
        """
        if not continuation:
            return None
        pages = len(self._seen) + 1  # read so far
        if continuation in self._seen:
            raise EndlessList(
                f"the list at {self._where} does not end: its {self._token} repeats "
                f"after {pages} pages"
            )
        if pages >= self._cap:
            raise EndlessList(
                f"the list at {self._where} was not read to its end: page cap {self._cap} "
                f"reached (arm.max_pages) and its {self._token} goes on"
            )
        self._seen.add(continuation)
        return continuation


CLIENT_REQUEST_ID = "x-ms-client-request-id"


class RequestHeadersPolicy(SansIOHTTPPolicy[HttpRequest, HttpResponse]):
    """The headers azure-core's ``UserAgentPolicy`` and ``RequestIdPolicy`` add to each request,
    in one policy and with each value made once: the user agent an ARM SDK client sends, with
    netverify's moniker (and ``AZURE_HTTP_USER_AGENT``), and a client request id unique to the
    request - one random UUID per reader whose last 12 hex digits count its requests, not a
    ``uuid1`` (a clock read under a lock) per request."""

    def __init__(self, sdk_moniker: str) -> None:
        super().__init__()
        self._user_agent = UserAgentPolicy(sdk_moniker=sdk_moniker).user_agent
        self._prefix = str(uuid.uuid4())[:-12]
        self._count = itertools.count()

    def on_request(self, request: PipelineRequest[HttpRequest]) -> None:
        headers = request.http_request.headers
        if "User-Agent" not in headers:
            headers["User-Agent"] = self._user_agent
        if CLIENT_REQUEST_ID not in headers:
            headers[CLIENT_REQUEST_ID] = f"{self._prefix}{next(self._count) % 16**12:012x}"


class ArmEndpointBearerPolicy(ARMChallengeAuthenticationPolicy):
    """ARM's bearer-token policy, for the ARM endpoint only: a request to any other origin is
    refused (``ForeignHost``) before the token is added or anything is sent. A token request
    that fails on the network, or gets no token back, raises ``ClientAuthenticationError``."""

    def __init__(self, credential: TokenCredential, scope: str, endpoint: str) -> None:
        super().__init__(credential, scope)
        self._origin = _origin(endpoint)
        # A URL that starts with the endpoint and then its path has the endpoint's origin:
        # most requests need no parsing to tell.
        self._same_origin = endpoint.rstrip("/") + "/"

    def on_request(self, request: PipelineRequest[Any]) -> None:
        url = request.http_request.url
        origin = self._origin if url.startswith(self._same_origin) else _origin(url)
        if origin != self._origin:
            raise ForeignHost(
                f"refused to send the ARM token to {origin}, which is not the ARM endpoint "
                f"{self._origin} (a nextLink or redirect pointed there; not followed)"
            )
        try:
            super().on_request(request)  # asks the credential for a token if it has none
        except ClientAuthenticationError:
            raise
        except Exception as exc:  # anything raised here comes from getting a token
            # The token endpoint timed out, could not be reached or answered what is not a
            # token (HTML, a body that is not JSON - azure-identity raises a bare
            # JSONDecodeError for text/html): no token, not "no ARM" - nothing has been sent
            # to ARM yet - and not worth the ARM retries (the credential has retried within
            # its deadline).
            raise ClientAuthenticationError(
                "the token request failed (credential.timeout_seconds bounds it): "
                f"{_first_line(exc)}"
            ) from exc


def _origin(url: str) -> str:
    """``scheme://host:port`` of a URL, the port made explicit; the URL itself if its port is
    not a number."""
    parts = urlsplit(url)
    try:
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    except ValueError:  # a port that is not a number: nothing to compare but the text
        return url
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


class ArmReader:
    """Reads ARM resources for one run. Thread-safe; concurrent asks for one id share one call.

    ``cancel`` stops the run's reads (``probes.cancel``); ``run_id`` is sent as every request's
    correlation id. ``sleep`` is how retries and the read budget wait (tests pass a fake one;
    by default ``cancel.sleep``, which a cancellation cuts short).
    """

    def __init__(
        self,
        credential: TokenCredential,
        cloud: Cloud,
        config: ArmConfig,
        *,
        sleep: Callable[[float], None] | None = None,
        cancel: Cancel | None = None,
        run_id: str | None = None,
    ) -> None:
        cancel = cancel or Cancel()
        self._credential = credential
        self._cloud = cloud
        self._config = config
        self._base_url = (config.endpoint or cloud.arm_endpoint).rstrip("/")
        self._lock = threading.Lock()
        self._reads: dict[str, Future[Read[Any]]] = {}
        self._bounds: dict[str, threading.Semaphore] = {}
        self._sleep = sleep = sleep or cancel.sleep
        # One connection pool for every read, sized for the reads in flight, so concurrent
        # reads reuse TLS connections instead of opening (and discarding) one each.
        transport = RunTransport(
            cancel,
            run_id,
            endpoint=self.base_url,
            ca_bundle=str(config.ca_bundle) if config.ca_bundle else None,
            timeout_seconds=config.timeout_seconds,
            pool_size=config.max_concurrency,
        )
        # One pipeline for every read of the run (the policies are thread-safe), in the order
        # an ARM SDK client puts them: the retry policy wraps the token policy and the read
        # budget, so every attempt gets a fresh token check and spends from the budget.
        self._pipeline: PipelineClient[HttpRequest, HttpResponse] = PipelineClient(
            self.base_url,
            transport=transport,
            policies=[
                RequestHeadersPolicy(sdk_moniker=f"netverify/{NETVERIFY_VERSION}"),
                RedirectPolicy(),  # each redirect goes through the token policy's host check
                CappedRetryPolicy(
                    max_retry_after=config.max_retry_after_seconds,
                    sleep=sleep,
                    retry_total=config.retry_total,
                    retry_backoff_factor=config.retry_backoff_seconds,
                ),
                ArmEndpointBearerPolicy(credential, cloud.arm_scope, self.base_url),
                ReadBudgetPolicy(config.reserve_reads, sleep=sleep),
            ],
        )

    def _bulk_kind(
        self, kind: str
    ) -> tuple[Callable[[str, ResourceId], Any], Callable[[Mapping[str, Any], ResourceId], Any]]:
        """(its ARM read, how its Resource Graph row parses) of a type (lower case) that
        read_in_bulk reads. A row holds what the resource's GET holds; a registry's row holds
        its private-endpoint connections too (properties.privateEndpointConnections), which ARM
        lists apart. (Built per call: bound methods kept on the reader would make it a cycle,
        which keeps every read's future alive after the run until the garbage collector runs.)"""
        return {
            WORKSPACE_TYPE.lower(): (self._read_workspace, parse_workspace),
            KEY_VAULT_TYPE.lower(): (self._read_key_vault, parse_key_vault),
            REGISTRY_TYPE.lower(): (self._read_registry, _registry_from_row),
            STORAGE_TYPE.lower(): (self._read_storage, parse_storage_account),
        }[kind]

    @property
    def base_url(self) -> str:
        return self._base_url

    def workspace(self, resource_id: str) -> Read[Workspace]:
        return self._memoised(resource_id, lambda rid: self._read_workspace(resource_id, rid))

    def key_vault(self, resource_id: str) -> Read[KeyVault]:
        return self._memoised(resource_id, lambda rid: self._read_key_vault(resource_id, rid))

    def subscriptions(self) -> Read[tuple[Subscription, ...]]:
        """Every subscription the identity can see: those where it holds any role."""
        try:
            listed = self.get_paged("/subscriptions", SUBSCRIPTIONS_API_VERSION)
            return Read("/subscriptions", value=tuple(parse_subscription(s) for s in listed))
        except Exception as exc:  # as in _attempt: the failure is the fact
            return Read("/subscriptions", failure=describe_failure(exc, "/subscriptions"))

    def storage_account(self, resource_id: str) -> Read[StorageAccount]:
        return self._memoised(resource_id, lambda rid: self._read_storage(resource_id, rid))

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
            subscription_of(definition_id) or TENANT,
            lambda: self._read_definition(definition_id),
        )

    def reads(self) -> dict[str, Read[Any]]:
        """Every read finished so far, by lower-case key (resource id, or list path)."""
        with self._lock:
            done = {key: f for key, f in self._reads.items() if f.done()}
        return {key: f.result() for key, f in done.items()}

    def pages(self, where: str, token: str = "nextLink") -> Pages:
        """The guard for one paged list at ``where``, capped at ``arm.max_pages``."""
        return Pages(where, self._config.max_pages, token)

    def get(self, path: str, api_version: str) -> Any:
        """The JSON body of ``GET path?api-version=...`` (``path`` from the ARM root).

        Raises azure-core's ``HttpResponseError`` (ARM's error code and message) for a status
        of 400 or more, after the pipeline's retries; ``DecodeError`` for a body that is not
        JSON; what the transport raises (``ServiceRequestError``...) when ARM cannot be reached.
        """
        return self._send(HttpRequest("GET", self._url(path, api_version)))

    def post(self, path: str, api_version: str, body: dict[str, Any]) -> Any:
        """As ``get``, for a POST of a JSON ``body`` (Resource Graph queries)."""
        return self._send(HttpRequest("POST", self._url(path, api_version), json=body))

    def get_paged(
        self, path: str, api_version: str, params: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """Every item of an ARM list (``{'value': [...], 'nextLink': ...}``), following nextLink
        (checked by ``Pages``); ``params``: more query parameters of the first page
        (``$filter``). Raises as ``get``, and ``MalformedResource`` for a body that is no list."""
        url: str | None = self._url(path, api_version, params)
        guard = self.pages(path)
        items: list[dict[str, Any]] = []
        while url:
            body = self._send(HttpRequest("GET", url))
            if not isinstance(body, dict) or not isinstance(body.get("value", []), list):
                raise MalformedResource(
                    f"the list at {path} is not an ARM list ({{'value': [...]}})"
                )
            items.extend(body.get("value") or [])
            url = guard.follow(body.get("nextLink"))
        return items

    def _url(self, path: str, api_version: str, params: dict[str, str] | None = None) -> str:
        """``path`` (from the ARM root) on the ARM endpoint, its api-version and ``params`` as
        the query."""
        query = urlencode({"api-version": api_version, **params}) if params else None
        return f"{self._base_url}{path}?{query or _version_query(api_version)}"

    def _send(self, request: HttpRequest) -> Any:
        response = self._pipeline.send_request(request)
        if response.status_code >= 400:
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)
        try:
            if _UTF8_JSON.fullmatch(response.headers.get("Content-Type", "")):
                # What response.json() does for this content type (utf-8-sig, strict),
                # without parsing the header as a MIME message each time.
                return json.loads(response.content.decode("utf-8-sig"))
            return response.json()
        except ValueError as exc:  # JSONDecodeError, or a body that is not UTF-8
            raise DecodeError(f"{type(exc).__name__}: {exc}", response=response) from exc

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
            listed = self.get_paged(where, PRIVATE_DNS_API_VERSION)
            return tuple(str(z["id"]) for z in listed if z.get("id"))

        return self._memoised_unparsed(where, subscription, read)

    def private_resolvers(self, subscription: str) -> Read[PrivateResolvers]:
        """Every DNS Private Resolver's inbound endpoints and every forwarding ruleset (with
        its rules and VNet links) in a subscription."""
        where = f"/subscriptions/{subscription}/providers/Microsoft.Network/dnsResolvers"

        def read() -> PrivateResolvers:
            version = DNS_RESOLVER_API_VERSION
            inbound: list[InboundEndpoint] = []
            for resolver in self.get_paged(where, version):
                rid = ResourceId.parse(str(resolver.get("id", "")))
                items = self.get_paged(f"{rid}/inboundEndpoints", version)
                inbound += parse_inbound_endpoints(items, rid)
            rulesets = []
            listed = where.replace("dnsResolvers", "dnsForwardingRulesets")
            for ruleset in self.get_paged(listed, version):
                rid = ResourceId.parse(str(ruleset.get("id", "")))
                rules = self.get_paged(f"{rid}/forwardingRules", version)
                links = self.get_paged(f"{rid}/virtualNetworkLinks", version)
                rulesets.append(parse_forwarding_ruleset(rules, links, rid, ruleset))
            return PrivateResolvers(tuple(inbound), tuple(rulesets))

        return self._memoised_unparsed(where, subscription, read)

    # -- reads -------------------------------------------------------------------------------

    def _read_workspace(self, raw_id: str, rid: ResourceId) -> Workspace:
        return parse_workspace(self.get(raw_id, ML_API_VERSION), rid)

    def _read_key_vault(self, raw_id: str, rid: ResourceId) -> KeyVault:
        return parse_key_vault(self.get(str(rid), KEY_VAULT_API_VERSION), rid)

    def _read_registry(self, raw_id: str, rid: ResourceId) -> Registry:
        body = self.get(str(rid), REGISTRY_API_VERSION)
        connections = self.get_paged(f"{raw_id}/privateEndpointConnections", REGISTRY_API_VERSION)
        return parse_registry(body, connections, rid)

    def _read_storage(self, raw_id: str, rid: ResourceId) -> StorageAccount:
        return parse_storage_account(self.get(raw_id, STORAGE_API_VERSION), rid)

    def _read_endpoints(self, workspace_id: str, rid: ResourceId) -> tuple[OnlineEndpoint, ...]:
        items = self.get_paged(f"{workspace_id}/onlineEndpoints", ML_API_VERSION)
        return tuple(parse_online_endpoint(item, workspace_id, rid) for item in items)

    def _read_deployments(self, endpoint_id: str, rid: ResourceId) -> tuple[OnlineDeployment, ...]:
        items = self.get_paged(f"{endpoint_id}/deployments", ML_API_VERSION)
        return tuple(parse_online_deployment(item, endpoint_id, rid) for item in items)

    def _read_assignments(self, subscription: str) -> tuple[PolicyAssignment, ...]:
        where = f"/subscriptions/{subscription}/providers/Microsoft.Authorization/policyAssignments"
        return tuple(parse_policy_assignment(a) for a in self.get_paged(where, POLICY_API_VERSION))

    def _read_definition(self, definition_id: str) -> PolicyDefinition:
        # A definition's id is its path: in a subscription, a management group or built in.
        return parse_policy_definition(self.get(definition_id, POLICY_API_VERSION), definition_id)

    def _read_virtual_network(self, rid: ResourceId) -> VirtualNetwork:
        return parse_virtual_network(self.get(str(rid), NETWORK_API_VERSION), rid)

    def _read_private_endpoint(self, rid: ResourceId) -> PrivateEndpoint:
        body = self.get(str(rid), NETWORK_API_VERSION)
        groups = self.get_paged(f"{rid}/privateDnsZoneGroups", NETWORK_API_VERSION)
        return parse_private_endpoint(body, groups, rid)

    def _read_private_dns_zone(self, rid: ResourceId) -> PrivateDnsZone:
        body = self.get(str(rid), PRIVATE_DNS_API_VERSION)  # 404 here: the zone is missing
        records = self.get_paged(f"{rid}/ALL", PRIVATE_DNS_API_VERSION)
        links = self.get_paged(f"{rid}/virtualNetworkLinks", PRIVATE_DNS_API_VERSION)
        return parse_private_dns_zone(records, links, rid, body)

    # -- plumbing ----------------------------------------------------------------------------

    def _memoised(
        self, resource_id: str, read: Callable[[ResourceId], T], parent: str | None = None
    ) -> Read[T]:
        """Read once per run. For a list, ``parent`` is the resource it lists under: its id
        gives the ``ResourceId`` handed to ``read``, and its subscription the bound."""
        return self._once(resource_id, self._attempt(resource_id, read, parent))

    def _attempt(
        self, resource_id: str, read: Callable[[ResourceId], T], parent: str | None = None
    ) -> Callable[[], Read[T]]:
        """The one ARM read of ``resource_id`` (as ``_memoised``), not yet made."""

        def attempt() -> Read[T]:
            try:
                rid = ResourceId.parse(parent or resource_id)
            except ResourceIdError as exc:
                return Read(resource_id, failure=ReadFailure(ReadProblem.MALFORMED, str(exc)))
            with self.bound(rid.subscription):
                try:
                    return Read(resource_id, value=read(rid))
                except Exception as exc:  # every failure becomes a fact; see describe_failure
                    return Read(resource_id, failure=describe_failure(exc, resource_id))

        return attempt

    def read_in_bulk(
        self,
        resource_ids: Iterable[str],
        rows: Callable[[list[str]], Iterable[Mapping[str, Any]]],
        pool: Executor,
    ) -> None:
        """Read many resources from one bulk answer (Resource Graph rows) instead of a GET each.

        Every id of a type in ``BULK_TYPES`` that is not read, or being read, yet is claimed:
        a ``workspace``, ``key_vault``, ``registry`` or ``storage_account`` call for it waits
        for this one. ``rows(ids)`` gets the claimed ids and returns rows shaped as their ARM
        GET bodies (``id``, ``location``, ``kind``, ``properties``); a row parses as that GET
        would (a malformed row is a malformed read). An id without a row - not indexed yet, or
        one the identity may not read (Resource Graph leaves those out, so ARM's 403 still
        names the missing permission) - and every id when ``rows`` raises, is read from ARM
        on ``pool``. Returns when every claimed id is read or its ARM read submitted.
        """
        claimed: dict[str, tuple[str, Future[Read[Any]]]] = {}
        with self._lock:
            for raw in resource_ids:
                key = raw.lower()
                if key not in self._reads and key not in claimed and _bulk_type(raw):
                    future: Future[Read[Any]] = Future()
                    self._reads[key] = future
                    claimed[key] = (raw, future)
        if not claimed:
            return
        try:
            answered = {str(row.get("id", "")).lower(): row for row in rows(list(claimed))}
        except Exception:  # each claimed id's own ARM read says what is wrong, if anything is
            answered = {}
        for key, (raw, future) in claimed.items():
            read, parse = self._bulk_kind(_bulk_type(raw))
            row = answered.get(key)
            if row is None:
                pool.submit(_settle, future, self._attempt(raw, functools.partial(read, raw)))
            else:
                _settle(future, functools.partial(_from_row, raw, row, parse))

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
            try:
                pending.set_result(attempt())
            except BaseException as exc:  # RunCancelled: the reads waiting on this one end too
                pending.set_exception(exc)
                raise
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


KEY_VAULT_TYPE = "Microsoft.KeyVault/vaults"
REGISTRY_TYPE = "Microsoft.ContainerRegistry/registries"
STORAGE_TYPE = "Microsoft.Storage/storageAccounts"
# What ArmReader.read_in_bulk reads from Resource Graph rows.
BULK_TYPES = (WORKSPACE_TYPE, KEY_VAULT_TYPE, REGISTRY_TYPE, STORAGE_TYPE)
_BULK_TYPES = {t.lower() for t in BULK_TYPES}


def _bulk_type(resource_id: str) -> str:
    """The lower-case type of a top-level resource id if ``read_in_bulk`` reads that type,
    else ''."""
    parts = resource_id.strip("/").split("/")
    if len(parts) != 8 or parts[4].lower() != "providers":
        return ""
    kind = f"{parts[5]}/{parts[6]}".lower()
    return kind if kind in _BULK_TYPES else ""


def _from_row(
    raw_id: str, row: Mapping[str, Any], parse: Callable[[Mapping[str, Any], ResourceId], T]
) -> Read[T]:
    """A Resource Graph row read as its resource's ARM GET body would be."""
    try:
        return Read(raw_id, value=parse(row, ResourceId.parse(raw_id)))
    except Exception as exc:  # as for a GET's body: the failure is the fact
        return Read(raw_id, failure=describe_failure(exc, raw_id))


def _registry_from_row(row: Mapping[str, Any], rid: ResourceId) -> Registry:
    props = row.get("properties")
    connections = props.get("privateEndpointConnections") if isinstance(props, dict) else None
    return parse_registry(row, connections if isinstance(connections, list) else [], rid)


def _settle(future: Future[Read[Any]], read: Callable[[], Read[Any]]) -> None:
    """Resolve a claimed read; whoever waits on it sees an exception (RunCancelled) too."""
    try:
        future.set_result(read())
    except BaseException as exc:
        future.set_exception(exc)
        raise


def describe_failure(exc: Exception, path: str) -> ReadFailure:
    """Name what went wrong in words an on-call engineer can act on; ``path``: what was read.

    The message is redacted (``secret.redact``): an ARM error body may echo the bearer token.
    """
    failure = _failure(exc, path)
    return dataclasses.replace(failure, message=redact(failure.message))


def _failure(exc: Exception, path: str) -> ReadFailure:
    if isinstance(exc, MalformedResource | EndlessList | ForeignHost):
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
