"""privateendpoint_tls_reachable: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

from netverify.facts import Reachability
from netverify.model import Status
from netverify.testing import (
    API_NAME,
    check_findings,
    dns_facts,
)

CHECK_ID = "privateendpoint_tls_reachable"


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
