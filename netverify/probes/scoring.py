"""The scoring path itself: one unauthenticated HTTPS GET per online endpoint, from this VNet.

No key and no payload: what answers tells where the request arrived (Azure ML's front end says
401 to a request without a key; its public front end refuses a private endpoint's traffic), and
the guide's status codes say what is wrong behind it. A managed endpoint is asked at its
``scoringUri``; a Kubernetes endpoint's inference router (azureml-fe) for the endpoint's swagger
document, as the troubleshooting guide does. The host is resolved as this VNet's workloads do
(``client_resolvers``); connections go through ``reachability.address_map``. Nothing here
judges, and nothing raises: every outcome is an ``HttpAnswer``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import ssl
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from netverify.config import Config
from netverify.facts import (
    DnsAnswer,
    HttpAnswer,
    HttpFailure,
    OnlineEndpoint,
    Resolver,
    ResolverKind,
    ScoringProbe,
)
from netverify.probes.cancel import Cancel
from netverify.probes.reach import mapped_target, verifying_context

# What the checks report from an answer: the challenge of a 401, the guide's bandwidth-delay
# and model-error headers, and what says who answered.
HEADERS_OF_INTEREST = (
    "www-authenticate",
    "ms-azureml-bandwidth-request-delay-ms",
    "ms-azureml-bandwidth-response-delay-ms",
    "ms-azureml-model-error-statuscode",
    "ms-azureml-model-error-reason",
    "azureml-model-deployment",
    "x-ms-request-id",
    "retry-after",
    "content-type",
)
BODY_CHARS = 512
MAX_HEAD = 16384  # an answer head longer than this is not a front end's
STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3})(?: ([^\r\n]*))?\r?\n")


@dataclass(frozen=True, slots=True)
class ScoringRequest:
    """What to ask for one endpoint: the URL and its host (lower-case, IP literal or name)."""

    endpoint: OnlineEndpoint
    url: str
    host: str


def scoring_requests(endpoints: Iterable[OnlineEndpoint]) -> list[ScoringRequest]:
    """One request per endpoint that has a ``scoringUri``: the URI itself for a managed
    endpoint; ``/api/v1/endpoint/<name>/swagger.json`` on its host for a Kubernetes one. An
    endpoint without one yet (still Creating) has nothing to ask."""
    out = []
    for endpoint in endpoints:
        parts = urlsplit(endpoint.scoring_uri or "")
        if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
            continue
        url = endpoint.scoring_uri or ""
        if endpoint.kubernetes:
            url = f"{parts.scheme}://{parts.netloc}/api/v1/endpoint/{endpoint.name}/swagger.json"
        out.append(ScoringRequest(endpoint, url, parts.hostname.lower()))
    return out


def names_to_resolve(requests: Iterable[ScoringRequest]) -> list[str]:
    """The requests' hosts that are names (an IP literal needs no DNS)."""
    return [r.host for r in requests if not _is_ip(r.host)]


def client_resolvers(resolvers: Sequence[Resolver]) -> tuple[Resolver, ...]:
    """The resolvers this VNet's workloads ask, in order: the host's own when it is probed,
    else the VNet's custom servers (a client fails over between them), else Azure DNS."""
    for kind in (ResolverKind.HOST, ResolverKind.CUSTOM, ResolverKind.AZURE):
        chosen = tuple(r for r in resolvers if r.kind is kind)
        if chosen:
            return chosen
    return ()


def address_of(
    host: str, resolvers: Sequence[Resolver], answers: dict[tuple[str, str], DnsAnswer]
) -> tuple[str | None, str, str]:
    """(address, resolver, detail) as a client gets it: an IP literal itself; else the first
    address of the first client resolver that answered (NXDOMAIN too), with the answer in
    ``detail`` when it has no address."""
    if _is_ip(host):
        return host, "", ""
    seen: list[str] = []
    for resolver in client_resolvers(resolvers):
        answer = answers.get((host, resolver.name))
        if answer is None:
            continue
        seen.append(f"{resolver.name}: {answer.summary()}")
        if answer.addresses:
            return answer.addresses[0], resolver.name, ""
        if answer.answered:
            return None, resolver.name, "; ".join(seen)
    return None, "", "; ".join(seen) or "not resolved"


async def probe_endpoints(
    requests: Sequence[ScoringRequest],
    resolvers: Sequence[Resolver],
    answers: Iterable[DnsAnswer],
    config: Config,
    cancel: Cancel | None = None,
) -> tuple[ScoringProbe, ...]:
    """Each request once, at most ``scoring.concurrency`` at a time; raises ``RunCancelled``
    instead of sending the next once ``cancel`` is cancelled."""
    bound = asyncio.Semaphore(config.scoring.concurrency)
    index = {(a.fqdn.lower(), a.resolver): a for a in answers}
    context = verifying_context(config.reachability)

    async def one(request: ScoringRequest) -> ScoringProbe:
        address, resolver, detail = address_of(request.host, resolvers, index)
        async with bound:
            if cancel is not None:
                cancel.check()
            if address is None:
                answer = HttpAnswer(
                    request.url,
                    request.host,
                    None,
                    resolver,
                    "",
                    failure=HttpFailure.UNRESOLVED,
                    detail=detail,
                )
            else:
                try:
                    answer = await fetch(request.url, address, resolver, config, context)
                except Exception as exc:  # a fault boundary: one endpoint's surprise loses none
                    answer = HttpAnswer(
                        request.url,
                        request.host,
                        address,
                        resolver,
                        "",
                        failure=HttpFailure.MALFORMED,
                        detail=f"the scoring probe failed: {type(exc).__name__}: {exc}",
                    )
        endpoint = request.endpoint
        return ScoringProbe(
            endpoint.id, endpoint.name, endpoint.workspace_id, endpoint.kubernetes, answer
        )

    return tuple(await asyncio.gather(*(one(r) for r in requests)))


