"""What the DNS checks share: the resolution matrix as evidence, and how an answer compares."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from netverify.azure.arm_ids import cli_subscription, resource_group_of
from netverify.azure.dns_names import REGISTRY
from netverify.azure.net import is_private
from netverify.checklib.judging import skipped
from netverify.facts import (
    DnsAnswer,
    DnsFacts,
    ExpectedName,
    ForwardingRule,
    ForwardingRuleset,
    PrivateDnsZone,
    Read,
    ResolverKind,
)
from netverify.model import CheckMeta, Evidence, Finding, Link, Remediation, Status


def resolutions(dns: DnsFacts, fqdns: Iterable[str]) -> list[dict[str, object]]:
    """The resolution matrix as evidence: one object per FQDN x resolver with the raw answer
    (the shape the HTML report reads; a resolver not asked has rcode "NOT_ASKED")."""
    rows: list[dict[str, object]] = []
    for fqdn in dict.fromkeys(f.lower() for f in fqdns):
        for resolver in dns.resolvers:
            answer = dns.answer(fqdn, resolver.name)
            cell: dict[str, object] = {
                "fqdn": fqdn,
                "resolver": resolver.name,
                "resolver_kind": resolver.kind.value,
                "rcode": answer.rcode if answer else "NOT_ASKED",
            }
            if answer is not None:
                cell |= {
                    "addresses": list(answer.addresses),
                    "cname_chain": list(answer.cname_chain),
                    "authoritative": answer.authoritative,
                    "soa_zone": answer.soa_zone,
                    "server": answer.server,
                    "latency_ms": round(answer.latency_ms, 1),
                    **({"detail": answer.detail} if answer.detail else {}),
                }
            rows.append(cell)
    return rows


def answer_detail(answer: DnsAnswer) -> dict[str, object]:
    """One answer in full, for evidence."""
    return {
        "server": answer.server,
        "rcode": answer.rcode,
        "authoritative": answer.authoritative,
        "soa_zone": answer.soa_zone,
        "cname_chain": list(answer.cname_chain),
        "addresses": list(answer.addresses),
        "transport": answer.transport,
        "latency_ms": round(answer.latency_ms, 1),
        **({"detail": answer.detail} if answer.detail else {}),
    }


def resolves_to(answer: DnsAnswer | None, expected: ExpectedName) -> bool:
    """The answer gives addresses, and every one is an IP of the private endpoint."""
    return (
        answer is not None
        and answer.rcode == "NOERROR"
        and bool(answer.addresses)
        and set(answer.addresses) <= set(expected.expected_ips)
    )


def wrong_answer_needs(
    dns: DnsFacts, fqdn: str, wrong: Callable[[DnsAnswer], bool]
) -> frozenset[str]:
    """The links a wrong answer for ``fqdn`` follows from (``Finding.needs``): the answer of
    each resolver whose answer is ``wrong``, and Azure DNS's private record of the name."""
    return frozenset(
        {
            Link.record(fqdn),
            *(
                Link.answer(fqdn, r.name)
                for r in dns.resolvers
                if (answer := dns.answer(fqdn, r.name)) is not None and wrong(answer)
            ),
        }
    )


def wrong_address_needs(dns: DnsFacts, fqdn: str, address: str) -> frozenset[str]:
    """An address no private endpoint of ``fqdn`` has was connected to because a resolver
    answered it: what follows from that answer (or the record behind it). Nothing at one of
    the endpoints' own addresses (then the path itself is the cause: NSG, route, firewall),
    nor for a name no private endpoint serves."""
    right = {ip for n in dns.expected if n.fqdn == fqdn.lower() for ip in n.expected_ips}
    if not right or address in right:
        return frozenset()
    return wrong_answer_needs(dns, fqdn, lambda a: address in a.addresses)


def record_breaks(names: Iterable[ExpectedName]) -> frozenset[str]:
    """What a fail about the zone data of ``names`` breaks: Azure DNS's record of each."""
    return frozenset(Link.record(n.fqdn) for n in names)


def same_answer(a: DnsAnswer, b: DnsAnswer) -> bool:
    return (a.rcode, set(a.addresses)) == (b.rcode, set(b.addresses))


def describe(answer: DnsAnswer) -> str:
    """An answer as a reader would say it: a public/private address, NXDOMAIN, a bare CNAME."""
    if not answer.answered:
        return answer.summary()
    if answer.rcode == "NXDOMAIN":
        return "NXDOMAIN"
    if not answer.addresses:
        tail = (
            f"a CNAME to {answer.cname_chain[-1]} and no address"
            if answer.cname_chain
            else "no address"
        )
        return tail
    kind = "private" if all(is_private(a) for a in answer.addresses) else "public"
    return f"{kind} {', '.join(answer.addresses)}"


