"""privatedns_record_matches_endpoint: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

import dataclasses

from netverify.facts import EndpointAddresses
from netverify.model import Status
from netverify.testing import (
    API_NAME,
    ENDPOINT_ID,
    VNET_ID,
    ZONE_ID,
    arm_id,
    check_statuses,
    dns_facts,
    expected_name,
    healthy_answers,
    only_finding,
    private_zone,
)

CHECK_ID = "privatedns_record_matches_endpoint"


def test_healthy_matrix_passes() -> None:
    """One name, its linked zone holds the right record, every resolver answers privately."""
    assert {Status.PASS} == set(check_statuses(CHECK_ID, dns_facts(healthy_answers())))


def test_stale_record() -> None:
    """The record holds an old IP: fail naming both IPs, with add/remove commands."""
    facts = dns_facts(
        healthy_answers(), zones=[private_zone({"ws.workspace.eastus": ("10.0.1.80",)})]
    )

    finding = only_finding(CHECK_ID, facts)

    assert Status.FAIL is finding.status
    assert "holds 10.0.1.80" in finding.message and "has 10.0.1.5" in finding.message
    assert finding.remediation is not None
    assert "--ipv4-address 10.0.1.5 && " in (finding.remediation.command or "")
    assert (finding.remediation.command or "").endswith("--ipv4-address 10.0.1.80")


def test_two_valid_ips_of_a_name_listed_twice_pass() -> None:
    """customDnsConfigs lists the FQDN twice (two NICs): the record holding both IPs is right;
    no remedy removes either of them."""
    name = expected_name(ips=("10.0.1.5", "10.0.1.6"))
    facts = dns_facts(
        healthy_answers(),
        names=[name],
        zones=[private_zone({"ws.workspace.eastus": ("10.0.1.5", "10.0.1.6")})],
    )

    assert [Status.PASS] == check_statuses(CHECK_ID, facts)


def test_only_the_stale_ip_is_removed_beside_a_valid_one() -> None:
    """A record with the endpoint's IP and an old one: the one remedy removes the old IP only."""
    facts = dns_facts(
        healthy_answers(), zones=[private_zone({"ws.workspace.eastus": ("10.0.1.5", "10.0.9.9")})]
    )

    finding = only_finding(CHECK_ID, facts)

    assert Status.FAIL is finding.status
    assert "10.0.9.9 belongs to no private endpoint of mlw-test" in finding.message
    assert finding.remediation is not None
    assert finding.remediation.command == (
        "az network private-dns record-set a remove-record --subscription 00000000-1111-2222-3333-444444444444 --resource-group rg-test "
        "--zone-name privatelink.api.azureml.ms --record-set-name 'ws.workspace.eastus' "
        "--ipv4-address 10.0.9.9"
    )


def test_ip_of_the_resources_other_endpoint_is_not_stale() -> None:
    """The record holds the IP of the workspace's endpoint in another VNet: not stale, so
    nothing is removed; the reachable endpoint's IP is added."""
    name = expected_name(
        endpoints=(
            EndpointAddresses(ENDPOINT_ID, ("10.0.1.5",), VNET_ID),
            EndpointAddresses("/pe-other", ("10.2.0.5",), "/vnet-other"),
        ),
        reachable=(ENDPOINT_ID,),
    )
    facts = dns_facts(
        healthy_answers(),
        names=[name],
        zones=[private_zone({"ws.workspace.eastus": ("10.2.0.5",)})],
    )

    finding = only_finding(CHECK_ID, facts)

    assert finding.message == (
        "Record ws.workspace.eastus in privatelink.api.azureml.ms holds 10.2.0.5, but the "
        "private endpoint of mlw-test has 10.0.1.5 (none of them belongs to a private endpoint "
        f"the agent's VNet reaches): {API_NAME} resolves to a stale address."
    )
    assert finding.remediation is not None
    assert "remove-record" not in (finding.remediation.command or "")
    assert finding.remediation.command == (
        "az network private-dns record-set a add-record --subscription 00000000-1111-2222-3333-444444444444 --resource-group rg-test "
        "--zone-name privatelink.api.azureml.ms --record-set-name 'ws.workspace.eastus' "
        "--ipv4-address 10.0.1.5"
    )


