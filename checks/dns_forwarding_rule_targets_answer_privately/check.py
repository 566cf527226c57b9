"""No enabled forwarding rule that Azure DNS applies to a name a workspace needs (the longest
domain suffix among the rulesets linked to the VNet where the name's query reaches Azure DNS)
sends it to a target that answers publicly or not at all. Judged from what Azure DNS - as the
agent asks it, or through an inbound endpoint of that VNet - answered for the name, and from
what the rule's targets answer when asked directly (``DnsFacts.rule_target_answers``): a name
is sent wrong when Azure DNS's answer is not private and no target asked answers it privately
(then the target is not what breaks it)."""

from collections.abc import Iterator

from netverify.azure.arm_ids import name_of, resource_group_of, subscription_of
from netverify.azure.net import is_private
from netverify.checklib.catalog import load_meta
from netverify.checklib.dns import (
    answer_detail,
    describe,
    looping_rules,
    matching_rule,
    same_answer,
    unread_rulesets,
    zones_answer_privately,
)
from netverify.facts import (
    DnsAnswer,
    DnsFacts,
    ExpectedName,
    Facts,
    ForwardingRule,
    ForwardingRuleset,
    Resolver,
    ResolverKind,
    rule_target_label,
)
from netverify.model import Evidence, Finding, Link, Remediation, Status

META = load_meta(__file__)

# One name whose answer went wrong through a rule: (name, resolver asked, its answer, the VNet
# whose Azure DNS applied the rule).
Wrong = tuple[ExpectedName, Resolver, DnsAnswer, str]


def evaluate(facts: Facts) -> Iterator[Finding]:
    dns = facts.dns
    if dns is None or not dns.expected:
        return
    yield from unread_rulesets(
        META,
        dns,
        "a rule that sends the workspaces' names to a server that answers publicly would go "
        "unseen.",
    )
    paths = _azure_dns_paths(dns)
    looping = {rule.id.lower() for _, rule in looping_rules(dns, paths, dns.expected)}
    for ruleset in dns.rulesets:
        linked = [v for v in ruleset.linked_vnet_ids if v.lower() in paths]
        if linked:
            yield _judge(dns, ruleset, linked, paths, looping)


def _azure_dns_paths(dns: DnsFacts) -> dict[str, list[Resolver]]:
    """The resolvers whose queries certainly reach Azure DNS, by the lower-case id of the VNet
    whose Azure DNS answers them: Azure DNS itself (the agent's VNet), and the custom servers
    that are Private Resolver inbound endpoints (their VNet's). Another custom server may not
    forward a zone at all: its answer proves nothing about a rule."""
    inbound = {e.ip for e in dns.inbound_endpoints}
    paths: dict[str, list[Resolver]] = {}
    for resolver in dns.resolvers:
        on_path = resolver.kind is ResolverKind.AZURE or (
            resolver.kind is ResolverKind.CUSTOM and resolver.address in inbound
        )
        vnet = dns.azure_dns_vnet(resolver) if on_path else None
        if vnet:
            paths.setdefault(vnet.lower(), []).append(resolver)
    return paths


