"""dns_forwarding_ruleset_no_loop: fires on a rule back to an inbound endpoint of a linked VNet,
stays quiet on rules that go elsewhere, are disabled, or do not touch the workspace's names
(hand-built facts, no I/O)."""

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
)
from netverify.model import Link, Status
from netverify.testing import (
    API_NAME,
    AZURE,
    CUSTOM,
    SPOKE_VNET_ID,
    VNET_ID,
    check_findings,
    dns_facts,
    expected_name,
    healthy_answers,
    mixed_case,
    only_finding,
    spoke_vnet,
)

CHECK_ID = "dns_forwarding_ruleset_no_loop"
RULESET = VNET_ID.split("/providers/")[0] + "/providers/Microsoft.Network/dnsForwardingRulesets/rs"
OTHER_VNET = VNET_ID.replace("vnet-hub", "vnet-onprem-gw")
INBOUND = InboundEndpoint(VNET_ID + "-resolver/inboundEndpoints/in", "10.0.0.68", VNET_ID)


def rule(name: str, domain: str, *targets: str, enabled: bool = True) -> ForwardingRule:
    return ForwardingRule(f"{RULESET}/forwardingRules/{name}", domain, targets, enabled)


def with_rulesets(
    *rulesets: ForwardingRuleset, inbound: tuple[InboundEndpoint, ...] = (INBOUND,)
) -> Facts:
    facts = dns_facts(healthy_answers())
    assert facts.dns is not None
    read = Read(
        "/subscriptions/s/providers/Microsoft.Network/dnsResolvers",
        value=PrivateResolvers(inbound, rulesets),
    )
    return dataclasses.replace(facts, dns=dataclasses.replace(facts.dns, private_resolvers=(read,)))


def test_a_rule_back_to_the_inbound_endpoint_of_a_linked_vnet_fails() -> None:
    """The privatelink zone sent to the inbound endpoint of the VNet the ruleset is linked to;
    the on-premises rule beside it is not named."""
    loop = rule("pl", "privatelink.api.azureml.ms", "10.0.0.68")
    onprem = rule("corp", "corp.example", "192.168.10.4")

    finding = only_finding(
        CHECK_ID, with_rulesets(ForwardingRuleset(RULESET, (VNET_ID,), (loop, onprem)))
    )

    assert Status.FAIL is finding.status
    assert finding.message == (
        "Ruleset rs (linked to vnet-hub) forwards privatelink.api.azureml.ms to 10.0.0.68 (rule "
        "pl): an inbound endpoint in a VNet the ruleset is linked to, so every query for those "
        "names loops back to Azure DNS of that VNet and fails."
    )
    assert finding.evidence is not None
    assert [r["domainName"] for r in finding.evidence.observed["rules"]] == [
        "privatelink.api.azureml.ms",
        "corp.example",
    ]
    assert finding.remediation is not None
    assert f"az dns-resolver forwarding-rule delete --ids {loop.id}" == finding.remediation.command
    assert (
        "Drop rule pl from ruleset rs, or unlink the ruleset from vnet-hub"
        in finding.remediation.text
    )
    # The privatelink rule catches the name through its CNAME target, not the name itself.
    assert {Link.route(API_NAME, CUSTOM), Link.route(API_NAME, AZURE)} == finding.breaks


def test_a_public_zone_rule_back_to_the_endpoint_fails_too() -> None:
    """The rule covers the public name itself (api.azureml.ms), not only its privatelink zone."""
    loop = rule("api", "api.azureml.ms", "10.9.9.9", "10.0.0.68")

    finding = only_finding(CHECK_ID, with_rulesets(ForwardingRuleset(RULESET, (VNET_ID,), (loop,))))

    assert Status.FAIL is finding.status
    assert "forwards api.azureml.ms to 10.9.9.9, 10.0.0.68 (rule api)" in finding.message


@pytest.mark.parametrize(
    "quiet",
    [
        rule("onprem", "privatelink.api.azureml.ms", "192.168.10.4"),  # elsewhere
        rule("off", "privatelink.api.azureml.ms", "10.0.0.68", enabled=False),  # disabled
        rule("corp", "corp.example", "10.0.0.68"),  # not the workspace's names
    ],
    ids=["target-elsewhere", "disabled", "other-domain"],
)
def test_rules_that_do_not_loop_the_workspace_names_pass(quiet: ForwardingRule) -> None:
    finding = only_finding(
        CHECK_ID, with_rulesets(ForwardingRuleset(RULESET, (VNET_ID,), (quiet,)))
    )

    assert Status.PASS is finding.status
    assert finding.message == (
        "Ruleset rs (linked to vnet-hub) sends no Azure ML name back to an inbound endpoint."
    )