ADD_OR_REMOVE = (
    "az network private-dns record-set a {}-record --subscription 00000000-1111-2222-3333-444444444444 --resource-group rg-test --zone-name "
    "privatelink.api.azureml.ms --record-set-name 'ws.workspace.eastus' --ipv4-address {}"
)


def test_two_stale_ips_for_two_right_ones_add_one_and_remove_both() -> None:
    """The endpoint has two IPs, the record two others: one right IP is added (either makes the
    name resolve), each stale one removed; the full evidence says which is which."""
    name = expected_name(ips=("10.0.1.5", "10.0.1.6"))
    facts = dns_facts(
        healthy_answers(),
        names=[name],
        zones=[private_zone({"ws.workspace.eastus": ("10.0.9.9", "10.0.9.8")})],
    )

    finding = only_finding(CHECK_ID, facts)

    assert (Status.FAIL, API_NAME, ZONE_ID) == (
        finding.status,
        finding.resource_id,
        finding.subject,
    )
    assert finding.message == (
        "Record ws.workspace.eastus in privatelink.api.azureml.ms holds 10.0.9.9, 10.0.9.8, but "
        "the private endpoint of mlw-test has 10.0.1.5, 10.0.1.6 (10.0.9.8, 10.0.9.9 belongs to "
        f"no private endpoint of mlw-test): {API_NAME} resolves to a stale address."
    )
    assert finding.remediation.command == " && ".join(
        [
            ADD_OR_REMOVE.format("add", "10.0.1.5"),
            ADD_OR_REMOVE.format("remove", "10.0.9.8"),
            ADD_OR_REMOVE.format("remove", "10.0.9.9"),
        ]
    )
    assert (ZONE_ID, ["10.0.9.9", "10.0.9.8"]) == (
        finding.evidence.observed["zone"],
        finding.evidence.observed["record_ips"],
    )
    assert {"record_ips": ["10.0.1.5", "10.0.1.6"], "endpoint_ips": ["10.0.1.5", "10.0.1.6"]} == (
        finding.evidence.expected
    )


def test_a_record_of_both_ips_names_both_and_an_unserved_name_is_left_alone() -> None:
    """Both IPs held: pass naming both; a name no endpoint serves, and a zone that lacks the
    record (privatedns_record_present's), give nothing here."""
    served = expected_name(ips=("10.0.1.6", "10.0.1.5"))
    unserved = expected_name(
        "ws.workspace.eastus.cert.api.azureml.ms", record="ws.workspace.eastus.cert", endpoints=[]
    )
    lacking = expected_name("other.workspace.eastus.api.azureml.ms", record="other")
    facts = dns_facts(
        healthy_answers(),
        names=[served, unserved, lacking],
        zones=[
            private_zone(
                {
                    "ws.workspace.eastus": ("10.0.1.5", "10.0.1.6"),
                    "ws.workspace.eastus.cert": ("10.0.9.9",),
                }
            )
        ],
    )

    finding = only_finding(CHECK_ID, facts)

    assert (Status.PASS, API_NAME) == (finding.status, finding.resource_id)
    assert finding.message == (
        "Record ws.workspace.eastus in privatelink.api.azureml.ms holds the private endpoint's "
        "IP 10.0.1.5, 10.0.1.6."
    )


def test_a_record_of_two_withheld_ips_names_the_connection() -> None:
    """Both IPs in the record belong to the workspace's endpoint whose connection is not
    Approved: not stale (nothing removed), the right IP is added."""
    withheld = EndpointAddresses(
        arm_id("Microsoft.Network/privateEndpoints", "pe-b"), ("10.1.1.6", "10.1.1.5"), VNET_ID
    )
    name = dataclasses.replace(expected_name(), withheld=(withheld,))
    facts = dns_facts(
        healthy_answers(),
        names=[name],
        zones=[private_zone({"ws.workspace.eastus": ("10.1.1.6", "10.1.1.5")})],
    )

    finding = only_finding(CHECK_ID, facts)

    assert finding.message == (
        "Record ws.workspace.eastus in privatelink.api.azureml.ms holds 10.1.1.6, 10.1.1.5, but "
        "the private endpoint of mlw-test has 10.0.1.5 (10.1.1.5, 10.1.1.6 belongs to a private "
        "endpoint whose connection is not Approved (privateendpoint_connection_approved)): "
        f"{API_NAME} resolves to a stale address."
    )
    assert ADD_OR_REMOVE.format("add", "10.0.1.5") == finding.remediation.command
