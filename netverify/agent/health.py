"""The optional HTTP listener: ``/healthz`` (JSON, 200 or 503) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from netverify.azure.net import split_host_port

HealthReport = Callable[[], tuple[bool, dict[str, Any]]]
log = logging.getLogger("netverify.agent.health")


class HealthServer:
    """Serves on ``host:port`` from its own thread until ``stop``."""

    def __init__(
        self,
        listen: str,
        health: HealthReport,
        metrics: Callable[[], bytes],
        report_page: Callable[[], bytes | None] = lambda: None,
    ) -> None:
        host, port = split_host_port(listen)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    self._reply(200, CONTENT_TYPE_LATEST, metrics())
                elif self.path == "/healthz":
                    healthy, report = health()
                    body = json.dumps(report).encode()
                    self._reply(200 if healthy else 503, "application/json", body)
                elif self.path == "/report" and (page := report_page()) is not None:
                    self._reply(200, "text/html; charset=utf-8", page)
                else:
                    self._reply(404, "text/plain", b"try /healthz, /metrics or /report\n")

            def _reply(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug(format, *args)  # scrapes every 15 s would drown the journal

        class Server(ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
            daemon_threads = True

        self._server = Server((host, port), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )

    @property
    def address(self) -> str:
        host, port = str(self._server.server_address[0]), self._server.server_address[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
