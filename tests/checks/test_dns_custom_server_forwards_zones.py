"""dns_custom_server_forwards_zones: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

from netverify.model import Status
from netverify.testing import (
    API_NAME,
    AZURE,
    CUSTOM,
    HOST,
    check_statuses,
    dns_answer,
    dns_facts,
    healthy_answers,
    only_finding,
)

CHECK_ID = "dns_custom_server_forwards_zones"


def test_healthy_matrix_passes() -> None:
    """One name, its linked zone holds the right record, every resolver answers privately."""
    assert {Status.PASS} == set(check_statuses(CHECK_ID, dns_facts(healthy_answers())))


def test_custom_server_public_answer_names_the_zone() -> None:
    """Azure DNS private, the custom server public: the zone to forward, and snippets."""
    answers = [
        dns_answer(HOST, ("52.1.1.1",)),
        dns_answer(CUSTOM, ("52.1.1.1",), chain=("ws-frontend.cloudapp.example",)),
        dns_answer(AZURE),
    ]

    finding = only_finding(CHECK_ID, dns_facts(answers))

    assert Status.FAIL is finding.status
    assert f"api.azureml.ms: {API_NAME} -> public 52.1.1.1" in finding.message
    assert finding.remediation is not None
    assert (
        "Add-DnsServerConditionalForwarderZone -Name api.azureml.ms -MasterServers 168.63.129.16"
        == finding.remediation.command
    )
    for snippet in (
        'zone "api.azureml.ms" { type forward; forward only; forwarders { 168.63.129.16; }; };',
        "server=/api.azureml.ms/168.63.129.16",
        'forward-zone: name: "api.azureml.ms" forward-addr: 168.63.129.16',
    ):
        assert snippet in finding.remediation.text


def test_custom_server_bare_cname_is_the_dnsmasq_case() -> None:
    """A CNAME into the privatelink zone and no address: says the server did not chase it."""
    answers = [dns_answer(HOST), dns_answer(CUSTOM, ()), dns_answer(AZURE)]

    finding = only_finding(CHECK_ID, dns_facts(answers))

    assert "does not follow the CNAME into privatelink.api.azureml.ms" in finding.message


def test_custom_server_not_judged_where_azure_dns_is_not_private() -> None:
    """When Azure DNS itself does not give the private IP, forwarding is not the problem."""
    answers = [
        dns_answer(HOST, ()),
        dns_answer(CUSTOM, (), rcode="NXDOMAIN"),
        dns_answer(AZURE, (), rcode="NXDOMAIN"),
    ]

    assert [Status.SKIPPED] == check_statuses(CHECK_ID, dns_facts(answers))
