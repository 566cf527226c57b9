"""Each custom DNS server answers the workspace names as Azure DNS does, zone by zone."""

from collections.abc import Iterator

from netverify.checklib.catalog import load_meta
from netverify.checklib.dns import describe, resolutions, resolves_to
from netverify.checklib.judging import skipped
from netverify.facts import DnsAnswer, DnsFacts, ExpectedName, Facts, Resolver, ResolverKind
from netverify.model import Evidence, Finding, Remediation, Status

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
    compared: list[ExpectedName] = []
    wrong: dict[str, list[tuple[ExpectedName, DnsAnswer]]] = {}
    silent: dict[str, list[tuple[ExpectedName, DnsAnswer]]] = {}
    local: dict[str, list[tuple[ExpectedName, DnsAnswer]]] = {}
    answered_zones: set[str] = set()
    for name in dns.expected:
        mine = dns.answer(name.fqdn, server.name)
        reference = dns.answer(name.fqdn, azure.name) if azure else None
        zones = name.forwarder_zones or (name.zone_name,)
        if mine is not None and mine.answered:
            answered_zones.update(zones)
        # Only names Azure DNS resolves privately tell us anything about forwarding.
        if mine is None or not resolves_to(reference, name):
            continue
        compared.append(name)
        if resolves_to(mine, name):
            continue
        if not mine.answered:
            for zone in zones:
                silent.setdefault(zone, []).append((name, mine))
        elif _local_copy(mine, name):
            local.setdefault(mine.soa_zone or "", []).append((name, mine))
        else:
            for zone in zones:
                wrong.setdefault(zone, []).append((name, mine))
    # Timeouts or SERVFAIL confined to a zone while the server answers others: that zone's
    # forwarder points at a dead or wrong target. A server that answers nothing at all is
    # dns_resolver_answers' finding, not a forwarding one.
    dead = {z: names for z, names in silent.items() if z not in answered_zones and answered_zones}
    if not compared:
        return skipped(
            META,
            server.address,
            f"No name both asked of {server.name} and resolved privately by Azure DNS.",
        )
    if not answered_zones:
        return skipped(
            META,
            server.address,
            f"{server.name} answered no name at all: nothing to say about its forwarders "
            "(dns_resolver_answers reports the server).",
        )
    observed = {
        "server": server.address,
        "resolutions": resolutions(dns, [n.fqdn for n in compared]),
        "zones_not_forwarded": sorted(wrong),
        "zones_forwarded_to_no_answer": sorted(dead),
        "local_zone_copies": sorted(local),
    }
    expected = {
        "forwarded_to_azure_dns": sorted(
            {z for n in compared for z in n.forwarder_zones or (n.zone_name,)}
        )
    }
    if not (wrong or dead or local):
        return Finding(
            META,
            Status.PASS,
            server.address,
            f"Custom DNS server {server.address} answers {len(compared)} name(s) with the private "
            "IPs Azure DNS gives.",
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
    if dead:
        causes.append(
            f"gets no answer for {', '.join(sorted(dead))} while it answers other zones: "
            + "; ".join(
                f"{z}: {len(names)} name(s), e.g. {names[0][0].fqdn} -> {names[0][1].summary()}"
                for z, names in sorted(dead.items())
            )
            + " (that zone's forwarder points at a target that does not answer)"
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
    azure_dns = azure.address if azure else AZURE_DNS
    return Finding(
        META,
        Status.FAIL,
        server.address,
        f"Custom DNS server {server.address} " + "; it ".join(causes) + " (Azure DNS gives the "
        "private IP).",
        Evidence(observed, expected),
        _remediation(server.address, azure_dns, sorted({*wrong, *dead}), local),
        subject=server.name,
    )


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


def _remediation(
    server: str,
    azure_dns: str,
    zones: list[str],
    local: dict[str, list[tuple[ExpectedName, DnsAnswer]]],
) -> Remediation:
    """Forwarders for the zones that are not (or wrongly) forwarded, one snippet per server kind
    and one command per zone; for each local copy, the records it lacks as zone-file lines."""
    lines = sorted(
        {
            f"{_record(n, zone)}.{zone}. IN A {ip}"
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
    if not zones:
        return Remediation(copies)
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
        )
        for zone in zones
    ]
    text = " ".join(t for t in (per_zone[0].text, copies) if t)
    return Remediation(text, "; ".join(r.command or "" for r in per_zone))
