"""Does a resolved private IP answer? TCP connect, then a TLS handshake with SNI = the FQDN.

The handshake verifies the certificate as a scoring client does (the chain against the system
trust store plus ``reachability.ca_file``, the name against the FQDN): a TLS-inspecting device
on the way answers TLS too, and only the certificate tells it from the private endpoint. When
verification fails, a second handshake without verification reads what was presented.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterable

from cryptography import x509

from netverify.azure.net import split_host_port
from netverify.config import ReachabilityConfig
from netverify.facts import PeerCertificate, Reachability
from netverify.probes.cancel import Cancel


async def probe_all(
    targets: Iterable[tuple[str, str]],
    config: ReachabilityConfig,
    cancel: Cancel | None = None,
) -> tuple[Reachability, ...]:
    """Each ``(fqdn, ip)`` once, at most ``config.concurrency`` at a time; raises
    ``RunCancelled`` instead of connecting again once ``cancel`` is cancelled."""
    bound = asyncio.Semaphore(config.concurrency)
    context = verifying_context(config)

    async def one(fqdn: str, address: str) -> Reachability:
        async with bound:
            if cancel is not None:
                cancel.check()
            try:
                return await probe(fqdn, address, config, context)
            except Exception as exc:  # a fault boundary: one target's surprise loses no other
                detail = f"the reachability probe failed: {type(exc).__name__}: {exc}"
                return Reachability(fqdn, address, config.port, address, False, False, 0.0, detail)

    unique = list(dict.fromkeys((f.lower(), a) for f, a in targets))
    return tuple(await asyncio.gather(*(one(f, a) for f, a in unique)))


def verifying_context(config: ReachabilityConfig) -> ssl.SSLContext:
    """The system trust store plus ``config.ca_file``; hostname checked."""
    context = ssl.create_default_context()
    if config.ca_file is not None:
        context.load_verify_locations(cafile=str(config.ca_file))
    return context


async def probe(
    fqdn: str,
    address: str,
    config: ReachabilityConfig,
    context: ssl.SSLContext | None = None,
) -> Reachability:
    """One ``(fqdn, ip)``: never raises; every failure is a ``detail`` (and verify fields)."""
    host, port, target = mapped_target(address, config, config.port)
    if not config.contacts(address):
        detail = f"{address} is not in reachability.address_map: not contacted"
        return Reachability(
            fqdn, address, config.port, target, False, False, detail=detail, contacted=False
        )
    started = time.perf_counter()

    def result(
        connected: bool,
        tls_ok: bool,
        detail: str = "",
        certificate: PeerCertificate | None = None,
        error: ssl.SSLCertVerificationError | None = None,
    ) -> Reachability:
        latency = (time.perf_counter() - started) * 1000
        return Reachability(
            fqdn,
            address,
            config.port,
            target,
            connected,
            tls_ok,
            latency,
            detail,
            certificate,
            # OpenSSL sets both; the fallbacks keep a failure from reading as "verified".
            (error.verify_code or 0) if error else 0,
            (error.verify_message or str(error)) if error else "",
        )

    try:
        writer = await _connect(host, port, config)
    except TimeoutError:
        return result(False, False, f"TCP connect timed out after {config.timeout_seconds:g}s")
    except OSError as exc:
        return result(False, False, f"TCP connect failed: {exc.strerror or exc}")
    try:
        await asyncio.wait_for(
            writer.start_tls(context or verifying_context(config), server_hostname=fqdn),
            config.timeout_seconds,
        )
        presented = _certificate(writer)
    except TimeoutError:
        return result(True, False, f"TLS handshake timed out after {config.timeout_seconds:g}s")
    except ssl.SSLCertVerificationError as exc:
        # The server answered TLS; what it presented is read on a second, unverified handshake.
        writer.close()
        detail = f"TLS certificate verification failed: {exc.verify_message or exc}"
        return result(True, False, detail, await _unverified(host, port, fqdn, config), exc)
    except (OSError, ssl.SSLError) as exc:
        return result(True, False, f"TLS handshake failed: {exc}")
    finally:
        writer.close()
    return result(True, True, certificate=presented)


def mapped_target(address: str, config: ReachabilityConfig, port: int) -> tuple[str, int, str]:
    """Where a connection to ``address`` on ``port`` really goes (``config.address_map``): host,
    port, and the two as ``host:port`` (IPv6 bracketed)."""
    mapped = config.address_map.get(address)
    host, port = split_host_port(mapped, port) if mapped else (address, port)
    return host, port, f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def _connect(host: str, port: int, config: ReachabilityConfig) -> asyncio.StreamWriter:
    _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), config.timeout_seconds)
    return writer


async def _unverified(
    host: str, port: int, fqdn: str, config: ReachabilityConfig
) -> PeerCertificate | None:
    """The certificate presented for SNI = ``fqdn``, not verified; None if it cannot be read."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        writer = await _connect(host, port, config)
    except (TimeoutError, OSError):
        return None
    try:
        await asyncio.wait_for(
            writer.start_tls(context, server_hostname=fqdn), config.timeout_seconds
        )
        return _certificate(writer)
    except (TimeoutError, OSError, ssl.SSLError):
        return None
    finally:
        writer.close()


def _certificate(writer: asyncio.StreamWriter) -> PeerCertificate | None:
    """The leaf the server sent (DER), parsed; None if there is none or it is not X.509."""
    ssl_object = writer.get_extra_info("ssl_object")
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    try:
        cert = x509.load_der_x509_certificate(der) if der else None
    except ValueError:
        return None
    if cert is None:
        return None
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = tuple(n.lower() for n in names.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        dns_names = ()
    return PeerCertificate(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        dns_names=dns_names,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )
