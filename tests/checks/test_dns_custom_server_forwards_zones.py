"""dns_custom_server_forwards_zones: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

import dataclasses

import pytest

from netverify.facts import (
    DnsAnswer,
    EndpointAddresses,
    ExpectedName,
    ForwardingRule,
    ForwardingRuleset,
    InboundEndpoint,
    PrivateResolvers,
    Read,
    ReadProblem,
    Resolver,
    ResolverKind,
    VirtualNetwork,
)
from netverify.model import Link, Status
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
    failed,
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


# -- Several names, zones and causes at once (each message and remediation in full) ----------

CERT_NAME = "ws.workspace.eastus.cert.api.azureml.ms"
NOTEBOOKS = "ml-ws-eastus-g.eastus.notebooks.azure.net"
NOTEBOOKS_ZONE = "privatelink.notebooks.azure.net"


def _cert() -> ExpectedName:
    return dataclasses.replace(
        expected_name(CERT_NAME, ips=("10.0.1.6",), record="ws.workspace.eastus.cert"),
        purpose="workspace certificate",
    )


def _notebooks(*ips: str) -> ExpectedName:
    return dataclasses.replace(
        expected_name(NOTEBOOKS, ips=ips or ("10.0.1.8",), record="ml-ws-eastus-g.eastus"),
        purpose="notebooks",
        zone_name=NOTEBOOKS_ZONE,
        forwarder_zones=("notebooks.azure.net",),
    )


def _azure_private(*names: ExpectedName) -> list[DnsAnswer]:
    """Azure DNS answers each name with its private endpoint's IPs."""
    return [dns_answer(AZURE, n.expected_ips, fqdn=n.fqdn, chain=()) for n in names]


FRONTEND = "ws-frontend.cloudapp.example"
BIND_API = 'zone "api.azureml.ms" { type forward; forward only; forwarders { 168.63.129.16; }; };'
BIND_INFERENCE = (
    'zone "inference.ml.azure.com" { type forward; forward only; forwarders { 168.63.129.16; }; };'
)


def test_two_unforwarded_zones_are_each_named_with_one_example_and_forwarded() -> None:
    """Three names in two zones through a server that asks public DNS: the public CNAME into
    the privatelink zone (dnsmasq, which does not chase it), a second public answer in the
    same zone (not repeated), NXDOMAIN under the public inference zone. Each zone is named
    once with its first name, and the fix forwards both zones in every server's syntax."""
    names = [expected_name(), _cert(), _scoring()]
    mine = [
        dns_answer(CUSTOM, ("52.1.1.1",), chain=(API_CHAIN, FRONTEND)),
        dns_answer(CUSTOM, ("52.1.1.2",), fqdn=CERT_NAME, chain=()),
        dataclasses.replace(
            dns_answer(CUSTOM, (), fqdn=SCORING, rcode="NXDOMAIN", chain=()),
            soa_zone="inference.ml.azure.com",
        ),
    ]
    facts = dns_facts([*mine, *_azure_private(*names)], names=names)

    finding = only_finding(CHECK_ID, facts)

    assert (Status.FAIL, "10.0.0.4", CUSTOM) == (
        finding.status,
        finding.resource_id,
        finding.subject,
    )
    assert finding.message == (
        "Custom DNS server 10.0.0.4 does not forward api.azureml.ms, inference.ml.azure.com to "
        f"Azure DNS: api.azureml.ms: {API_NAME} -> public 52.1.1.1 (the server does not follow "
        "the CNAME into privatelink.api.azureml.ms; forward the public zone, not only the "
        f"privatelink one); inference.ml.azure.com: {SCORING} -> NXDOMAIN (Azure DNS gives the "
        "private IP)."
    )
    assert finding.evidence is not None
    observed = dict(finding.evidence.observed)
    assert {
        "server": "10.0.0.4",
        "reference": "Azure DNS",
        "zones_not_forwarded": ["api.azureml.ms", "inference.ml.azure.com"],
        "zones_forwarded_to_no_answer": [],
        "local_zone_copies": [],
        "private_answers_dropped": [],
        "unexplained": [],
    } == {k: v for k, v in observed.items() if k != "resolutions"}
    assert [(API_NAME, CUSTOM, ["52.1.1.1"]), (API_NAME, AZURE, ["10.0.1.5"])] == [
        (c["fqdn"], c["resolver"], c["addresses"])
        for c in observed["resolutions"]
        if c["fqdn"] == API_NAME and c["rcode"] != "NOT_ASKED"
    ]
    assert {"forwarded_to_azure_dns": ["api.azureml.ms", "inference.ml.azure.com"]} == dict(
        finding.evidence.expected
    )
    assert finding.remediation is not None
    assert finding.remediation.text == (
        "On DNS server 10.0.0.4, forward these zones to Azure DNS 168.63.129.16: api.azureml.ms, "
        f"inference.ml.azure.com. BIND: {BIND_API} {BIND_INFERENCE} dnsmasq: "
        "server=/api.azureml.ms/168.63.129.16 server=/inference.ml.azure.com/168.63.129.16 "
        'Unbound: forward-zone: name: "api.azureml.ms" forward-addr: 168.63.129.16 '
        'forward-zone: name: "inference.ml.azure.com" forward-addr: 168.63.129.16 Windows DNS: '
        "the PowerShell below."
    )
    assert finding.remediation.command == (
        "Add-DnsServerConditionalForwarderZone -Name api.azureml.ms -MasterServers 168.63.129.16; "
        "Add-DnsServerConditionalForwarderZone -Name inference.ml.azure.com -MasterServers "
        "168.63.129.16"
    )
    assert (
        frozenset(
            {
                Link.answer(API_NAME, CUSTOM),
                Link.answer(CERT_NAME, CUSTOM),
                Link.answer(SCORING, CUSTOM),
            }
        ),
        frozenset(),
    ) == (finding.breaks, finding.needs)


