"""dns_host_resolver_matches_vnet: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

from netverify.facts import VirtualNetwork
from netverify.model import Link, Status
from netverify.testing import (
    API_NAME,
    AZURE,
    CUSTOM,
    HOST,
    RESOLVERS,
    SECOND_SERVER,
    TWO_SERVERS_VNET,
    VNET_ID,
    check_statuses,
    dns_answer,
    dns_facts,
    healthy_answers,
    only_finding,
)

CHECK_ID = "dns_host_resolver_matches_vnet"


def test_healthy_matrix_passes() -> None:
    """One name, its linked zone holds the right record, every resolver answers privately."""
    assert {Status.PASS} == set(check_statuses(CHECK_ID, dns_facts(healthy_answers())))


def test_host_resolver_differs() -> None:
    """The host answers a cached old IP, the VNet's DNS server the current one."""
    answers = [dns_answer(HOST, ("10.0.1.55",)), dns_answer(CUSTOM), dns_answer(AZURE)]

    finding = only_finding(CHECK_ID, dns_facts(answers))

    assert Status.FAIL is finding.status
    assert "private 10.0.1.55" in finding.message and "with private 10.0.1.5:" in finding.message


def test_a_stale_host_answer_against_two_vnet_servers_fails_in_full() -> None:
    """The VNet hands out two DNS servers; the second times out (not compared), the first
    gives the current IP; the host a cached old one."""
    answers = [
        dns_answer(HOST, ("10.0.1.55",)),
        dns_answer(CUSTOM),
        dns_answer(SECOND_SERVER.name, (), rcode="TIMEOUT", chain=()),
        dns_answer(AZURE),
    ]
    facts = dns_facts(answers, vnet=TWO_SERVERS_VNET, resolvers=[*RESOLVERS, SECOND_SERVER])

    finding = only_finding(CHECK_ID, facts)

    assert (Status.FAIL, API_NAME) == (finding.status, finding.resource_id)
    assert finding.message == (
        f"The host resolver (/etc/resolv.conf) answers {API_NAME} with private 10.0.1.55, the "
        f"VNet's DNS ({CUSTOM}) with private 10.0.1.5: this machine does not use the VNet's "
        "DNS, or a local cache is stale."
    )
    assert finding.evidence is not None
    assert {"same_as": [CUSTOM, SECOND_SERVER.name]} == dict(finding.evidence.expected)
    assert finding.remediation is not None
    assert finding.remediation.text == (
        "Make /etc/resolv.conf use the VNet's DNS servers (custom 10.0.0.4, custom 10.0.0.5) as "
        "DHCP hands them out, and flush local caches (systemd-resolved, nscd, dnsmasq) on this "
        "machine."
    )
    assert "resolvectl flush-caches && resolvectl status" == finding.remediation.command
    assert frozenset({Link.answer(API_NAME, HOST)}) == finding.breaks


def test_the_host_matching_any_vnet_server_passes() -> None:
    """Two VNet servers disagree (one stale); the host answers as the second does: it uses
    the VNet's DNS."""
    answers = [
        dns_answer(HOST, ("10.0.1.5",), chain=()),
        dns_answer(CUSTOM, ("10.0.1.55",)),
        dns_answer(SECOND_SERVER.name),
    ]
    facts = dns_facts(answers, vnet=TWO_SERVERS_VNET, resolvers=[*RESOLVERS, SECOND_SERVER])

    finding = only_finding(CHECK_ID, facts)

    assert (Status.PASS, API_NAME) == (finding.status, finding.resource_id)
    assert finding.message == f"The host resolver answers {API_NAME} as the VNet's DNS does."


def test_without_vnet_dns_servers_azure_dns_is_the_reference() -> None:
    vnet = VirtualNetwork(VNET_ID, "vnet-hub", ("10.0.0.0/16",), ())
    answers = [
        dns_answer(HOST, ("10.0.1.55",)),
        dns_answer(CUSTOM, ("10.0.1.55",)),
        dns_answer(AZURE),
    ]

    finding = only_finding(CHECK_ID, dns_facts(answers, vnet=vnet))

    assert Status.FAIL is finding.status
    assert finding.evidence is not None
    assert {"same_as": [AZURE]} == dict(finding.evidence.expected)
    assert f"the VNet's DNS ({AZURE}) with private 10.0.1.5:" in finding.message


def test_nothing_is_compared_without_a_host_answer_or_a_vnet_answer() -> None:
    """No host resolver, a host resolver that timed out, VNet servers that all failed:
    nothing to compare (dns_resolver_answers reports failures). The same facts with a stale
    host answer do fail, so the silence is the inputs', not a check that judges nothing."""
    stale = [dns_answer(HOST, ("10.0.1.55",)), dns_answer(CUSTOM), dns_answer(AZURE)]
    failing_vnet = [
        dns_answer(HOST, ("10.0.1.55",)),
        dns_answer(CUSTOM, (), rcode="SERVFAIL", chain=()),
    ]

    assert [Status.FAIL] == check_statuses(CHECK_ID, dns_facts(stale))
    assert [] == check_statuses(CHECK_ID, dns_facts(stale, host_resolver=False))
    assert [] == check_statuses(CHECK_ID, dns_facts(healthy_answers(failing=(HOST,))))
    assert [] == check_statuses(CHECK_ID, dns_facts(failing_vnet))


def test_the_host_differing_from_both_vnet_servers_names_both() -> None:
    answers = [
        dns_answer(HOST, ("10.0.1.55",)),
        dns_answer(CUSTOM),
        dns_answer(SECOND_SERVER.name),
    ]
    facts = dns_facts(answers, vnet=TWO_SERVERS_VNET, resolvers=[*RESOLVERS, SECOND_SERVER])

    finding = only_finding(CHECK_ID, facts)

    assert finding.message == (
        f"The host resolver (/etc/resolv.conf) answers {API_NAME} with private 10.0.1.55, the "
        f"VNet's DNS ({CUSTOM}, {SECOND_SERVER.name}) with private 10.0.1.5: this machine does "
        "not use the VNet's DNS, or a local cache is stale."
    )
