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
from netverify.model import Status
from netverify.testing import VNET_ID, check_findings, dns_facts, healthy_answers, only_finding

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

    assert Status.SKIPPED is finding.status
    assert "could not be read (ARM answered 403 (forbidden))" in finding.message
