"""dns_name_resolves_private_endpoint: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

import dataclasses

from netverify.facts import EndpointAddresses, ExpectedName
from netverify.model import Status
from netverify.testing import (
    API_NAME,
    AZURE,
    CUSTOM,
    ENDPOINT_ID,
    HOST,
    VNET_ID,
    check_findings,
    check_statuses,
    dns_answer,
    dns_facts,
    expected_name,
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


def test_headline_fails_when_the_resolver_fails_on_a_name_that_exists() -> None:
    """No answer from the workload's resolver for a name Azure DNS resolves privately: the
    workload cannot resolve it - a fail (exit 1), not "could not observe"."""
    answers = [
        dns_answer(HOST, (), rcode="TIMEOUT", chain=()),
        dns_answer(CUSTOM),
        dns_answer(AZURE),
    ]

    finding = only_finding(CHECK_ID, dns_facts(answers))

    assert Status.FAIL is finding.status
    assert finding.message == (
        f"{API_NAME} (workspace API of mlw-test) does not resolve through host (TIMEOUT), "
        "although Azure DNS gives it its private endpoint 10.0.1.5: the workload cannot resolve "
        "it (the DNS server's own finding says why)."
    )


def test_headline_is_an_error_when_nothing_shows_the_name_exists() -> None:
    """Azure DNS fails as well and no linked zone holds the record: not observed (error)."""
    answers = [
        dns_answer(HOST, (), rcode="SERVFAIL", chain=()),
        dns_answer(CUSTOM, (), rcode="SERVFAIL", chain=()),
        dns_answer(AZURE, (), rcode="TIMEOUT", chain=()),
    ]

    assert [Status.ERROR] == check_statuses(CHECK_ID, dns_facts(answers, zones=[]))


def test_scoring_name_no_endpoint_serves_fails_with_why() -> None:
    """Kind 6: the workspace's endpoint predates online endpoints, so no endpoint lists the
    scoring record; the name is judged (not dropped) and the fix is the one that works."""
    scoring = dataclasses.replace(
        expected_name("ep-a.eastus.inference.ml.azure.com", endpoints=()), purpose="scoring"
    )
    facts = dns_facts(healthy_answers("ep-a.eastus.inference.ml.azure.com"), names=[scoring])

    [finding] = [f for f in check_findings(CHECK_ID, facts) if f.status is Status.FAIL]

    assert (
        "is served by no private endpoint: no private endpoint of mlw-test lists" in finding.message
    )
    assert "before online endpoints existed (May 2022)" in finding.message
    assert finding.remediation is not None and "Recreate" in finding.remediation.text


SPOKE_ENDPOINT = ENDPOINT_ID.replace("pe-mlw-test", "pe-mlw-spoke")
SPOKE_VNET = VNET_ID.replace("vnet-hub", "vnet-spoke")
OTHER_ENDPOINT = ENDPOINT_ID.replace("pe-mlw-test", "pe-mlw-other")
OTHER_VNET = VNET_ID.replace("vnet-hub", "vnet-other")


def _two_endpoints(reachable: tuple[str, ...]) -> list[ExpectedName]:
    return [
        expected_name(
            endpoints=(
                EndpointAddresses(SPOKE_ENDPOINT, ("10.2.0.5",), SPOKE_VNET),
                EndpointAddresses(OTHER_ENDPOINT, ("10.3.0.5",), OTHER_VNET),
            ),
            reachable=reachable,
        )
    ]


def test_answer_of_a_peered_spoke_endpoint_is_right_from_the_hub() -> None:
    """Kind 2, hub-and-spoke: the endpoint lives in a spoke peered with the agent's hub; its
    IP is the right answer, and the other VNet's endpoint is not demanded as well."""
    facts = dns_facts(healthy_answers(ip="10.2.0.5"), names=_two_endpoints((SPOKE_ENDPOINT,)))

    assert [Status.PASS] == check_statuses(CHECK_ID, facts)


def test_answer_of_an_endpoint_the_agent_cannot_reach_fails() -> None:
    """The same name answered with the IP of the endpoint in an unpeered VNet: wrong from here."""
    facts = dns_facts(healthy_answers(ip="10.3.0.5"), names=_two_endpoints((SPOKE_ENDPOINT,)))

    finding = only_finding(CHECK_ID, facts)

    assert Status.FAIL is finding.status
    assert "not to its private endpoint 10.2.0.5" in finding.message
    assert [SPOKE_ENDPOINT] == finding.evidence.observed["private_endpoints"]
