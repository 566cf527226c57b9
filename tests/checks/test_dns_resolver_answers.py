"""dns_resolver_answers: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

import pytest

from netverify.facts import Resolver, ResolverKind
from netverify.model import Status
from netverify.testing import (
    API_NAME,
    AZURE,
    CUSTOM,
    HOST,
    RESOLVERS,
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


def test_the_vnet_server_failing_a_name_that_exists_fails_and_others_still_pass() -> None:
    """The VNet's server times out on a name Azure DNS resolves privately: an outage for
    every client of that server (fail), pass for host and Azure DNS."""
    answers = [
        dns_answer(HOST),
        dns_answer(CUSTOM, (), rcode="TIMEOUT", chain=()),
        dns_answer(AZURE),
    ]

    findings = list(check_findings(CHECK_ID, dns_facts(answers)))

    assert [(HOST, Status.PASS), (CUSTOM, Status.FAIL), (AZURE, Status.PASS)] == [
        (f.subject, f.status) for f in findings
    ]
    assert findings[1].message == (
        f"Resolver {CUSTOM} gave no answer for 1 of 1 names (1 TIMEOUT), e.g. {API_NAME}: "
        "TIMEOUT; 1 of them exist (Azure DNS resolves them privately): every client that uses "
        "this resolver cannot resolve them."
    )
    assert findings[1].evidence is not None
    observed = findings[1].evidence.observed
    assert ({"TIMEOUT": 1}, [API_NAME]) == (observed["failed"], observed["failed_names_that_exist"])
    assert findings[1].remediation is not None
    assert f"dig @10.0.0.4 -p 53 {API_NAME} A" == findings[1].remediation.command


@pytest.mark.parametrize("rcode", ["SERVFAIL", "REFUSED", "UNREACHABLE", "MALFORMED"])
def test_every_resolver_failure_on_a_name_that_exists_fails(rcode: str) -> None:
    """SERVFAIL, REFUSED, unreachable and malformed answers fail the workload alike."""
    answers = [dns_answer(HOST), dns_answer(CUSTOM, (), rcode=rcode, chain=()), dns_answer(AZURE)]

    assert [Status.PASS, Status.FAIL, Status.PASS] == check_statuses(CHECK_ID, dns_facts(answers))


@pytest.mark.parametrize("azure", ["TIMEOUT", "SERVFAIL"])
def test_a_failure_nothing_shows_to_matter_is_an_error(azure: str) -> None:
    """Azure DNS fails too, and no zone linked to the VNet holds the record: whether the name
    exists is not known, so netverify could not observe (error), not a fail."""
    answers = [
        dns_answer(HOST),
        dns_answer(CUSTOM, (), rcode="TIMEOUT", chain=()),
        dns_answer(AZURE, (), rcode=azure, chain=()),
    ]

    findings = list(check_findings(CHECK_ID, dns_facts(answers, zones=[])))

    assert [Status.PASS, Status.ERROR, Status.ERROR] == [f.status for f in findings]
    assert findings[1].evidence is not None
    assert [] == findings[1].evidence.observed["failed_names_that_exist"]
    assert findings[1].message.endswith("TIMEOUT.")


def test_a_server_the_workload_does_not_use_is_an_error() -> None:
    """A configured extra server (not the VNet's, not the host's) that times out: netverify
    could not observe it; no client of the VNet depends on it."""
    extra = Resolver("custom 10.9.0.9", ResolverKind.CUSTOM, "10.9.0.9", ("10.9.0.9:53",))
    answers = [*healthy_answers(), dns_answer(extra.name, (), rcode="TIMEOUT", chain=())]

    findings = list(check_findings(CHECK_ID, dns_facts(answers, resolvers=[*RESOLVERS, extra])))

    assert [Status.PASS, Status.PASS, Status.PASS, Status.ERROR] == [f.status for f in findings]
