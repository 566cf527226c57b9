"""dns_forwarding_rule_targets_answer_privately: fires on the rule Azure DNS applies to a name
(longest suffix across the rulesets linked to the VNet) when its targets answer publicly or not
at all; stays quiet on private answers, on-premises zones, looping rules (the loop check's) and
rulesets linked elsewhere (hand-built facts, no I/O)."""

from __future__ import annotations

import dataclasses

import pytest

from netverify.facts import (
    Facts,
    ForwardingRule,
    ForwardingRuleset,
    InboundEndpoint,
    PrivateResolvers,
    Read,
    ReadFailure,
    ReadProblem,
    Resolver,
    ResolverKind,
    rule_target_label,
)
from netverify.model import Link, Status
from netverify.testing import (
    API_NAME,
    AZURE,
    CUSTOM,
    HOST,
    RESOLVERS,
    VNET_ID,
    check_findings,
    dns_answer,
    dns_facts,
    expected_name,
    healthy_answers,
    only_finding,
    private_zone,
)

CHECK_ID = "dns_forwarding_rule_targets_answer_privately"
GROUP = VNET_ID.split("/providers/")[0] + "/providers/Microsoft.Network/dnsForwardingRulesets"
RULESET, OTHER_RULESET = f"{GROUP}/rs", f"{GROUP}/rs-central"
DNS_VNET = VNET_ID.replace("vnet-hub", "vnet-dns")
ELSEWHERE = InboundEndpoint(DNS_VNET + "-resolver/inboundEndpoints/in", "10.21.0.4", DNS_VNET)
PUBLIC = ("52.160.0.1",)
NO_ENDPOINT = (
    "Make those targets answer these names from the private DNS zones (forward them to Azure "
    "DNS of a VNet linked to the zones), or add a rule for each name alone to a Private "
    "Resolver inbound endpoint in a VNet this ruleset is not linked to whose linked zones hold "
    "them."
)
# The rule for the API name alone, added to rs (subscription and group of the ruleset).
NARROWER_API_RULE = (
    "az dns-resolver forwarding-rule create --subscription 00000000-1111-2222-3333-444444444444 "
    "--resource-group rg-test --ruleset-name rs --name nv-ws-workspace-eastus-api-azureml-ms "
    f"--domain-name {API_NAME}. "
    '--target-dns-servers "[{ip-address:10.21.0.4,port:53}]"'
)


def rule(name: str, domain: str, *targets: str, ruleset: str = RULESET) -> ForwardingRule:
    return ForwardingRule(f"{ruleset}/forwardingRules/{name}", domain, targets, True)


def world(
    *rulesets: ForwardingRuleset,
    azure: tuple[str, ...] = PUBLIC,
    rcode: str = "NOERROR",
    inbound: tuple[InboundEndpoint, ...] = (),
    linked_zone: tuple[str, ...] = (VNET_ID,),
) -> Facts:
    """The API name; host and Azure DNS answer ``azure``/``rcode`` (what the rule's target
    gave), the custom server the private IP; the zone linked to ``linked_zone``."""
    answers = [
        dns_answer(CUSTOM),
        *(dns_answer(r, azure, rcode=rcode, chain=()) for r in (HOST, AZURE)),
    ]
    facts = dns_facts(answers, zones=[private_zone(linked=linked_zone)])
    assert facts.dns is not None
    read = Read(
        "/subscriptions/s/providers/Microsoft.Network/dnsResolvers",
        value=PrivateResolvers(inbound, rulesets),
    )
    return dataclasses.replace(facts, dns=dataclasses.replace(facts.dns, private_resolvers=(read,)))


