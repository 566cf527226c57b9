"""The simulated tenant's servers on loopback: Azure Resource Manager (HTTPS) and a
managed-identity token endpoint (App Service style, and IMDS style), both recording requests.
"""

from __future__ import annotations

import base64
import json
import math
import re
import secrets
import ssl
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from netverify.azure.permissions import required_action
from netverify.sim.arm_state import ArmState
from netverify.sim.scenario import FaultSpec


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    api_version: str | None
    query: dict[str, str]
    status: int
    at: float  # time.monotonic() when the answer was sent
    arrived: float | None = None  # time.monotonic() when the request came in
    correlation: str | None = None  # its x-ms-correlation-request-id (netverify: the run id)


@dataclass
class _Fault:
    spec: FaultSpec
    pattern: re.Pattern[str]
    remaining: int | None


# The simulated agent identity: object (principal) id and client (application) id.
SIM_PRINCIPAL_ID = "00000000-0000-0000-0000-00000000a9e7"
SIM_CLIENT_ID = "00000000-0000-0000-0000-0000000c11e7"


@dataclass
class TokenBook:
    """Tokens the identity endpoint issued, so ARM can refuse any other bearer."""

    issued: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, claims: Mapping[str, object] | None = None) -> str:
        """A JWT-shaped token (as Entra issues) carrying ``claims``; its signature is random."""
        header = {"typ": "JWT", "alg": "RS256", "kid": "netverify-sim"}
        token = ".".join([_base64url(header), _base64url(claims or {}), secrets.token_urlsafe(32)])
        with self.lock:
            self.issued.add(token)
        return token

    def valid(self, token: str) -> bool:
        with self.lock:
            return token in self.issued


