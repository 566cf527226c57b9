"""privateendpoint_tls_reachable: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

from netverify.facts import PeerCertificate, Reachability
from netverify.model import Status
from netverify.testing import (
    API_NAME,
    check_findings,
    dns_facts,
)

CHECK_ID = "privateendpoint_tls_reachable"
SCORING = "ep-a.eastus.inference.ml.azure.com"
AZURE_CA = "CN=Microsoft Azure RSA TLS Issuing CA 04,O=Microsoft Corporation,C=US"
INSPECTION_CA = "CN=Corp TLS Inspection CA,O=Contoso"
SINCE = datetime(2026, 1, 1, tzinfo=UTC)
UNTIL = datetime(2027, 1, 1, tzinfo=UTC)


def cert(subject: str, issuer: str, *names: str, until: datetime = UNTIL) -> PeerCertificate:
    return PeerCertificate(subject, issuer, names, SINCE, until)


def reach(fqdn: str, address: str, **fields: object) -> Reachability:
    values: dict[str, object] = {"connected": True, "tls_ok": True, "latency_ms": 2.0}
    values.update(fields)
    return Reachability(fqdn, address, 443, f"{address}:443", **values)  # type: ignore[arg-type]


def untrusted(fqdn: str, address: str, presented: PeerCertificate | None) -> Reachability:
    return reach(
        fqdn,
        address,
        tls_ok=False,
        detail="TLS certificate verification failed: unable to get local issuer certificate",
        certificate=presented,
        verify_code=20,
        verify_message="unable to get local issuer certificate",
    )


def test_unreachable_private_ip() -> None:
    """Resolves, but nothing answers on 443: fail naming the stage."""
    probes = [
        Reachability(API_NAME, "10.0.1.5", 443, "10.0.1.5:443", True, True),
        Reachability(
            API_NAME,
            "10.0.1.80",
            443,
            "10.0.1.80:443",
            False,
            False,
            1.0,
            "TCP connect timed out after 3s",
        ),
    ]

    findings = list(check_findings(CHECK_ID, dns_facts(reachability=probes)))

    assert [Status.PASS, Status.FAIL] == [f.status for f in findings]
    assert "the TCP connection on port 443 fails" in findings[1].message


def test_inspecting_device_for_its_own_name_is_named_with_what_answered() -> None:
    """H22's shape: a certificate for another name from an untrusted CA. The finding says what
    answered (subject, issuer, names) and that something terminates TLS on the way; the other
    IP of the same name, presenting the endpoint's own certificate, passes."""
    device = cert("CN=tls-inspection.corp.example", INSPECTION_CA, "tls-inspection.corp.example")
    own = cert("CN=*.eastus.inference.ml.azure.com", AZURE_CA, "*.eastus.inference.ml.azure.com")
    probes = [untrusted(SCORING, "10.0.1.7", device), reach(SCORING, "10.1.1.7", certificate=own)]

    findings = list(check_findings(CHECK_ID, dns_facts(reachability=probes)))

    assert [(Status.FAIL, "10.0.1.7:443"), (Status.PASS, "10.1.1.7:443")] == [
        (f.status, f.subject) for f in findings
    ]
    bad = findings[0]
    assert bad.message == (
        f"{SCORING} at 10.0.1.7 answers TLS on port 443, but the certificate presented is not "
        f"the private endpoint's: it is not valid for {SCORING} (subject "
        "CN=tls-inspection.corp.example; names tls-inspection.corp.example); its issuer "
        f"{INSPECTION_CA} is not trusted (unable to get local issuer certificate). Something "
        "between this VNet and the private endpoint terminates TLS (a TLS-inspecting firewall "
        "or proxy); every client that verifies certificates fails."
    )
    assert bad.evidence is not None
    assert {
        "fqdn": SCORING,
        "address": "10.0.1.7",
        "port": 443,
        "connected_to": "10.0.1.7:443",
        "tcp": True,
        "tls": False,
        "latency_ms": 2.0,
        "detail": "TLS certificate verification failed: unable to get local issuer certificate",
        "certificate": {
            "subject": "CN=tls-inspection.corp.example",
            "issuer": INSPECTION_CA,
            "dns_names": ["tls-inspection.corp.example"],
            "not_before": "2026-01-01T00:00:00+00:00",
            "not_after": "2027-01-01T00:00:00+00:00",
        },
        "verify_code": 20,
        "verify_message": "unable to get local issuer certificate",
    } == bad.evidence.observed
    assert {"tcp": True, "tls": True, "certificate_valid_for": SCORING} == bad.evidence.expected
    assert bad.remediation is not None
    assert bad.remediation.text == (
        f"Exempt {SCORING} from TLS inspection on the firewall or proxy that routes this VNet's "
        "traffic to 10.0.1.7 (it presents CN=tls-inspection.corp.example, issued by "
        f"{INSPECTION_CA}), so the private endpoint's own certificate reaches the clients; then "
        "run netverify again."
    )
    assert bad.remediation.command is None
    assert "NSG" not in bad.remediation.text


def test_right_name_from_an_untrusted_issuer_blames_only_the_issuer() -> None:
    """Azure Firewall Premium-style inspection mints a certificate for the very name asked: the
    name matches (mixed case in the probe, a wildcard in the certificate), the issuer does not."""
    minted = cert(
        "CN=*.workspace.eastus.api.azureml.ms", INSPECTION_CA, "*.workspace.eastus.api.azureml.ms"
    )
    fqdn = "WS.Workspace.EastUS.api.azureml.ms"

    [finding] = check_findings(
        CHECK_ID, dns_facts(reachability=[untrusted(fqdn, "10.0.1.5", minted)])
    )

    assert Status.FAIL is finding.status
    assert (
        f"certificate presented is not the private endpoint's: its issuer {INSPECTION_CA} is "
        "not trusted (unable to get local issuer certificate). Something between"
    ) in finding.message
    assert "not valid for" not in finding.message