def test_a_privatelink_rule_to_a_server_that_answers_publicly_fails_and_is_never_deleted() -> None:
    """Several targets; the zone linked to the hub would answer without the rule, but the rule
    covers the whole zone (names netverify never asked): no deletion is offered, the text says
    what one would also affect; the on-prem rule beside it is left alone."""
    onprem = rule("corp", "corp.example", "192.168.10.4")
    bad = rule("pl", "privatelink.api.azureml.ms", "192.168.10.4", "192.168.10.5")
    facts = world(ForwardingRuleset(RULESET, (VNET_ID,), (onprem, bad)))

    finding = only_finding(CHECK_ID, facts)

    assert Status.FAIL is finding.status
    assert finding.message == (
        "Ruleset rs (linked to vnet-hub) sends 1 name(s) under privatelink.api.azureml.ms "
        "(rule pl) to 192.168.10.4, 192.168.10.5, which answer(s) public 52.160.0.1 for e.g. "
        f"{API_NAME}: Azure DNS there hands that answer to every client instead of the private "
        "endpoint's IPs."
    )
    assert finding.evidence is not None
    observed = finding.evidence.observed
    assert [r["domainName"] for r in observed["rules"]] == ["corp.example", bad.domain]
    [route] = observed["routes"]
    assert {k: v for k, v in route.items() if k != "answer"} == {
        "fqdn": API_NAME,
        "workspace": "mlw-test",
        "vnet": VNET_ID,
        "resolver": AZURE,
        "rule": bad.id,
        "domainName": "privatelink.api.azureml.ms",
        "targets": ["192.168.10.4", "192.168.10.5"],
        # The hand-built world asked no target directly.
        "target_answers": [
            {"target": "192.168.10.4", "answer": None},
            {"target": "192.168.10.5", "answer": None},
        ],
    }
    assert route["answer"]["addresses"] == list(PUBLIC)
    assert observed["wrong_targets"] == [
        {"rule": bad.id, "fqdn": API_NAME, "resolver": AZURE, "answer": "public 52.160.0.1"}
    ]
    assert finding.remediation is not None
    assert finding.remediation.command is None
    assert finding.remediation.text == (
        "Rule pl of ruleset rs sends privatelink.api.azureml.ms to 192.168.10.4, 192.168.10.5, "
        "which answers public 52.160.0.1. " + NO_ENDPOINT + " Deleting the rule would let Azure "
        "DNS of the linked VNets answer them from the zones linked there, but would also take "
        "every other name under privatelink.api.azureml.ms away from 192.168.10.4, "
        "192.168.10.5, which netverify did not check."
    )
    assert {
        Link.route(API_NAME, AZURE),
        Link.answer(API_NAME, AZURE),
        Link.answer(API_NAME, HOST),
    } == finding.breaks


def asked_directly(facts: Facts, *answers: tuple[str, tuple[str, ...], str]) -> Facts:
    """``facts`` with the rule targets' own answers for the API name: (ip, addresses, rcode)."""
    assert facts.dns is not None
    direct = tuple(
        dns_answer(rule_target_label(ip), addresses, rcode=rcode, chain=())
        for ip, addresses, rcode in answers
    )
    return dataclasses.replace(
        facts, dns=dataclasses.replace(facts.dns, rule_target_answers=direct)
    )


def test_what_the_targets_answer_when_asked_directly_is_observed_in_the_fail() -> None:
    """One target answers publicly, the other not at all when asked directly: the fail says
    so (observed, not inferred from Azure DNS's answer) and the route holds both answers."""
    bad = rule("pl", "privatelink.api.azureml.ms", "192.168.10.4", "192.168.10.5")
    facts = asked_directly(
        world(ForwardingRuleset(RULESET, (VNET_ID,), (bad,))),
        ("192.168.10.4", PUBLIC, "NOERROR"),
        ("192.168.10.5", (), "TIMEOUT"),
    )

    finding = only_finding(CHECK_ID, facts)

    assert Status.FAIL is finding.status
    assert (
        "which answer(s) public 52.160.0.1 for e.g. "
        f"{API_NAME} (asked directly: 192.168.10.4 public 52.160.0.1, 192.168.10.5 TIMEOUT"
    ) in finding.message
    assert finding.evidence is not None
    [route] = finding.evidence.observed["routes"]
    assert {"192.168.10.4": ["52.160.0.1"], "192.168.10.5": []} == {
        t["target"]: t["answer"]["addresses"] for t in route["target_answers"]
    }


def test_a_target_that_answers_privately_when_asked_directly_is_not_blamed() -> None:
    """Azure DNS's answer is public, but the rule's target, asked directly, gives the private
    endpoint's IP: the target is not what breaks the name, so the ruleset is no fail."""
    bad = rule("pl", "privatelink.api.azureml.ms", "192.168.10.4")
    facts = asked_directly(
        world(ForwardingRuleset(RULESET, (VNET_ID,), (bad,))),
        ("192.168.10.4", ("10.0.1.5",), "NOERROR"),
    )

    assert Status.PASS is only_finding(CHECK_ID, facts).status


