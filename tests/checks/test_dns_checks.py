"""Each DNS check fires on its root cause and stays quiet on a healthy matrix (no I/O)."""

from __future__ import annotations

from types import ModuleType

import pytest

from netverify.checklib.catalog import load_checks
from netverify.facts import Facts, Reachability, ReadProblem
from netverify.model import Finding, Status
from netverify.testing import (
    API_NAME,
    AZURE,
    CUSTOM,
    HOST,
    VNET_ID,
    ZONE_ID,
    dns_answer,
    dns_facts,
    expected_name,
    failed,
    healthy_answers,
    private_zone,
)


def check(check_id: str) -> ModuleType:
    [found] = [c.module for c in load_checks() if c.meta.id == check_id]
    return found  # type: ignore[return-value]


def statuses(check_id: str, facts: Facts) -> list[Status]:
    return [f.status for f in check(check_id).evaluate(facts)]


def only(check_id: str, facts: Facts) -> Finding:
    [finding] = check(check_id).evaluate(facts)
    return finding


DNS_CHECKS = [
    "privatedns_zone_exists",
    "privatedns_zone_linked_agent_vnet",
    "privatedns_record_present",
    "privatedns_record_matches_endpoint",
    "dns_custom_server_forwards_zones",
    "dns_answer_inside_vnet",
    "dns_host_resolver_matches_vnet",
    "dns_resolver_answers",
    "dns_name_resolves_private_endpoint",
]


@pytest.mark.parametrize("check_id", DNS_CHECKS)
def test_healthy_matrix_passes(check_id: str) -> None:
    """One name, its linked zone holds the right record, every resolver answers privately."""
    assert {Status.PASS} == set(statuses(check_id, dns_facts(healthy_answers())))


@pytest.mark.parametrize("check_id", [*DNS_CHECKS, "privateendpoint_tls_reachable"])
def test_without_dns_facts_nothing_is_said(check_id: str) -> None:
    """Facts from a run that did not probe DNS give no DNS finding."""
    assert [] == statuses(check_id, Facts())


def test_zone_missing_from_zone_group() -> None:
    """The zone group names a zone that 404s: fail, with the zone create command."""
    facts = dns_facts(healthy_answers(), zones=[failed(ZONE_ID, ReadProblem.NOT_FOUND)])

    finding = only("privatedns_zone_exists", facts)

    assert Status.FAIL is finding.status
    assert "does not exist" in finding.message
    assert finding.remediation is not None
    assert (
        "az network private-dns zone create --resource-group rg-test --name privatelink.api.azureml.ms"
        == finding.remediation.command
    )


def test_zone_not_found_anywhere() -> None:
    """No zone group and no zone of that name in the subscriptions: fail on the workspace."""
    facts = dns_facts(healthy_answers(), names=[expected_name(zone_ids=())], zones=[])

    finding = only("privatedns_zone_exists", facts)

    assert Status.FAIL is finding.status
    assert finding.resource_id.endswith("/workspaces/mlw-test")


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

    assert [Status.ERROR] == statuses("privatedns_zone_exists", facts)


def test_zone_not_linked() -> None:
    """The zone is linked elsewhere: fail with the link command for the agent's VNet."""
    facts = dns_facts(healthy_answers(), zones=[private_zone(linked=())])

    finding = only("privatedns_zone_linked_agent_vnet", facts)

    assert Status.FAIL is finding.status
    assert finding.remediation is not None
    assert (
        f"--zone-name privatelink.api.azureml.ms --name link-vnet-hub --virtual-network {VNET_ID}"
        in (finding.remediation.command or "")
    )


def test_unlinked_zone_with_a_linked_twin_passes() -> None:
    """Another zone of the same name is linked (DNS kept in a hub): the unlinked one is fine."""
    twin = ZONE_ID.replace("rg-test", "rg-hub")
    facts = dns_facts(
        healthy_answers(),
        names=[expected_name(zone_ids=(ZONE_ID, twin))],
        zones=[private_zone(linked=()), private_zone(zone_id=twin)],
    )

    assert [Status.PASS, Status.PASS] == statuses("privatedns_zone_linked_agent_vnet", facts)


def test_record_missing() -> None:
    """The zone lacks the record: fail with the add-record command and the endpoint's IP."""
    facts = dns_facts(healthy_answers(), zones=[private_zone({})])

    finding = only("privatedns_record_present", facts)

    assert Status.FAIL is finding.status
    assert finding.remediation is not None
    assert "--record-set-name 'ws.workspace.eastus' --ipv4-address 10.0.1.5" in (
        finding.remediation.command or ""
    )
    assert "recreate the private endpoint" in finding.remediation.text


def test_record_looked_up_in_the_linked_zone() -> None:
    """Of two zones of one name, the linked one is what Azure DNS serves: its record counts."""
    twin = ZONE_ID.replace("rg-test", "rg-hub")
    facts = dns_facts(
        healthy_answers(),
        names=[expected_name(zone_ids=(ZONE_ID, twin))],
        zones=[private_zone(linked=()), private_zone({}, zone_id=twin)],
    )

    assert [Status.FAIL] == statuses("privatedns_record_present", facts)