def _judge(
    dns: DnsFacts,
    ruleset: ForwardingRuleset,
    linked: list[str],
    paths: dict[str, list[Resolver]],
    looping: set[str],
) -> Finding:
    routes: list[dict[str, object]] = []
    wrong: dict[str, list[Wrong]] = {}
    for vnet in linked:
        for name in dns.expected:
            match = matching_rule(dns, vnet, name)
            # A looping rule is dns_forwarding_ruleset_no_loop's; another ruleset's rule won.
            if match is None or match[0].id.lower() != ruleset.id.lower():
                continue
            rule = match[1]
            if rule.id.lower() in looping:
                continue
            direct = _direct(dns, rule, name)
            for resolver in paths[vnet.lower()]:
                answer = dns.answer(name.fqdn, resolver.name)
                routes.append(
                    {
                        "fqdn": name.fqdn,
                        "workspace": name.workspace_name,
                        "vnet": vnet,
                        "resolver": resolver.name,
                        "rule": rule.id,
                        "domainName": rule.domain,
                        "targets": list(rule.targets),
                        "answer": answer_detail(answer) if answer else None,
                        "target_answers": [
                            {"target": ip, "answer": answer_detail(a) if a else None}
                            for ip, a in direct.items()
                        ],
                    }
                )
                private_target = any(a is not None and _private(a) for a in direct.values())
                if answer is not None and not _private(answer) and not private_target:
                    wrong.setdefault(rule.id.lower(), []).append((name, resolver, answer, vnet))
    where = f"Ruleset {name_of(ruleset.id)} (linked to {', '.join(map(name_of, linked))})"
    observed = {
        "linked_vnets": list(ruleset.linked_vnet_ids),
        "rules": [
            {"id": r.id, "domainName": r.domain, "targets": list(r.targets), "enabled": r.enabled}
            for r in ruleset.rules
        ],
        "routes": routes,
        "wrong_targets": [
            {
                "rule": rule.id,
                "fqdn": name.fqdn,
                "resolver": resolver.name,
                "answer": describe(answer),
            }
            for rule in ruleset.rules
            for name, resolver, answer, _ in wrong.get(rule.id.lower(), ())
        ],
    }
    evidence = Evidence(observed, {"answer": "the private endpoint's IPs"})
    if not wrong:
        names = len({r["fqdn"] for r in routes})
        said = (
            f"sends the {names} name(s) the workspaces need under its rules to targets that "
            "answer with their private endpoints' IPs."
            if names
            else "has no rule for a name the workspaces need."
        )
        return Finding(META, Status.PASS, ruleset.id, f"{where} {said}", evidence)
    bad = [r for r in ruleset.rules if r.id.lower() in wrong]
    remedies = [_remedy(dns, ruleset, rule, wrong[rule.id.lower()]) for rule in bad]
    commands = [c for _, c in remedies if c]
    return Finding(
        META,
        Status.FAIL,
        ruleset.id,
        f"{where} "
        + "; ".join(_sends(dns, rule, wrong[rule.id.lower()]) for rule in bad)
        + ": Azure DNS there hands that answer to every client instead of the private "
        "endpoint's IPs.",
        evidence,
        Remediation(" ".join(t for t, _ in remedies), "; ".join(commands) or None),
        breaks=frozenset(_breaks(dns, [w for rule in bad for w in wrong[rule.id.lower()]])),
    )


def _direct(dns: DnsFacts, rule: ForwardingRule, name: ExpectedName) -> dict[str, DnsAnswer | None]:
    """What each of the rule's targets answered for the name when asked directly (None: not
    asked - a target outside a mapped world)."""
    return {ip: dns.answer(name.fqdn, rule_target_label(ip)) for ip in rule.targets}


def _private(answer: DnsAnswer) -> bool:
    """The answer gives addresses, all private: the target answered privately (whether they
    are the right ones is the zone checks' to say)."""
    return (
        answer.rcode == "NOERROR"
        and bool(answer.addresses)
        and all(is_private(a) for a in answer.addresses)
    )


def _sends(dns: DnsFacts, rule: ForwardingRule, wrong: list[Wrong]) -> str:
    name, _, answer, _ = wrong[0]
    names = len({w[0].fqdn for w in wrong})
    asked = [(ip, a) for ip, a in _direct(dns, rule, name).items() if a is not None]
    direct = (
        " (asked directly: " + ", ".join(f"{ip} {describe(a)}" for ip, a in asked) + ")"
        if asked
        else ""
    )
    return (
        f"sends {names} name(s) under {rule.domain} (rule {name_of(rule.id)}) to "
        f"{', '.join(rule.targets)}, which answer(s) {describe(answer)} for e.g. {name.fqdn}"
        + direct
    )


