"""Each custom DNS server answers the workspace names as Azure DNS does, zone by zone."""

from collections import Counter
from collections.abc import Iterator

from netverify.azure.arm_ids import name_of
from netverify.azure.dns_names import COMPUTE_INSTANCE_ZONES
from netverify.azure.net import is_private
from netverify.checklib.catalog import load_meta
from netverify.checklib.dns import (
    describe,
    looping_rules,
    resolutions,
    resolves_to,
    zones_answer_privately,
)
from netverify.checklib.judging import skipped
from netverify.facts import (
    DnsAnswer,
    DnsFacts,
    ExpectedName,
    Facts,
    ForwardingRule,
    ForwardingRuleset,
    Resolver,
    ResolverKind,
)
from netverify.model import Evidence, Finding, Link, Remediation, Status

META = load_meta(__file__)
AZURE_DNS = "168.63.129.16"


def evaluate(facts: Facts) -> Iterator[Finding]:
    dns = facts.dns
    if dns is None:
        return
    azure = dns.resolvers_of(ResolverKind.AZURE)
    for server in dns.resolvers_of(ResolverKind.CUSTOM):
        yield _judge(dns, server, azure[0] if azure else None)


def _judge(dns: DnsFacts, server: Resolver, azure: Resolver | None) -> Finding:
    reference = _Reference(dns, server, azure)
    compared: list[ExpectedName] = []
    wrong: dict[str, list[tuple[ExpectedName, DnsAnswer]]] = {}
    silent: dict[str, list[tuple[ExpectedName, DnsAnswer]]] = {}
    local: dict[str, list[tuple[ExpectedName, DnsAnswer]]] = {}
    stripped: list[tuple[ExpectedName, DnsAnswer]] = []
    unexplained: list[tuple[ExpectedName, DnsAnswer]] = []
    answered_zones: set[str] = set()
    for name in dns.expected:
        mine = dns.answer(name.fqdn, server.name)
        zones = name.forwarder_zones or (name.zone_name,)
        if mine is not None and mine.answered:
            answered_zones.update(zones)
        # Only names Azure DNS resolves privately tell us anything about forwarding.
        if mine is None or not reference.private(name):
            continue
        compared.append(name)
        if resolves_to(mine, name):
            continue
        if not mine.answered:
            for zone in zones:
                silent.setdefault(zone, []).append((name, mine))
        elif _local_copy(mine, name):
            local.setdefault(mine.soa_zone or "", []).append((name, mine))
        elif _stripped(mine, name, reference.answer(name)):
            stripped.append((name, mine))
        elif _not_forwarded(mine):
            for zone in zones:
                wrong.setdefault(zone, []).append((name, mine))
        else:
            unexplained.append((name, mine))
    # Timeouts or SERVFAIL confined to a zone while the server answers others: that zone's
    # forwarder points at a dead or wrong target.
    dead = {z: names for z, names in silent.items() if z not in answered_zones and answered_zones}
    if not compared:
        return skipped(
            META,
            server.address,
            f"No name both asked of {server.name} and resolved privately by {reference.said}.",
        )
    observed: dict[str, object] = {
        "server": server.address,
        "reference": reference.said,
        "resolutions": resolutions(dns, [n.fqdn for n in compared]),
        "zones_not_forwarded": sorted(wrong),
        "zones_forwarded_to_no_answer": sorted(dead),
        "local_zone_copies": sorted(local),
        "private_answers_dropped": [n.fqdn for n, _ in stripped],
        "unexplained": [n.fqdn for n, _ in unexplained],
    }
    expected = {
        "forwarded_to_azure_dns": sorted(
            {z for n in compared for z in n.forwarder_zones or (n.zone_name,)}
        )
    }
    if not answered_zones:
        return _outage(dns, server, reference, compared, Evidence(observed, expected))
    if not (wrong or dead or local or stripped or unexplained):
        return Finding(
            META,
            Status.PASS,
            server.address,
            f"Custom DNS server {server.address} answers {len(compared)} name(s) with the private "
            f"IPs {reference.said} gives.",
            Evidence(observed, expected),
            subject=server.name,
        )
    causes = []
    if wrong:
        causes.append(
            f"does not forward {', '.join(sorted(wrong))} to Azure DNS: "
            + "; ".join(
                f"{z}: {n.fqdn} -> {_why(a, n)}" for z in sorted(wrong) for n, a in wrong[z][:1]
            )
        )
    loops = reference.loops([n for names in dead.values() for n, _ in names])
    loop_cause, loop_remedy = _loop(loops) if loops else ("", None)
    if dead:
        causes.append(
            f"gets no answer for {', '.join(sorted(dead))} while it answers other zones: "
            + "; ".join(
                f"{z}: {len(names)} name(s), e.g. {names[0][0].fqdn} -> {names[0][1].summary()}"
                for z, names in sorted(dead.items())
            )
            + (
                f" ({loop_cause})"
                if loops
                else " (that zone's forwarder points at a target that does not answer)"
            )
        )
    if local:
        causes.append(
            "answers from its own copy of "
            + "; ".join(
                f"{z} (or a server it sends that zone to), which lacks {', '.join(sorted({_record(n, z) for n, _ in names}))} "
                f"({names[0][0].fqdn} -> {names[0][1].rcode}"
                f"{' with AA' if names[0][1].authoritative else ''} and {z}'s SOA)"
                for z, names in sorted(local.items())
            )
        )
    if stripped:
        name, answer = stripped[0]
        seen = (
            f"{answer.summary()}, Azure's CNAME into {name.zone_name} without the A record"
            if answer.cname_chain
            else 'an empty answer without the SOA a zone\'s own "no such record" carries'
        )
        causes.append(
            f"reaches Azure DNS but drops the private address of {len(stripped)} name(s): "
            f"{name.fqdn} -> {seen} (DNS-rebinding protection or private-address filtering "
            "strips answers in private ranges)"
        )
    if unexplained:
        name, answer = unexplained[0]
        causes.append(
            f"answers {len(unexplained)} name(s) otherwise than {reference.said}, for a cause "
            f"not identified: e.g. {name.fqdn} -> {describe(answer)}"
            f"{' (SOA ' + answer.soa_zone + ')' if answer.soa_zone else ''}, where the private "
            f"endpoint has {', '.join(name.expected_ips)}"
        )
    azure_dns = azure.address if azure else AZURE_DNS
    breaks, needs = _links(
        server,
        [n for names in (*wrong.values(), *local.values(), stripped, unexplained) for n, _ in names]
        + ([] if loops else [n for names in dead.values() for n, _ in names]),
        [n for names in dead.values() for n, _ in names] if loops else [],
    )
    return Finding(
        META,
        Status.FAIL,
        server.address,
        f"Custom DNS server {server.address} " + "; it ".join(causes) + f" ({reference.said} "
        "gives the private IP).",
        Evidence(observed, expected),
        _remediation(
            server.address,
            azure_dns,
            sorted({*wrong, *(() if loops else dead)}),
            local,
            [n for n, _ in stripped],
            [n for n, _ in unexplained],
            loop_remedy,
        ),
        subject=server.name,
        breaks=breaks,
        needs=needs,
    )


