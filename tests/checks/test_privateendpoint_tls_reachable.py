"""privateendpoint_tls_reachable: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from netverify.checklib.catalog import load_checks
from netverify.facts import PeerCertificate, Reachability
from netverify.model import Link, Status
from netverify.testing import (
    API_NAME,
    check_findings,
    dns_facts,
    facts,
    only_finding,
    workspace,
)

CHECK_ID = "privateendpoint_tls_reachable"
SCORING = "ep-a.eastus.inference.ml.azure.com"
AZURE_CA = "CN=Microsoft Azure RSA TLS Issuing CA 04,O=Microsoft Corporation,C=US"
INSPECTION_CA = "CN=Corp TLS Inspection CA,O=Contoso"
[CHECK] = [c.module for c in load_checks() if c.meta.id == CHECK_ID]
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


# -- each OpenSSL code, each certificate shape ------------------------------------------------


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (2, "unable to get issuer certificate"),
        (18, "self-signed certificate"),
        (19, "self-signed certificate in certificate chain"),
        (20, "unable to get local issuer certificate"),
        (21, "unable to verify the first certificate"),
    ],
)
def test_every_untrusted_issuer_code_blames_the_issuer(code: int, words: str) -> None:
    """X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT (2) to UNABLE_TO_VERIFY_LEAF_SIGNATURE (21): the
    name is right (exactly, with a trailing dot on both sides), the issuer is not trusted."""
    presented = cert(f"CN={SCORING}", INSPECTION_CA, f"{SCORING.upper()}.")
    probe = reach(
        f"{SCORING}.",
        "10.0.1.7",
        tls_ok=False,
        certificate=presented,
        verify_code=code,
        verify_message=words,
        detail=f"TLS certificate verification failed: {words}",
    )

    finding = only_finding(CHECK_ID, dns_facts(reachability=[probe]))

    assert (Status.FAIL, f"{SCORING}.", "10.0.1.7:443") == (
        finding.status,
        finding.resource_id,
        finding.subject,
    )
    assert finding.message == (
        f"{SCORING}. at 10.0.1.7 answers TLS on port 443, but the certificate presented is not "
        f"the private endpoint's: its issuer {INSPECTION_CA} is not trusted ({words}). "
        "Something between this VNet and the private endpoint terminates TLS (a TLS-inspecting "
        "firewall or proxy); every client that verifies certificates fails."
    )
    assert frozenset({Link.transport(f"{SCORING}.", "10.0.1.7")}) == finding.breaks


@pytest.mark.parametrize(
    ("code", "words"), [(9, "certificate is not yet valid"), (10, "certificate has expired")]
)
def test_both_out_of_date_codes_give_the_validity_period(code: int, words: str) -> None:
    """CERT_NOT_YET_VALID (9) and CERT_HAS_EXPIRED (10) say the period; without a certificate
    (unreadable) only OpenSSL's words remain."""
    own = cert(f"CN={SCORING}", AZURE_CA, SCORING, until=datetime(2026, 6, 1, tzinfo=UTC))
    fields = {"tls_ok": False, "verify_code": code, "verify_message": words, "detail": words}
    probes = [
        reach(SCORING, "10.0.1.7", certificate=own, **fields),
        reach(SCORING, "10.0.2.7", certificate=None, **fields),
    ]

    dated, unread = check_findings(CHECK_ID, dns_facts(reachability=probes))

    assert (Status.FAIL, Status.FAIL) == (dated.status, unread.status)
    assert (
        f"not the private endpoint's: it is valid only from 2026-01-01 to 2026-06-01 ({words}). "
        "Something"
    ) in dated.message
    assert f"not the private endpoint's: it does not verify ({words}). Something" in (
        unread.message
    )


def test_a_code_of_neither_kind_on_a_right_certificate_does_not_verify() -> None:
    """X509_V_ERR_INVALID_PURPOSE (26) on a certificate for the right name from a trusted CA:
    no fault of name, issuer or dates is claimed, OpenSSL's words are given."""
    own = cert(f"CN={SCORING}", AZURE_CA, "other.example", SCORING)
    probe = reach(
        SCORING,
        "10.0.1.7",
        tls_ok=False,
        certificate=own,
        verify_code=26,
        verify_message="unsuitable certificate purpose",
        detail="TLS certificate verification failed: unsuitable certificate purpose",
    )

    finding = only_finding(CHECK_ID, dns_facts(reachability=[probe]))

    assert (
        "certificate presented is not the private endpoint's: it does not verify (unsuitable "
        "certificate purpose). Something"
    ) in finding.message


