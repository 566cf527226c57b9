"""privatedns_record_matches_endpoint: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

from netverify.facts import EndpointAddresses
from netverify.model import Status
from netverify.testing import (
    ENDPOINT_ID,
    VNET_ID,
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
        "az network private-dns record-set a remove-record --resource-group rg-test "
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

    assert finding.remediation is not None
    assert "remove-record" not in (finding.remediation.command or "")
    assert finding.remediation.command == (
        "az network private-dns record-set a add-record --resource-group rg-test "
        "--zone-name privatelink.api.azureml.ms --record-set-name 'ws.workspace.eastus' "
        "--ipv4-address 10.0.1.5"
    )
