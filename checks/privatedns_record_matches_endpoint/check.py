"""A workspace name's A record holds the IPs of its private endpoint, not stale ones."""

from collections.abc import Iterator

from netverify.checklib.catalog import load_meta
from netverify.checklib.dns import name_evidence, record_breaks, record_names, serving_zones
from netverify.facts import ExpectedName, Facts, PrivateDnsZone
from netverify.model import Evidence, Finding, Remediation, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    dns = facts.dns
    if dns is None:
        return
    for name in dns.expected:
        if not name.endpoints:
            continue  # no endpoint has an IP for it: nothing to compare a record with
        for zone in serving_zones(dns, name):
            record = zone.record(name.record_name)
            if record is None:
                continue  # privatedns_record_present says so
            observed = {
                **name_evidence(dns, name),
                "zone": zone.id,
                "record_ips": list(record.values),
            }
            expected = {"record_ips": list(name.expected_ips), "endpoint_ips": list(name.all_ips)}
            # Several IPs (several NICs or endpoints of the resource) are right; an IP is stale
            # only when no endpoint of the resource has it.
            stale = sorted(set(record.values) - set(name.all_ips))
            serving = set(record.values) & set(name.expected_ips)
            if not stale and serving:
                yield Finding(
                    META,
                    Status.PASS,
                    name.fqdn,
                    f"Record {name.record_name} in {zone.name} holds the private endpoint's IP "
                    f"{', '.join(sorted(serving))}.",
                    Evidence(observed, expected),
                    subject=zone.id,
                )
                continue
            withheld = set(record.values) & set(name.withheld_ips)
            why = (
                f"{', '.join(stale)} belongs to no private endpoint of {name.workspace_name}"
                if stale
                else f"{', '.join(sorted(withheld))} belongs to a private endpoint whose "
                "connection is not Approved (privateendpoint_connection_approved)"
                if withheld
                else "none of them belongs to a private endpoint the agent's VNet reaches"
            )
            yield Finding(
                META,
                Status.FAIL,
                name.fqdn,
                f"Record {name.record_name} in {zone.name} holds {', '.join(record.values)}, but "
                f"the private endpoint of {name.workspace_name} has {', '.join(name.expected_ips)} "
                f"({why}): {name.fqdn} resolves to a stale address.",
                Evidence(observed, expected),
                _remediation(name, zone, [] if serving else list(name.expected_ips[:1]), stale),
                subject=zone.id,
                breaks=record_breaks([name]),
            )


def _remediation(
    name: ExpectedName, zone: PrivateDnsZone, add: list[str], remove: list[str]
) -> Remediation:
    """One ``az`` command per address to add (a serving endpoint's) or remove (a stale one)."""
    names = record_names(name, zone)
    steps = [
        META.remediation(**{**names, "action": action, "ip": ip})
        for action, ips in (("add", add), ("remove", remove))
        for ip in ips
    ]
    text = META.remediation(**names, action="add").text
    return Remediation(text, " && ".join(s.command or "" for s in steps))
