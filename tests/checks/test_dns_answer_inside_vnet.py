"""dns_answer_inside_vnet: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

import dataclasses

import pytest

from netverify.facts import ReadProblem
from netverify.model import Link, Status
from netverify.testing import (
    API_NAME,
    AZURE,
    CUSTOM,
    HOST,
    SPOKE_ENDPOINT_ID,
    VNET_ID,
    arm_id,
    check_findings,
    check_statuses,
    dns_answer,
    dns_facts,
    failed,
    healthy_answers,
    mixed_case,
    only_finding,
    private_zone,
    spoke_name,
    spoke_vnet,
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


def test_answers_outside_both_the_agent_and_the_spoke_endpoint_vnet_fail_in_full() -> None:
    """The name's endpoint lives in a peered spoke (10.2.0.0/16, read): the host's answer in
    the spoke is inside; the custom server's and Azure DNS's addresses in no VNet read are
    outside, each named with its resolver. The fix points at the zone (in its own resource
    group, its id spelled in another case) that serves the name."""
    zone_id = arm_id("Microsoft.Network/privateDnsZones", "privatelink.api.azureml.ms").replace(
        "rg-test", "rg-dns"
    )
    answers = [
        dns_answer(HOST, ("10.2.0.5",)),
        dns_answer(CUSTOM, ("172.16.0.9",)),
        dns_answer(AZURE, ("192.168.50.8",)),
    ]
    facts = dns_facts(
        answers,
        names=[dataclasses.replace(spoke_name(), zone_ids=(zone_id,))],
        endpoint_vnets=[spoke_vnet()],
        zones=[private_zone(zone_id=mixed_case(zone_id), linked=(VNET_ID,))],
    )

    finding = only_finding(CHECK_ID, facts)

    assert (Status.FAIL, API_NAME) == (finding.status, finding.resource_id)
    assert finding.message == (
        f"{API_NAME} (workspace API of mlw-test) resolves to 172.16.0.9, 192.168.50.8, outside "
        "the address space 10.0.0.0/16, 10.2.0.0/16 of the agent's VNet and the private "
        "endpoint's VNet."
    )
    assert finding.evidence is not None
    assert {"172.16.0.9": CUSTOM, "192.168.50.8": AZURE} == finding.evidence.observed["outside"]
    assert [SPOKE_ENDPOINT_ID] == finding.evidence.observed["private_endpoints"]
    assert {"address_space": ["10.0.0.0/16", "10.2.0.0/16"]} == dict(finding.evidence.expected)
    assert finding.remediation is not None
    assert finding.remediation.text == (
        f"Find who answers {API_NAME} with 172.16.0.9, 192.168.50.8 (evidence: the resolution "
        "matrix). Fix the record ws.workspace.eastus in zone privatelink.api.azureml.ms (see "
        "privatedns_record_matches_endpoint) or peer the VNets."
    )
    assert finding.remediation.command == (
        "az network private-dns record-set a show --subscription 00000000-1111-2222-3333-444444444444 --resource-group RG-DNS --zone-name "
        "privatelink.api.azureml.ms --name 'ws.workspace.eastus'"
    )
    assert {
        Link.record(API_NAME),
        Link.answer(API_NAME, CUSTOM),
        Link.answer(API_NAME, AZURE),
    } == finding.needs


def test_without_a_readable_zone_the_fix_names_the_workspace_group() -> None:
    zone = private_zone(linked=(VNET_ID,))
    answers = [dns_answer(AZURE, ("192.168.50.8",))]

    finding = only_finding(
        CHECK_ID, dns_facts(answers, zones=[failed(zone.id, ReadProblem.FORBIDDEN)])
    )

    assert finding.remediation is not None
    assert (
        "--subscription 00000000-1111-2222-3333-444444444444 --resource-group rg-test --zone-name"
        in (finding.remediation.command or "")
    )


def test_public_answers_are_not_judged_for_address_space() -> None:
    """Public answers are other checks' business: no private answer, nothing to judge."""
    answers = [dns_answer(r, ("52.1.1.1",)) for r in (HOST, CUSTOM, AZURE)]

    finding = only_finding(CHECK_ID, dns_facts(answers))

    assert (Status.SKIPPED, API_NAME) == (finding.status, finding.resource_id)
    assert finding.message == "No resolver answered a private address."


@pytest.mark.parametrize("unread", ["failed", "unset"])
def test_without_the_agent_vnet_each_name_is_skipped_saying_why(unread: str) -> None:
    vnet = failed(VNET_ID, ReadProblem.FORBIDDEN) if unread == "failed" else None
    facts = dns_facts(healthy_answers(), vnet=vnet, agent_vnet=unread == "failed")

    [finding] = check_findings(CHECK_ID, facts)

    assert (Status.SKIPPED, API_NAME) == (finding.status, finding.resource_id)
    assert finding.message == "The agent's VNet is not configured or not readable."