def _links(
    server: Resolver, broken: list[ExpectedName], looping: list[ExpectedName]
) -> tuple[frozenset[str], frozenset[str]]:
    """(breaks, needs): the server's answers for the names it gets wrong itself, and the routes
    of the names a forwarding loop swallows - only when nothing else is wrong, so a server with
    a fault of its own stays a root cause."""
    return (
        frozenset(Link.answer(n.fqdn, server.name) for n in broken),
        frozenset(() if broken else (Link.route(n.fqdn, server.name) for n in looping)),
    )


class _Reference:
    """What the server's answers are compared with: Azure DNS as the agent asks it when the
    server's path ends in the agent's VNet; else Azure DNS of the server's VNet, which the
    agent cannot ask, judged from the zones linked there."""

    def __init__(self, dns: DnsFacts, server: Resolver, azure: Resolver | None) -> None:
        self.dns, self.azure = dns, azure
        # The VNet whose Azure DNS the server asks; ``vnet`` only when the agent cannot ask it.
        self.server_vnet = dns.azure_dns_vnet(server)
        vnet, agent = self.server_vnet, dns.agent_vnet_id
        self.vnet = vnet if vnet and agent and vnet.lower() != agent.lower() else None
        self.said = (
            f"Azure DNS of {name_of(self.vnet)} (by the zones linked there; the agent "
            "cannot ask it from its own VNet)"
            if self.vnet
            else "Azure DNS"
        )

    def answer(self, name: ExpectedName) -> DnsAnswer | None:
        """Azure DNS's own answer, when the agent could ask the Azure DNS that matters."""
        if self.vnet is not None or self.azure is None:
            return None
        return self.dns.answer(name.fqdn, self.azure.name)

    def private(self, name: ExpectedName) -> bool:
        if self.vnet is not None:
            return zones_answer_privately(self.dns, name, self.vnet)
        return resolves_to(self.answer(name), name)

    def loops(self, names: list[ExpectedName]) -> list[tuple[ForwardingRuleset, ForwardingRule]]:
        """Forwarding rules that send ``names`` back into the server's own path."""
        return looping_rules(self.dns, [self.server_vnet] if self.server_vnet else [], names)