def vnet_resolver_names(dns: DnsFacts) -> list[str]:
    """The resolvers a VM in the agent's VNet is given by DHCP: its custom DNS servers (those
    of the VNet, not extra configured ones), or Azure DNS when it has none."""
    vnet = dns.agent_vnet.value if dns.agent_vnet is not None else None
    declared = set(vnet.dns_servers) if vnet is not None else set()
    customs = [r.name for r in dns.resolvers_of(ResolverKind.CUSTOM) if r.address in declared]
    return customs or [r.name for r in dns.resolvers_of(ResolverKind.AZURE)]


def answering_vnets(dns: DnsFacts) -> dict[str, list[str]]:
    """The VNets whose Azure DNS answers at the end of the VNet's DNS path (ids as ARM spells
    them, one entry per VNet whatever the case), each with the addresses of the resolvers whose
    path ends there (``DnsFacts.azure_dns_vnet``): the agent's VNet when it uses Azure DNS, the
    hub's when its DNS server or resolver lives there."""
    by_name = {r.name: r for r in dns.resolvers}
    vnets: dict[str, list[str]] = {}
    spelled: dict[str, str] = {}
    for name in vnet_resolver_names(dns):
        vnet = dns.azure_dns_vnet(by_name[name])
        if vnet is not None:
            key = spelled.setdefault(vnet.lower(), vnet)
            vnets.setdefault(key, []).append(by_name[name].address)
    return vnets


def zones_answer_privately(dns: DnsFacts, name: ExpectedName, vnet_id: str) -> bool:
    """Azure DNS of ``vnet_id`` would give the name its private IPs, by the ARM facts: a zone
    of the name linked to that VNet holds its record with the endpoint's IPs. For a VNet the
    agent cannot ask Azure DNS from (a hub's)."""
    for zone in (r.value for r in _reads(dns, name.zone_ids) if r.value is not None):
        record = zone.record(name.record_name)
        if zone.linked_to(vnet_id) and record and set(record.values) <= set(name.expected_ips):
            return bool(record.values)
    return False


def exists_privately(dns: DnsFacts, name: ExpectedName) -> bool:
    """Azure DNS gives the name its private IPs - as the agent asked it, or, for the VNet
    where the VNet's DNS path reaches Azure DNS, by the zones linked there: the name exists,
    so a resolver that fails on it fails the workload."""
    if any(
        resolves_to(dns.answer(name.fqdn, r.name), name)
        for r in dns.resolvers_of(ResolverKind.AZURE)
    ):
        return True
    return any(zones_answer_privately(dns, name, vnet) for vnet in answering_vnets(dns))


def answered_privately(dns: DnsFacts, name: ExpectedName) -> bool:
    """Every resolver of the VNet answers the name with its private endpoint's IPs: the DNS
    evidence that the name works, whatever the zone inventory says."""
    answers = [dns.answer(name.fqdn, r) for r in vnet_resolver_names(dns)]
    return bool(answers) and all(resolves_to(a, name) for a in answers)


def serving_zones(dns: DnsFacts, name: ExpectedName) -> list[PrivateDnsZone]:
    """The readable zones that may serve ``name``; those linked to the agent's VNet when any is,
    because those are the ones Azure DNS answers from."""
    zones = [z.value for z in _reads(dns, name.zone_ids) if z.value is not None]
    if dns.agent_vnet_id:
        linked = [z for z in zones if z.linked_to(dns.agent_vnet_id)]
        return linked or zones
    return zones


def _reads(dns: DnsFacts, zone_ids: Iterable[str]) -> Iterator[Read[PrivateDnsZone]]:
    for zone_id in zone_ids:
        read = dns.zone(zone_id)
        if read is not None:
            yield read


def zone_reads(dns: DnsFacts, name: ExpectedName) -> list[Read[PrivateDnsZone]]:
    return list(_reads(dns, name.zone_ids))


def name_finding(
    meta: CheckMeta,
    status: Status,
    name: ExpectedName,
    message: str,
    evidence: Evidence,
    remediation: Remediation | None = None,
    *,
    breaks: frozenset[str] = frozenset(),
    needs: frozenset[str] = frozenset(),
) -> Finding:
    """A finding about one expected name: on its FQDN, one per workspace that expects it."""
    return Finding(
        meta,
        status,
        name.fqdn,
        message,
        evidence,
        remediation,
        name.workspace_id,
        breaks=breaks,
        needs=needs,
    )


