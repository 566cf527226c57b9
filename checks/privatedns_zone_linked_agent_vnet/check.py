"""The private DNS zone that holds a workspace's records is linked to the agent's VNet."""

from collections.abc import Iterator

from netverify.checklib.catalog import load_meta
from netverify.checklib.dns import name_evidence, resource_group, zone_reads
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
    vnet_id = dns.agent_vnet_id
    for zone, names in served.values():
        if vnet_id is None:
            yield skipped(META, zone.id, "agent.vnet_id is not configured: no VNet to judge.")
            continue
        observed = {
            "linked_vnets": list(zone.linked_vnet_ids),
            "names": [name_evidence(dns, n) for n in names],
        }
        expected = {"linked_vnet": vnet_id}
        if zone.linked_to(vnet_id):
            yield Finding(
                META,
                Status.PASS,
                zone.id,
                f"Zone {zone.name} is linked to the agent's VNet.",
                Evidence(observed, expected),
            )
            continue
        # Another zone of the same name, linked, may serve these names instead (DNS kept in
        # a hub); then this zone is not the one to link and the record checks judge the rest.
        other = _linked_twin(facts, zone, names, vnet_id)
        if other is not None:
            yield Finding(
                META,
                Status.PASS,
                zone.id,
                f"Zone {zone.id} is not linked to the agent's VNet, but {other} of the same name is.",
                Evidence(observed, expected),
            )
            continue
        workspaces = sorted({n.workspace_name for n in names})
        yield Finding(
            META,
            Status.FAIL,
            zone.id,
            f"Zone {zone.name} ({zone.id}) holds the records of {', '.join(workspaces)} but is not "
            f"linked to the agent's VNet: Azure DNS there does not answer from it.",
            Evidence(observed, expected),
            META.remediation(
                zone_name=zone.name,
                resource_group=resource_group(zone.id),
                link_name=f"link-{vnet_id.rsplit('/', 1)[-1]}",
                vnet_id=vnet_id,
            ),
        )


def _linked_twin(
    facts: Facts, zone: PrivateDnsZone, names: list[ExpectedName], vnet_id: str
) -> str | None:
    assert facts.dns is not None
    for name in names:
        for read in zone_reads(facts.dns, name):
            twin = read.value
            if twin is not None and twin.id.lower() != zone.id.lower() and twin.linked_to(vnet_id):
                return twin.id
    return None