def _base64url(document: Mapping[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog is 5: a client opening tens of connections at once
    # (netverify's pool, 64) had the rest of its SYNs dropped and retried a second later, a
    # stall no Azure endpoint shows.
    request_queue_size = 128
    # Keep-alive handler threads sit in a read until the client goes; do not wait for them.
    block_on_close = False


class _Recording:
    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def record(
        self,
        method: str,
        target: str,
        status: int,
        arrived: float | None = None,
        correlation: str | None = None,
    ) -> None:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append(
                RecordedRequest(
                    method,
                    unquote(parts.path),
                    query.get("api-version"),
                    query,
                    status,
                    time.monotonic(),
                    arrived,
                    correlation,
                )
            )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as ARM clients expect
    # Headers and body go out in two writes; without TCP_NODELAY the second waits for the
    # client's delayed ACK (~40 ms on Linux), which would swamp any simulated latency.
    disable_nagle_algorithm = True
    server_version = "netverify-sim"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def reply(
        self, status: int, body: str | dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        payload = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)


class SimulatedArm(_Recording):
    """HTTPS ARM on 127.0.0.1: GET by id, paged lists, faults per route, 401 without a token."""

    def __init__(
        self,
        state: ArmState,
        tokens: TokenBook,
        ssl_context: ssl.SSLContext,
        *,
        page_size: int = 100,
        resource_graph_page_size: int = 1000,
        read_bucket: int | None = None,
        read_refill_per_second: float = 25.0,
        latency_seconds: float = 0.0,
        faults: Iterable[FaultSpec] = (),
        authority_host: str = "login.microsoftonline.com",
    ) -> None:
        super().__init__()
        self.authority_host = authority_host
        self.state = state
        self._subscriptions = {rid.split("/")[2] for rid in state.resources if rid.count("/") == 2}
        self.tokens = tokens
        self.page_size = page_size
        self.resource_graph_page_size = resource_graph_page_size
        self.read_bucket = read_bucket
        self.read_refill_per_second = read_refill_per_second
        self._buckets: dict[str, tuple[float, float]] = {}  # subscription -> (tokens, at)
        self.latency_seconds = latency_seconds
        self._faults: list[_Fault] = []
        for spec in faults:
            self.inject(spec)
        arm = self

        class Handler(_Handler):
            def do_GET(self) -> None:
                arm._serve(self, "GET")

            def do_POST(self) -> None:
                arm._serve(self, "POST")

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def inject(self, spec: FaultSpec) -> None:
        with self._lock:
            self._faults.append(_Fault(spec, re.compile(spec.path, re.IGNORECASE), spec.times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, method: str, path: str) -> FaultSpec | None:
        with self._lock:
            for fault in self._faults:
                if fault.spec.method == method and fault.pattern.search(path):
                    if fault.remaining is None:
                        return fault.spec
                    if fault.remaining > 0:
                        fault.remaining -= 1
                        return fault.spec
        return None

    def _serve(self, handler: _Handler, method: str) -> None:
        arrived = time.monotonic()
        length = int(handler.headers.get("Content-Length") or 0)
        payload = handler.rfile.read(length) if length else b""
        status, body, headers = self._answer(handler, method, payload)
        correlation = handler.headers.get("x-ms-correlation-request-id")
        self.record(method, handler.path, status, arrived, correlation)
        handler.reply(status, body, headers)

    def _answer(
        self, handler: _Handler, method: str, payload: bytes = b""
    ) -> tuple[int, str | dict[str, Any], dict[str, str]]:
        parts = urlsplit(handler.path)
        path = unquote(parts.path).rstrip("/")
        if self.latency_seconds:
            time.sleep(self.latency_seconds)
        auth = handler.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not self.tokens.valid(auth.removeprefix("Bearer ")):
            return (
                401,
                _error("InvalidAuthenticationToken", "The access token is missing or invalid."),
                {"WWW-Authenticate": f'Bearer authorization_uri="https://{self.authority_host}/"'},
            )
        fault = self._take_fault(method, path)
        if fault is not None:
            time.sleep(fault.delay_seconds)
        if fault is not None and not (fault.status == 200 and fault.body is None):
            headers = (
                {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            ) | fault.headers
            return (
                fault.status,
                fault.body if fault.body is not None else _fault_body(fault.status, method, path),
                headers,
            )
        key = path.lower()
        if method == "POST" and key == RESOURCE_GRAPH:
            return self._resource_graph(payload)
        if method != "GET":
            return 405, _error("MethodNotAllowed", f"{method} is not served here."), {}
        budget = self._spend_read(key)
        if budget is not None and budget < 0:
            wait = math.ceil(-budget / self.read_refill_per_second) or 1
            headers = {"Retry-After": str(wait), REMAINING_READS: "0"}
            return 429, _fault_body(429, method, path), headers
        headers = {} if budget is None else {REMAINING_READS: str(int(budget))}
        if key in self.state.resources:
            return 200, self.state.resources[key], headers
        if key in self.state.collections:
            return 200, self._page(parts.query, path, self.state.collections[key]), headers
        if _SUBSCRIPTION_LIST.fullmatch(key) and key.split("/")[2] in self._subscriptions:
            # A subscription with no resource of that type lists none, as ARM does.
            return 200, self._page(parts.query, path, []), headers
        return 404, _not_found(path), headers

    def _spend_read(self, key: str) -> float | None:
        """Take a token from the subscription's read bucket: what is left (negative: none was)."""
        if self.read_bucket is None or not key.startswith("/subscriptions/"):
            return None
        subscription = key.split("/")[2]
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(subscription, (float(self.read_bucket), now))
            tokens = min(float(self.read_bucket), tokens + (now - at) * self.read_refill_per_second)
            if tokens >= 1:
                tokens -= 1
                self._buckets[subscription] = (tokens, now)
                return tokens
            self._buckets[subscription] = (tokens, now)
            return tokens - 1

    def _page(self, query: str, path: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        wanted = _RESOURCE_TYPE_FILTER.match(params.get("$filter", ""))
        if wanted:  # /resources?$filter=resourceType eq '...', as ARM serves it
            items = [i for i in items if i["type"].lower() == wanted.group(1).lower()]
        start = int(params.get("$skipToken", "0") or 0)
        page: dict[str, Any] = {"value": items[start : start + self.page_size]}
        if start + self.page_size < len(items):
            params["$skipToken"] = str(start + self.page_size)
            page["nextLink"] = f"{self.url}{path}?{urlencode(params)}"
        return page

    def _resource_graph(self, payload: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        """POST /providers/Microsoft.ResourceGraph/resources (QueryRequest, api-version
        2021-03-01) for the KQL subset netverify sends: ``resources`` then ``| where <column>
        =~ '<value>'`` or ``| where <column> in~ ('<value>', ...)`` (type, id, name,
        resourceGroup, subscriptionId) and one ``| project <column>, ...``, over the request's
        subscriptions and management groups (none: every subscription), paged with
        ``$skipToken``; rows as ``resultFormat: objectArray`` (QueryResponse). As Resource
        Graph does, a resource the identity may not read (an injected GET 403 on its path) is
        left out of the answer, not refused."""
        try:
            request = json.loads(payload)
            query = request["query"]
            wheres, columns = _parse_graph_query(query)
        except (ValueError, KeyError, TypeError) as exc:
            return (
                400,
                _error("InvalidQuery", f"The simulated Resource Graph cannot run it: {exc}"),
                {},
            )
        subscriptions = {s.lower() for s in request.get("subscriptions") or ()}
        if not request.get("subscriptions") and not request.get("managementGroups"):
            # No scope: every subscription the identity can see, as Resource Graph does.
            subscriptions = set(self._subscriptions)
        for group in request.get("managementGroups") or ():
            subscriptions |= {
                s.lower() for s in self.state.management_groups.get(group.lower(), ())
            }
        rows = []
        # A query by id looks its resources up; any other scans the table.
        ids = next((values for column, values in wheres if column == "id"), None)
        candidates = (
            [(key, self.state.resources[key]) for key in sorted(ids) if key in self.state.resources]
            if ids is not None
            else list(self.state.resources.items())
        )
        for key, resource in candidates:
            parts = key.split("/")
            if len(parts) < 9 or parts[2] not in subscriptions:
                continue  # Resource Graph's resources table holds resources, not subscriptions
            row = _graph_row(resource, parts)
            if all(str(row.get(column, "")).lower() in values for column, values in wheres) and (
                self._readable(resource["id"])
            ):
                rows.append({c: row.get(c) for c in columns} if columns else row)
        options = request.get("options") or {}
        size = min(int(options.get("$top") or 1000), self.resource_graph_page_size)
        start = int(options.get("$skipToken") or 0)
        page = rows[start : start + size]
        body: dict[str, Any] = {
            "totalRecords": len(rows),
            "count": len(page),
            "resultTruncated": "false",
            "facets": [],
            "data": page,
        }
        if start + size < len(rows):
            body["$skipToken"] = str(start + size)
        return (
            200,
            body,
            {"x-ms-user-quota-remaining": "14", "x-ms-user-quota-resets-after": "00:00:05"},
        )

    def _readable(self, path: str) -> bool:
        """False when a GET of ``path`` would be refused (an injected 403), without using the
        fault up."""
        with self._lock:
            return not any(
                f.spec.method == "GET" and f.spec.status == 403 and f.pattern.search(path)
                for f in self._faults
                if f.remaining is None or f.remaining > 0
            )


def _graph_row(body: dict[str, Any], parts: list[str]) -> dict[str, Any]:
    """A resource as a row of Resource Graph's resources table: its ARM body's columns, the
    type in lower case (as Resource Graph answers it), and the columns it derives."""
    return {
        **{k: v for k, v in body.items() if k in _GRAPH_BODY_COLUMNS},
        "type": str(body.get("type", "")).lower(),
        "resourceGroup": parts[4],
        "subscriptionId": parts[2],
    }


_GRAPH_BODY_COLUMNS = {"id", "name", "location", "kind", "sku", "identity", "tags", "properties"}
_GRAPH_WHERE_COLUMNS = {"type", "id", "name", "resourcegroup", "subscriptionid"}
_GRAPH_WHERE = re.compile(r"where\s+(\w+)\s+(?:=~\s*'([^']*)'|in~\s*\(([^)]*)\))\s*", re.IGNORECASE)
_GRAPH_PROJECT = re.compile(r"project\s+([\w\s,]+?)\s*", re.IGNORECASE)


def _parse_graph_query(query: str) -> tuple[list[tuple[str, set[str]]], list[str]]:
    """(where clauses as (column, accepted lower-case values), projected columns) of a query in
    the subset ``_resource_graph`` runs; ValueError for anything else."""
    stages = [stage.strip() for stage in query.split("|")]
    if stages[0].lower() != "resources":
        raise ValueError(f"{query!r} does not start with the resources table")
    wheres: list[tuple[str, set[str]]] = []
    columns: list[str] = []
    names = {"resourcegroup": "resourceGroup", "subscriptionid": "subscriptionId"}
    for stage in stages[1:]:
        where = _GRAPH_WHERE.fullmatch(stage)
        project = _GRAPH_PROJECT.fullmatch(stage)
        if where and where.group(1).lower() in _GRAPH_WHERE_COLUMNS:
            listed = where.group(2) if where.group(2) is not None else where.group(3)
            values = re.findall(r"'([^']*)'", listed) if where.group(3) is not None else [listed]
            column = names.get(where.group(1).lower(), where.group(1).lower())
            wheres.append((column, {v.lower() for v in values}))
        elif project and not columns:
            columns = [c.strip() for c in project.group(1).split(",") if c.strip()]
        else:
            raise ValueError(f"the stage {stage!r} is not in the subset it runs")
    return wheres, columns


RESOURCE_GRAPH = "/providers/microsoft.resourcegraph/resources"
REMAINING_READS = "x-ms-ratelimit-remaining-subscription-reads"
_RESOURCE_TYPE_FILTER = re.compile(r"^resourceType eq '([^']+)'$", re.IGNORECASE)


# /subscriptions/{id}/providers/{namespace}/{type}: a resource type listed per subscription.
_SUBSCRIPTION_LIST = re.compile(r"/subscriptions/[^/]+/providers/[^/]+\.[^/]+/[^/]+")


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _fault_body(status: int, method: str, path: str) -> dict[str, Any]:
    if status == 403:
        return _error(
            "AuthorizationFailed",
            f"The client '{SIM_PRINCIPAL_ID}' with object id "
            f"'{SIM_PRINCIPAL_ID}' does not have authorization to perform "
            f"action '{required_action(method, path)}' over scope '{path}' or the scope is invalid. If access "
            "was recently granted, please refresh your credentials.",
        )
    if status == 429:
        return _error("TooManyRequests", "The request was throttled; retry after the Retry-After.")
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    return _error(phrase.replace(" ", ""), f"Simulated {status} {phrase}.")


def _not_found(path: str) -> dict[str, Any]:
    parts = path.strip("/").split("/")
    if len(parts) >= 8:
        return _error(
            "ResourceNotFound",
            f"The Resource '{parts[5]}/{parts[6]}/{parts[7]}' under resource group "
            f"'{parts[3]}' was not found.",
        )
    return _error("NotFound", f"No route for {path}.")


class TokenEndpoint(_Recording):
    """Managed-identity tokens over plain HTTP on loopback, as App Service and IMDS serve them.

    App Service style: ``IDENTITY_ENDPOINT=<url>/msi/token`` + ``IDENTITY_HEADER=<secret>``.
    IMDS style: ``AZURE_POD_IDENTITY_AUTHORITY_HOST=<url>`` (path /metadata/identity/oauth2/token).
    Only the audiences given are granted, so a wrong-cloud scope fails as it would in Azure.
    """

    def __init__(
        self,
        tokens: TokenBook,
        audiences: Iterable[str],
        *,
        tenant_id: str = "72f988bf-0000-4000-8000-000000000001",
        issuer_host: str = "login.microsoftonline.com",
    ) -> None:
        super().__init__()
        self.tenant_id = tenant_id
        self.issuer_host = issuer_host
        self.secret = secrets.token_urlsafe(16)
        self.audiences = {a.rstrip("/") for a in audiences}
        self.tokens = tokens
        self.identity_assigned = True  # False: the host has no managed identity (400, as IMDS)
        endpoint = self

        class Handler(_Handler):
            def do_GET(self) -> None:
                status, body = endpoint._answer(self)
                endpoint.record("GET", self.path, status)
                self.reply(status, body)

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def environment(self) -> dict[str, str]:
        """What ``ManagedIdentityCredential`` reads to use this endpoint (App Service style)."""
        return {"IDENTITY_ENDPOINT": f"{self.url}/msi/token", "IDENTITY_HEADER": self.secret}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, handler: _Handler) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(handler.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/msi/token":
            if handler.headers.get("X-IDENTITY-HEADER") != self.secret:
                return 401, {"statusCode": 401, "message": "X-IDENTITY-HEADER is missing or wrong"}
        elif parts.path == "/metadata/identity/oauth2/token":
            if handler.headers.get("Metadata") != "true":
                return 400, {
                    "error": "invalid_request",
                    "error_description": "Required metadata header not specified",
                }
        else:
            return 404, {"error": "not_found", "error_description": parts.path}
        if not self.identity_assigned:
            return 400, {
                "error": "invalid_request",
                "error_description": "Identity not found",
                "statusCode": 400,
                "message": "No managed identity is assigned to this resource.",
            }
        resource = params.get("resource", "").rstrip("/")
        if resource not in self.audiences:
            return 400, {
                "error": "invalid_resource",
                "error_description": f"AADSTS500011: The resource principal named {resource} was not found.",
                "statusCode": 400,
                "message": f"invalid resource {resource}",
            }
        now = int(time.time())
        client_id = params.get("client_id", SIM_CLIENT_ID)
        claims = {
            "aud": resource,
            "iss": f"https://{self.issuer_host}/{self.tenant_id}/",
            "tid": self.tenant_id,
            "oid": SIM_PRINCIPAL_ID,
            "appid": client_id,
            "idtyp": "app",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
        }
        return 200, {
            "access_token": self.tokens.issue(claims),
            "expires_on": str(now + 3600),
            "expires_in": "3600",
            "not_before": str(now),
            "resource": params["resource"],
            "token_type": "Bearer",
            "client_id": client_id,
        }
