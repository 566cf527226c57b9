"""The optional HTTP listener: ``/healthz`` (JSON, 200 or 503) and ``/metrics`` (Prometheus).

``/metrics`` is prometheus-client's own WSGI exposition (``make_wsgi_app``): a query string is
ignored, or ``name[]=`` selects series; ``Accept: application/openmetrics-text`` gets OpenMetrics;
``Accept-Encoding: gzip`` gets gzip.

Bounded whatever clients do: one thread watches the listening socket and the connections that
have not sent a request yet (a selector; an idle connection costs no thread), and hands each one
that has to a pool of ``WORKERS`` threads. At most ``MAX_WAITING`` idle connections are kept
(beyond that the oldest is closed, so a scraper still gets in), each for ``IDLE_SECONDS``; a
handler gives up on a client that stalls mid-request after ``IDLE_SECONDS`` too.
"""

from __future__ import annotations

import json
import logging
import selectors
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, make_wsgi_app

from netverify.azure.net import split_host_port

HealthReport = Callable[[], tuple[bool, dict[str, Any]]]
WORKERS = 4  # handlers at once: a scrape every 15 s and a health probe need one each
MAX_WAITING = 64  # idle connections kept open, waiting for their request
IDLE_SECONDS = 5.0  # how long a connection may stay silent, before or within its request
POLL_SECONDS = 0.2  # how often the watching thread looks for expired connections and a stop
log = logging.getLogger("netverify.agent.health")


class HealthServer:
    """Serves on ``host:port`` from its own threads until ``stop``."""

    def __init__(
        self,
        listen: str,
        health: HealthReport,
        metrics: CollectorRegistry,
        report_page: Callable[[], bytes | None] = lambda: None,
    ) -> None:
        host, port = split_host_port(listen)
        exposition = make_wsgi_app(metrics)

        class Handler(BaseHTTPRequestHandler):
            timeout = IDLE_SECONDS  # a client that stalls mid-request frees its worker

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/metrics":
                    self._metrics(url.query)
                elif url.path == "/healthz":
                    healthy, report = health()
                    body = json.dumps(report).encode()
                    self._reply(200 if healthy else 503, "application/json", body)
                elif url.path == "/report" and (page := report_page()) is not None:
                    self._reply(200, "text/html; charset=utf-8", page)
                else:
                    self._reply(404, "text/plain", b"try /healthz, /metrics or /report\n")

            def _metrics(self, query: str) -> None:
                """The exposition's answer, through the WSGI calling convention (PEP 3333)."""
                environ = {
                    "REQUEST_METHOD": "GET",
                    "PATH_INFO": "/metrics",
                    "QUERY_STRING": query,
                    "HTTP_ACCEPT": self.headers.get("Accept", ""),
                    "HTTP_ACCEPT_ENCODING": self.headers.get("Accept-Encoding", ""),
                }
                answer: list[tuple[str, list[tuple[str, str]]]] = []

                def start_response(status: str, headers: list[tuple[str, str]]) -> None:
                    answer.append((status, headers))

                body = b"".join(exposition(environ, start_response))
                [(status, headers)] = answer
                self._send(int(status.split()[0]), headers, body)

            def _reply(self, status: int, content_type: str, body: bytes) -> None:
                self._send(status, [("Content-Type", content_type)], body)

            def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug(format, *args)  # scrapes every 15 s would drown the journal

        class Server(HTTPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
            request_queue_size = 128  # a burst of connects waits in the kernel, not in SYN retries

        # Not serve_forever: _watch accepts and dispatches; the server only handles requests.
        self._server = Server((host, port), Handler)
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="health")
        self._waiting: OrderedDict[socket.socket, float] = OrderedDict()  # -> idle deadline
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="health", daemon=True)

    @property
    def address(self) -> str:
        host, port = str(self._server.server_address[0]), self._server.server_address[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()
        self._pool.shutdown(wait=True)
        self._server.server_close()

    def _watch(self) -> None:
        """Accept connections, hand each that has sent something to the pool, drop idle ones."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._server.socket, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in selector.select(POLL_SECONDS):
                    if key.fileobj is self._server.socket:
                        self._accept(selector)
                    else:
                        self._dispatch(selector, key.fileobj)  # type: ignore[arg-type]
                self._expire(selector, time.monotonic())
            for connection in list(self._waiting):
                self._drop(selector, connection)

    def _accept(self, selector: selectors.BaseSelector) -> None:
        try:
            connection, _ = self._server.socket.accept()
        except OSError:  # the client gave up already
            return
        if len(self._waiting) >= MAX_WAITING:
            self._drop(selector, next(iter(self._waiting)))  # the oldest idle one
        self._waiting[connection] = time.monotonic() + IDLE_SECONDS
        selector.register(connection, selectors.EVENT_READ)

    def _dispatch(self, selector: selectors.BaseSelector, connection: socket.socket) -> None:
        selector.unregister(connection)
        del self._waiting[connection]
        self._pool.submit(self._handle, connection)

    def _handle(self, connection: socket.socket) -> None:
        try:
            address = connection.getpeername()
        except OSError:  # gone already
            connection.close()
            return
        try:
            self._server.finish_request(connection, address)
        except Exception:  # a client that broke off mid-answer; the others are unaffected
            log.debug("health request failed", exc_info=True)
        finally:
            self._server.shutdown_request(connection)

    def _expire(self, selector: selectors.BaseSelector, now: float) -> None:
        while self._waiting:
            oldest, deadline = next(iter(self._waiting.items()))
            if deadline > now:
                return
            self._drop(selector, oldest)

    def _drop(self, selector: selectors.BaseSelector, connection: socket.socket) -> None:
        selector.unregister(connection)
        del self._waiting[connection]
        connection.close()