def name_evidence(dns: DnsFacts, name: ExpectedName) -> dict[str, object]:
    """Who needs the name, and its row of the resolution matrix.

    Built once per name and run (``DnsFacts.evidence_memo``): every finding that shows the
    name's row shares this one object, so no check changes it (one that adds keys spreads it
    into a dict of its own)."""
    memo = dns.evidence_memo
    key = ("name_evidence", name)
    found = memo.get(key)
    if found is None:
        found = memo[key] = {
            "fqdn": name.fqdn,
            "purpose": name.purpose,
            "workspace": name.workspace_name,
            **({"hub": name.hub_name, "hub_id": name.hub_id} if name.hub_id else {}),
            "private_endpoints": list(name.private_endpoint_ids),
            "sources": list(name.sources),
            "resolutions": resolutions(dns, [name.fqdn]),
        }
    return found


# The troubleshooting guide's symptom of a registry the deployment cannot reach privately.
IMAGE_BUILD_FAILURE = (
    "Image builds and pulls of {workspace}'s deployments fail with ImageBuildFailure "
    '("failed to communicate with the workspace\'s container registry")'
)


def impact(names: Iterable[ExpectedName]) -> str:
    """What the workload sees when ``names`` do not resolve privately, as a sentence to append
    to a fail's message ("" when the guide names no symptom for them): for a registry name, the
    guide's ImageBuildFailure."""
    workspaces = sorted({n.owner for n in names if n.purpose == REGISTRY})
    if not workspaces:
        return ""
    return f" {IMAGE_BUILD_FAILURE.format(workspace=', '.join(workspaces))}."


def resource_group(resource_id: str) -> str:
    """The resource group to put in a remediation command; empty when the id names none."""
    return resource_group_of(resource_id) or ""


def record_names(name: ExpectedName, zone: PrivateDnsZone) -> dict[str, str]:
    """The names a record remediation command is filled with."""
    return {
        "workspace_name": name.workspace_name,
        "subscription": cli_subscription(zone.id),
        "resource_group": resource_group(zone.id),
        "zone_name": zone.name,
        "record_name": name.record_name,
        "ip": ",".join(name.expected_ips),
    }


def unread_rulesets(meta: CheckMeta, dns: DnsFacts, unseen: str) -> Iterator[Finding]:
    """A skipped finding for each DNS Private Resolver / forwarding ruleset list that could not
    be read; ``unseen`` ends its message: what a rule there could do unnoticed."""
    for read in dns.private_resolvers:
        if read.failure is not None:
            yield skipped(
                meta,
                read.resource_id,
                f"The DNS resolvers and forwarding rulesets could not be read "
                f"({read.failure.message}): {unseen}",
            )


def looping_rules(
    dns: DnsFacts, vnet_ids: Iterable[str], names: Iterable[ExpectedName]
) -> list[tuple[ForwardingRuleset, ForwardingRule]]:
    """Enabled forwarding rules that send any of ``names`` (or their privatelink zone) back
    into Azure DNS of a VNet they apply in: the rule's ruleset is linked to one of
    ``vnet_ids`` and the rule targets an inbound endpoint in a VNet that ruleset is linked to -
    the loop the endpoints-and-rulesets article warns against. Shape: (ruleset, rule) pairs."""
    wanted = {v.lower() for v in vnet_ids}
    names = list(names)
    found = []
    for ruleset in dns.rulesets:
        linked = {v.lower() for v in ruleset.linked_vnet_ids}
        if not linked & wanted:
            continue
        inbound = {e.ip for e in dns.inbound_endpoints if e.vnet_id.lower() in linked}
        for rule in ruleset.rules:
            covered = any(rule.covers(n.fqdn) or rule.covers(n.zone_name) for n in names)
            if rule.enabled and covered and inbound & set(rule.targets):
                found.append((ruleset, rule))
    return found


def matching_rule(
    dns: DnsFacts, vnet_id: str, name: ExpectedName
) -> tuple[ForwardingRuleset, ForwardingRule] | None:
    """The forwarding rule Azure DNS of ``vnet_id`` applies to ``name``: of the enabled rules
    of every ruleset linked to that VNet, the longest domain suffix of the name itself; else
    (Azure DNS follows the public CNAME into the privatelink zone) of the name's privatelink
    zone. None when no rule matches: Azure DNS answers from the zones linked to the VNet."""
    linked = [s for s in dns.rulesets if vnet_id.lower() in {v.lower() for v in s.linked_vnet_ids}]
    for queried in (name.fqdn.lower(), name.zone_name.lower()):
        matches = [(s, r) for s in linked for r in s.rules if r.enabled and r.covers(queried)]
        if matches:
            return max(matches, key=lambda m: len(m[1].domain))
    return None
