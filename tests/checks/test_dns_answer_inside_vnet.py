"""dns_answer_inside_vnet: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

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

CHECK_ID = "dns_answer_inside_vnet"


def test_healthy_matrix_passes() -> None:
    """One name, its linked zone holds the right record, every resolver answers privately."""
    assert {Status.PASS} == set(check_statuses(CHECK_ID, dns_facts(healthy_answers())))


def test_answer_outside_the_vnet() -> None:
    """A private answer outside 10.0.0.0/16 fails, naming the resolver that gave it."""
    answers = [dns_answer(HOST), dns_answer(CUSTOM), dns_answer(AZURE, ("192.168.50.8",))]

    finding = only_finding(CHECK_ID, dns_facts(answers))

    assert Status.FAIL is finding.status
    assert finding.evidence is not None
    assert {"192.168.50.8": AZURE} == finding.evidence.observed["outside"]


def test_public_answers_are_not_judged_for_address_space() -> None:
    """Public answers are other checks' business: no private answer, nothing to judge."""
    answers = [dns_answer(r, ("52.1.1.1",)) for r in (HOST, CUSTOM, AZURE)]

    assert [Status.SKIPPED] == check_statuses(CHECK_ID, dns_facts(answers))