def test_stale_record() -> None:
    """The record holds an old IP: fail naming both IPs, with add/remove commands."""
    facts = dns_facts(
        healthy_answers(), zones=[private_zone({"ws.workspace.eastus": ("10.0.1.80",)})]
    )

    finding = only("privatedns_record_matches_endpoint", facts)

    assert Status.FAIL is finding.status
    assert "holds 10.0.1.80" in finding.message and "has 10.0.1.5" in finding.message
    assert finding.remediation is not None
    assert "--ipv4-address 10.0.1.5 && " in (finding.remediation.command or "")
    assert (finding.remediation.command or "").endswith("--ipv4-address 10.0.1.80")


def test_custom_server_public_answer_names_the_zone() -> None:
    """Azure DNS private, the custom server public: the zone to forward, and snippets."""
    answers = [
        dns_answer(HOST, ("52.1.1.1",)),
        dns_answer(CUSTOM, ("52.1.1.1",), chain=("ws-frontend.cloudapp.example",)),
        dns_answer(AZURE),
    ]

    finding = only("dns_custom_server_forwards_zones", dns_facts(answers))

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

    finding = only("dns_custom_server_forwards_zones", dns_facts(answers))

    assert "does not follow the CNAME into privatelink.api.azureml.ms" in finding.message


def test_custom_server_not_judged_where_azure_dns_is_not_private() -> None:
    """When Azure DNS itself does not give the private IP, forwarding is not the problem."""
    answers = [
        dns_answer(HOST, ()),
        dns_answer(CUSTOM, (), rcode="NXDOMAIN"),
        dns_answer(AZURE, (), rcode="NXDOMAIN"),
    ]

    assert [Status.SKIPPED] == statuses("dns_custom_server_forwards_zones", dns_facts(answers))


def test_answer_outside_the_vnet() -> None:
    """A private answer outside 10.0.0.0/16 fails, naming the resolver that gave it."""
    answers = [dns_answer(HOST), dns_answer(CUSTOM), dns_answer(AZURE, ("192.168.50.8",))]

    finding = only("dns_answer_inside_vnet", dns_facts(answers))

    assert Status.FAIL is finding.status
    assert finding.evidence is not None
    assert {"192.168.50.8": AZURE} == finding.evidence.observed["outside"]


def test_public_answers_are_not_judged_for_address_space() -> None:
    """Public answers are other checks' business: no private answer, nothing to judge."""
    answers = [dns_answer(r, ("52.1.1.1",)) for r in (HOST, CUSTOM, AZURE)]

    assert [Status.SKIPPED] == statuses("dns_answer_inside_vnet", dns_facts(answers))


def test_host_resolver_differs() -> None:
    """The host answers a cached old IP, the VNet's DNS server the current one."""
    answers = [dns_answer(HOST, ("10.0.1.55",)), dns_answer(CUSTOM), dns_answer(AZURE)]

    finding = only("dns_host_resolver_matches_vnet", dns_facts(answers))

    assert Status.FAIL is finding.status
    assert "private 10.0.1.55" in finding.message and "with private 10.0.1.5:" in finding.message


def test_failed_resolver_is_an_error_and_others_still_pass() -> None:
    """The custom server times out: error for it, pass for host and Azure DNS."""
    answers = [
        dns_answer(HOST),
        dns_answer(CUSTOM, (), rcode="TIMEOUT", chain=()),
        dns_answer(AZURE),
    ]

    findings = list(check("dns_resolver_answers").evaluate(dns_facts(answers)))

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

    assert [Status.PASS, Status.ERROR, Status.PASS] == statuses(
        "dns_resolver_answers", dns_facts(answers)
    )


def test_headline_fails_on_public_answer_and_carries_the_matrix() -> None:
    """The workload's resolver gives the public IP: fail, evidence has every resolver's answer."""
    answers = [
        dns_answer(HOST, ("52.1.1.1",)),
        dns_answer(CUSTOM, ("52.1.1.1",)),
        dns_answer(AZURE),
    ]

    finding = only("dns_name_resolves_private_endpoint", dns_facts(answers))

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

    assert [Status.ERROR] == statuses("dns_name_resolves_private_endpoint", dns_facts(answers))


def test_unreachable_private_ip() -> None:
    """Resolves, but nothing answers on 443: fail naming the stage."""
    probes = [
        Reachability(API_NAME, "10.0.1.5", 443, "10.0.1.5:443", True, True),
        Reachability(
            API_NAME,
            "10.0.1.80",
            443,
            "10.0.1.80:443",
            False,
            False,
            1.0,
            "TCP connect timed out after 3s",
        ),
    ]

    findings = list(check("privateendpoint_tls_reachable").evaluate(dns_facts(reachability=probes)))

    assert [Status.PASS, Status.FAIL] == [f.status for f in findings]
    assert "the TCP connection on port 443 fails" in findings[1].message
