"""Every name a workspace's private endpoint serves has its A record in the private zone."""

from collections.abc import Iterator

from netverify.azure.arm_ids import cli_subscription
from netverify.checklib.catalog import load_meta
from netverify.checklib.dns import (
    impact,
    name_evidence,
    name_finding,
    record_breaks,
    record_names,
    resource_group,
    serving_zones,
)
from netverify.checklib.judging import skipped
from netverify.facts import DnsFacts, ExpectedName, Facts, PrivateDnsZone, PrivateEndpoint
from netverify.model import Evidence, Finding, Remediation, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    dns = facts.dns
    if dns is None:
        return
    for name in dns.expected:
        zones = serving_zones(dns, name)
        if not name.expected_ips:
            continue  # no endpoint serves the name: dns_name_resolves_private_endpoint says why
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
                f"{name.owner}.",
                Evidence(observed, expected),
            )
            continue
        zone = zones[0]
        outside = _endpoints_without_zone(dns, name, zone)
        if outside:
            # The zone exists where the VNet resolves from, but no zone group writes into it
            # (a landing-zone policy attached another zone only): the zone group is the fix.
            pe = outside[0]
            yield name_finding(
                META,
                Status.FAIL,
                name,
                f"Zone {zone.name} ({zone.id}) has no A record {name.record_name}: it is not in "
                f"the zone group of private endpoint {pe.name}, so Azure never writes it; "
                f"{name.fqdn} ({name.purpose} of {name.owner}) cannot resolve to "
                f"{', '.join(name.expected_ips)}." + impact([name]),
                Evidence({**observed, "zone_group_zones": list(pe.zone_ids)}, expected),
                Remediation(
                    f"Add zone {zone.id} to the zone group of private endpoint {pe.name}, so Azure "
                    f"writes {name.record_name} there (or add the record by hand).",
                    "az network private-endpoint dns-zone-group add --subscription "
                    f"{cli_subscription(pe.id)} --resource-group "
                    f"{resource_group(pe.id)} --endpoint-name {pe.name} --name "
                    f"{pe.zone_group_names[0] if pe.zone_group_names else 'default'} "
                    f"--zone-name {zone.name.replace('.', '-')} --private-dns-zone {zone.id}",
                ),
                breaks=record_breaks([name]),
            )
            continue
        commands = [
            META.remediation(**{**record_names(name, zone), "ip": ip}) for ip in name.expected_ips
        ]
        yield name_finding(
            META,
            Status.FAIL,
            name,
            f"Zone {name.zone_name} has no A record {name.record_name}: {name.fqdn} "
            f"({name.purpose} of {name.owner}) cannot resolve to its private endpoint."
            + impact([name]),
            Evidence(observed, expected),
            Remediation(
                META.remediation(**record_names(name, zone)).text,
                " && ".join(c.command or "" for c in commands),
            ),
            breaks=record_breaks([name]),
        )


def _endpoints_without_zone(
    dns: DnsFacts, name: ExpectedName, zone: PrivateDnsZone
) -> list[PrivateEndpoint]:
    """The serving endpoints (read) whose zone groups do not name ``zone``."""
    reads = [dns.private_endpoints.get(pe.lower()) for pe in name.private_endpoint_ids]
    return [
        r.value
        for r in reads
        if r is not None
        and r.value is not None
        and zone.id.lower() not in {z.lower() for z in r.value.zone_ids}
    ]
