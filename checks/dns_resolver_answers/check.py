"""Every resolver answered (timeouts, unreachable servers, SERVFAIL and REFUSED are errors)."""

from collections import Counter
from collections.abc import Iterator

from netverify.azure.net import split_host_port
from netverify.checklib.catalog import load_meta
from netverify.checklib.dns import (
    answer_detail,
    exists_privately,
    resolutions,
    vnet_resolver_names,
)
from netverify.facts import DnsFacts, Facts, Resolver, ResolverKind
from netverify.model import Evidence, Finding, Link, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    dns = facts.dns
    if dns is None or not dns.expected:
        return
    used = {r.name for r in dns.resolvers_of(ResolverKind.HOST)} | set(vnet_resolver_names(dns))
    for resolver in dns.resolvers:
        answers = [a for e in dns.expected if (a := dns.answer(e.fqdn, resolver.name)) is not None]
        failed = [a for a in answers if not a.answered]
        observed: dict[str, object] = {
            "resolver": resolver.name,
            "address": resolver.address,
            "servers": list(resolver.targets),
            "asked": len(answers),
            "failed": dict(Counter(a.rcode for a in failed)),
        }
        if not answers:
            # Asked nothing, it answered nothing: no pass on no evidence.
            yield Finding(
                META,
                Status.SKIPPED,
                resolver.address,
                f"Resolver {resolver.name} was asked none of the {len(dns.expected)} names.",
                subject=resolver.name,
            )
            continue
        if not failed:
            yield Finding(
                META,
                Status.PASS,
                resolver.address,
                f"Resolver {resolver.name} answered all {len(answers)} queries.",
                Evidence(observed),
                subject=resolver.name,
            )
            continue
        first = failed[0]
        observed["first_failure"] = {"fqdn": first.fqdn, **answer_detail(first)}
        observed["resolutions"] = resolutions(dns, [a.fqdn for a in failed[:20]])
        kinds = ", ".join(f"{n} {rcode}" for rcode, n in Counter(a.rcode for a in failed).items())
        # The host resolver is named by its resolv.conf; dig asks its first nameserver (none
        # when resolv.conf gave none: then dig asks the local stub).
        declared = (
            next(iter(resolver.targets), "")
            if resolver.kind is ResolverKind.HOST
            else resolver.address
        )
        host, port = split_host_port(declared) if declared else ("127.0.0.53", 53)
        # A resolver the workload uses that fails on names Azure DNS resolves is an outage
        # observed (fail); what else fails, netverify could not observe (error).
        failed_fqdns = {a.fqdn for a in failed}
        existing = sorted(
            {e.fqdn for e in dns.expected if e.fqdn in failed_fqdns and exists_privately(dns, e)}
        )
        outage = resolver.name in used and bool(existing)
        observed["failed_names_that_exist"] = existing
        yield Finding(
            META,
            Status.FAIL if outage else Status.ERROR,
            resolver.address,
            f"Resolver {resolver.name} gave no answer for {len(failed)} of {len(answers)} names "
            f"({kinds}), e.g. {first.fqdn}: {first.summary()}"
            + (
                f"; {len(existing)} of them exist (Azure DNS resolves them privately): every "
                "client that uses this resolver cannot resolve them."
                if outage
                else "."
            ),
            Evidence(observed),
            META.remediation(server=resolver.address, host=host, port=str(port), fqdn=first.fqdn),
            subject=resolver.name,
            breaks=frozenset(Link.answer(fqdn, resolver.name) for fqdn in failed_fqdns),
            needs=_explained_by(dns, resolver, failed_fqdns, existing),
        )


def _explained_by(
    dns: DnsFacts, resolver: Resolver, failed: set[str], existing: list[str]
) -> frozenset[str]:
    """What would explain the failures: a rule that sends the names back where they came from
    (a loop) - for the host resolver, the VNet's DNS servers failing on the same names (the
    host asks them; its own path is not known) - and for a custom server whose path ends at
    the Azure DNS the agent asked, that Azure DNS failing on the same name with the same rcode
    (the server passes on what it got: a forwarding rule whose target does not answer breaks
    Azure DNS's answer, and the server's follows)."""
    needs = {Link.route(fqdn, resolver.name) for fqdn in existing}
    if resolver.kind is ResolverKind.HOST:
        needs |= {
            Link.answer(fqdn, server)
            for server in vnet_resolver_names(dns)
            for fqdn in failed
            if (answer := dns.answer(fqdn, server)) is not None and not answer.answered
        }
    vnet = dns.azure_dns_vnet(resolver) if resolver.kind is ResolverKind.CUSTOM else None
    if vnet is not None:
        needs |= {
            Link.answer(fqdn, azure.name)
            for azure in dns.resolvers_of(ResolverKind.AZURE)
            if (dns.azure_dns_vnet(azure) or "").lower() == vnet.lower()
            for fqdn in failed
            if _same_failure(dns, fqdn, resolver, azure)
        }
    return frozenset(needs)


def _same_failure(dns: DnsFacts, fqdn: str, resolver: Resolver, azure: Resolver) -> bool:
    """Both resolvers failed on ``fqdn`` with the same rcode."""
    ours, theirs = dns.answer(fqdn, resolver.name), dns.answer(fqdn, azure.name)
    return (
        ours is not None
        and theirs is not None
        and not theirs.answered
        and ours.rcode == theirs.rcode
    )