def test_an_inbound_endpoint_of_a_vnet_the_ruleset_is_not_linked_to_is_no_loop() -> None:
    """The target is an inbound endpoint, but of a VNet this ruleset does not apply in: the
    query leaves for Azure DNS there (the hub-to-hub design), no loop."""
    elsewhere = dataclasses.replace(INBOUND, vnet_id=OTHER_VNET)
    ruleset = ForwardingRuleset(
        RULESET, (VNET_ID,), (rule("pl", "privatelink.api.azureml.ms", "10.0.0.68"),)
    )

    assert [Status.PASS] == [
        f.status for f in check_findings(CHECK_ID, with_rulesets(ruleset, inbound=(elsewhere,)))
    ]


def test_a_ruleset_linked_elsewhere_is_not_judged() -> None:
    """Linked to the agent's VNet the same rule is a loop: the silence is the link's doing."""
    loop = rule("pl", "privatelink.api.azureml.ms", "10.0.0.68")
    ruleset = ForwardingRuleset(RULESET, (OTHER_VNET,), (loop,))

    assert [] == check_findings(CHECK_ID, with_rulesets(ruleset))
    linked = ForwardingRuleset(RULESET, (VNET_ID,), (loop,))
    assert [Status.FAIL] == [f.status for f in check_findings(CHECK_ID, with_rulesets(linked))]


def test_an_unreadable_ruleset_list_is_said() -> None:
    """403 on the resolvers: skipped with why (a loop there would go unseen), nothing judged."""
    facts = dns_facts(healthy_answers())
    assert facts.dns is not None
    failed = Read(
        "/subscriptions/s/providers/Microsoft.Network/dnsResolvers",
        failure=ReadFailure(ReadProblem.FORBIDDEN, "ARM answered 403 (forbidden)", 403),
    )
    facts = dataclasses.replace(
        facts, dns=dataclasses.replace(facts.dns, private_resolvers=(failed,))
    )

    finding = only_finding(CHECK_ID, facts)

    assert (Status.SKIPPED, failed.resource_id) == (finding.status, finding.resource_id)
    assert finding.message == (
        "The DNS resolvers and forwarding rulesets could not be read (ARM answered 403 "
        "(forbidden)): a forwarding loop there would go unseen."
    )


def test_two_loops_through_the_agent_and_a_spoke_endpoint_vnet_are_both_named() -> None:
    """The ruleset is linked to the agent's VNet (its id spelled in another case) and to the
    spoke holding a private endpoint (read as the endpoint's VNet); each has an inbound
    endpoint, and a rule sends a workspace zone to each: both rules loop, both are deleted,
    and the routes of the resolvers whose Azure DNS is in a linked VNet break."""
    spoke_inbound = InboundEndpoint(
        SPOKE_VNET_ID + "-resolver/inboundEndpoints/in", "10.2.0.68", SPOKE_VNET_ID
    )
    pl = rule("pl", "privatelink.api.azureml.ms", "10.0.0.68", "10.0.0.69")
    api = rule("api", "api.azureml.ms", "10.2.0.68", "192.168.10.4")
    ruleset = ForwardingRuleset(RULESET, (mixed_case(VNET_ID), SPOKE_VNET_ID), (pl, api))
    facts = dns_facts(
        healthy_answers(),
        endpoint_vnets=[spoke_vnet()],
        private_resolvers=[
            Read("resolvers", value=PrivateResolvers((INBOUND, spoke_inbound), (ruleset,)))
        ],
    )

    finding = only_finding(CHECK_ID, facts)

    assert (Status.FAIL, RULESET) == (finding.status, finding.resource_id)
    assert finding.message == (
        "Ruleset rs (linked to vnet-hub, vnet-spoke) forwards privatelink.api.azureml.ms to "
        "10.0.0.68, 10.0.0.69 (rule pl); forwards api.azureml.ms to 10.2.0.68, 192.168.10.4 (rule api): "
        "an inbound endpoint in a VNet the ruleset is linked to, so every query for those "
        "names loops back to Azure DNS of that VNet and fails."
    )
    assert finding.evidence is not None
    assert dict(finding.evidence.observed) == {
        "linked_vnets": [mixed_case(VNET_ID), SPOKE_VNET_ID],
        "rules": [
            {
                "id": pl.id,
                "domainName": pl.domain,
                "targets": ["10.0.0.68", "10.0.0.69"],
                "enabled": True,
            },
            {
                "id": api.id,
                "domainName": api.domain,
                "targets": ["10.2.0.68", "192.168.10.4"],
                "enabled": True,
            },
        ],
        "inbound_endpoints": [
            {"id": INBOUND.id, "ip": "10.0.0.68", "vnet": VNET_ID},
            {"id": spoke_inbound.id, "ip": "10.2.0.68", "vnet": SPOKE_VNET_ID},
        ],
    }
    assert {"rule_targets": "DNS servers outside the linked VNets"} == dict(
        finding.evidence.expected
    )
    assert finding.remediation is not None
    assert finding.remediation.text == (
        "Drop rule pl, api from ruleset rs, or unlink the ruleset from vnet-hub, vnet-spoke: "
        "Azure DNS of a VNet linked to the private DNS zones already answers "
        "privatelink.api.azureml.ms, and a rule for it must point at a DNS server outside "
        "those VNets (on premises), never at the inbound endpoint 10.0.0.68, 10.0.0.69."
    )
    assert finding.remediation.command == (
        f"az dns-resolver forwarding-rule delete --ids {pl.id}; "
        f"az dns-resolver forwarding-rule delete --ids {api.id}"
    )
    assert {Link.route(API_NAME, CUSTOM), Link.route(API_NAME, AZURE)} == finding.breaks


