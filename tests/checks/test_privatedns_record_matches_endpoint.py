"""privatedns_record_matches_endpoint: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

from netverify.model import Status
from netverify.testing import (
    check_statuses,
    dns_facts,
    healthy_answers,
    only_finding,
    private_zone,
)

CHECK_ID = "privatedns_record_matches_endpoint"


def test_healthy_matrix_passes() -> None:
    """One name, its linked zone holds the right record, every resolver answers privately."""
    assert {Status.PASS} == set(check_statuses(CHECK_ID, dns_facts(healthy_answers())))


def test_stale_record() -> None:
    """The record holds an old IP: fail naming both IPs, with add/remove commands."""
    facts = dns_facts(
        healthy_answers(), zones=[private_zone({"ws.workspace.eastus": ("10.0.1.80",)})]
    )

    finding = only_finding(CHECK_ID, facts)

    assert Status.FAIL is finding.status
    assert "holds 10.0.1.80" in finding.message and "has 10.0.1.5" in finding.message
    assert finding.remediation is not None
    assert "--ipv4-address 10.0.1.5 && " in (finding.remediation.command or "")
    assert (finding.remediation.command or "").endswith("--ipv4-address 10.0.1.80")