@pytest.mark.parametrize(
    "domain",
    [
        pytest.param("azureml.ms", id="a-broad-domain"),
        pytest.param("privatelink.api.azureml.ms", id="exactly-the-zone"),
    ],
)
def test_a_silent_target_gets_a_rule_for_the_name_alone_to_an_inbound_endpoint(
    domain: str,
) -> None:
    """The hub has no zone link; the DNS VNet's linked zone answers at its inbound endpoint:
    the fix adds a rule for the name alone (the most specific rule wins), in the ruleset's
    own subscription, leaving the rule - and every other name it covers - as it is."""
    bad = rule("api", domain, "10.9.9.9")
    facts = world(
        ForwardingRuleset(RULESET, (VNET_ID,), (bad,)),
        azure=(),
        rcode="SERVFAIL",
        inbound=(ELSEWHERE,),
        linked_zone=(DNS_VNET,),
    )

    finding = only_finding(CHECK_ID, facts)

    assert Status.FAIL is finding.status
    assert "which answer(s) SERVFAIL for e.g." in finding.message
    assert finding.remediation is not None
    assert finding.remediation.command == NARROWER_API_RULE
    assert finding.remediation.text == (
        f"Rule api of ruleset rs sends {domain} to 10.9.9.9, which answers SERVFAIL. Add a rule "
        f"for each of those names alone ({API_NAME}) to inbound endpoint 10.21.0.4 of "
        "vnet-dns, whose Azure DNS answers them from the private DNS zones linked there; Azure "
        f"DNS applies the most specific rule, so every other name under {domain} still goes "
        "to 10.9.9.9."
    )


def test_no_proven_fix_is_said_without_a_command() -> None:
    bad = rule("api", "api.azureml.ms", "10.9.9.9")
    facts = world(ForwardingRuleset(RULESET, (VNET_ID,), (bad,)), linked_zone=())

    finding = only_finding(CHECK_ID, facts)

    assert finding.remediation is not None and finding.remediation.command is None
    assert finding.remediation.text == (
        "Rule api of ruleset rs sends api.azureml.ms to 10.9.9.9, which answers public "
        "52.160.0.1. " + NO_ENDPOINT
    )


def test_the_longer_suffix_of_another_ruleset_linked_to_the_vnet_wins() -> None:
    """rs-central's api.azureml.ms rule matches the name before its privatelink zone is
    reached: rs's privatelink rule never sees it, so only rs-central is named."""
    short = rule("pl", "privatelink.api.azureml.ms", "192.168.10.4")
    longer = rule("eastus", "workspace.eastus.api.azureml.ms", "10.9.9.9", ruleset=OTHER_RULESET)
    generic = rule("api", "api.azureml.ms", "10.21.0.4", ruleset=OTHER_RULESET)
    facts = world(
        ForwardingRuleset(RULESET, (VNET_ID,), (short,)),
        ForwardingRuleset(OTHER_RULESET, (VNET_ID,), (generic, longer)),
    )

    by_ruleset = {f.resource_id: f for f in check_findings(CHECK_ID, facts)}

    assert Status.PASS is by_ruleset[RULESET].status
    assert by_ruleset[RULESET].message == (
        "Ruleset rs (linked to vnet-hub) has no rule for a name the workspaces need."
    )
    central = by_ruleset[OTHER_RULESET]
    assert Status.FAIL is central.status
    assert "under workspace.eastus.api.azureml.ms (rule eastus) to 10.9.9.9" in central.message


@pytest.mark.parametrize(
    "quiet",
    [
        rule("corp", "corp.example", "192.168.10.4"),  # an on-premises zone
        dataclasses.replace(rule("off", "privatelink.api.azureml.ms", "10.9.9.9"), enabled=False),
    ],
    ids=["onprem-zone", "disabled"],
)
def test_rules_that_do_not_touch_the_names_pass(quiet: ForwardingRule) -> None:
    facts = world(ForwardingRuleset(RULESET, (VNET_ID,), (quiet,)))

    assert [Status.PASS] == [f.status for f in check_findings(CHECK_ID, facts)]


def test_a_rule_whose_targets_answer_privately_passes() -> None:
    good = rule("pl", "privatelink.api.azureml.ms", "10.21.0.4")
    facts = world(ForwardingRuleset(RULESET, (VNET_ID,), (good,)), azure=("10.0.1.5",))

    finding = only_finding(CHECK_ID, facts)

    assert Status.PASS is finding.status
    assert finding.message == (
        "Ruleset rs (linked to vnet-hub) sends the 1 name(s) the workspaces need under its "
        "rules to targets that answer with their private endpoints' IPs."
    )


