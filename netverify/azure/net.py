"""Address helpers shared by config, probes, checks and the simulator."""

from __future__ import annotations

import ipaddress


def split_host_port(value: str, default_port: int = 53) -> tuple[str, int]:
    """``host``, ``host:port``, ``v6`` or ``[v6]:port``; the port defaults to ``default_port``."""
    host, port = value, ""
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.removeprefix(":")
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    if not host or (port and not (port.isdigit() and 0 < int(port) < 65536)):
        raise ValueError(f"{value!r} is not host, host:port or [ipv6]:port")
    return host, int(port) if port else default_port


def is_private(address: str) -> bool:
    """An RFC 1918 / ULA / other IANA-private address; False for anything not an IP address."""
    try:
        return ipaddress.ip_address(address).is_private
    except ValueError:
        return False
