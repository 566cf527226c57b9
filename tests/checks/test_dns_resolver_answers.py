"""dns_resolver_answers: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

import pytest

from netverify.model import Status
from netverify.testing import (
    API_NAME,
    AZURE,
    CUSTOM,
    HOST,
    check_findings,
    check_statuses,
    dns_answer,
    dns_facts,
    healthy_answers,
)

CHECK_ID = "dns_resolver_answers"


def test_healthy_matrix_passes() -> None:
    """One name, its linked zone holds the right record, every resolver answers privately."""
    assert {Status.PASS} == set(check_statuses(CHECK_ID, dns_facts(healthy_answers())))


def test_failed_resolver_is_an_error_and_others_still_pass() -> None:
    """The custom server times out: error for it, pass for host and Azure DNS."""
    answers = [
        dns_answer(HOST),
        dns_answer(CUSTOM, (), rcode="TIMEOUT", chain=()),
        dns_answer(AZURE),
    ]

    findings = list(check_findings(CHECK_ID, dns_facts(answers)))

    assert [(HOST, Status.PASS), (CUSTOM, Status.ERROR), (AZURE, Status.PASS)] == [
        (f.subject, f.status) for f in findings
    ]
    assert findings[1].evidence is not None
    assert {"TIMEOUT": 1} == findings[1].evidence.observed["failed"]
    assert findings[1].remediation is not None
    assert f"dig @10.0.0.4 -p 53 {API_NAME} A" == findings[1].remediation.command


@pytest.mark.parametrize("rcode", ["SERVFAIL", "REFUSED", "UNREACHABLE", "MALFORMED"])
def test_every_resolver_failure_is_an_error(rcode: str) -> None:
    """SERVFAIL, REFUSED, unreachable and malformed answers are errors, not fails."""
    answers = [dns_answer(HOST), dns_answer(CUSTOM, (), rcode=rcode, chain=()), dns_answer(AZURE)]

    assert [Status.PASS, Status.ERROR, Status.PASS] == check_statuses(CHECK_ID, dns_facts(answers))