async def fetch(
    url: str,
    address: str,
    resolver: str,
    config: Config,
    context: ssl.SSLContext | None = None,
) -> HttpAnswer:
    """GET ``url`` from ``address`` (SNI and Host = the URL's host), each stage within
    ``scoring.timeout_seconds``; never raises for what the network or the server does."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    tls = parts.scheme.lower() == "https"
    port = parts.port or (443 if tls else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connect_host, connect_port, target = mapped_target(address, config.reachability, port)
    timeout = config.scoring.timeout_seconds
    started = time.perf_counter()

    def answer(**fields: object) -> HttpAnswer:
        latency = (time.perf_counter() - started) * 1000
        return HttpAnswer(url, host, address, resolver, target, latency_ms=latency, **fields)  # type: ignore[arg-type]

    if not config.reachability.contacts(address):
        return answer(
            failure=HttpFailure.NOT_CONTACTED,
            detail=f"{address} is not in reachability.address_map: not contacted",
        )

    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(connect_host, connect_port), timeout
        )
    except TimeoutError:
        return answer(
            failure=HttpFailure.CONNECT, detail=f"TCP connect timed out after {timeout:g}s"
        )
    except OSError as exc:
        return answer(
            failure=HttpFailure.CONNECT, detail=f"TCP connect failed: {exc.strerror or exc}"
        )
    try:
        if tls:
            try:
                await asyncio.wait_for(
                    writer.start_tls(
                        context or verifying_context(config.reachability), server_hostname=host
                    ),
                    timeout,
                )
            except TimeoutError:
                return answer(
                    failure=HttpFailure.TLS, detail=f"TLS handshake timed out after {timeout:g}s"
                )
            except ssl.SSLCertVerificationError as exc:
                return answer(
                    failure=HttpFailure.TLS,
                    detail=f"TLS certificate verification failed: {exc.verify_message or exc}",
                    verify_code=exc.verify_code or 0,
                    verify_message=exc.verify_message or str(exc),
                )
            except (OSError, ssl.SSLError) as exc:
                return answer(failure=HttpFailure.TLS, detail=f"TLS handshake failed: {exc}")
        authority = host if port == (443 if tls else 80) else f"{host}:{port}"
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: netverify\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n".encode("ascii", "replace")
        )
        try:
            head = await asyncio.wait_for(_read_head(reader), timeout)
        except TimeoutError:
            return answer(failure=HttpFailure.TIMEOUT, detail=f"no HTTP answer within {timeout:g}s")
        except (OSError, ssl.SSLError) as exc:
            return answer(failure=HttpFailure.MALFORMED, detail=f"the answer broke off: {exc}")
        parsed = _parse_head(head)
        if parsed is None:
            shown = head[:80].decode("latin-1")  # repr escapes what is not printable
            detail = f"not an HTTP answer: {shown!r}" if head else "closed without an answer"
            return answer(failure=HttpFailure.MALFORMED, detail=detail)
        status, reason, headers = parsed
        body = await _read_body(reader, head.split(b"\r\n\r\n", 1)[1], headers, timeout)
        kept = {k: v for k, v in headers.items() if k in HEADERS_OF_INTEREST}
        return answer(status=status, reason=reason, headers=kept, body=body)
    finally:
        writer.close()


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    """The bytes up to and with the blank line that ends the head, or what came before the
    server closed or the head grew past ``MAX_HEAD``."""
    head = b""
    while b"\r\n\r\n" not in head and len(head) < MAX_HEAD:
        chunk = await reader.read(MAX_HEAD - len(head))
        if not chunk:
            break
        head += chunk
    return head


def _parse_head(head: bytes) -> tuple[int, str, dict[str, str]] | None:
    """Status, reason and headers (lower-case names, the last of repeats); None: not HTTP."""
    match = STATUS_LINE.match(head)
    if match is None or b"\r\n\r\n" not in head:
        return None
    headers: dict[str, str] = {}
    lines = head[match.end() :].split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    for line in lines:
        name, colon, value = line.partition(b":")
        if colon:
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    reason = (match.group(2) or b"").decode("latin-1").strip()
    return int(match.group(1)), reason, headers


async def _read_body(
    reader: asyncio.StreamReader, start: bytes, headers: dict[str, str], timeout: float
) -> str:
    """The first ``BODY_CHARS`` characters of the body: ``start`` (read with the head), then
    what else arrives in time, up to its Content-Length; what arrived when reading stops."""
    length = headers.get("content-length", "")
    wanted = min(int(length), BODY_CHARS * 4) if length.isdigit() else BODY_CHARS * 4
    data = start[:wanted]
    try:
        while len(data) < wanted:
            chunk = await asyncio.wait_for(reader.read(wanted - len(data)), timeout)
            if not chunk:
                break
            data += chunk
    except (TimeoutError, OSError, ssl.SSLError):
        pass  # the status and headers are the observation; a cut body is only shorter
    return data.decode("utf-8", "replace")[:BODY_CHARS]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
