"""No forwarding rule of a ruleset that applies where the workspace names are resolved sends
them back to an inbound endpoint of a VNet the ruleset is linked to (a resolution loop)."""

import dataclasses
from collections.abc import Iterator

from netverify.azure.arm_ids import name_of
from netverify.checklib.catalog import load_meta
from netverify.checklib.dns import answering_vnets, looping_rules, unread_rulesets
from netverify.facts import Facts, ForwardingRule
from netverify.model import Evidence, Finding, Link, Remediation, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    dns = facts.dns
    if dns is None or not dns.expected:
        return
    yield from unread_rulesets(META, dns, "a forwarding loop there would go unseen.")
    # Where the workspace names are resolved: the agent's VNet, the VNets its DNS path ends
    # in, and the private endpoints' VNets (their clients resolve there too).
    vnets = {
        v.lower(): v
        for v in [
            *([dns.agent_vnet_id] if dns.agent_vnet_id else []),
            *answering_vnets(dns),
            *(r.value.id for r in dns.endpoint_vnets.values() if r.value is not None),
        ]
    }
    loops = looping_rules(dns, vnets, dns.expected)
    for ruleset in dns.rulesets:
        linked = [v for v in ruleset.linked_vnet_ids if v.lower() in vnets]
        if not linked:
            continue
        linked_keys = {v.lower() for v in ruleset.linked_vnet_ids}
        observed = {
            "linked_vnets": list(ruleset.linked_vnet_ids),
            "rules": [
                {
                    "id": r.id,
                    "domainName": r.domain,
                    "targets": list(r.targets),
                    "enabled": r.enabled,
                }
                for r in ruleset.rules
            ],
            "inbound_endpoints": [
                {"id": e.id, "ip": e.ip, "vnet": e.vnet_id} for e in dns.inbound_endpoints
            ],
        }
        bad = [rule for owner, rule in loops if owner is ruleset]
        if not bad:
            yield Finding(
                META,
                Status.PASS,
                ruleset.id,
                f"Ruleset {name_of(ruleset.id)} (linked to {', '.join(map(name_of, linked))}) sends "
                "no Azure ML name back to an inbound endpoint.",
                Evidence(observed),
            )
            continue
        rule = bad[0]
        yield Finding(
            META,
            Status.FAIL,
            ruleset.id,
            f"Ruleset {name_of(ruleset.id)} (linked to {', '.join(map(name_of, linked))}) "
            + "; ".join(
                f"forwards {r.domain} to {', '.join(r.targets)} (rule {name_of(r.id)})" for r in bad
            )
            + ": an inbound endpoint in a VNet the ruleset is linked to, so every query for "
            "those names loops back to Azure DNS of that VNet and fails.",
            Evidence(observed, {"rule_targets": "DNS servers outside the linked VNets"}),
            _every_rule(
                META.remediation(
                    rule=", ".join(name_of(r.id) for r in bad),
                    ruleset=name_of(ruleset.id),
                    vnets=", ".join(map(name_of, linked)),
                    domain=rule.domain,
                    targets=", ".join(rule.targets),
                    rule_id=rule.id,
                ),
                bad,
            ),
            breaks=frozenset(
                Link.route(name.fqdn, resolver.name)
                for resolver in dns.resolvers
                if (vnet := dns.azure_dns_vnet(resolver)) and vnet.lower() in linked_keys
                for name in dns.expected
                if any(r.covers(name.fqdn) or r.covers(name.zone_name) for r in bad)
            ),
        )


def _every_rule(remedy: Remediation, rules: list[ForwardingRule]) -> Remediation:
    """The delete command once per looping rule."""
    return dataclasses.replace(
        remedy,
        command="; ".join(f"az dns-resolver forwarding-rule delete --ids {r.id}" for r in rules),
    )
