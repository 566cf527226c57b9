"""The host's resolver gives the same answer as the VNet's DNS servers."""

from collections.abc import Iterator

from netverify.checklib.catalog import load_meta
from netverify.checklib.dns import (
    describe,
    name_evidence,
    name_finding,
    same_answer,
    vnet_resolver_names,
)
from netverify.facts import Facts, ResolverKind
from netverify.model import Evidence, Finding, Link, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    dns = facts.dns
    if dns is None:
        return
    hosts = dns.resolvers_of(ResolverKind.HOST)
    if not hosts:
        return
    host = hosts[0]
    references = vnet_resolver_names(dns)
    for name in dns.expected:
        mine = dns.answer(name.fqdn, host.name)
        theirs = [
            a for r in references if (a := dns.answer(name.fqdn, r)) is not None and a.answered
        ]
        if mine is None or not mine.answered or not theirs:
            continue  # dns_resolver_answers reports resolvers that gave no answer
        observed = name_evidence(dns, name)
        expected = {"same_as": references}
        if any(same_answer(mine, a) for a in theirs):
            yield name_finding(
                META,
                Status.PASS,
                name,
                f"The host resolver answers {name.fqdn} as the VNet's DNS does.",
                Evidence(observed, expected),
            )
            continue
        yield name_finding(
            META,
            Status.FAIL,
            name,
            f"The host resolver ({host.address}) answers {name.fqdn} with {describe(mine)}, the "
            f"VNet's DNS ({', '.join(a.resolver for a in theirs)}) with {describe(theirs[0])}: "
            "this machine does not use the VNet's DNS, or a local cache is stale.",
            Evidence(observed, expected),
            META.remediation(resolv_conf=host.address, vnet_servers=", ".join(references)),
            breaks=frozenset({Link.answer(name.fqdn, host.name)}),
        )
