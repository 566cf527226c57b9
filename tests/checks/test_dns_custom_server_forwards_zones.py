"""dns_custom_server_forwards_zones: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

import dataclasses

import pytest

from netverify.facts import (
    ExpectedName,
    ForwardingRule,
    ForwardingRuleset,
    InboundEndpoint,
    PrivateResolvers,
    Read,
    Resolver,
    ResolverKind,
    VirtualNetwork,
)
from netverify.model import Status
from netverify.testing import (
    API_NAME,
    AZURE,
    CUSTOM,
    HOST,
    RESOLVERS,
    VNET_ID,
    check_statuses,
    dns_answer,
    dns_facts,
    expected_name,
    healthy_answers,
    only_finding,
    private_zone,
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


def test_azure_chain_without_its_address_is_rebinding_protection() -> None:
    """H18's kind: Azure DNS's CNAME into the privatelink zone, no address, no SOA - the server
    reached Azure DNS and stripped the private A record. The fix exempts the zone from
    rebinding protection; no forwarder is proposed (the server already forwards)."""
    answers = [dns_answer(HOST, ()), dns_answer(CUSTOM, ()), dns_answer(AZURE)]

    finding = only_finding(CHECK_ID, dns_facts(answers))

    assert Status.FAIL is finding.status
    assert finding.message == (
        "Custom DNS server 10.0.0.4 reaches Azure DNS but drops the private address of 1 "
        f"name(s): {API_NAME} -> {API_CHAIN} -> (no address), Azure's CNAME into "
        "privatelink.api.azureml.ms without the A record (DNS-rebinding protection or "
        "private-address filtering strips answers in private ranges) (Azure DNS gives the "
        "private IP)."
    )
    assert finding.evidence is not None
    observed = finding.evidence.observed
    assert ([API_NAME], [], []) == (
        observed["private_answers_dropped"],
        observed["zones_not_forwarded"],
        observed["unexplained"],
    )
    assert finding.remediation is not None
    text = finding.remediation.text
    assert (
        'private-domain: "api.azureml.ms"' in text and "rebind-domain-ok=/api.azureml.ms/" in text
    )
    assert "adding forwarders changes nothing" in text
    assert finding.remediation.command is None
    assert "forward-zone" not in text and "type forward" not in text


def test_an_empty_answer_with_a_soa_is_not_called_rebinding() -> None:
    """The same chain without address but with an SOA (of a zone off its path) is NODATA from
    there - not stripped, not proven unforwarded: cause not identified, with what was seen."""
    mine = dataclasses.replace(dns_answer(CUSTOM, ()), soa_zone="corp.example")
    answers = [dns_answer(HOST), mine, dns_answer(AZURE)]

    finding = only_finding(CHECK_ID, dns_facts(answers))

    assert Status.FAIL is finding.status
    assert "for a cause not identified" in finding.message
    assert (
        f"{API_NAME} -> a CNAME to {API_CHAIN} and no address (SOA corp.example)" in finding.message
    )
    assert finding.evidence is not None
    assert [API_NAME] == finding.evidence.observed["unexplained"]
    assert [] == finding.evidence.observed["private_answers_dropped"]
    assert finding.remediation is not None and finding.remediation.command is None
    assert f"dig @10.0.0.4 {API_NAME} A +norecurse" in finding.remediation.text


def test_a_chain_other_than_azure_dns_gives_is_not_called_rebinding() -> None:
    """A bare CNAME that is not Azure DNS's chain did not come from Azure DNS."""
    other = dns_answer(CUSTOM, (), chain=("elsewhere.privatelink.api.azureml.ms",))
    answers = [dns_answer(HOST), other, dns_answer(AZURE)]

    finding = only_finding(CHECK_ID, dns_facts(answers))

    assert finding.evidence is not None
    assert [API_NAME] == finding.evidence.observed["unexplained"]


def test_custom_server_not_judged_where_azure_dns_is_not_private() -> None:
    """When Azure DNS itself does not give the private IP, forwarding is not the problem."""
    answers = [
        dns_answer(HOST, ()),
        dns_answer(CUSTOM, (), rcode="NXDOMAIN"),
        dns_answer(AZURE, (), rcode="NXDOMAIN"),
    ]

    assert [Status.SKIPPED] == check_statuses(CHECK_ID, dns_facts(answers))


SCORING = "ep-a.eastus.inference.ml.azure.com"
API_CHAIN = "ws.workspace.eastus.privatelink.api.azureml.ms"
HUB_ID = VNET_ID.replace("vnet-hub", "vnet-hub-dns")
RULESET = (
    VNET_ID.rsplit("/providers/", 1)[0]
    + "/providers/Microsoft.Network/dnsForwardingRulesets/ruleset-hub"
)
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