def _outage(
    dns: DnsFacts,
    server: Resolver,
    reference: _Reference,
    names: list[ExpectedName],
    evidence: Evidence,
) -> Finding:
    """The server answers none of the names that exist: every client of it fails to resolve
    them. The cause is named when the ARM facts prove one (a forwarding rule that loops)."""
    answers = [a for n in names if (a := dns.answer(n.fqdn, server.name)) is not None]
    kinds = ", ".join(f"{n} {rcode}" for rcode, n in Counter(a.rcode for a in answers).items())
    loops = reference.loops(names)
    if loops:
        cause, remedy = _loop(loops)
    else:
        unread = [r.failure.message for r in dns.private_resolvers if r.failure is not None]
        cause = "cause not identified" + (
            f" (the DNS forwarding rulesets could not be read: {unread[0]})" if unread else ""
        )
        remedy = Remediation(
            f"Query {server.address} by hand for one of the names (dig @{server.address} "
            f"{names[0].fqdn} A) and follow its forwarders: each must reach Azure DNS "
            "(168.63.129.16) from a VNet linked to the private DNS zones; a forwarder that "
            "points back at the server itself, directly or through a ruleset, loops."
        )
    return Finding(
        META,
        Status.FAIL,
        server.address,
        f"Custom DNS server {server.address} gives no answer for any of the {len(names)} "
        f"name(s) {reference.said} resolves privately ({kinds}), e.g. {names[0].fqdn}: every "
        f"client that uses it cannot resolve them; {cause}.",
        evidence,
        remedy,
        subject=server.name,
        # The server's own outage finding (dns_resolver_answers) or the loop says why.
        needs=frozenset(
            link
            for n in names
            for link in (Link.answer(n.fqdn, server.name), Link.route(n.fqdn, server.name))
        ),
    )


def _loop(loops: list[tuple[ForwardingRuleset, ForwardingRule]]) -> tuple[str, Remediation]:
    """The looping rules as a cause, and dropping them as the remedy."""
    cause = "; ".join(
        f"forwarding rule {name_of(rule.id)} of ruleset {name_of(ruleset.id)} (linked to "
        f"{', '.join(name_of(v) for v in ruleset.linked_vnet_ids)}) sends {rule.domain} to "
        f"{', '.join(rule.targets)}, the inbound endpoint whose queries Azure DNS of that "
        "VNet answers: the query loops"
        for ruleset, rule in loops
    )
    remedy = Remediation(
        "Unlink the ruleset from the inbound endpoint's VNet, or drop the rule: a rule "
        "must never target an inbound endpoint in a VNet the ruleset is linked to (Azure "
        "DNS of that VNet already answers the privatelink zones linked to it).",
        "; ".join(f"az dns-resolver forwarding-rule delete --ids {rule.id}" for _, rule in loops),
    )
    return cause, remedy


def _stripped(answer: DnsAnswer, name: ExpectedName, azure: DnsAnswer | None) -> bool:
    """NOERROR without address nor SOA, and no chain or Azure DNS's own chain into the
    privatelink zone: the server got Azure DNS's answer and removed the private A record -
    what DNS-rebinding protection does (Unbound keeps the CNAMEs, dnsmasq empties the answer).
    A zone's empty answer carries its SOA; a chain other than Azure DNS's came from elsewhere."""
    chain = answer.cname_chain
    into_zone = not chain or any(
        c == name.zone_name or c.endswith("." + name.zone_name) for c in chain
    )
    same_chain = azure is None or tuple(azure.cname_chain[: len(chain)]) == tuple(chain)
    return (
        answer.rcode == "NOERROR"
        and into_zone
        and same_chain
        and not answer.addresses
        and not answer.soa_zone
    )


def _not_forwarded(answer: DnsAnswer) -> bool:
    """The answer is public DNS's: a public address, or NXDOMAIN under a public zone's SOA -
    the server asked public DNS, not Azure DNS."""
    if answer.addresses:
        return not all(is_private(a) for a in answer.addresses)
    zone = answer.soa_zone or ""
    return answer.rcode == "NXDOMAIN" and bool(zone) and not zone.startswith("privatelink.")


def _local_copy(answer: DnsAnswer, name: ExpectedName) -> bool:
    """The server's "no" came from a zone on the way from the name to its private record that
    Azure DNS answers: a zone the server holds itself (AA), or one a CNAME led into (BIND
    follows a forwarded CNAME into its own copy and answers NXDOMAIN with that zone's SOA,
    without AA) - a hand-made copy, not a missing forwarder."""
    zone = answer.soa_zone
    if not zone or answer.addresses:
        return False
    inside = [n for n in (name.fqdn, *answer.cname_chain) if n == zone or n.endswith("." + zone)]
    return bool(inside) and (answer.authoritative or any(n in answer.cname_chain for n in inside))


