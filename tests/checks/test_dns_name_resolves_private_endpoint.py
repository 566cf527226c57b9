"""dns_name_resolves_private_endpoint: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

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

CHECK_ID = "dns_name_resolves_private_endpoint"


def test_healthy_matrix_passes() -> None:
    """One name, its linked zone holds the right record, every resolver answers privately."""
    assert {Status.PASS} == set(check_statuses(CHECK_ID, dns_facts(healthy_answers())))


def test_headline_fails_on_public_answer_and_carries_the_matrix() -> None:
    """The workload's resolver gives the public IP: fail, evidence has every resolver's answer."""
    answers = [
        dns_answer(HOST, ("52.1.1.1",)),
        dns_answer(CUSTOM, ("52.1.1.1",)),
        dns_answer(AZURE),
    ]

    finding = only_finding(CHECK_ID, dns_facts(answers))

    assert Status.FAIL is finding.status
    assert finding.evidence is not None
    cells = {c["resolver"]: c for c in finding.evidence.observed["resolutions"]}
    assert ["52.1.1.1"] == cells[HOST]["addresses"]
    assert (["10.0.1.5"], "azure") == (cells[AZURE]["addresses"], cells[AZURE]["resolver_kind"])
    assert ["ws.workspace.eastus.privatelink.api.azureml.ms"] == cells[AZURE]["cname_chain"]


def test_headline_is_an_error_when_the_resolver_fails() -> None:
    """No answer from the workload's resolver: error, not fail."""
    answers = [
        dns_answer(HOST, (), rcode="TIMEOUT", chain=()),
        dns_answer(CUSTOM),
        dns_answer(AZURE),
    ]

    assert [Status.ERROR] == check_statuses(CHECK_ID, dns_facts(answers))