def test_a_mix_of_private_and_public_addresses_is_public_dns_answer() -> None:
    """An answer with a private and a public address is not all private: public DNS's."""
    answers = [dns_answer(CUSTOM, ("10.0.1.5", "52.1.1.1"), chain=()), dns_answer(AZURE)]

    finding = only_finding(CHECK_ID, dns_facts(answers))

    assert finding.evidence is not None
    assert (["api.azureml.ms"], []) == (
        finding.evidence.observed["zones_not_forwarded"],
        finding.evidence.observed["unexplained"],
    )
    assert f"api.azureml.ms: {API_NAME} -> public 10.0.1.5, 52.1.1.1 (Azure" in finding.message


def _scoring_named(endpoint: str) -> ExpectedName:
    return dataclasses.replace(_scoring(), fqdn=f"{endpoint}.eastus.inference.ml.azure.com")


def _timeout(name: ExpectedName, rcode: str = "TIMEOUT") -> DnsAnswer:
    return dataclasses.replace(
        dns_answer(CUSTOM, (), fqdn=name.fqdn, rcode=rcode, chain=()), detail="no answer"
    )


def test_silent_zones_are_named_each_with_its_count_and_a_timeout_inside_an_answered_zone_is_not() -> (
    None
):
    """The server answers the API zone (and times out once there: not a dead forwarder) but
    gets no answer for any inference name (two) nor the notebooks name: both zones' forwarders
    point at targets that do not answer; both are forwarded in the fix."""
    scoring_b = _scoring_named("ep-b")
    names = [expected_name(), _cert(), _scoring(), scoring_b, _notebooks()]
    mine = [
        dns_answer(CUSTOM),
        _timeout(_cert()),
        _timeout(_scoring()),
        _timeout(scoring_b),
        _timeout(_notebooks(), "SERVFAIL"),
    ]
    facts = dns_facts([*mine, *_azure_private(*names)], names=names)

    finding = only_finding(CHECK_ID, facts)

    assert Status.FAIL is finding.status
    assert finding.message == (
        "Custom DNS server 10.0.0.4 gets no answer for inference.ml.azure.com, "
        "notebooks.azure.net while it answers other zones: inference.ml.azure.com: 2 name(s), "
        f"e.g. {SCORING} -> TIMEOUT: no answer; notebooks.azure.net: 1 name(s), e.g. "
        f"{NOTEBOOKS} -> SERVFAIL: no answer (that zone's forwarder points at a target that does "
        "not answer) (Azure DNS gives the private IP)."
    )
    assert finding.evidence is not None
    observed = finding.evidence.observed
    assert (["inference.ml.azure.com", "notebooks.azure.net"], [], [], [], []) == (
        observed["zones_forwarded_to_no_answer"],
        observed["zones_not_forwarded"],
        observed["local_zone_copies"],
        observed["private_answers_dropped"],
        observed["unexplained"],
    )
    assert finding.remediation is not None
    assert finding.remediation.command == (
        "Add-DnsServerConditionalForwarderZone -Name inference.ml.azure.com -MasterServers "
        "168.63.129.16; Add-DnsServerConditionalForwarderZone -Name notebooks.azure.net "
        "-MasterServers 168.63.129.16"
    )
    assert (
        frozenset(Link.answer(n.fqdn, CUSTOM) for n in (_scoring(), scoring_b, _notebooks())),
        frozenset(),
    ) == (finding.breaks, finding.needs)