def test_a_looping_rule_is_left_to_the_loop_check() -> None:
    loop = rule("pl", "privatelink.api.azureml.ms", "10.0.0.68")
    inbound = InboundEndpoint(VNET_ID + "-resolver/inboundEndpoints/in", "10.0.0.68", VNET_ID)
    facts = world(ForwardingRuleset(RULESET, (VNET_ID,), (loop,)), rcode="SERVFAIL", azure=())
    assert facts.dns is not None
    [read] = facts.dns.private_resolvers
    assert read.value is not None
    looped = Read(
        read.resource_id, value=dataclasses.replace(read.value, inbound_endpoints=(inbound,))
    )
    facts = dataclasses.replace(
        facts, dns=dataclasses.replace(facts.dns, private_resolvers=(looped,))
    )

    assert [Status.PASS] == [f.status for f in check_findings(CHECK_ID, facts)]


def test_a_ruleset_linked_elsewhere_is_not_judged() -> None:
    """The same rule is judged (and fails) once its ruleset is linked to the agent's VNet, so
    the silence elsewhere is the VNet's doing, not a check that judges nothing."""
    bad = rule("pl", "privatelink.api.azureml.ms", "192.168.10.4")

    assert [] == check_findings(CHECK_ID, world(ForwardingRuleset(RULESET, (DNS_VNET,), (bad,))))
    assert [Status.FAIL] == [
        f.status
        for f in check_findings(CHECK_ID, world(ForwardingRuleset(RULESET, (VNET_ID,), (bad,))))
    ]


def test_a_failed_ruleset_read_is_skipped_saying_why() -> None:
    facts = dns_facts(healthy_answers())
    assert facts.dns is not None
    failed: Read[PrivateResolvers] = Read(
        "/subscriptions/s/providers/Microsoft.Network/dnsResolvers",
        failure=ReadFailure(ReadProblem.FORBIDDEN, "ARM answered 403 (forbidden)", 403),
    )
    facts = dataclasses.replace(
        facts, dns=dataclasses.replace(facts.dns, private_resolvers=(failed,))
    )

    finding = only_finding(CHECK_ID, facts)

    assert Status.SKIPPED is finding.status
    assert finding.message == (
        "The DNS resolvers and forwarding rulesets could not be read (ARM answered 403 "
        "(forbidden)): a rule that sends the workspaces' names to a server that answers "
        "publicly would go unseen."
    )


def test_the_answer_is_judged_not_its_ips() -> None:
    """A private answer that is not the endpoint's (a stale record) is no fault of the rule."""
    good = rule("pl", "privatelink.api.azureml.ms", "10.21.0.4")
    facts = world(ForwardingRuleset(RULESET, (VNET_ID,), (good,)), azure=("10.0.9.9",))

    assert [Status.PASS] == [f.status for f in check_findings(CHECK_ID, facts)]


# -- Several VNets, rules, names and targets (messages, evidence and fixes in full) ----------

INBOUND_SERVER = Resolver("custom 10.21.0.4", ResolverKind.CUSTOM, "10.21.0.4", ("10.21.0.4:53",))
SCORING = "ep-a.eastus.inference.ml.azure.com"


def _with_resolvers(facts: Facts, *rulesets: ForwardingRuleset) -> Facts:
    assert facts.dns is not None
    read = Read(
        "/subscriptions/s/providers/Microsoft.Network/dnsResolvers",
        value=PrivateResolvers((ELSEWHERE,), rulesets),
    )
    return dataclasses.replace(facts, dns=dataclasses.replace(facts.dns, private_resolvers=(read,)))


