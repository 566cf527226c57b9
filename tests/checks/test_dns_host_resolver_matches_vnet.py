"""dns_host_resolver_matches_vnet: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

from netverify.model import Status
from netverify.testing import (
    AZURE,
    CUSTOM,
    HOST,
    check_statuses,
    dns_answer,
    dns_facts,
    healthy_answers,
    only_finding,
)

CHECK_ID = "dns_host_resolver_matches_vnet"


def test_healthy_matrix_passes() -> None:
    """One name, its linked zone holds the right record, every resolver answers privately."""
    assert {Status.PASS} == set(check_statuses(CHECK_ID, dns_facts(healthy_answers())))


def test_host_resolver_differs() -> None:
    """The host answers a cached old IP, the VNet's DNS server the current one."""
    answers = [dns_answer(HOST, ("10.0.1.55",)), dns_answer(CUSTOM), dns_answer(AZURE)]

    finding = only_finding(CHECK_ID, dns_facts(answers))

    assert Status.FAIL is finding.status
    assert "private 10.0.1.55" in finding.message and "with private 10.0.1.5:" in finding.message