def test_an_outage_counts_each_rcode_and_names_the_unread_rulesets() -> None:
    """No name answered (a timeout and a SERVFAIL) while both rulesets reads failed: the cause
    is not identified, and the message says the rulesets that could have shown one were not
    read (the first failure's message)."""
    names = [expected_name(), _cert()]
    reads = [
        failed("/subscriptions/a", ReadProblem.FORBIDDEN, message="403 on subscription a"),
        failed("/subscriptions/b", ReadProblem.UNAVAILABLE, message="503 on subscription b"),
    ]
    facts = dns_facts(
        [_timeout(expected_name()), _timeout(_cert(), "SERVFAIL"), *_azure_private(*names)],
        names=names,
        private_resolvers=reads,
    )

    finding = only_finding(CHECK_ID, facts)

    assert Status.FAIL is finding.status
    assert finding.message == (
        "Custom DNS server 10.0.0.4 gives no answer for any of the 2 name(s) Azure DNS resolves "
        f"privately (1 TIMEOUT, 1 SERVFAIL), e.g. {API_NAME}: every client that uses it cannot "
        "resolve them; cause not identified (the DNS forwarding rulesets could not be read: "
        "403 on subscription a)."
    )
    assert finding.evidence is not None
    assert ([], [], ["api.azureml.ms"]) == (
        finding.evidence.observed["zones_forwarded_to_no_answer"],
        finding.evidence.observed["zones_not_forwarded"],
        finding.evidence.expected["forwarded_to_azure_dns"],
    )
    assert finding.remediation is not None and finding.remediation.command is None
    assert finding.remediation.text == (
        f"Query 10.0.0.4 by hand for one of the names (dig @10.0.0.4 {API_NAME} A) and follow "
        "its forwarders: each must reach Azure DNS (168.63.129.16) from a VNet linked to the "
        "private DNS zones; a forwarder that points back at the server itself, directly or "
        "through a ruleset, loops."
    )
    assert (
        frozenset(
            link
            for n in names
            for link in (Link.answer(n.fqdn, CUSTOM), Link.route(n.fqdn, CUSTOM))
        )
        == finding.needs
    )


