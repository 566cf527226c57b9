"""Each workspace name resolves, through the resolver the workload uses, to its private IP."""

from collections.abc import Iterator

from netverify.checklib.catalog import load_meta
from netverify.checklib.dns import (
    describe,
    exists_privately,
    impact,
    name_evidence,
    name_finding,
    resolves_to,
    vnet_resolver_names,
    wrong_answer_needs,
)
from netverify.checklib.judging import failed_read
from netverify.facts import Facts, ResolverKind
from netverify.model import Evidence, Finding, Link, Remediation, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    dns = facts.dns
    if dns is None:
        return
    # What could not be read leaves names unknown: say so rather than judge fewer names.
    unread = [r for r in dns.private_endpoints.values() if r.failure is not None]
    yield from (failed_read(META, r, "private endpoint", linked=True) for r in unread)
    yield from (failed_read(META, r, "online endpoint list", linked=False) for r in dns.gaps)
    if dns.agent_vnet is not None and dns.agent_vnet.failure is not None:
        yield failed_read(META, dns.agent_vnet, "agent VNet", linked=False)
    for note in dns.notes:
        yield Finding(
            META, Status.SKIPPED, note.resource_id, note.message, subject=note.workspace_id
        )
    endpoints_of = _endpoints_by_workspace(facts)
    hosts = [r.name for r in dns.resolvers_of(ResolverKind.HOST)]
    judged_by = hosts or vnet_resolver_names(dns)
    for name in dns.expected:
        answers = [a for r in judged_by if (a := dns.answer(name.fqdn, r)) is not None]
        observed = name_evidence(dns, name)
        expected = {"addresses": list(name.expected_ips), "resolver": judged_by}
        if not name.endpoints:
            yield name_finding(
                META,
                Status.FAIL,
                name,
                f"{name.fqdn} ({name.purpose} of {name.owner}) is served by no private endpoint: "
                f"no private endpoint of {name.workspace_name} lists {name.record_name} in its "
                "customDnsConfigs or zone group. A workspace private endpoint created before "
                "online endpoints existed (May 2022) lacks the scoring record." + impact([name]),
                Evidence(observed, expected),
                Remediation(
                    f"Recreate the private endpoint of workspace {name.workspace_name} (its "
                    "customDnsConfigs lack the scoring name, which Azure adds only at creation), "
                    "then confirm the new one lists it with the command below.",
                    "az network private-endpoint show --query customDnsConfigs --ids "
                    + " ".join(
                        endpoints_of.get(name.workspace_id.lower()) or ["<private-endpoint-id>"]
                    ),
                ),
            )
            continue
        if not answers:
            # Nothing was asked: no answer is no evidence the name works (never a pass).
            yield name_finding(
                META,
                Status.ERROR,
                name,
                f"{name.fqdn} ({name.purpose} of {name.owner}) has no recorded answer from "
                f"{', '.join(judged_by) or 'any resolver (no host resolver, no VNet DNS server)'}"
                ": whether it resolves was not observed.",
                Evidence(observed, expected),
            )
            continue
        if all(not a.answered for a in answers):
            if exists_privately(dns, name):
                # An outage for the workload, not a gap in what netverify saw.
                yield name_finding(
                    META,
                    Status.FAIL,
                    name,
                    f"{name.fqdn} ({name.purpose} of {name.owner}) does not resolve "
                    f"through {', '.join(judged_by)} ({answers[0].summary()}), although Azure "
                    f"DNS gives it its private endpoint {', '.join(name.expected_ips)}: the "
                    "workload cannot resolve it (the DNS server's own finding says why)."
                    + impact([name]),
                    Evidence(observed, expected),
                    META.remediation(fqdn=name.fqdn, ips=", ".join(name.expected_ips)),
                    needs=wrong_answer_needs(dns, name.fqdn, lambda a: not a.answered),
                )
                continue
            yield name_finding(
                META,
                Status.ERROR,
                name,
                f"No answer for {name.fqdn} from {', '.join(judged_by)}: {answers[0].summary()}.",
                Evidence(observed, expected),
            )
            continue
        bad = [a for a in answers if a.answered and not resolves_to(a, name)]
        if not bad:
            yield name_finding(
                META,
                Status.PASS,
                name,
                f"{name.fqdn} ({name.purpose} of {name.owner}) resolves to its private "
                f"endpoint {', '.join(name.expected_ips)}.",
                Evidence(observed, expected),
            )
            continue
        yield name_finding(
            META,
            Status.FAIL,
            name,
            f"{name.fqdn} ({name.purpose} of {name.owner}) resolves to "
            f"{describe(bad[0])} through {bad[0].resolver}, not to its private endpoint "
            f"{', '.join(name.expected_ips)}"
            + (
                " (the address of a private endpoint whose connection is not Approved: "
                "privateendpoint_connection_approved)."
                if bad[0].addresses and set(bad[0].addresses) <= set(name.withheld_ips)
                else "."
            )
            + impact([name]),
            Evidence(observed, expected),
            META.remediation(fqdn=name.fqdn, ips=", ".join(name.expected_ips)),
            needs=wrong_answer_needs(dns, name.fqdn, lambda a: not resolves_to(a, name))  # noqa: B023 (called at once)
            | {Link.address(ip) for a in bad for ip in a.addresses if ip in name.withheld_ips},
        )


def _endpoints_by_workspace(facts: Facts) -> dict[str, list[str]]:
    """The ids of each workspace's private endpoints (its privateEndpointConnections), by the
    workspace's lower-case id: looked up once per name served by none."""
    by_workspace: dict[str, list[str]] = {}
    for read in facts.workspaces:
        if read.value is not None:
            by_workspace.setdefault(read.value.id.lower(), []).extend(
                c.private_endpoint_id
                for c in read.value.private_endpoint_connections
                if c.private_endpoint_id
            )
    return by_workspace
