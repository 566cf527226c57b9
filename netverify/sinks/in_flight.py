"""Connections a transport has open right now, so that another thread can abort them.

A stop must not wait for a receiver that never answers (a read blocked for ``timeout_seconds``):
``InFlight.abort`` shuts down every socket in flight, so the blocked read or write fails at
once and the transport raises ``RetryLater``; the batch stays spooled.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class InFlight:
    """Thread-safe. Each socket is held as a duplicate of its descriptor: shutting down the
    duplicate ends the connection, and the duplicate stays valid whatever the transport does
    with its own socket object (a TLS wrap detaches it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: set[socket.socket] = set()

    def hold(self, sock: socket.socket) -> socket.socket:
        """Hold ``sock`` until ``release`` of what this returns."""
        duplicate = sock.dup()
        with self._lock:
            self._held.add(duplicate)
        return duplicate

    def release(self, held: socket.socket) -> None:
        with self._lock:
            self._held.discard(held)
        held.close()

    def abort(self) -> None:
        """Shut down every connection held; from any thread. A connect still under way is not
        held yet: it gives up after the transport's own timeout."""
        with self._lock:
            held = list(self._held)
        for sock in held:
            with contextlib.suppress(OSError):  # already closed by the peer, or released
                sock.shutdown(socket.SHUT_RDWR)
