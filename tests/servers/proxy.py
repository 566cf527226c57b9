"""A CONNECT proxy on loopback that records each tunnel it opened (for the proxy-variable tests).

It tunnels to loopback only, so a test that leaks a real host name cannot reach the internet.
"""

from __future__ import annotations

import contextlib
import ipaddress
import selectors
import socket
import socketserver
import threading


class _Tunnel(socketserver.StreamRequestHandler):
    server: ConnectProxy

    def handle(self) -> None:
        request = self.rfile.readline(8192).decode("latin-1").split()
        headers: dict[str, str] = {}
        while (line := self.rfile.readline(8192)) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if len(request) != 3 or request[0] != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
            return
        host, _, port = request[1].rpartition(":")
        if not ipaddress.ip_address(host.strip("[]")).is_loopback:
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\n\r\n")
            return
        self.server.tunnels.append((request[1], headers.get("proxy-authorization")))
        with socket.create_connection((host.strip("[]"), int(port)), timeout=5) as upstream:
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            _pipe(self.connection, upstream)


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    with selectors.DefaultSelector() as selector:
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        while True:
            for key, _ in selector.select(timeout=5):
                source: socket.socket = key.fileobj  # type: ignore[assignment]
                data = source.recv(65536)
                if not data:
                    return
                key.data.sendall(data)


class ConnectProxy(socketserver.ThreadingTCPServer):
    """``url`` for HTTPS_PROXY; ``tunnels``: (``host:port``, Proxy-Authorization or None)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Tunnel)
        self.tunnels: list[tuple[str, str | None]] = []
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> ConnectProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        with contextlib.suppress(RuntimeError):
            self._thread.join(5)
