"""Every name a workspace's private endpoint serves has its A record in the private zone."""

from collections.abc import Iterator

from netverify.checklib.catalog import load_meta
from netverify.checklib.dns import name_evidence, name_finding, record_names, serving_zones
from netverify.checklib.judging import skipped
from netverify.facts import Facts
from netverify.model import Evidence, Finding, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    dns = facts.dns
    if dns is None:
        return
    for name in dns.expected:
        zones = serving_zones(dns, name)
        if not zones:
            yield skipped(META, name.fqdn, f"No readable zone {name.zone_name} to look in.")
            continue
        found = [(z, r) for z in zones if (r := z.record(name.record_name)) is not None]
        observed = {
            **name_evidence(dns, name),
            "zones": [z.id for z in zones],
            "record": {z.id: list(r.values) for z, r in found},
        }
        expected = {"record": f"{name.record_name}.{name.zone_name}", "type": "A"}
        if found:
            yield name_finding(
                META,
                Status.PASS,
                name,
                f"Zone {name.zone_name} holds {name.record_name} for {name.purpose} of "
                f"{name.workspace_name}.",
                Evidence(observed, expected),
            )
            continue
        zone = zones[0]
        yield name_finding(
            META,
            Status.FAIL,
            name,
            f"Zone {name.zone_name} has no A record {name.record_name}: {name.fqdn} "
            f"({name.purpose} of {name.workspace_name}) cannot resolve to its private endpoint.",
            Evidence(observed, expected),
            META.remediation(**record_names(name, zone)),
        )
