"""privatedns_zone_exists: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

import dataclasses

from netverify.facts import DnsAnswer, ReadProblem
from netverify.model import Status
from netverify.testing import (
    AZURE,
    CUSTOM,
    HOST,
    WORKSPACE_TYPE,
    ZONE_ID,
    arm_id,
    check_statuses,
    dns_answer,
    dns_facts,
    expected_name,
    failed,
    healthy_answers,
    only_finding,
)

CHECK_ID = "privatedns_zone_exists"
WORKSPACE_ID = arm_id(WORKSPACE_TYPE, "mlw-test")


def test_healthy_matrix_passes() -> None:
    """One name, its linked zone holds the right record, every resolver answers privately."""
    assert {Status.PASS} == set(check_statuses(CHECK_ID, dns_facts(healthy_answers())))


def test_zone_missing_from_zone_group() -> None:
    """The zone group names a zone that 404s: fail, with the zone create command."""
    facts = dns_facts(public_answers(), zones=[failed(ZONE_ID, ReadProblem.NOT_FOUND)])

    finding = only_finding(CHECK_ID, facts)

    assert Status.FAIL is finding.status
    assert "does not exist" in finding.message
    assert "recreate" not in finding.remediation.text
    assert finding.remediation is not None
    assert (
        "az network private-dns zone create --subscription 00000000-1111-2222-3333-444444444444 --resource-group rg-test --name privatelink.api.azureml.ms"
        == finding.remediation.command
    )


def test_zone_not_found_anywhere() -> None:
    """No zone group and no zone of that name in the subscriptions: fail on the workspace."""
    facts = dns_facts(public_answers(), names=[expected_name(zone_ids=())], zones=[])

    finding = only_finding(CHECK_ID, facts)

    assert Status.FAIL is finding.status
    assert finding.resource_id.endswith("/workspaces/mlw-test")
    assert "nor in any subscription this identity can see" in finding.message


def public_answers() -> list[DnsAnswer]:
    return [dns_answer(r, ("52.160.0.1",)) for r in (HOST, CUSTOM, AZURE)]


def test_no_zone_but_the_vnet_dns_answers_privately_is_not_needed() -> None:
    """H10's kind: no Azure zone anywhere, yet the VNet's DNS server answers with the endpoint's
    IP (DNS kept on the customer's own servers): the evidence outranks the inventory."""
    facts = dns_facts(healthy_answers(), names=[expected_name(zone_ids=())], zones=[])

    finding = only_finding(CHECK_ID, facts)

    assert Status.SKIPPED is finding.status
    assert "is needed: the VNet's DNS already answers its 1 name(s)" in finding.message


def test_deleted_zone_in_the_zone_group_is_not_needed_when_dns_answers_privately() -> None:
    """Another shape of the kind: the zone group names a deleted zone, but the VNet's DNS
    answers privately anyway: no "create the zone" remedy for a working name."""
    facts = dns_facts(healthy_answers(), zones=[failed(ZONE_ID, ReadProblem.NOT_FOUND)])

    finding = only_finding(CHECK_ID, facts)

    assert Status.SKIPPED is finding.status
    assert finding.remediation is None


def test_zone_unreadable_is_an_error() -> None:
    """A 403 on the zone says nothing about it: error naming the permission."""
    facts = dns_facts(
        healthy_answers(),
        zones=[
            failed(
                ZONE_ID, ReadProblem.FORBIDDEN, permission="Microsoft.Network/privateDnsZones/read"
            )
        ],
    )

    assert [Status.ERROR] == check_statuses(CHECK_ID, facts)


def test_zones_that_could_not_be_searched_are_an_error_not_missing() -> None:
    """No zone group and the zone search failed (Resource Graph and the lists refused): an
    error naming the failed read, never "the zone does not exist"."""
    facts = dns_facts(public_answers(), names=[expected_name(zone_ids=())], zones=[])
    assert facts.dns is not None
    refused = failed(
        "/providers/Microsoft.Network/privateDnsZones", ReadProblem.FORBIDDEN, status_code=403
    )
    facts = dataclasses.replace(facts, dns=dataclasses.replace(facts.dns, zone_search=refused))

    finding = only_finding(CHECK_ID, facts)

    assert Status.ERROR is finding.status
    assert "list of private DNS zones" in finding.message


NOTEBOOKS = "ws.workspace.eastus.notebooks.api.azureml.ms"


def test_one_name_answered_privately_does_not_excuse_the_missing_zone() -> None:
    """Two names of one zone, no zone anywhere: one is answered privately, the other publicly.
    The zone is still needed (every name must be answered privately to skip it)."""
    notebooks = expected_name(NOTEBOOKS, record="ws.workspace.eastus.notebooks", zone_ids=())
    answers = [
        *healthy_answers(),
        *(dns_answer(r, ("52.160.0.1",), fqdn=NOTEBOOKS, chain=()) for r in (HOST, CUSTOM, AZURE)),
    ]
    facts = dns_facts(answers, names=[expected_name(zone_ids=()), notebooks], zones=[])

    finding = only_finding(CHECK_ID, facts)

    assert Status.FAIL is finding.status
    assert finding.resource_id == WORKSPACE_ID
    assert finding.message.startswith(
        "Private DNS zone privatelink.api.azureml.ms of workspace mlw-test is missing: no zone "
        "of that name is in the zone group of its private endpoint, nor in any subscription "
        "this identity can see; 2 name(s) cannot resolve privately."
    )


def test_forbidden_zone_is_an_error_with_the_full_message() -> None:
    permission = "Microsoft.Network/privateDnsZones/read"
    facts = dns_facts(
        healthy_answers(),
        zones=[failed(ZONE_ID, ReadProblem.FORBIDDEN, status_code=403, permission=permission)],
    )

    finding = only_finding(CHECK_ID, facts)

    assert (finding.status, finding.resource_id) == (Status.ERROR, ZONE_ID)
    assert finding.message == (
        f"Cannot read the private DNS zone {ZONE_ID}: the agent's identity lacks {permission}."
    )


def test_zone_search_404_is_an_error_not_a_missing_zone() -> None:
    """The search is no linked resource: a 404 on it (a Resource Graph path that is not there)
    is an error naming the list, not "the list does not exist"."""
    search = "/providers/Microsoft.ResourceGraph/resources"
    facts = dns_facts(
        public_answers(),
        names=[expected_name(zone_ids=())],
        zones=[],
        zone_search=failed(search, ReadProblem.NOT_FOUND, status_code=404),
    )

    finding = only_finding(CHECK_ID, facts)

    assert (finding.status, finding.resource_id) == (Status.ERROR, search)
    assert finding.message == f"Cannot read the list of private DNS zones {search}: not_found"
