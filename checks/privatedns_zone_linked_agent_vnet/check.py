"""The private DNS zone that holds a workspace's records is linked to the VNet whose Azure DNS
answers the agent's VNet: the agent's own, or the hub's where its DNS server or resolver is."""

from collections.abc import Iterator

from netverify.azure.arm_ids import cli_subscription, name_of
from netverify.checklib.catalog import load_meta
from netverify.checklib.dns import (
    answering_vnets,
    impact,
    name_evidence,
    record_breaks,
    resource_group,
    zone_reads,
)
from netverify.checklib.judging import skipped
from netverify.facts import ExpectedName, Facts, PrivateDnsZone
from netverify.model import Evidence, Finding, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    dns = facts.dns
    if dns is None:
        return
    served: dict[str, tuple[PrivateDnsZone, list[ExpectedName]]] = {}
    for name in dns.expected:
        for read in zone_reads(dns, name):
            if read.value is not None:
                served.setdefault(read.value.id.lower(), (read.value, []))[1].append(name)
    agent = dns.agent_vnet_id
    # Where the VNet's DNS path reaches Azure DNS: a link there is what makes the zone answer.
    answering = answering_vnets(dns) if agent else {}
    for zone, names in served.values():
        if agent is None:
            yield skipped(META, zone.id, "agent.vnet_id is not configured: no VNet to judge.")
            continue
        observed = {
            "linked_vnets": list(zone.linked_vnet_ids),
            "names": [name_evidence(dns, n) for n in names],
            "azure_dns_vnets": answering,
        }
        needed = list(answering) or [agent]
        expected = {"linked_vnets": needed}
        missing = [v for v in needed if not zone.linked_to(v)]
        if not missing:
            yield Finding(
                META,
                Status.PASS,
                zone.id,
                _linked(zone, agent, answering),
                Evidence(observed, expected),
            )
            continue
        # Another zone of the same name, linked, may serve these names instead (DNS kept in
        # a hub); then this zone is not the one to link and the record checks judge the rest.
        other = _linked_twin(facts, zone, names, missing)
        if other is not None:
            yield Finding(
                META,
                Status.PASS,
                zone.id,
                f"Zone {zone.id} is not linked to {name_of(missing[0])}, but {other} of the same "
                "name is.",
                Evidence(observed, expected),
            )
            continue
        workspaces = sorted({n.owner for n in names})
        target = missing[0]
        where = (
            "the agent's VNet"
            if target.lower() == agent.lower()
            else f"{name_of(target)}, where the VNet's DNS server "
            f"{', '.join(answering[target])} asks Azure DNS"
        )
        yield Finding(
            META,
            Status.FAIL,
            zone.id,
            f"Zone {zone.name} ({zone.id}) holds the records of {', '.join(workspaces)} but is not "
            f"linked to {where}: Azure DNS there does not answer from it." + impact(names),
            Evidence(observed, expected),
            META.remediation(
                zone_name=zone.name,
                subscription=cli_subscription(zone.id),
                resource_group=resource_group(zone.id),
                link_name=f"link-{name_of(target)}",
                vnet_id=target,
            ),
            breaks=record_breaks(names),
        )


def _linked(zone: PrivateDnsZone, agent: str, answering: dict[str, list[str]]) -> str:
    if zone.linked_to(agent):
        return f"Zone {zone.name} is linked to the agent's VNet."
    hubs = ", ".join(
        f"{name_of(vnet)} (whose Azure DNS answers for the VNet's DNS server {', '.join(servers)})"
        for vnet, servers in answering.items()
    )
    return (
        f"Zone {zone.name} is linked to {hubs}; the agent's VNet {name_of(agent)} itself has no "
        "link and needs none while its names resolve through that server."
    )


def _linked_twin(
    facts: Facts, zone: PrivateDnsZone, names: list[ExpectedName], vnets: list[str]
) -> str | None:
    assert facts.dns is not None
    for name in names:
        for read in zone_reads(facts.dns, name):
            twin = read.value
            if (
                twin is not None
                and twin.id.lower() != zone.id.lower()
                and any(twin.linked_to(v) for v in vnets)
            ):
                return twin.id
    return None
