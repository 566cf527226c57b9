"""Stand-in for the private endpoints' front ends: a TLS listener on loopback.

The reachability probe connects to a resolved private IP; the simulated tenant maps the IPs of
live endpoints here, the IPs behind a TLS-inspecting device to a listener of its own (another
certificate, another CA) and every other private IP to a closed port, so "resolves but does not
answer" and "something terminates TLS" can be shown without a packet leaving the machine.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading

POLL_INTERVAL = 0.1


class TlsListener:
    """Accepts TCP on 127.0.0.1, completes a TLS handshake, records the SNI, closes."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.server_names: list[str] = []
        self._lock = threading.Lock()
        self._context = context
        self._context.sni_callback = self._record_sni
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(POLL_INTERVAL)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._socket.getsockname()[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._socket.close()

    def _record_sni(self, _: ssl.SSLObject, name: str | None, __: ssl.SSLContext) -> None:
        with self._lock:
            self.server_names.append(name or "")

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handshake, args=(conn,), daemon=True).start()

    def _handshake(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        # A client that gives up mid-handshake is its own business.
        with contextlib.suppress(OSError), self._context.wrap_socket(conn, server_side=True):
            pass