def _remedy(
    dns: DnsFacts, ruleset: ForwardingRuleset, rule: ForwardingRule, wrong: list[Wrong]
) -> tuple[str, str | None]:
    """What fixes one rule for the names it sends wrong, changing nothing else it covers: its
    domain may hold names netverify never asked (on-premises hosts, other resources in the
    zone), so neither deleting it nor changing its targets is proven safe. Azure DNS applies
    the most specific matching rule, so a rule for each of those names alone, pointing at an
    inbound endpoint of a VNet the ruleset is not linked to (no loop) whose linked zones answer
    them, changes only what was seen wrong; else say what the targets must answer (no command
    guessed), and what deleting the rule would also change."""
    names = list({w[0].fqdn: w[0] for w in wrong}.values())
    linked = {v.lower() for v in ruleset.linked_vnet_ids}
    target = next(
        (
            e
            for e in dns.inbound_endpoints
            if e.vnet_id.lower() not in linked
            and all(zones_answer_privately(dns, n, e.vnet_id) for n in names)
        ),
        None,
    )
    command: str | None = None
    if target is not None:
        action = (
            f"Add a rule for each of those names alone ({', '.join(n.fqdn for n in names)}) "
            f"to inbound endpoint {target.ip} of {name_of(target.vnet_id)}, whose Azure DNS "
            f"answers them from the private DNS zones linked there; Azure DNS applies the most "
            f"specific rule, so every other name under {rule.domain} still goes to "
            f"{', '.join(rule.targets)}."
        )
        command = "; ".join(_narrower_rule(ruleset, n.fqdn, target.ip) for n in names)
    else:
        answered_here = all(zones_answer_privately(dns, n, v) for n, _, _, v in wrong)
        action = (
            "Make those targets answer these names from the private DNS zones (forward them to "
            "Azure DNS of a VNet linked to the zones), or add a rule for each name alone to a "
            "Private Resolver inbound endpoint in a VNet this ruleset is not linked to whose "
            "linked zones hold them."
            + (
                f" Deleting the rule would let Azure DNS of the linked VNets answer them from "
                f"the zones linked there, but would also take every other name under "
                f"{rule.domain} away from {', '.join(rule.targets)}, which netverify did not "
                "check."
                if answered_here
                else ""
            )
        )
    text = META.remediation_text.format(
        rule=name_of(rule.id),
        ruleset=name_of(ruleset.id),
        domain=rule.domain,
        targets=", ".join(rule.targets),
        answered=describe(wrong[0][2]),
        action=action,
    )
    return " ".join(text.split()), command


def _narrower_rule(ruleset: ForwardingRuleset, fqdn: str, ip: str) -> str:
    """The az command that adds to ``ruleset`` a rule for ``fqdn`` alone to ``ip``, named from
    the name (forwarding rule names: letters, digits, '-' and '_', up to 80)."""
    name = fqdn.lower().rstrip(".")
    return META.remediation_command.format(
        subscription=subscription_of(ruleset.id),
        group=resource_group_of(ruleset.id),
        ruleset=name_of(ruleset.id),
        rule_name=("nv-" + name.replace(".", "-"))[:80],
        fqdn=name,
        inbound_ip=ip,
    )


def _breaks(dns: DnsFacts, wrong: list[Wrong]) -> set[str]:
    """The route and answer of each resolver that got a wrong answer through the rule, and the
    host resolver's answer where it is that same answer (it asks those resolvers)."""
    links = set()
    host = dns.resolvers_of(ResolverKind.HOST)
    for name, resolver, answer, _ in wrong:
        links |= {Link.route(name.fqdn, resolver.name), Link.answer(name.fqdn, resolver.name)}
        for h in host:
            seen = dns.answer(name.fqdn, h.name)
            if seen is not None and same_answer(seen, answer):
                links.add(Link.answer(name.fqdn, h.name))
    return links
