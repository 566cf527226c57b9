"""HTTPS sinks: Splunk HTTP Event Collector (with indexer acknowledgement) and a generic webhook.

TLS is always verified (``ca_file`` adds a private CA); secrets come from a file or the
environment. Answers map to the spool's policy: 2xx delivered; 413 and other 4xx that blame
the data refused (the spool isolates and sets aside the offending event); 429, 5xx, 401/403
(a configuration to fix, the events wait for it) and network errors retried.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import time
import urllib.request
import uuid
from base64 import b64encode
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from netverify.config import SplunkHecSink, WebhookSink
from netverify.secret import SecretError, remember, secret_file
from netverify.sinks.formats import RENDERERS, compact_json, epoch_ms, render_each
from netverify.sinks.in_flight import InFlight
from netverify.sinks.spool import Refused, RetryLater

# Answers that say the data itself is wrong; anything else that is not 2xx is worth a retry.
_REFUSED = frozenset({400, 413, 415, 422})
# HEC codes 10 (data channel missing), 11 (invalid channel), 14 (ack disabled).
_HEC_CONFIGURATION_CODES = frozenset({10, 11, 14})
HEC_CHANNEL_NAMESPACE = uuid.UUID("5e0a3c3b-8a1f-5b7c-9d2e-4f6a8b0c2d14")


def read_secret(file: Path | None, env: str | None, what: str) -> str | None:
    """The secret from ``file`` (a relative name: a ``LoadCredential=`` credential under
    ``$CREDENTIALS_DIRECTORY``) or from the environment variable ``env``; redacted from every
    output from now on (``secret.remember``). Raises ``SecretError`` naming where it looked."""
    if file is not None:
        path = secret_file(file, what)
        try:
            return remember(path.read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise SecretError(f"cannot read {what} from {path}: {exc.strerror}") from exc
    if env is not None:
        value = os.environ.get(env)
        if not value:
            raise SecretError(f"{what}: environment variable {env} is not set")
        return remember(value)
    return None


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class Proxy:
    """An HTTP proxy that tunnels TLS with CONNECT (the receiver's certificate is still checked)."""

    host: str
    port: int
    headers: Mapping[str, str]  # Proxy-Authorization when the proxy URL carries user:password


def proxy_for(host: str) -> Proxy | None:
    """The proxy ``HTTPS_PROXY`` (or ``https_proxy``) names for ``host``, unless ``NO_PROXY``
    exempts it, as curl, requests and azure-identity read them; None for a direct connection.
    Raises ValueError naming the variable when its URL has no host."""
    proxies = urllib.request.getproxies_environment()
    url = proxies.get("https")
    if not url or urllib.request.proxy_bypass(host):  # NO_PROXY, on Linux
        return None
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if not parts.hostname:
        raise ValueError(f"HTTPS_PROXY={url!r} names no proxy host")
    headers = {}
    if parts.username is not None:
        user = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Proxy-Authorization"] = "Basic " + b64encode(user.encode()).decode()
    return Proxy(parts.hostname, parts.port or 80, headers)


class HttpsClient:
    """One verified HTTPS origin; a new connection per request keeps failures independent,
    through the ``HTTPS_PROXY`` of the environment at construction (``proxy_for``).
    ``abort`` ends the requests in flight from another thread (``InFlight``)."""

    def __init__(self, url: str, ca_file: Path | None, timeout: float) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or ""
        self.port = parts.port or 443
        self.base_path = parts.path.rstrip("/")
        self.timeout = timeout
        self.context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        self.in_flight = InFlight()
        self.proxy = proxy_for(self.host)

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        if self.proxy is None:
            connection = http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, context=self.context
            )
        else:  # TCP to the proxy, CONNECT, then TLS to the receiver inside the tunnel
            connection = http.client.HTTPSConnection(
                self.proxy.host, self.proxy.port, timeout=self.timeout, context=self.context
            )
            connection.set_tunnel(self.host, self.port, dict(self.proxy.headers))
        held: list[socket.socket] = []

        def connect(*args: Any, **kwargs: Any) -> socket.socket:
            sock = socket.create_connection(*args, **kwargs)
            held.append(self.in_flight.hold(sock))
            return sock

        # http.client's own hook for the TCP connection: held before the TLS handshake, which
        # a receiver that never answers blocks too.
        connection._create_connection = connect  # type: ignore[attr-defined]
        try:
            connection.request("POST", (self.base_path + path) or "/", body, dict(headers))
            response = connection.getresponse()
            return Answer(response.status, dict(response.getheaders()), response.read())
        except (OSError, http.client.HTTPException) as exc:
            raise RetryLater(f"{self.host}:{self.port}: {exc}") from exc
        finally:
            for sock in held:
                self.in_flight.release(sock)
            connection.close()

    def abort(self) -> None:
        self.in_flight.abort()


def judge(answer: Answer, what: str) -> None:
    """Raise unless the answer is 2xx."""
    detail = f"{what} answered {answer.status}: {answer.body[:300].decode(errors='replace')}"
    raise_for_status(answer.status, answer.headers, detail)


