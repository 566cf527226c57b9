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
    for name in dns.expected:
        mine = dns.answer(name.fqdn, server.name)
        reference = dns.answer(name.fqdn, azure.name) if azure else None
        # Only names Azure DNS resolves privately tell us anything about forwarding.
        if mine is None or not mine.answered or not resolves_to(reference, name):
            continue
        compared.append(name)
        if not resolves_to(mine, name):
            for zone in name.forwarder_zones or (name.zone_name,):
                wrong.setdefault(zone, []).append((name, mine))
    if not compared:
        return skipped(
            META,
            server.address,
            f"No name both answered by {server.name} and resolved privately by Azure DNS.",
        )
    observed = {
        "server": server.address,
        "resolutions": resolutions(dns, [n.fqdn for n in compared]),
        "zones_not_forwarded": sorted(wrong),
    }
    expected = {
        "forwarded_to_azure_dns": sorted(
            {z for n in compared for z in n.forwarder_zones or (n.zone_name,)}
        )
    }
    if not wrong:
        return Finding(
            META,
            Status.PASS,
            server.address,
            f"Custom DNS server {server.address} answers {len(compared)} name(s) with the private "
            "IPs Azure DNS gives.",
            Evidence(observed, expected),
            subject=server.name,
        )
    zones = sorted(wrong)
    examples = "; ".join(
        f"{zone}: {name.fqdn} -> {_why(answer, name)}"
        for zone in zones
        for name, answer in wrong[zone][:1]
    )
    azure_dns = dns.resolvers_of(ResolverKind.AZURE)[0].address if azure else AZURE_DNS
    return Finding(
        META,
        Status.FAIL,
        server.address,
        f"Custom DNS server {server.address} does not forward {', '.join(zones)} to Azure DNS: "
        f"{examples} (Azure DNS gives the private IP).",
        Evidence(observed, expected),
        _remediation(server.address, azure_dns, zones),
        subject=server.name,
    )


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


def _remediation(server: str, azure_dns: str, zones: list[str]) -> Remediation:
    """One snippet per server kind, each forwarding every missing zone; one command per zone."""
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
    return Remediation(per_zone[0].text, "; ".join(r.command or "" for r in per_zone))