def test_a_ruleset_linked_to_two_vnets_is_judged_through_each_path() -> None:
    """rs applies in the agent's VNet (Azure DNS asked) and in the DNS VNet, whose inbound
    endpoint is the VNet's custom server: both answer publicly through the rule. The zone is
    linked to the DNS VNet only, so deleting the rule would not do in the hub, and the only
    inbound endpoint is in a VNet rs is linked to: no command. The host answered otherwise (a
    cache), so its answer is not what the rule breaks."""
    bad = rule("pl", "privatelink.api.azureml.ms", "192.168.10.4", "192.168.10.5")
    answers = [
        dns_answer(HOST, chain=()),
        dns_answer(INBOUND_SERVER.name, PUBLIC, chain=()),
        dns_answer(AZURE, PUBLIC, chain=()),
    ]
    facts = _with_resolvers(
        dns_facts(
            answers,
            zones=[private_zone(linked=(DNS_VNET,))],
            resolvers=[RESOLVERS[0], INBOUND_SERVER, RESOLVERS[2]],
        ),
        ForwardingRuleset(RULESET, (VNET_ID, DNS_VNET), (bad,)),
    )

    finding = only_finding(CHECK_ID, facts)

    assert (Status.FAIL, RULESET) == (finding.status, finding.resource_id)
    assert finding.message == (
        "Ruleset rs (linked to vnet-hub, vnet-dns) sends 1 name(s) under "
        "privatelink.api.azureml.ms (rule pl) to 192.168.10.4, 192.168.10.5, which answer(s) "
        f"public 52.160.0.1 for e.g. {API_NAME}: Azure DNS there hands that answer to every "
        "client instead of the private endpoint's IPs."
    )
    assert finding.evidence is not None
    observed = finding.evidence.observed
    assert [VNET_ID, DNS_VNET] == observed["linked_vnets"]
    assert [(VNET_ID, AZURE), (DNS_VNET, INBOUND_SERVER.name)] == [
        (r["vnet"], r["resolver"]) for r in observed["routes"]
    ]
    assert [
        {"rule": bad.id, "fqdn": API_NAME, "resolver": r, "answer": "public 52.160.0.1"}
        for r in (AZURE, INBOUND_SERVER.name)
    ] == observed["wrong_targets"]
    assert {"answer": "the private endpoint's IPs"} == dict(finding.evidence.expected)
    assert finding.remediation is not None and finding.remediation.command is None
    assert finding.remediation.text == (
        "Rule pl of ruleset rs sends privatelink.api.azureml.ms to 192.168.10.4, 192.168.10.5, "
        "which answers public 52.160.0.1. " + NO_ENDPOINT
    )
    assert {
        Link.route(API_NAME, AZURE),
        Link.answer(API_NAME, AZURE),
        Link.route(API_NAME, INBOUND_SERVER.name),
        Link.answer(API_NAME, INBOUND_SERVER.name),
    } == finding.breaks


def test_two_rules_of_one_ruleset_each_sending_a_name_wrong_are_both_named_never_deleted() -> None:
    """The API rule's target answers with a private and a public address (not all private:
    the rule is not proven right), the inference rule's target does not answer; both targets
    were asked directly. The zone linked to the hub would answer both names without the
    rules, but each rule covers more than its name: neither is deleted, each text says what
    a deletion would also affect."""
    scoring = dataclasses.replace(
        expected_name(SCORING, ips=("10.0.1.7",), record="*.g.inference.eastus"),
        purpose="scoring",
        forwarder_zones=("inference.ml.azure.com",),
    )
    api = rule("api", "api.azureml.ms", "192.168.10.4")
    inference = rule("inf", "inference.ml.azure.com", "192.168.10.6")
    mixed = ("10.0.1.5", "52.160.0.1")
    answers = [
        *(dns_answer(r, mixed, chain=()) for r in (HOST, AZURE)),
        *(dns_answer(r, ("52.160.0.2",), fqdn=SCORING, chain=()) for r in (HOST, AZURE)),
    ]
    facts = _with_resolvers(
        dns_facts(
            answers,
            names=[expected_name(), scoring],
            zones=[
                private_zone(
                    {"ws.workspace.eastus": ("10.0.1.5",), "*.g.inference.eastus": ("10.0.1.7",)}
                )
            ],
        ),
        ForwardingRuleset(RULESET, (VNET_ID,), (api, inference)),
    )
    assert facts.dns is not None
    direct = (
        dns_answer(rule_target_label("192.168.10.4"), PUBLIC, chain=()),
        dns_answer(rule_target_label("192.168.10.6"), (), fqdn=SCORING, rcode="TIMEOUT", chain=()),
    )
    facts = dataclasses.replace(
        facts, dns=dataclasses.replace(facts.dns, rule_target_answers=direct)
    )

    finding = only_finding(CHECK_ID, facts)

    assert finding.message == (
        "Ruleset rs (linked to vnet-hub) sends 1 name(s) under api.azureml.ms (rule api) to "
        f"192.168.10.4, which answer(s) public 10.0.1.5, 52.160.0.1 for e.g. {API_NAME} (asked "
        "directly: 192.168.10.4 public 52.160.0.1); sends 1 name(s) under inference.ml.azure.com "
        f"(rule inf) to 192.168.10.6, which answer(s) public 52.160.0.2 for e.g. {SCORING} "
        "(asked directly: 192.168.10.6 TIMEOUT): Azure DNS there hands that answer to every "
        "client instead of the private endpoint's IPs."
    )
    assert finding.remediation is not None
    assert finding.remediation.text == (
        "Rule api of ruleset rs sends api.azureml.ms to 192.168.10.4, which answers public "
        "10.0.1.5, 52.160.0.1. " + NO_ENDPOINT + " Deleting the rule would let Azure DNS of "
        "the linked VNets answer them from the zones linked there, but would also take every "
        "other name under api.azureml.ms away from 192.168.10.4, which netverify did not "
        "check. Rule inf of ruleset rs sends inference.ml.azure.com to 192.168.10.6, which "
        "answers public 52.160.0.2. " + NO_ENDPOINT + " Deleting the rule would let Azure DNS "
        "of the linked VNets answer them from the zones linked there, but would also take "
        "every other name under inference.ml.azure.com away from 192.168.10.6, which "
        "netverify did not check."
    )
    assert finding.remediation.command is None
    assert {
        link
        for fqdn in (API_NAME, SCORING)
        for link in (Link.route(fqdn, AZURE), Link.answer(fqdn, AZURE), Link.answer(fqdn, HOST))
    } == finding.breaks


