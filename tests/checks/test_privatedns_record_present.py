"""privatedns_record_present: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

from netverify.model import Status
from netverify.testing import (
    ZONE_ID,
    check_statuses,
    dns_facts,
    expected_name,
    healthy_answers,
    only_finding,
    private_zone,
)

CHECK_ID = "privatedns_record_present"


def test_healthy_matrix_passes() -> None:
    """One name, its linked zone holds the right record, every resolver answers privately."""
    assert {Status.PASS} == set(check_statuses(CHECK_ID, dns_facts(healthy_answers())))


def test_record_missing() -> None:
    """The zone lacks the record: fail with the add-record command and the endpoint's IP."""
    facts = dns_facts(healthy_answers(), zones=[private_zone({})])

    finding = only_finding(CHECK_ID, facts)

    assert Status.FAIL is finding.status
    assert finding.remediation is not None
    assert "--record-set-name 'ws.workspace.eastus' --ipv4-address 10.0.1.5" in (
        finding.remediation.command or ""
    )
    assert "recreate" not in finding.remediation.text


def test_record_looked_up_in_the_linked_zone() -> None:
    """Of two zones of one name, the linked one is what Azure DNS serves: its record counts."""
    twin = ZONE_ID.replace("rg-test", "rg-hub")
    facts = dns_facts(
        healthy_answers(),
        names=[expected_name(zone_ids=(ZONE_ID, twin))],
        zones=[private_zone(linked=()), private_zone({}, zone_id=twin)],
    )

    assert [Status.FAIL] == check_statuses(CHECK_ID, facts)
