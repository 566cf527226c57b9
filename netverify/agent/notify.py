"""systemd's service notification protocol (sd_notify): one datagram to ``$NOTIFY_SOCKET``.

Small enough to write out: a unix datagram socket, ``@`` meaning the abstract namespace. Without
``$NOTIFY_SOCKET`` (not started by systemd with Type=notify) every call does nothing.
"""

from __future__ import annotations

import os
import socket

NOTIFY_SOCKET = "NOTIFY_SOCKET"
WATCHDOG_USEC = "WATCHDOG_USEC"


def notify(*assignments: str) -> bool:
    """Send ``READY=1``, ``STATUS=...``, ``WATCHDOG=1``...; False when it could not be sent."""
    address = os.environ.get(NOTIFY_SOCKET, "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    message = "\n".join(assignments).encode("utf-8")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(message, address)
    except OSError:
        return False  # as sd_notify(3): the service runs on, systemd just does not hear it
    return True


def watchdog_interval() -> float | None:
    """How often to send WATCHDOG=1 (half of systemd's WatchdogSec=), or None when not asked."""
    usec = os.environ.get(WATCHDOG_USEC, "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    pid = os.environ.get("WATCHDOG_PID", "")
    if pid.isdigit() and int(pid) != os.getpid():
        return None  # meant for another process
    return int(usec) / 2_000_000
