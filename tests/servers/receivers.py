"""HTTPS stand-ins for SIEM receivers on 127.0.0.1: Splunk HEC (with indexer acknowledgement),
the Azure Monitor Logs Ingestion API, and a generic webhook.

Each serves HTTPS with its own test CA, can be taken down and brought back on the same port,
answers the scripted faults first (``fail_next``), and keeps what it accepted.
"""

from __future__ import annotations

import gzip
import json
import re
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

from netverify.sim.servers import TokenBook

HOST = "127.0.0.1"
Reply = tuple[int, dict[str, Any] | None, dict[str, str]]


@dataclass(frozen=True, slots=True)
class Fault:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False


class HttpsReceiver:
    """The common part: TLS, start/stop on a fixed port, scripted faults, a request log."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        authority = trustme.CA()
        self.ca_pem = workdir / "receiver-ca.pem"
        authority.cert_pem.write_to_path(str(self.ca_pem))
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert(HOST, "localhost").configure_cert(self._context)
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.requests: list[tuple[str, int]] = []  # (path, status answered)
        self.arrived = threading.Event()  # set when a request comes in, before it is answered
        self.port = 0
        self._server: _Server | None = None

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                status, payload, headers = receiver._dispatch(self, body)
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self._server = _Server((HOST, self.port), Handler)
        self._server.socket = self._context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        """Down: connections to the port are refused until ``start`` (same port)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def fail_next(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def statuses(self, path_pattern: str) -> list[int]:
        with self._lock:
            return [status for path, status in self.requests if re.search(path_pattern, path)]

    def _dispatch(self, handler: BaseHTTPRequestHandler, body: bytes) -> Reply:
        path = urlsplit(handler.path).path
        self.arrived.set()
        with self._lock:
            fault = self._faults.pop(0) if self._faults and self._faultable(path) else None
        if fault is not None:
            time.sleep(fault.delay_seconds)
            reply: Reply = (fault.status, fault.body, fault.headers)
        else:
            reply = self.answer(handler, body)
        with self._lock:
            self.requests.append((path, reply[0]))
        return reply

    def _faultable(self, path: str) -> bool:
        """Faults apply to the data route, not to side routes such as HEC's ack polling."""
        return True

    def answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> Reply:
        raise NotImplementedError


def _concatenated_json(text: str) -> list[Any]:
    """HEC batches: JSON objects one after the other, no array, no commas."""
    decoder, objects, at = json.JSONDecoder(), [], 0
    while at < len(text):
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            break
        value, at = decoder.raw_decode(text, at)
        objects.append(value)
    return objects


class SplunkHecStandIn(HttpsReceiver):
    """``/services/collector/event`` + ``/services/collector/ack`` as Splunk answers them.

    Events are indexed (``indexed``) only when their ackId is acknowledged, ``ack_delay_seconds``
    after they came; ``lose_acks`` makes the indexer never acknowledge (events are lost).
    """

    def __init__(self, workdir: Path, token: str, *, ack_delay_seconds: float = 0.1) -> None:
        super().__init__(workdir)
        self.token = token
        self.ack_delay_seconds = ack_delay_seconds
        self.lose_acks = False
        self.ack_disabled = False  # /ack answers 400 code 14, as for a token without useACK
        self.indexed: list[dict[str, Any]] = []
        self._pending: dict[tuple[str, int], tuple[float, list[dict[str, Any]]]] = {}
        self._next_ack: dict[str, int] = {}

    def _faultable(self, path: str) -> bool:
        return path.endswith("/event")

    def answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> Reply:
        if handler.headers.get("Authorization") != f"Splunk {self.token}":
            return 401, {"text": "Invalid token", "code": 4}, {}
        channel = handler.headers.get("X-Splunk-Request-Channel")
        if not channel:
            return 400, {"text": "Data channel is missing", "code": 10}, {}
        path = urlsplit(handler.path).path
        if path == "/services/collector/event":
            return self._events(channel, body)
        if path == "/services/collector/ack":
            if self.ack_disabled:
                return 400, {"text": "ACK is disabled", "code": 14}, {}
            return self._acks(channel, json.loads(body)["acks"])
        return 404, {"text": "The requested URL was not found on this server.", "code": 404}, {}

    def _events(self, channel: str, body: bytes) -> Reply:
        try:
            envelopes = _concatenated_json(body.decode())
        except ValueError:
            return 400, {"text": "Invalid data format", "code": 6}, {}
        if not all(isinstance(e, dict) and "event" in e for e in envelopes):
            return 400, {"text": "Event field is required", "code": 12}, {}
        with self._lock:
            ack_id = self._next_ack.get(channel, 0)
            self._next_ack[channel] = ack_id + 1
            self._pending[(channel, ack_id)] = (time.monotonic(), envelopes)
        return 200, {"text": "Success", "code": 0, "ackId": ack_id}, {}

    def _acks(self, channel: str, ack_ids: list[int]) -> Reply:
        status: dict[str, bool] = {}
        now = time.monotonic()
        with self._lock:
            for ack_id in ack_ids:
                came = self._pending.get((channel, ack_id))
                done = came is not None and not self.lose_acks
                done = done and now - came[0] >= self.ack_delay_seconds  # type: ignore[index]
                if done:
                    # True is answered once; the ack id is then forgotten, as Splunk does.
                    self.indexed.extend(self._pending.pop((channel, ack_id))[1])
                status[str(ack_id)] = done
        return 200, {"acks": status}, {}


class LogsIngestionStandIn(HttpsReceiver):
    """``POST /dataCollectionRules/{id}/streams/{stream}?api-version=2023-01-01`` -> 204.

    Only bearer tokens the simulated tenant issued are taken; bodies may be gzipped (the SDK
    gzips each chunk); rows are kept in ``rows``.
    """

    def __init__(self, workdir: Path, tokens: TokenBook, rule_id: str, stream: str) -> None:
        super().__init__(workdir)
        self.tokens = tokens
        self.route = f"/dataCollectionRules/{rule_id}/streams/{stream}"
        self.rows: list[dict[str, Any]] = []

    def answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> Reply:
        auth = handler.headers.get("Authorization", "")
        if not self.tokens.valid(auth.removeprefix("Bearer ")):
            return 401, {"error": {"code": "InvalidToken", "message": "Token is invalid"}}, {}
        parts = urlsplit(handler.path)
        version = parse_qs(parts.query).get("api-version", [""])[0]
        if parts.path != self.route or version != "2023-01-01":
            return 404, {"error": {"code": "NotFound", "message": parts.path}}, {}
        rows = json.loads(body)
        if not isinstance(rows, list):
            return 400, {"error": {"code": "InvalidPayload", "message": "not an array"}}, {}
        with self._lock:
            self.rows.extend(rows)
        return 204, None, {}


class WebhookStandIn(HttpsReceiver):
    """Takes a JSON array of events at any path; checks the Authorization value if given."""

    def __init__(self, workdir: Path, authorization: str | None = None) -> None:
        super().__init__(workdir)
        self.authorization = authorization
        self.received: list[dict[str, Any]] = []

    def answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> Reply:
        if self.authorization and handler.headers.get("Authorization") != self.authorization:
            return 401, {"error": "unauthorized"}, {}
        with self._lock:
            self.received.extend(json.loads(body))
        return 202, {"accepted": True}, {}