def _record(name: ExpectedName, zone: str) -> str:
    """The record the local copy of ``zone`` needs for the name (owner relative to the zone)."""
    if zone == name.zone_name:
        return name.record_name
    return name.fqdn.removesuffix("." + zone) if name.fqdn != zone else "@"


def _owner(name: ExpectedName, zone: str) -> str:
    """The record's owner as a zone-file line spells it in full: ``<record>.<zone>.``, the
    zone's own name for its apex (``@``)."""
    record = _record(name, zone)
    return f"{zone}." if record == "@" else f"{record}.{zone}."


def _why(answer: DnsAnswer, name: ExpectedName) -> str:
    said = describe(answer)
    if any(c == name.zone_name or c.endswith("." + name.zone_name) for c in answer.cname_chain):
        # The public CNAME points into the privatelink zone, yet the server did not ask Azure
        # DNS for the target: it forwards (at most) the privatelink zone and does not chase
        # CNAMEs into it, as dnsmasq does not.
        return (
            f"{said} (the server does not follow the CNAME into {name.zone_name}; forward the "
            "public zone, not only the privatelink one)"
        )
    return said


def _spellings(zones: list[str]) -> str:
    """When a zone to forward is a compute-instance zone with two published spellings (the
    public cloud's, US Government's), that either works; else nothing (China's has one)."""
    for spellings in COMPUTE_INSTANCE_ZONES.values():
        if set(spellings) & set(zones):
            return f" For compute instances either spelling of the zone ({' / '.join(spellings)}) works."
    return ""


def _remediation(
    server: str,
    azure_dns: str,
    zones: list[str],
    local: dict[str, list[tuple[ExpectedName, DnsAnswer]]],
    stripped: list[ExpectedName],
    unexplained: list[ExpectedName],
    loop: Remediation | None = None,
) -> Remediation:
    """Forwarders for the zones that are not (or wrongly) forwarded, one snippet per server kind
    and one command per zone; for each local copy, the records it lacks as zone-file lines; for
    stripped answers, the exemption from rebinding protection per server kind; for answers no
    cause explains, what to look at (never a forwarder the evidence does not call for)."""
    lines = sorted(
        {
            f"{_owner(n, zone)} IN A {ip}"
            for zone, names in local.items()
            for n, _ in names
            for ip in n.expected_ips
        }
    )
    copies = (
        f"Add to the server's own copy of {', '.join(sorted(local))}: {'; '.join(lines)} "
        "(or delete the copy so the server forwards those names to Azure DNS). Forwarding the "
        "public zone changes nothing while the server holds the copy."
        if local
        else ""
    )
    extra = " ".join(
        t for t in (copies, _exempt(stripped), _look(server, unexplained), loop and loop.text) if t
    )
    if not zones:
        return Remediation(extra, loop.command if loop else None)
    per_zone = [
        META.remediation(
            server=server,
            azure_dns=azure_dns,
            zone=zone,
            zones=", ".join(zones),
            bind=" ".join(
                f'zone "{z}" {{ type forward; forward only; forwarders {{ {azure_dns}; }}; }};'
                for z in zones
            ),
            dnsmasq=" ".join(f"server=/{z}/{azure_dns}" for z in zones),
            unbound=" ".join(f'forward-zone: name: "{z}" forward-addr: {azure_dns}' for z in zones),
            spellings=_spellings(zones),
        )
        for zone in zones
    ]
    text = " ".join(t for t in (per_zone[0].text, extra) if t)
    commands = [r.command or "" for r in per_zone] + (
        [loop.command] if loop and loop.command else []
    )
    return Remediation(text, "; ".join(commands))


def _exempt(names: list[ExpectedName]) -> str:
    """Exempt the names' public zones from DNS-rebinding protection, per server kind."""
    if not names:
        return ""
    zones = sorted({z for n in names for z in n.forwarder_zones or (n.zone_name,)})
    return (
        f"Exempt {', '.join(zones)} from the server's DNS-rebinding protection (private "
        "addresses are these names' right answer); adding forwarders changes nothing. "
        "Unbound (pfSense/OPNsense): "
        + " ".join(f'private-domain: "{z}"' for z in zones)
        + "; dnsmasq: "
        + " ".join(f"rebind-domain-ok=/{z}/" for z in zones)
        + "; BIND: deny-answer-addresses { ... } except-from { "
        + " ".join(f'"{z}";' for z in zones)
        + " };"
    )


def _look(server: str, names: list[ExpectedName]) -> str:
    if not names:
        return ""
    return (
        f"For {', '.join(n.fqdn for n in names[:3])}: query {server} by hand (dig @{server} "
        f"{names[0].fqdn} A +norecurse, then without) and compare each hop with Azure DNS; "
        "netverify did not find which of the server's settings gives this answer."
    )