def test_two_looping_rules_are_both_named_and_both_deleted() -> None:
    """The server is the inbound endpoint of a hub whose ruleset (linked to the hub and a
    second VNet) sends both the privatelink zone and the public zone back to it and to a
    second endpoint: both rules loop; each is named, with every linked VNet and target."""
    spoke = VirtualNetwork(VNET_ID, "vnet-spoke", ("10.2.0.0/16",), ("10.1.0.4",))
    inbound = Resolver("custom 10.1.0.4", ResolverKind.CUSTOM, "10.1.0.4", ("10.1.0.4:53",))
    other_vnet = VNET_ID.replace("vnet-hub", "vnet-east")
    pl = ForwardingRule(
        f"{RULESET}/forwardingRules/pl-api",
        "privatelink.api.azureml.ms",
        ("10.1.0.4", "10.1.0.5"),
        True,
    )
    public = ForwardingRule(f"{RULESET}/forwardingRules/api", "api.azureml.ms", ("10.1.0.4",), True)
    resolvers = PrivateResolvers(
        (InboundEndpoint(f"{HUB_ID}/inbound", "10.1.0.4", HUB_ID),),
        (ForwardingRuleset(RULESET, (HUB_ID, other_vnet), (pl, public)),),
    )
    facts = dns_facts(
        [dns_answer(inbound.name, (), rcode="SERVFAIL", chain=()), dns_answer(AZURE)],
        vnet=spoke,
        zones=[private_zone(linked=(HUB_ID,))],
        resolvers=[inbound, RESOLVERS[2]],
        private_resolvers=[Read("resolvers", value=resolvers)],
    )

    finding = only_finding(CHECK_ID, facts)

    said = (
        "Azure DNS of vnet-hub-dns (by the zones linked there; the agent cannot ask it from its "
        "own VNet)"
    )
    assert finding.message == (
        f"Custom DNS server 10.1.0.4 gives no answer for any of the 1 name(s) {said} resolves "
        f"privately (1 SERVFAIL), e.g. {API_NAME}: every client that uses it cannot resolve "
        "them; forwarding rule pl-api of ruleset ruleset-hub (linked to vnet-hub-dns, "
        "vnet-east) sends privatelink.api.azureml.ms to 10.1.0.4, 10.1.0.5, the inbound "
        "endpoint whose queries Azure DNS of that VNet answers: the query loops; forwarding "
        "rule api of ruleset ruleset-hub (linked to vnet-hub-dns, vnet-east) sends "
        "api.azureml.ms to 10.1.0.4, the inbound endpoint whose queries Azure DNS of that VNet "
        "answers: the query loops."
    )
    assert finding.evidence is not None
    assert said == finding.evidence.observed["reference"]
    assert finding.remediation is not None
    assert finding.remediation.text == (
        "Unlink the ruleset from the inbound endpoint's VNet, or drop the rule: a rule must "
        "never target an inbound endpoint in a VNet the ruleset is linked to (Azure DNS of that "
        "VNet already answers the privatelink zones linked to it)."
    )
    assert finding.remediation.command == (
        f"az dns-resolver forwarding-rule delete --ids {pl.id}; "
        f"az dns-resolver forwarding-rule delete --ids {public.id}"
    )


def test_local_copies_of_two_zones_list_every_missing_record() -> None:
    """The server holds its own copies of both privatelink zones, lacking two records in one
    (names sharing it) and one in the other (whose endpoint has two IPs): each copy is named
    with the records it lacks, and the fix is those records as zone-file lines, per IP."""
    names = [expected_name(), _cert(), _notebooks("10.0.1.8", "10.0.1.9")]

    def copy(name: ExpectedName, zone: str) -> DnsAnswer:
        chain = (f"{name.record_name}.{zone}",)
        return dataclasses.replace(
            dns_answer(CUSTOM, (), fqdn=name.fqdn, rcode="NXDOMAIN", chain=chain),
            authoritative=True,
            soa_zone=zone,
        )

    mine = [
        copy(names[0], "privatelink.api.azureml.ms"),
        copy(names[1], "privatelink.api.azureml.ms"),
        copy(names[2], NOTEBOOKS_ZONE),
    ]
    facts = dns_facts([*mine, *_azure_private(*names)], names=names)

    finding = only_finding(CHECK_ID, facts)

    assert finding.message == (
        "Custom DNS server 10.0.0.4 answers from its own copy of privatelink.api.azureml.ms (or "
        "a server it sends that zone to), which lacks ws.workspace.eastus, "
        f"ws.workspace.eastus.cert ({API_NAME} -> NXDOMAIN with AA and "
        "privatelink.api.azureml.ms's SOA); privatelink.notebooks.azure.net (or a server it "
        "sends that zone to), which lacks ml-ws-eastus-g.eastus "
        f"({NOTEBOOKS} -> NXDOMAIN with AA and privatelink.notebooks.azure.net's SOA) (Azure "
        "DNS gives the private IP)."
    )
    assert finding.evidence is not None
    assert ["privatelink.api.azureml.ms", NOTEBOOKS_ZONE] == finding.evidence.observed[
        "local_zone_copies"
    ]
    assert finding.remediation is not None and finding.remediation.command is None
    assert finding.remediation.text == (
        "Add to the server's own copy of privatelink.api.azureml.ms, "
        "privatelink.notebooks.azure.net: "
        "ml-ws-eastus-g.eastus.privatelink.notebooks.azure.net. IN A 10.0.1.8; "
        "ml-ws-eastus-g.eastus.privatelink.notebooks.azure.net. IN A 10.0.1.9; "
        "ws.workspace.eastus.cert.privatelink.api.azureml.ms. IN A 10.0.1.6; "
        "ws.workspace.eastus.privatelink.api.azureml.ms. IN A 10.0.1.5 (or delete the copy so "
        "the server forwards those names to Azure DNS). Forwarding the public zone changes "
        "nothing while the server holds the copy."
    )


