"""Each private IP a workspace name resolved to answers TCP and a TLS handshake."""

from collections.abc import Iterator

from netverify.checklib.catalog import load_meta
from netverify.facts import Facts
from netverify.model import Evidence, Finding, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    dns = facts.dns
    if dns is None:
        return
    for probe in dns.reachability:
        observed = {
            "fqdn": probe.fqdn,
            "address": probe.address,
            "port": probe.port,
            "connected_to": probe.target,
            "tcp": probe.connected,
            "tls": probe.tls_ok,
            "latency_ms": round(probe.latency_ms, 1),
            "detail": probe.detail,
        }
        expected = {"tcp": True, "tls": True}
        subject = f"{probe.address}:{probe.port}"
        if probe.tls_ok:
            yield Finding(
                META,
                Status.PASS,
                probe.fqdn,
                f"{probe.fqdn} at {probe.address} accepts TCP {probe.port} and TLS.",
                Evidence(observed, expected),
                subject=subject,
            )
            continue
        stage = "TLS handshake" if probe.connected else "TCP connection"
        yield Finding(
            META,
            Status.FAIL,
            probe.fqdn,
            f"{probe.fqdn} resolves to {probe.address} but the {stage} on port {probe.port} "
            f"fails: {probe.detail}.",
            Evidence(observed, expected),
            META.remediation(
                fqdn=probe.fqdn, address=probe.address, detail=probe.detail, port=str(probe.port)
            ),
            subject=subject,
        )
