"""dns_custom_server_forwards_zones: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

import dataclasses

from netverify.facts import ExpectedName
from netverify.model import Status
from netverify.testing import (
    API_NAME,
    AZURE,
    CUSTOM,
    HOST,
    check_statuses,
    dns_answer,
    dns_facts,
    expected_name,
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


SCORING = "ep-a.eastus.inference.ml.azure.com"
SCORING_RECORD = "*.g.inference.eastus"


def _scoring() -> ExpectedName:
    return dataclasses.replace(
        expected_name(SCORING, ips=("10.0.1.7",), record=SCORING_RECORD),
        purpose="scoring",
        forwarder_zones=("inference.ml.azure.com",),
    )


def test_local_copy_of_the_privatelink_zone_is_its_own_root_cause() -> None:
    """H12: the server follows the CNAME into its own copy of privatelink.api.azureml.ms,
    which lacks the wildcard: NXDOMAIN with AA and that zone's SOA. The fix is the record in
    the copy; "forward inference.ml.azure.com" would change nothing and is not proposed."""
    chain = ("ep-a.g.inference.eastus.privatelink.api.azureml.ms",)
    mine = dataclasses.replace(
        dns_answer(CUSTOM, (), fqdn=SCORING, rcode="NXDOMAIN", chain=chain),
        authoritative=True,
        soa_zone="privatelink.api.azureml.ms",
    )
    answers = [mine, dns_answer(AZURE, ("10.0.1.7",), fqdn=SCORING, chain=chain)]

    finding = only_finding(CHECK_ID, dns_facts(answers, names=[_scoring()]))

    assert Status.FAIL is finding.status
    assert (
        "answers from its own copy of privatelink.api.azureml.ms (or a server it sends that "
        "zone to), which lacks " in finding.message
    )
    assert f"{SCORING} -> NXDOMAIN with AA" in finding.message
    assert finding.evidence.observed["local_zone_copies"] == ["privatelink.api.azureml.ms"]
    assert finding.evidence.observed["zones_not_forwarded"] == []
    assert finding.remediation is not None and finding.remediation.command is None
    assert f"{SCORING_RECORD}.privatelink.api.azureml.ms. IN A 10.0.1.7" in finding.remediation.text
    assert "forward-zone" not in finding.remediation.text


def test_local_zone_for_the_public_name_is_a_local_copy_too() -> None:
    """Another shape: manual integration (a zone eastus.inference.ml.azure.com on the server)
    without the endpoint's name; the record goes into that zone, relative to it."""
    mine = dataclasses.replace(
        dns_answer(CUSTOM, (), fqdn=SCORING, rcode="NXDOMAIN", chain=()),
        authoritative=True,
        soa_zone="eastus.inference.ml.azure.com",
    )
    answers = [mine, dns_answer(AZURE, ("10.0.1.7",), fqdn=SCORING)]

    finding = only_finding(CHECK_ID, dns_facts(answers, names=[_scoring()]))

    assert Status.FAIL is finding.status
    assert "ep-a.eastus.inference.ml.azure.com. IN A 10.0.1.7" in finding.remediation.text


def test_a_non_authoritative_nxdomain_is_a_forwarding_problem() -> None:
    """Without AA the same NXDOMAIN came from elsewhere: judged as forwarding, not a copy."""
    mine = dataclasses.replace(
        dns_answer(CUSTOM, (), fqdn=SCORING, rcode="NXDOMAIN", chain=()),
        soa_zone="privatelink.api.azureml.ms",
    )
    answers = [mine, dns_answer(AZURE, ("10.0.1.7",), fqdn=SCORING)]

    finding = only_finding(CHECK_ID, dns_facts(answers, names=[_scoring()]))

    assert finding.evidence.observed["zones_not_forwarded"] == ["inference.ml.azure.com"]


def test_timeouts_confined_to_one_zone_name_its_dead_forwarder() -> None:
    """The server answers the API zone but times out on every scoring name while Azure DNS
    answers them: the inference zone's forwarder points at a target that does not answer."""
    silent = dataclasses.replace(
        dns_answer(CUSTOM, (), fqdn=SCORING, rcode="TIMEOUT", chain=()), detail="no answer"
    )
    answers = [
        *healthy_answers(),
        silent,
        dns_answer(AZURE, ("10.0.1.7",), fqdn=SCORING),
    ]

    finding = only_finding(CHECK_ID, dns_facts(answers, names=[expected_name(), _scoring()]))

    assert Status.FAIL is finding.status
    assert (
        "gets no answer for inference.ml.azure.com while it answers other zones" in finding.message
    )
    assert finding.evidence.observed["zones_forwarded_to_no_answer"] == ["inference.ml.azure.com"]
    assert "Add-DnsServerConditionalForwarderZone -Name inference.ml.azure.com" in (
        finding.remediation.command or ""
    )


def test_a_server_that_answers_nothing_is_not_judged_on_forwarding() -> None:
    """Every name times out: the server is down (dns_resolver_answers' finding), not a forwarder."""
    silent = dataclasses.replace(dns_answer(CUSTOM, (), rcode="TIMEOUT", chain=()))
    answers = [silent, dns_answer(AZURE)]

    assert [Status.SKIPPED] == check_statuses(CHECK_ID, dns_facts(answers))


def test_bind_following_a_forwarded_cname_into_its_copy_is_a_local_copy() -> None:
    """What a real BIND answers in H12: the forwarded CNAME, then NXDOMAIN from its own copy
    of the privatelink zone with that zone's SOA - and no AA (the chain began forwarded)."""
    chain = ("ep-a.g.inference.eastus.privatelink.api.azureml.ms",)
    mine = dataclasses.replace(
        dns_answer(CUSTOM, (), fqdn=SCORING, rcode="NXDOMAIN", chain=chain),
        soa_zone="privatelink.api.azureml.ms",
    )
    answers = [mine, dns_answer(AZURE, ("10.0.1.7",), fqdn=SCORING, chain=chain)]

    finding = only_finding(CHECK_ID, dns_facts(answers, names=[_scoring()]))

    assert finding.evidence is not None
    assert ["privatelink.api.azureml.ms"] == finding.evidence.observed["local_zone_copies"]
    assert f"{SCORING} -> NXDOMAIN and privatelink.api.azureml.ms's SOA" in finding.message