def test_a_nxdomain_from_a_zone_off_the_path_has_no_identified_cause() -> None:
    """NXDOMAIN without AA under privatelink.api.azureml.ms's SOA, for a scoring name whose
    path never entered that zone: not a local copy (not on the path), not public DNS's answer
    (a privatelink SOA) - "cause not identified", and no forwarder is proposed."""
    mine = dataclasses.replace(
        dns_answer(CUSTOM, (), fqdn=SCORING, rcode="NXDOMAIN", chain=()),
        soa_zone="privatelink.api.azureml.ms",
    )
    answers = [mine, dns_answer(AZURE, ("10.0.1.7",), fqdn=SCORING)]

    finding = only_finding(CHECK_ID, dns_facts(answers, names=[_scoring()]))

    assert finding.evidence is not None
    assert ([], [SCORING]) == (
        finding.evidence.observed["zones_not_forwarded"],
        finding.evidence.observed["unexplained"],
    )
    assert (
        f"e.g. {SCORING} -> NXDOMAIN (SOA privatelink.api.azureml.ms), where the private "
        "endpoint has 10.0.1.7" in finding.message
    )


def test_a_nxdomain_under_a_public_zone_is_not_forwarded() -> None:
    """NXDOMAIN under the public zone's SOA: the server asked public DNS, which has no such
    name - that zone is not forwarded to Azure DNS."""
    mine = dataclasses.replace(
        dns_answer(CUSTOM, (), fqdn=SCORING, rcode="NXDOMAIN", chain=()),
        soa_zone="inference.ml.azure.com",
    )
    answers = [mine, dns_answer(AZURE, ("10.0.1.7",), fqdn=SCORING)]

    finding = only_finding(CHECK_ID, dns_facts(answers, names=[_scoring()]))

    assert finding.evidence is not None
    assert ["inference.ml.azure.com"] == finding.evidence.observed["zones_not_forwarded"]


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


@pytest.mark.parametrize("rcode", ["TIMEOUT", "SERVFAIL"])
def test_a_server_that_answers_no_name_that_exists_fails_the_workload(rcode: str) -> None:
    """Every name fails through the server while Azure DNS resolves it: an outage for every
    client of the server (fail, exit 1), with "cause not identified" when no rule proves one
    and no forwarder proposed."""
    silent = dns_answer(CUSTOM, (), rcode=rcode, chain=())
    answers = [silent, dns_answer(AZURE)]

    finding = only_finding(CHECK_ID, dns_facts(answers))

    assert Status.FAIL is finding.status
    assert finding.message == (
        f"Custom DNS server 10.0.0.4 gives no answer for any of the 1 name(s) Azure DNS "
        f"resolves privately (1 {rcode}), e.g. {API_NAME}: every client that uses it cannot "
        "resolve them; cause not identified."
    )
    assert finding.remediation is not None and finding.remediation.command is None
    assert f"dig @10.0.0.4 {API_NAME} A" in finding.remediation.text


def test_a_ruleset_rule_back_to_the_inbound_endpoint_is_named_as_the_loop() -> None:
    """H16's kind, from hand-built facts: the server is a resolver's inbound endpoint in the
    hub, a ruleset linked to the hub sends the privatelink zone to that endpoint: the loop is
    the cause, and the fix names the rule (a second rule, for another domain, is left alone)."""
    spoke = VirtualNetwork(VNET_ID, "vnet-spoke", ("10.2.0.0/16",), ("10.1.0.4",))
    inbound = Resolver("custom 10.1.0.4", ResolverKind.CUSTOM, "10.1.0.4", ("10.1.0.4:53",))
    rule = ForwardingRule(
        f"{RULESET}/forwardingRules/pl-api", "privatelink.api.azureml.ms", ("10.1.0.4",), True
    )
    other = ForwardingRule(f"{RULESET}/forwardingRules/corp", "corp.example", ("10.1.0.4",), True)
    resolvers = PrivateResolvers(
        (InboundEndpoint(f"{HUB_ID}/inbound", "10.1.0.4", HUB_ID),),
        (ForwardingRuleset(RULESET, (HUB_ID,), (rule, other)),),
    )
    facts = dns_facts(
        [dns_answer(inbound.name, (), rcode="SERVFAIL", chain=()), dns_answer(AZURE)],
        vnet=spoke,
        zones=[private_zone(linked=(HUB_ID,))],
        resolvers=[inbound, RESOLVERS[2]],
    )
    assert facts.dns is not None
    facts = dataclasses.replace(
        facts,
        dns=dataclasses.replace(facts.dns, private_resolvers=(Read("resolvers", value=resolvers),)),
    )

    finding = only_finding(CHECK_ID, facts)

    assert Status.FAIL is finding.status
    assert finding.message.endswith(
        "forwarding rule pl-api of ruleset ruleset-hub (linked to vnet-hub-dns) sends "
        "privatelink.api.azureml.ms to 10.1.0.4, the inbound endpoint whose queries Azure DNS "
        "of that VNet answers: the query loops."
    )
    assert finding.remediation is not None
    assert f"az dns-resolver forwarding-rule delete --ids {rule.id}" == finding.remediation.command


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