def test_one_target_of_two_answering_privately_is_enough() -> None:
    """One target answers the private IP when asked directly, the other times out: the rule
    can give the right answer, so the public answer Azure DNS gave is not the rule's fault."""
    pl = rule("pl", "privatelink.api.azureml.ms", "192.168.10.4", "192.168.10.5")
    facts = asked_directly(
        world(ForwardingRuleset(RULESET, (VNET_ID,), (pl,))),
        ("192.168.10.4", (), "TIMEOUT"),
        ("192.168.10.5", ("10.0.1.5",), "NOERROR"),
    )

    finding = only_finding(CHECK_ID, facts)

    assert (Status.PASS, RULESET) == (finding.status, finding.resource_id)
    assert finding.message == (
        "Ruleset rs (linked to vnet-hub) sends the 1 name(s) the workspaces need under its "
        "rules to targets that answer with their private endpoints' IPs."
    )
    assert finding.evidence is not None
    assert [] == finding.evidence.observed["wrong_targets"]


def test_an_inbound_endpoint_is_proposed_only_when_its_zones_answer_every_name() -> None:
    """The rule sends two names to a server that fails them; the DNS VNet's linked zone holds
    the API record but not the certificate's: repointing the rule at its inbound endpoint
    would still break one name, so no command is guessed."""
    cert = expected_name(
        "ws.workspace.eastus.cert.api.azureml.ms",
        ips=("10.0.1.6",),
        record="ws.workspace.eastus.cert",
    )
    bad = rule("api", "api.azureml.ms", "10.9.9.9")
    answers = [
        dns_answer(r, (), fqdn=n.fqdn, rcode="SERVFAIL", chain=())
        for n in (expected_name(), cert)
        for r in (HOST, AZURE)
    ]
    facts = _with_resolvers(
        dns_facts(
            answers,
            names=[expected_name(), cert],
            zones=[private_zone(linked=(DNS_VNET,))],
            resolvers=[RESOLVERS[0], RESOLVERS[2]],
        ),
        ForwardingRuleset(RULESET, (VNET_ID,), (bad,)),
    )

    finding = only_finding(CHECK_ID, facts)

    assert Status.FAIL is finding.status
    assert finding.message.startswith(
        "Ruleset rs (linked to vnet-hub) sends 2 name(s) under api.azureml.ms (rule api) to "
        f"10.9.9.9, which answer(s) SERVFAIL for e.g. {API_NAME}:"
    )
    assert finding.remediation is not None and finding.remediation.command is None
    assert finding.remediation.text.endswith("which answers SERVFAIL. " + NO_ENDPOINT)