def test_without_names_to_resolve_no_ruleset_is_judged() -> None:
    loop = rule("pl", "privatelink.api.azureml.ms", "10.0.0.68")
    facts = with_rulesets(ForwardingRuleset(RULESET, (VNET_ID,), (loop,)))
    assert facts.dns is not None

    assert [Status.FAIL] == [f.status for f in check_findings(CHECK_ID, facts)]
    assert [] == check_findings(
        CHECK_ID, dataclasses.replace(facts, dns=dataclasses.replace(facts.dns, expected=()))
    )


def test_each_looping_rule_breaks_only_the_names_it_covers() -> None:
    """Two looping rules, one per privatelink zone; the notebooks name is not resolved
    through the API rule, nor the API name through the notebooks rule - each name's routes
    break because of the one rule that covers it."""
    notebooks = dataclasses.replace(
        expected_name("ml-a.eastus.notebooks.azure.net", record="ml-a.eastus"),
        zone_name="privatelink.notebooks.azure.net",
    )
    api = rule("pl", "privatelink.api.azureml.ms", "10.0.0.68")
    nb = rule("nb", "privatelink.notebooks.azure.net", "10.0.0.68")
    facts = with_rulesets(ForwardingRuleset(RULESET, (VNET_ID,), (api, nb)))
    assert facts.dns is not None
    only_api = dataclasses.replace(facts.dns, expected=(expected_name(), notebooks))
    one_rule = with_rulesets(ForwardingRuleset(RULESET, (VNET_ID,), (api,)))
    assert one_rule.dns is not None

    both = only_finding(CHECK_ID, dataclasses.replace(facts, dns=only_api))
    api_only = only_finding(
        CHECK_ID,
        dataclasses.replace(
            one_rule, dns=dataclasses.replace(one_rule.dns, expected=(expected_name(), notebooks))
        ),
    )

    assert {
        Link.route(fqdn, resolver)
        for fqdn in (API_NAME, notebooks.fqdn)
        for resolver in (CUSTOM, AZURE)
    } == both.breaks
    assert {Link.route(API_NAME, CUSTOM), Link.route(API_NAME, AZURE)} == api_only.breaks


def test_a_ruleset_linked_to_the_agent_and_a_spoke_vnet_without_a_loop_passes() -> None:
    ruleset = ForwardingRuleset(
        RULESET, (VNET_ID, SPOKE_VNET_ID), (rule("corp", "corp.example", "192.168.10.4"),)
    )
    facts = dns_facts(
        healthy_answers(),
        endpoint_vnets=[spoke_vnet()],
        private_resolvers=[Read("resolvers", value=PrivateResolvers((INBOUND,), (ruleset,)))],
    )

    finding = only_finding(CHECK_ID, facts)

    assert (Status.PASS, RULESET) == (finding.status, finding.resource_id)
    assert finding.message == (
        "Ruleset rs (linked to vnet-hub, vnet-spoke) sends no Azure ML name back to an inbound "
        "endpoint."
    )
