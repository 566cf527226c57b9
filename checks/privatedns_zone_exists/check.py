"""The private DNS zone that must hold a workspace's records exists."""

from collections.abc import Iterator

from netverify.azure.arm_ids import cli_subscription
from netverify.checklib.catalog import load_meta
from netverify.checklib.dns import (
    answered_privately,
    impact,
    name_evidence,
    record_breaks,
    resource_group,
    zone_reads,
)
from netverify.checklib.judging import failed_read
from netverify.facts import ExpectedName, Facts, ReadProblem
from netverify.model import Evidence, Finding, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    dns = facts.dns
    if dns is None:
        return
    by_zone: dict[tuple[str, str], list[ExpectedName]] = {}
    for name in dns.expected:
        by_zone.setdefault((name.workspace_id, name.zone_name), []).append(name)
    for (workspace_id, zone_name), names in by_zone.items():
        reads = zone_reads(dns, names[0])
        found = [r for r in reads if r.value is not None]
        observed = {
            "zone_ids": [r.resource_id for r in reads],
            "names": [name_evidence(dns, n) for n in names],
        }
        expected = {"zone": zone_name}
        if found:
            yield Finding(
                META,
                Status.PASS,
                found[0].resource_id,
                f"Private DNS zone {zone_name} of workspace {names[0].workspace_name} exists.",
                Evidence(observed, expected),
                subject=workspace_id,
            )
            continue
        unread = [r for r in reads if r.failure and r.failure.problem is not ReadProblem.NOT_FOUND]
        if unread:
            yield failed_read(META, unread[0], "private DNS zone", linked=False)
            continue
        search = dns.zone_search
        if not reads and search is not None and search.failure is not None:
            # Not found because not searched: "missing" would be a claim without evidence.
            yield failed_read(META, search, "list of private DNS zones", linked=False)
            continue
        if all(answered_privately(dns, n) for n in names):
            # DNS outranks the inventory: the names work (DNS kept on the VNet's own servers).
            yield Finding(
                META,
                Status.SKIPPED,
                workspace_id,
                f"No Azure private DNS zone {zone_name} for workspace {names[0].workspace_name} "
                f"is needed: the VNet's DNS already answers its {len(names)} name(s) with the "
                "private endpoint's IPs.",
                Evidence(observed, expected),
                subject=workspace_id,
            )
            continue
        where = (
            f"its zone group names {reads[0].resource_id}, which does not exist"
            if reads
            else "no zone of that name is in the zone group of its private endpoint, nor in any "
            "subscription this identity can see"
        )
        # Where the zone belongs: the id its zone group names, else the workspace's group.
        zone_home = reads[0].resource_id if reads else workspace_id
        yield Finding(
            META,
            Status.FAIL,
            zone_home,
            f"Private DNS zone {zone_name} of workspace {names[0].owner} is missing: "
            f"{where}; {len(names)} name(s) cannot resolve privately." + impact(names),
            Evidence(observed, expected),
            META.remediation(
                zone_name=zone_name,
                workspace_name=names[0].workspace_name,
                subscription=cli_subscription(zone_home),
                resource_group=resource_group(zone_home),
            ),
            subject=workspace_id,
            breaks=record_breaks(names),
        )
