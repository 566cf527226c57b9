"""Private IPs answered for a workspace name lie inside the VNet's (or the endpoint's) space."""

import ipaddress
from collections.abc import Iterator

from netverify.azure.arm_ids import cli_subscription
from netverify.azure.net import is_private
from netverify.checklib.catalog import load_meta
from netverify.checklib.dns import (
    name_evidence,
    name_finding,
    resource_group,
    serving_zones,
    wrong_answer_needs,
)
from netverify.checklib.judging import skipped
from netverify.facts import DnsFacts, ExpectedName, Facts
from netverify.model import Evidence, Finding, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    dns = facts.dns
    if dns is None:
        return
    vnet = dns.agent_vnet.value if dns.agent_vnet is not None else None
    for name in dns.expected:
        if vnet is None:
            yield skipped(META, name.fqdn, "The agent's VNet is not configured or not readable.")
            continue
        spaces = _spaces(dns, name, vnet.address_prefixes)
        answered = {
            ip: resolver.name
            for resolver in dns.resolvers
            if (answer := dns.answer(name.fqdn, resolver.name)) is not None
            for ip in answer.addresses
            if is_private(ip)
        }
        if not answered:
            yield skipped(META, name.fqdn, "No resolver answered a private address.")
            continue
        outside = {
            ip: by
            for ip, by in answered.items()
            if not any(ipaddress.ip_address(ip) in net for net in spaces)
        }
        observed = {**name_evidence(dns, name), "outside": outside}
        expected = {"address_space": [str(n) for n in spaces]}
        if not outside:
            yield name_finding(
                META,
                Status.PASS,
                name,
                f"{name.fqdn} resolves inside the VNet's address space.",
                Evidence(observed, expected),
            )
            continue
        zones = serving_zones(dns, name)
        zone_id = zones[0].id if zones else name.workspace_id
        yield name_finding(
            META,
            Status.FAIL,
            name,
            f"{name.fqdn} ({name.purpose} of {name.owner}) resolves to "
            f"{', '.join(outside)}, outside the address space {', '.join(map(str, spaces))} of "
            "the agent's VNet and the private endpoint's VNet.",
            Evidence(observed, expected),
            META.remediation(
                fqdn=name.fqdn,
                addresses=", ".join(outside),
                record_name=name.record_name,
                zone_name=name.zone_name,
                subscription=cli_subscription(zone_id),
                resource_group=resource_group(zone_id),
            ),
            needs=wrong_answer_needs(
                dns,
                name.fqdn,
                lambda a: bool(set(a.addresses) & set(outside)),  # noqa: B023 (called at once)
            ),
        )


def _spaces(
    dns: DnsFacts, name: ExpectedName, agent_prefixes: tuple[str, ...]
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The agent VNet's address space and that of every VNet an endpoint serving the name is in."""
    prefixes = list(agent_prefixes)
    for endpoint in name.serving:
        own = dns.endpoint_vnets.get((endpoint.vnet_id or "").lower())
        prefixes += list(own.value.address_prefixes) if own and own.value else []
    return [ipaddress.ip_network(p, strict=False) for p in dict.fromkeys(prefixes)]