def test_a_certificate_with_no_or_several_names_lists_them() -> None:
    """A certificate with no dNSName and one with two names, neither for the name asked."""
    bare = cert("CN=proxy", INSPECTION_CA)
    two = cert("CN=proxy", INSPECTION_CA, "proxy.corp.example", "*.corp.example")
    fields = {"tls_ok": False, "verify_code": 62, "verify_message": "Hostname mismatch"}
    probes = [
        reach(SCORING, "10.0.1.7", certificate=bare, **fields),
        reach(SCORING, "10.0.2.7", certificate=two, **fields),
    ]

    none, several = check_findings(CHECK_ID, dns_facts(reachability=probes))

    assert (
        f"it is not valid for {SCORING} (subject CN=proxy; names no DNS names). Something"
    ) in none.message
    assert (
        f"it is not valid for {SCORING} (subject CN=proxy; names proxy.corp.example, "
        "*.corp.example). Something"
    ) in several.message
    assert ["proxy.corp.example", "*.corp.example"] == (
        several.evidence.observed["certificate"]["dns_names"]
    )


@pytest.mark.parametrize(
    ("fqdn", "names", "valid"),
    [
        ("ep-a.eastus.inference.ml.azure.com", ("EP-A.EastUS.inference.ml.azure.com",), True),
        ("EP-A.eastus.inference.ml.azure.com.", ("*.EASTUS.inference.ml.azure.com.",), True),
        (
            "ep-a.eastus.inference.ml.azure.com",
            ("other.example", "*.eastus.inference.ml.azure.com"),
            True,
        ),
        # A wildcard stands for exactly one label: not two, not none.
        ("a.ep-a.eastus.inference.ml.azure.com", ("*.eastus.inference.ml.azure.com",), False),
        ("eastus.inference.ml.azure.com", ("*.eastus.inference.ml.azure.com",), False),
        ("ep-a.eastus.inference.ml.azure.com", ("*.westus.inference.ml.azure.com",), False),
        ("ep-a.eastus.inference.ml.azure.com", ("ep-a.eastus.inference.ml.azure.co",), False),
        ("ep-a.eastus.inference.ml.azure.com", ("x*.eastus.inference.ml.azure.com",), False),
        ("localhost", ("*.localhost", "*."), False),
        ("ep-a.eastus.inference.ml.azure.com", (), False),
    ],
)
def test_valid_for_follows_rfc_6125(fqdn: str, names: tuple[str, ...], valid: bool) -> None:
    """Case-insensitive, trailing dots ignored, ``*`` only as the whole left-most label."""
    assert valid is CHECK.valid_for(fqdn, names)


def test_no_dns_facts_gives_no_transport_verdict() -> None:
    """A run without DNS probes has no reachability to judge: nothing, not a pass; the same
    check on a run with one probe passes, so the silence is the missing probes' doing."""
    probed = dns_facts(reachability=[reach(API_NAME, "10.0.1.5")])

    assert [] == check_findings(CHECK_ID, facts([workspace(key_vault=None)]))
    assert [(Status.PASS, "10.0.1.5:443")] == [
        (f.status, f.subject) for f in check_findings(CHECK_ID, probed)
    ]


def test_latency_is_rounded_to_a_tenth_of_a_millisecond() -> None:
    """The evidence gives latency_ms to one decimal, as measured."""
    finding = only_finding(
        CHECK_ID, dns_facts(reachability=[reach(API_NAME, "10.0.1.5", latency_ms=12.345)])
    )

    assert (Status.PASS, 12.3) == (finding.status, finding.evidence.observed["latency_ms"])
    assert finding.message == f"{API_NAME} at 10.0.1.5 accepts TCP 443 and TLS."


def test_an_unreadable_certificate_gets_a_remedy_without_presented_words() -> None:
    """Interception without the certificate: the remedy names the name and the address only."""
    finding = only_finding(CHECK_ID, dns_facts(reachability=[untrusted(SCORING, "10.0.1.7", None)]))

    assert finding.remediation is not None
    assert finding.remediation.text == (
        f"Exempt {SCORING} from TLS inspection on the firewall or proxy that routes this VNet's "
        "traffic to 10.0.1.7, so the private endpoint's own certificate reaches the clients; "
        "then run netverify again."
    )