def raise_for_status(status: int | None, headers: Mapping[str, str], detail: str) -> None:
    """Nothing for 2xx; Refused when the data is to blame; else RetryLater (with Retry-After)."""
    if status is not None and 200 <= status < 300:
        return
    if status in _REFUSED:
        raise Refused(detail)
    retry_after = headers.get("Retry-After") or headers.get("retry-after")
    raise RetryLater(detail, retry_after_seconds(retry_after, datetime.now(UTC)))


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value in either form of RFC 9110 §10.2.3:
    delta-seconds (``120``) or an HTTP-date (``Wed, 21 Oct 2026 07:28:00 GMT``), counted from
    ``now`` (aware) and 0 once past; None when absent or neither form."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 850 / asctime forms carry no zone; HTTP-dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class SplunkHec:
    """``/services/collector/event``; with acknowledgement, delivered only once indexed."""

    def __init__(self, config: SplunkHecSink, sink_name: str, hostname: str) -> None:
        self.config = config
        self.render = RENDERERS[config.format]
        token = read_secret(config.token_file, config.token_env, "Splunk HEC token")
        self.client = HttpsClient(config.url, config.ca_file, config.timeout_seconds)
        self.hostname = hostname
        # A stable channel per sink: Splunk keeps ack state per channel.
        self.headers = {
            "Authorization": f"Splunk {token}",
            "Content-Type": "application/json",
            "X-Splunk-Request-Channel": str(uuid.uuid5(HEC_CHANNEL_NAMESPACE, sink_name)),
        }

    def _envelope(self, event: Mapping[str, Any]) -> dict[str, Any]:
        envelope = {
            "time": epoch_ms(event["observed_at"]) / 1000,
            "host": self.hostname,
            "source": self.config.source,
            "sourcetype": self.config.sourcetype,
            "event": self.render(event),
        }
        if self.config.index:
            envelope["index"] = self.config.index
        return envelope

    def _json_envelope(self, event: Mapping[str, Any]) -> str:
        return compact_json(self._envelope(event))

    def send(self, events: Sequence[Mapping[str, Any]]) -> None:
        # HEC batches are concatenated objects: no array, no commas.
        envelopes = render_each(self._json_envelope, events, f"Splunk HEC {self.config.format}")
        body = "".join(envelopes)
        answer = self.client.post("/services/collector/event", body.encode(), self.headers)
        reply = answer.json() or {}
        if answer.status == 503 or reply.get("code") == 9:  # "Server is busy"
            raise RetryLater(f"Splunk HEC is busy: {reply.get('text')}")
        if reply.get("code") in _HEC_CONFIGURATION_CODES:
            # A 400 that blames the channel or ack set-up, not the data: keep the events.
            raise RetryLater(f"Splunk HEC channel or acknowledgement set-up: {reply.get('text')}")
        judge(answer, "Splunk HEC")
        if self.config.acknowledgement:
            if "ackId" not in reply:
                raise RetryLater(
                    "Splunk HEC gave no ackId: turn on indexer acknowledgement for the token, "
                    "or set acknowledgement = false"
                )
            self._wait_for_ack(int(reply["ackId"]))

    def _wait_for_ack(self, ack_id: int) -> None:
        deadline = time.monotonic() + self.config.ack_timeout_seconds
        delay = 0.05
        query = json.dumps({"acks": [ack_id]}).encode()
        while True:
            answer = self.client.post("/services/collector/ack", query, self.headers)
            if not 200 <= answer.status < 300:  # never the data's fault: keep the events
                raise RetryLater(f"Splunk HEC ack answered {answer.status}: {answer.body[:300]!r}")
            if ((answer.json() or {}).get("acks") or {}).get(str(ack_id)) is True:
                return
            if time.monotonic() + delay > deadline:
                # Not indexed in time: send again; the event id lets the SIEM drop a duplicate.
                raise RetryLater(
                    f"Splunk did not acknowledge ackId {ack_id} within "
                    f"{self.config.ack_timeout_seconds:g}s"
                )
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def abort(self) -> None:
        self.client.abort()

    def close(self) -> None:
        return


class Webhook:
    """POSTs a JSON array of events; any 2xx takes the batch."""

    def __init__(self, config: WebhookSink) -> None:
        self.format = config.format
        self.render = RENDERERS[config.format]
        self.client = HttpsClient(config.url, config.ca_file, config.timeout_seconds)
        self.headers = {"Content-Type": "application/json"}
        authorization = read_secret(
            config.authorization_file, config.authorization_env, "webhook authorization"
        )
        if authorization:
            self.headers["Authorization"] = authorization

    def send(self, events: Sequence[Mapping[str, Any]]) -> None:
        # Each event serialized on its own, so that one that cannot be is refused alone.
        rendered = render_each(self._json, events, f"webhook {self.format}")
        body = ("[" + ",".join(rendered) + "]").encode()
        judge(self.client.post("", body, self.headers), "webhook")

    def _json(self, event: Mapping[str, Any]) -> str:
        return compact_json(self.render(event))

    def abort(self) -> None:
        self.client.abort()

    def close(self) -> None:
        return
