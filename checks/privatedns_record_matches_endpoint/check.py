"""A workspace name's A record holds the IPs of its private endpoint, not stale ones."""

from collections.abc import Iterator

from netverify.checklib.catalog import load_meta
from netverify.checklib.dns import name_evidence, record_names, serving_zones
from netverify.facts import Facts
from netverify.model import Evidence, Finding, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    dns = facts.dns
    if dns is None:
        return
    for name in dns.expected:
        for zone in serving_zones(dns, name):
            record = zone.record(name.record_name)
            if record is None:
                continue  # privatedns_record_present says so
            observed = {
                **name_evidence(dns, name),
                "zone": zone.id,
                "record_ips": list(record.values),
            }
            expected = {"record_ips": list(name.expected_ips)}
            stale = sorted(set(record.values) - set(name.expected_ips))
            if set(record.values) == set(name.expected_ips):
                yield Finding(
                    META,
                    Status.PASS,
                    name.fqdn,
                    f"Record {name.record_name} in {zone.name} holds the private endpoint's IP "
                    f"{', '.join(name.expected_ips)}.",
                    Evidence(observed, expected),
                    subject=zone.id,
                )
                continue
            yield Finding(
                META,
                Status.FAIL,
                name.fqdn,
                f"Record {name.record_name} in {zone.name} holds {', '.join(record.values)}, but "
                f"the private endpoint of {name.workspace_name} has {', '.join(name.expected_ips)}: "
                f"{name.fqdn} resolves to a stale address.",
                Evidence(observed, expected),
                META.remediation(
                    **record_names(name, zone), stale_ip=",".join(stale or record.values)
                ),
                subject=zone.id,
            )
