"""Stand-in for the private endpoints' front ends: a TLS listener on loopback, which answers
one HTTP request per connection when given the answers (the scoring front end).

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
from collections.abc import Callable, Mapping

POLL_INTERVAL = 0.1
MAX_REQUEST = 16384
# What a front end sends for a (host, path): the raw answer bytes, or None to say nothing and
# hold the connection until the client gives up (a front end that times out).
Answers = Callable[[str, str], bytes | None]


class TlsListener:
    """Accepts TCP on 127.0.0.1, completes a TLS handshake, records the SNI, closes."""

    def __init__(
        self,
        context: ssl.SSLContext,
        answers: Answers | None = None,
        other_certificates: Mapping[str, ssl.SSLContext] | None = None,
    ) -> None:
        """``answers``: read one request after the handshake and answer it (None: close after
        the handshake); ``other_certificates``: SNI name -> the context whose certificate is
        presented for it instead (a certificate for another name)."""
        self.server_names: list[str] = []
        self._lock = threading.Lock()
        self._context = context
        self._answers = answers
        self._others = {k.lower(): v for k, v in (other_certificates or {}).items()}
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

    def _record_sni(self, tls: ssl.SSLObject, name: str | None, __: ssl.SSLContext) -> None:
        with self._lock:
            self.server_names.append(name or "")
        other = self._others.get((name or "").lower())
        if other is not None:
            tls.context = other

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
        with contextlib.suppress(OSError), self._context.wrap_socket(conn, server_side=True) as tls:
            if self._answers is not None:
                self._answer(tls, self._answers)

    @staticmethod
    def _answer(tls: ssl.SSLSocket, answers: Answers) -> None:
        """Read one request head (a handshake-only client sends none) and send its answer."""
        head = b""
        while b"\r\n\r\n" not in head and len(head) < MAX_REQUEST:
            chunk = tls.recv(4096)
            if not chunk:
                return
            head += chunk
        lines = head.decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else "/"
        host = next(
            (
                v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:])
                if k.strip().lower() == "host"
            ),
            "",
        )
        reply = answers(host.split(":")[0].lower(), path)
        if reply is None:
            while tls.recv(4096):  # silent until the client gives up
                pass
            return
        tls.sendall(reply)