def test_dropped_private_answers_and_unexplained_answers_are_both_causes() -> None:
    """Two names emptied without a chain (dnsmasq's rebinding protection) in two zones, and
    four names answered with a stale private IP: two causes in one message; the fix exempts
    both zones from rebinding protection and says what to look at for the first three other
    names (no forwarder proposed)."""
    cert = dataclasses.replace(_cert(), endpoints=_two_ips(_cert(), "10.0.1.16"))
    scoring_b, scoring_c = _scoring_named("ep-b"), _scoring_named("ep-c")
    emptied = [expected_name(), _notebooks()]
    other = [cert, _scoring(), scoring_b, scoring_c]
    mine = [dns_answer(CUSTOM, (), fqdn=n.fqdn, chain=()) for n in emptied] + [
        dns_answer(CUSTOM, ("10.0.1.99",), fqdn=n.fqdn, chain=()) for n in other
    ]
    names = [*emptied, *other]
    facts = dns_facts([*mine, *_azure_private(*names)], names=names)

    finding = only_finding(CHECK_ID, facts)

    assert finding.message == (
        "Custom DNS server 10.0.0.4 reaches Azure DNS but drops the private address of 2 "
        f'name(s): {API_NAME} -> an empty answer without the SOA a zone\'s own "no such record" '
        "carries (DNS-rebinding protection or private-address filtering strips answers in "
        "private ranges); it answers 4 name(s) otherwise than Azure DNS, for a cause not "
        f"identified: e.g. {CERT_NAME} -> private 10.0.1.99, where the private endpoint has "
        "10.0.1.6, 10.0.1.16 (Azure DNS gives the private IP)."
    )
    assert finding.evidence is not None
    assert ([API_NAME, NOTEBOOKS], [n.fqdn for n in other]) == (
        finding.evidence.observed["private_answers_dropped"],
        finding.evidence.observed["unexplained"],
    )
    assert finding.remediation is not None and finding.remediation.command is None
    assert finding.remediation.text == (
        "Exempt api.azureml.ms, notebooks.azure.net from the server's DNS-rebinding protection "
        "(private addresses are these names' right answer); adding forwarders changes nothing. "
        'Unbound (pfSense/OPNsense): private-domain: "api.azureml.ms" private-domain: '
        '"notebooks.azure.net"; dnsmasq: rebind-domain-ok=/api.azureml.ms/ '
        "rebind-domain-ok=/notebooks.azure.net/; BIND: deny-answer-addresses { ... } "
        'except-from { "api.azureml.ms"; "notebooks.azure.net"; }; '
        f"For {CERT_NAME}, {SCORING}, {scoring_b.fqdn}: query 10.0.0.4 by hand (dig @10.0.0.4 "
        f"{CERT_NAME} A +norecurse, then without) and compare each hop with Azure DNS; "
        "netverify did not find which of the server's settings gives this answer."
    )


def _two_ips(name: ExpectedName, ip: str) -> tuple[EndpointAddresses, ...]:
    [only] = name.endpoints
    return (dataclasses.replace(only, ips=(*only.ips, ip)),)


