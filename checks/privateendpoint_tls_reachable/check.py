"""Each private IP a workspace name resolved to answers TCP and a TLS handshake, with a
certificate valid for the name from a trusted issuer."""

from collections.abc import Iterator
from typing import Any

from netverify.azure.arm_ids import name_of
from netverify.checklib.catalog import load_meta
from netverify.checklib.connections import ConnectionState, all_states
from netverify.checklib.dns import wrong_address_needs
from netverify.facts import APPROVED, Facts, PeerCertificate, Reachability
from netverify.model import Evidence, Finding, Link, Remediation, Status

META = load_meta(__file__)

# OpenSSL's X509_V_ERR codes (x509_vfy.h) that mean "no trusted CA issued this chain":
# UNABLE_TO_GET_ISSUER_CERT, DEPTH_ZERO_SELF_SIGNED_CERT, SELF_SIGNED_CERT_IN_CHAIN,
# UNABLE_TO_GET_ISSUER_CERT_LOCALLY, UNABLE_TO_VERIFY_LEAF_SIGNATURE.
UNTRUSTED_ISSUER = frozenset({2, 18, 19, 20, 21})
# CERT_NOT_YET_VALID, CERT_HAS_EXPIRED.
OUT_OF_DATE = frozenset({9, 10})


def valid_for(fqdn: str, dns_names: tuple[str, ...]) -> bool:
    """Whether a certificate's dNSNames cover ``fqdn`` (RFC 6125: a ``*`` stands for exactly
    the whole left-most label; case-insensitive)."""
    host = fqdn.lower().rstrip(".")
    for name in dns_names:
        name = name.lower().rstrip(".")
        if name == host:
            return True
        if name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:]:
            return True
    return False


def _certificate(cert: PeerCertificate | None) -> dict[str, Any] | None:
    if cert is None:
        return None
    return {
        "subject": cert.subject,
        "issuer": cert.issuer,
        "dns_names": list(cert.dns_names),
        "not_before": cert.not_before.isoformat(),
        "not_after": cert.not_after.isoformat(),
    }


def _faults(probe: Reachability) -> list[str]:
    """What is wrong with the certificate presented, in words."""
    cert = probe.certificate
    faults = []
    if cert is not None and not valid_for(probe.fqdn, cert.dns_names):
        names = ", ".join(cert.dns_names) or "no DNS names"
        faults.append(f"it is not valid for {probe.fqdn} (subject {cert.subject}; names {names})")
    if probe.verify_code in UNTRUSTED_ISSUER:
        issuer = f"its issuer {cert.issuer}" if cert is not None else "its issuer"
        faults.append(f"{issuer} is not trusted ({probe.verify_message})")
    elif probe.verify_code in OUT_OF_DATE and cert is not None:
        faults.append(
            f"it is valid only from {cert.not_before:%Y-%m-%d} to {cert.not_after:%Y-%m-%d} "
            f"({probe.verify_message})"
        )
    if not faults:
        faults.append(f"it does not verify ({probe.verify_message})")
    return faults


def evaluate(facts: Facts) -> Iterator[Finding]:
    dns = facts.dns
    if dns is None:
        return
    withheld = _withheld_ips(facts)
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
            "certificate": _certificate(probe.certificate),
            "verify_code": probe.verify_code,
            "verify_message": probe.verify_message,
        }
        expected = {"tcp": True, "tls": True, "certificate_valid_for": probe.fqdn}
        subject = f"{probe.address}:{probe.port}"
        if not probe.contacted:
            yield Finding(
                META,
                Status.SKIPPED,
                probe.fqdn,
                f"{probe.fqdn} at {probe.address} was not tried: {probe.detail}.",
                Evidence(observed, expected),
                subject=subject,
            )
            continue
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
        if probe.verify_message:
            yield Finding(
                META,
                Status.FAIL,
                probe.fqdn,
                f"{probe.fqdn} at {probe.address} answers TLS on port {probe.port}, but the "
                f"certificate presented is not the private endpoint's: {'; '.join(_faults(probe))}. "
                "Something between this VNet and the private endpoint terminates TLS (a "
                "TLS-inspecting firewall or proxy); every client that verifies certificates fails.",
                Evidence(observed, expected),
                _interception_remedy(probe),
                subject=subject,
                breaks=frozenset({Link.transport(probe.fqdn, probe.address)}),
            )
            continue
        stage = "TLS handshake" if probe.connected else "TCP connection"
        held = withheld.get(probe.address)
        if held is not None and not probe.connected:
            # Private Link drops the traffic of a connection that is not Approved: that, not
            # an NSG or a route, is the first cause (privateendpoint_connection_approved).
            observed["privateEndpoint"] = held.endpoint_id
            observed["connectionStatus"] = held.status
            yield Finding(
                META,
                Status.FAIL,
                probe.fqdn,
                f"{probe.fqdn} resolves to {probe.address} but the TCP connection on port "
                f"{probe.port} fails: {probe.address} is private endpoint "
                f"{name_of(held.endpoint_id)}, whose connection to {held.owner.kind} "
                f"{held.owner.name} is {held.status}, not Approved, so Private Link drops "
                "its traffic.",
                Evidence(observed, expected),
                Remediation(
                    f"Have the connection of private endpoint {name_of(held.endpoint_id)} to "
                    f"{held.owner.kind} {held.owner.name} approved (see "
                    "privateendpoint_connection_approved); NSGs, firewalls and routes are not "
                    "the first suspect.",
                    f"az network private-endpoint-connection show --id {held.connection.id}",
                ),
                subject=subject,
                breaks=frozenset({Link.transport(probe.fqdn, probe.address)}),
                needs=frozenset({Link.address(probe.address)}),
            )
            continue
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
            breaks=frozenset({Link.transport(probe.fqdn, probe.address)}),
            needs=wrong_address_needs(dns, probe.fqdn, probe.address),
        )


def _withheld_ips(facts: Facts) -> dict[str, ConnectionState]:
    """IP -> the connection, not Approved, of the private endpoint that has it."""
    return {
        ip: state
        for state in all_states(facts)
        if state.status not in (None, APPROVED)
        and state.endpoint is not None
        and state.endpoint.value is not None
        for ip in state.endpoint.value.ips
    }


def _interception_remedy(probe: Reachability) -> Remediation:
    cert = probe.certificate
    presented = f" (it presents {cert.subject}, issued by {cert.issuer})" if cert else ""
    return Remediation(
        f"Exempt {probe.fqdn} from TLS inspection on the firewall or proxy that routes this "
        f"VNet's traffic to {probe.address}{presented}, so the private endpoint's own "
        "certificate reaches the clients; then run netverify again."
    )
