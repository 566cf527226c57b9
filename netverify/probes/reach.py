"""Does a resolved private IP answer? TCP connect, then a TLS handshake with SNI = the FQDN.

The handshake does not verify the certificate: the question is whether the private endpoint
answers at all ("resolves but does not answer"), not whether its certificate is trusted.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterable

from netverify.azure.net import split_host_port
from netverify.config import ReachabilityConfig
from netverify.facts import Reachability


async def probe_all(
    targets: Iterable[tuple[str, str]], config: ReachabilityConfig
) -> tuple[Reachability, ...]:
    """Each ``(fqdn, ip)`` once, at most ``config.concurrency`` at a time."""
    bound = asyncio.Semaphore(config.concurrency)

    async def one(fqdn: str, address: str) -> Reachability:
        async with bound:
            return await probe(fqdn, address, config)

    unique = list(dict.fromkeys((f.lower(), a) for f, a in targets))
    return tuple(await asyncio.gather(*(one(f, a) for f, a in unique)))


async def probe(fqdn: str, address: str, config: ReachabilityConfig) -> Reachability:
    mapped = config.address_map.get(address)
    host, port = split_host_port(mapped, config.port) if mapped else (address, config.port)
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    started = time.perf_counter()

    def result(connected: bool, tls_ok: bool, detail: str = "") -> Reachability:
        latency = (time.perf_counter() - started) * 1000
        return Reachability(fqdn, address, config.port, target, connected, tls_ok, latency, detail)

    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), config.timeout_seconds
        )
    except TimeoutError:
        return result(False, False, f"TCP connect timed out after {config.timeout_seconds:g}s")
    except OSError as exc:
        return result(False, False, f"TCP connect failed: {exc.strerror or exc}")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        await asyncio.wait_for(
            writer.start_tls(context, server_hostname=fqdn), config.timeout_seconds
        )
    except TimeoutError:
        return result(True, False, f"TLS handshake timed out after {config.timeout_seconds:g}s")
    except (OSError, ssl.SSLError) as exc:
        return result(True, False, f"TLS handshake failed: {exc}")
    finally:
        writer.close()
    return result(True, True)