def test_without_azure_dns_asked_a_server_in_the_agent_vnet_is_not_judged() -> None:
    """``use_azure_dns`` off: nothing says the name resolves privately where the server (in
    the agent's own VNet) asks Azure DNS - skipped, not judged against nothing."""
    facts = dns_facts([dns_answer(CUSTOM, ("52.1.1.1",), chain=())], resolvers=RESOLVERS[:2])

    finding = only_finding(CHECK_ID, facts)

    assert (Status.SKIPPED, "10.0.0.4") == (finding.status, finding.resource_id)
    assert finding.message == (
        "No name both asked of custom 10.0.0.4 and resolved privately by Azure DNS."
    )


def test_a_hub_server_is_judged_by_the_hub_zones_without_azure_dns_asked() -> None:
    """The server lives in a hub VNet (read as a private endpoint's VNet) that the agent's
    VNet cannot ask Azure DNS of, and Azure DNS was not asked at all: the hub's linked zones
    say the name is private there; the server's public answer (through a front-end CNAME that
    does not enter the privatelink zone) is an unforwarded zone, fixed with 168.63.129.16."""
    spoke = VirtualNetwork(VNET_ID, "vnet-spoke", ("10.2.0.0/16",), ("10.1.0.4",))
    hub = VirtualNetwork(HUB_ID, "vnet-hub-dns", ("10.1.0.0/16",), ())
    server = Resolver("custom 10.1.0.4", ResolverKind.CUSTOM, "10.1.0.4", ("10.1.0.4:53",))
    facts = dns_facts(
        [dns_answer(server.name, ("52.1.1.1",), chain=(FRONTEND,))],
        vnet=spoke,
        zones=[private_zone(linked=(HUB_ID,))],
        resolvers=[RESOLVERS[0], server],
        endpoint_vnets=[hub],
    )

    finding = only_finding(CHECK_ID, facts)

    assert finding.message == (
        "Custom DNS server 10.1.0.4 does not forward api.azureml.ms to Azure DNS: "
        f"api.azureml.ms: {API_NAME} -> public 52.1.1.1 (Azure DNS of vnet-hub-dns (by the "
        "zones linked there; the agent cannot ask it from its own VNet) gives the private IP)."
    )
    assert finding.remediation is not None
    assert finding.remediation.command == (
        "Add-DnsServerConditionalForwarderZone -Name api.azureml.ms -MasterServers 168.63.129.16"
    )


def test_a_chain_that_stops_outside_the_privatelink_zone_is_not_rebinding() -> None:
    """The server's answer is Azure DNS's front-end CNAME without going on into the
    privatelink zone: it never reached the private record, so nothing was stripped."""
    answers = [
        dns_answer(CUSTOM, (), chain=(FRONTEND,)),
        dns_answer(AZURE, chain=(FRONTEND, API_CHAIN)),
    ]

    finding = only_finding(CHECK_ID, dns_facts(answers))

    assert finding.evidence is not None
    assert ([], [API_NAME]) == (
        finding.evidence.observed["private_answers_dropped"],
        finding.evidence.observed["unexplained"],
    )


def test_a_chain_through_a_front_end_into_the_zone_without_its_address_is_rebinding() -> None:
    """Azure DNS's whole chain (a front-end CNAME, then the privatelink name) without the A
    record: the server reached Azure DNS and dropped the private address."""
    chain = (FRONTEND, API_CHAIN)
    answers = [dns_answer(CUSTOM, (), chain=chain), dns_answer(AZURE, chain=chain)]

    finding = only_finding(CHECK_ID, dns_facts(answers))

    assert finding.evidence is not None
    assert ([API_NAME], []) == (
        finding.evidence.observed["private_answers_dropped"],
        finding.evidence.observed["unexplained"],
    )


def test_a_zone_made_for_the_name_itself_gets_its_apex_record() -> None:
    """Manual integration's other shape: a zone named after the host itself (one zone per
    FQDN, as on Windows DNS), empty at its apex - NODATA with AA and that zone's SOA. The
    record it lacks is its apex ("@"), whose zone-file line is the zone's own name."""
    mine = dataclasses.replace(
        dns_answer(CUSTOM, (), chain=()), authoritative=True, soa_zone=API_NAME
    )

    finding = only_finding(CHECK_ID, dns_facts([mine, dns_answer(AZURE)]))

    assert finding.message == (
        f"Custom DNS server 10.0.0.4 answers from its own copy of {API_NAME} (or a server it "
        f"sends that zone to), which lacks @ ({API_NAME} -> NOERROR with AA and {API_NAME}'s "
        "SOA) (Azure DNS gives the private IP)."
    )
    assert finding.remediation is not None
    assert finding.remediation.text.startswith(
        f"Add to the server's own copy of {API_NAME}: {API_NAME}. IN A 10.0.1.5 (or delete"
    )


