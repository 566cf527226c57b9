"""dns_resolver_answers: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

import pytest

from netverify.facts import ExpectedName, Resolver, ResolverKind
from netverify.model import Link, Status
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
    expected_name,
    healthy_answers,
)
from tests.evidence import builder_answer

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


CERT = "ws.workspace.eastus.cert.api.azureml.ms"


def _cert() -> ExpectedName:
    return expected_name(CERT, ips=("10.0.1.6",), record="ws.workspace.eastus.cert")


def test_a_host_resolver_without_nameservers_failing_two_names_fails_in_full() -> None:
    """resolv.conf names no nameserver (dig then asks the local stub); the host fails both
    names, one timeout and one SERVFAIL, which Azure DNS resolves privately. The VNet's server
    failing the API name too is what the host's failure on it follows from."""
    host = Resolver(HOST, ResolverKind.HOST, "/etc/resolv.conf", ())
    answers = [
        dns_answer(HOST, (), rcode="TIMEOUT", chain=()),
        dns_answer(HOST, (), fqdn=CERT, rcode="SERVFAIL", chain=()),
        dns_answer(CUSTOM, (), rcode="TIMEOUT", chain=()),
        dns_answer(CUSTOM, ("10.0.1.6",), fqdn=CERT),
        dns_answer(AZURE),
        dns_answer(AZURE, ("10.0.1.6",), fqdn=CERT),
    ]
    facts = dns_facts(answers, names=[expected_name(), _cert()], resolvers=[host, *RESOLVERS[1:]])

    finding = check_findings(CHECK_ID, facts)[0]

    assert (Status.FAIL, "/etc/resolv.conf", HOST) == (
        finding.status,
        finding.resource_id,
        finding.subject,
    )
    assert finding.message == (
        f"Resolver {HOST} gave no answer for 2 of 2 names (1 TIMEOUT, 1 SERVFAIL), e.g. "
        f"{API_NAME}: TIMEOUT; 2 of them exist (Azure DNS resolves them privately): every "
        "client that uses this resolver cannot resolve them."
    )
    assert finding.evidence is not None
    observed = finding.evidence.observed
    assert {k: v for k, v in observed.items() if k != "resolutions"} == {
        "resolver": HOST,
        "address": "/etc/resolv.conf",
        "servers": [],
        "asked": 2,
        "failed": {"TIMEOUT": 1, "SERVFAIL": 1},
        "first_failure": {"fqdn": API_NAME, **builder_answer(rcode="TIMEOUT")},
        "failed_names_that_exist": [API_NAME, CERT],
    }
    assert [API_NAME] * 3 + [CERT] * 3 == [c["fqdn"] for c in observed["resolutions"]]
    assert finding.remediation is not None
    assert f"dig @127.0.0.53 -p 53 {API_NAME} A" == finding.remediation.command
    assert finding.remediation.text.startswith("Check that DNS server /etc/resolv.conf runs")
    assert {Link.answer(API_NAME, HOST), Link.answer(CERT, HOST)} == finding.breaks
    assert {
        Link.route(API_NAME, HOST),
        Link.route(CERT, HOST),
        Link.answer(API_NAME, CUSTOM),
    } == finding.needs


def test_a_custom_server_failing_as_azure_dns_does_follows_from_azure_dns() -> None:
    """The VNet's server (in the agent's VNet) SERVFAILs on the API name as Azure DNS does (a
    rule's dead target, say), and times out on the cert name where Azure DNS SERVFAILs: only
    the same failure is passed on. The zone linked to the VNet shows the API name exists."""
    answers = [
        dns_answer(HOST),
        dns_answer(HOST, ("10.0.1.6",), fqdn=CERT),
        dns_answer(CUSTOM, (), rcode="SERVFAIL", chain=()),
        dns_answer(CUSTOM, (), fqdn=CERT, rcode="TIMEOUT", chain=()),
        dns_answer(AZURE, (), rcode="SERVFAIL", chain=()),
        dns_answer(AZURE, (), fqdn=CERT, rcode="SERVFAIL", chain=()),
    ]
    facts = dns_facts(answers, names=[expected_name(), _cert()])

    by_subject = {f.subject: f for f in check_findings(CHECK_ID, facts)}

    custom = by_subject[CUSTOM]
    assert Status.FAIL is custom.status
    assert custom.message == (
        f"Resolver {CUSTOM} gave no answer for 2 of 2 names (1 SERVFAIL, 1 TIMEOUT), e.g. "
        f"{API_NAME}: SERVFAIL; 1 of them exist (Azure DNS resolves them privately): every "
        "client that uses this resolver cannot resolve them."
    )
    assert custom.evidence is not None
    assert [API_NAME] == custom.evidence.observed["failed_names_that_exist"]
    assert f"dig @10.0.0.4 -p 53 {API_NAME} A" == (
        custom.remediation.command if custom.remediation else None
    )
    assert {Link.route(API_NAME, CUSTOM), Link.answer(API_NAME, AZURE)} == custom.needs
    # Azure DNS itself is not what the VNet's clients ask: could not observe, not an outage.
    assert Status.ERROR is by_subject[AZURE].status
    assert (Status.PASS, f"Resolver {HOST} answered all 2 queries.") == (
        by_subject[HOST].status,
        by_subject[HOST].message,
    )


def test_a_resolver_asked_none_of_the_names_is_skipped() -> None:
    """Azure DNS was asked nothing (no answer recorded): no pass on no evidence."""
    findings = check_findings(CHECK_ID, dns_facts(healthy_answers()[:2]))

    assert [
        (HOST, Status.PASS),
        (CUSTOM, Status.PASS),
        (AZURE, Status.SKIPPED),
    ] == [(f.subject, f.status) for f in findings]
    assert findings[2].message == f"Resolver {AZURE} was asked none of the 1 names."
    assert ("168.63.129.16", None) == (findings[2].resource_id, findings[2].evidence)


def test_the_matrix_of_a_failing_resolver_holds_its_first_twenty_failed_names() -> None:
    """21 names time out through the VNet's server: the evidence keeps the matrix of the
    first 20 (a bounded finding), the counts all 21."""
    names = [expected_name(f"n{i:02d}.api.azureml.ms", record=f"n{i:02d}") for i in range(21)]
    answers = [dns_answer(CUSTOM, (), fqdn=n.fqdn, rcode="TIMEOUT", chain=()) for n in names]

    [finding] = [
        f for f in check_findings(CHECK_ID, dns_facts(answers, names=names)) if f.subject == CUSTOM
    ]

    assert finding.evidence is not None
    observed = finding.evidence.observed
    assert ({"TIMEOUT": 21}, 21) == (observed["failed"], observed["asked"])
    assert [n.fqdn for n in names[:20]] == list(
        dict.fromkeys(c["fqdn"] for c in observed["resolutions"])
    )