def test_trusted_issuer_for_another_suffix_and_expired() -> None:
    """A wildcard for another region's suffix (OpenSSL: hostname mismatch) and an expired one:
    each says its own fault; neither blames the issuer."""
    other = cert("CN=*.westus.inference.ml.azure.com", AZURE_CA, "*.westus.inference.ml.azure.com")
    old = cert(
        "CN=*.eastus.inference.ml.azure.com",
        AZURE_CA,
        "*.eastus.inference.ml.azure.com",
        until=datetime(2026, 6, 1, tzinfo=UTC),
    )
    mismatch = f"Hostname mismatch, certificate is not valid for '{SCORING}'."
    probes = [
        reach(
            SCORING,
            "10.0.1.7",
            tls_ok=False,
            certificate=other,
            verify_code=62,
            verify_message=mismatch,
            detail=f"TLS certificate verification failed: {mismatch}",
        ),
        reach(
            SCORING,
            "10.0.2.7",
            tls_ok=False,
            certificate=old,
            verify_code=10,
            verify_message="certificate has expired",
            detail="TLS certificate verification failed: certificate has expired",
        ),
    ]

    findings = list(check_findings(CHECK_ID, dns_facts(reachability=probes)))

    assert [Status.FAIL, Status.FAIL] == [f.status for f in findings]
    assert (
        f"not the private endpoint's: it is not valid for {SCORING} (subject "
        "CN=*.westus.inference.ml.azure.com; names *.westus.inference.ml.azure.com). Something"
    ) in findings[0].message
    assert (
        "not the private endpoint's: it is valid only from 2026-01-01 to 2026-06-01 "
        "(certificate has expired). Something"
    ) in findings[1].message
    assert all("issuer" not in f.message for f in findings)


def test_unreadable_certificate_still_says_verification_failed() -> None:
    """The second, unverified handshake could not read the certificate: OpenSSL's words only."""
    [finding] = check_findings(
        CHECK_ID, dns_facts(reachability=[untrusted(SCORING, "10.0.1.7", None)])
    )

    assert (
        "not the private endpoint's: its issuer is not trusted (unable to get local issuer "
        "certificate)."
    ) in finding.message
    assert finding.evidence is not None
    assert finding.evidence.observed["certificate"] is None
    assert finding.remediation is not None
    assert "presents" not in finding.remediation.text


def test_handshake_failure_keeps_its_own_message() -> None:
    """TLS refused outright (no certificate verification involved): the connectivity remedy."""
    probe = reach(
        SCORING,
        "10.0.1.7",
        tls_ok=False,
        detail="TLS handshake failed: [SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred",
    )

    [finding] = check_findings(CHECK_ID, dns_facts(reachability=[probe]))

    assert finding.message == (
        f"{SCORING} resolves to 10.0.1.7 but the TLS handshake on port 443 fails: TLS handshake "
        "failed: [SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred."
    )
    assert finding.remediation is not None
    assert "NSGs, firewalls and routes" in finding.remediation.text
    assert finding.evidence is not None
    assert (None, 0, "") == (
        finding.evidence.observed["certificate"],
        finding.evidence.observed["verify_code"],
        finding.evidence.observed["verify_message"],
    )


def test_quiet_when_every_certificate_verifies() -> None:
    """Several IPs of several names, mixed case: all verified, all pass, no remedy."""
    own = cert("CN=*.eastus.inference.ml.azure.com", AZURE_CA, "*.eastus.inference.ml.azure.com")
    probes = [
        reach("EP-A.eastus.inference.ml.azure.com", "10.0.1.7", certificate=own),
        reach("ep-b.EASTUS.inference.ml.azure.com", "10.0.1.7", certificate=own),
        reach(API_NAME, "10.0.1.5"),
    ]

    findings = list(check_findings(CHECK_ID, dns_facts(reachability=probes)))

    assert [Status.PASS] * 3 == [f.status for f in findings]
    assert [None] * 3 == [f.remediation for f in findings]
    assert findings[0].message == (
        "EP-A.eastus.inference.ml.azure.com at 10.0.1.7 accepts TCP 443 and TLS."
    )


def test_an_address_not_contacted_is_skipped_not_failed() -> None:
    """A record of an address the probe did not try (outside reachability.address_map) claims
    no broken transport: skipped with its evidence, beside a pass for the one it tried."""
    detail = "10.0.1.99 is not in reachability.address_map: not contacted"
    probes = [
        reach(API_NAME, "10.0.1.5"),
        Reachability(
            API_NAME, "10.0.1.99", 443, "10.0.1.99:443", False, False, 0.0, detail, contacted=False
        ),
    ]

    passed, skipped = check_findings(CHECK_ID, dns_facts(reachability=probes))

    assert (Status.PASS, "10.0.1.5:443") == (passed.status, passed.subject)
    assert (Status.SKIPPED, "10.0.1.99:443", frozenset()) == (
        skipped.status,
        skipped.subject,
        skipped.breaks,
    )
    assert f"{API_NAME} at 10.0.1.99 was not tried: {detail}." == skipped.message
    assert skipped.evidence is not None
    assert {
        "fqdn": API_NAME,
        "address": "10.0.1.99",
        "port": 443,
        "connected_to": "10.0.1.99:443",
        "tcp": False,
        "tls": False,
        "latency_ms": 0.0,
        "detail": detail,
        "certificate": None,
        "verify_code": 0,
        "verify_message": "",
    } == skipped.evidence.observed