def test_a_nxdomain_without_any_soa_is_not_called_unforwarded() -> None:
    """NXDOMAIN with no SOA at all (a filtering server's synthetic "no"): nothing says public
    DNS answered it - no forwarder is proposed, the cause is not identified."""
    mine = dns_answer(CUSTOM, (), rcode="NXDOMAIN", chain=())

    finding = only_finding(CHECK_ID, dns_facts([mine, dns_answer(AZURE)]))

    assert finding.evidence is not None
    assert ([], [API_NAME]) == (
        finding.evidence.observed["zones_not_forwarded"],
        finding.evidence.observed["unexplained"],
    )
    assert finding.remediation is not None and finding.remediation.command is None


def test_an_unforwarded_zone_and_a_dropped_answer_get_both_fixes() -> None:
    """The API zone goes to public DNS, the notebooks name comes back emptied: the forwarder
    for the one and the rebinding exemption for the other, in one remediation."""
    names = [expected_name(), _notebooks()]
    mine = [
        dns_answer(CUSTOM, ("52.1.1.1",), chain=()),
        dns_answer(CUSTOM, (), fqdn=NOTEBOOKS, chain=()),
    ]

    finding = only_finding(CHECK_ID, dns_facts([*mine, *_azure_private(*names)], names=names))

    assert finding.remediation is not None
    assert finding.remediation.text.endswith(
        "Windows DNS: the PowerShell below. Exempt notebooks.azure.net from the server's "
        "DNS-rebinding protection (private addresses are these names' right answer); adding "
        'forwarders changes nothing. Unbound (pfSense/OPNsense): private-domain: "notebooks.azure.net"'
        "; dnsmasq: rebind-domain-ok=/notebooks.azure.net/; BIND: deny-answer-addresses { ... } "
        'except-from { "notebooks.azure.net"; };'
    )
    assert finding.remediation.command == (
        "Add-DnsServerConditionalForwarderZone -Name api.azureml.ms -MasterServers 168.63.129.16"
    )


def test_a_relayed_nxdomain_from_a_copy_of_the_public_zone_is_a_local_copy() -> None:
    """The server sends api.azureml.ms to a server holding a hand-made copy of it, whose CNAME
    leads into privatelink.api.azureml.ms, a name inside that copy it lacks: NXDOMAIN with
    api.azureml.ms's SOA, relayed without AA. Both the name and its CNAME target lie in the
    copy: a local copy, not a missing forwarder."""
    mine = dataclasses.replace(dns_answer(CUSTOM, (), rcode="NXDOMAIN"), soa_zone="api.azureml.ms")

    finding = only_finding(CHECK_ID, dns_facts([mine, dns_answer(AZURE)]))

    assert (Status.FAIL, "10.0.0.4") == (finding.status, finding.resource_id)
    assert finding.message == (
        "Custom DNS server 10.0.0.4 answers from its own copy of api.azureml.ms (or a server it "
        f"sends that zone to), which lacks ws.workspace.eastus ({API_NAME} -> NXDOMAIN and "
        "api.azureml.ms's SOA) (Azure DNS gives the private IP)."
    )
    assert finding.evidence is not None
    assert (["api.azureml.ms"], [], []) == (
        finding.evidence.observed["local_zone_copies"],
        finding.evidence.observed["zones_not_forwarded"],
        finding.evidence.observed["zones_forwarded_to_no_answer"],
    )
    assert finding.remediation is not None
    assert finding.remediation.text == (
        f"Add to the server's own copy of api.azureml.ms: {API_NAME}. IN A 10.0.1.5 (or delete "
        "the copy so the server forwards those names to Azure DNS). Forwarding the public zone "
        "changes nothing while the server holds the copy."
    )
