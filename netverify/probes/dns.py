"""Ask every resolver in the chain for every FQDN, concurrently, and keep the whole answer.

A probe records; it never judges. A timeout, a refused query or an unreachable server is an
answer like any other (``DnsAnswer.rcode``), so the checks can say which link broke.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver

from netverify.config import DnsConfig, split_host_port
from netverify.facts import (
    MALFORMED_ANSWER,
    TIMEOUT,
    UNREACHABLE,
    DnsAnswer,
    Resolver,
    ResolverKind,
)

# Real resolvers give up following CNAMEs at about this depth; so does the chain walk.
MAX_CHAIN = 16


def resolv_conf_nameservers(path: Path) -> tuple[str, ...]:
    """The ``nameserver`` lines of a resolv.conf, as the host's stub resolver uses them."""
    try:
        return tuple(str(n) for n in dns.resolver.Resolver(str(path)).nameservers)
    except dns.resolver.NoResolverConfiguration:
        return ()


def build_resolvers(
    config: DnsConfig, vnet_dns_servers: Sequence[str], azure_dns: str | None = None
) -> tuple[Resolver, ...]:
    """Host resolver, each custom DNS server (the VNet's, then configured), Azure DNS.

    ``config.server_map`` redirects a declared address to where queries really go (a DNS proxy,
    or a loopback stand-in); the resolver keeps its declared address as its name.
    """

    def target(address: str) -> str:
        mapped = config.server_map.get(address) or config.server_map.get(
            split_host_port(address)[0]
        )
        host, port = split_host_port(mapped or address)
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    resolvers: list[Resolver] = []
    if config.use_host_resolver:
        servers = resolv_conf_nameservers(config.resolv_conf)
        resolvers.append(
            Resolver(
                "host", ResolverKind.HOST, str(config.resolv_conf), tuple(map(target, servers))
            )
        )
    customs = dict.fromkeys([*vnet_dns_servers, *config.custom_servers])
    for address in customs:
        resolvers.append(
            Resolver(f"custom {address}", ResolverKind.CUSTOM, address, (target(address),))
        )
    azure = azure_dns or config.azure_dns
    resolvers.append(Resolver(f"azure {azure}", ResolverKind.AZURE, azure, (target(azure),)))
    return tuple(resolvers)


async def resolve_all(
    fqdns: Iterable[str], resolvers: Sequence[Resolver], *, timeout: float, concurrency: int
) -> tuple[DnsAnswer, ...]:
    """Every FQDN through every resolver, at most ``concurrency`` queries in flight."""
    bound = asyncio.Semaphore(concurrency)

    async def one(fqdn: str, resolver: Resolver) -> DnsAnswer:
        async with bound:
            return await resolve(fqdn, resolver, timeout)

    names = list(dict.fromkeys(f.lower() for f in fqdns))
    return tuple(await asyncio.gather(*(one(f, r) for f in names for r in resolvers)))


def resolve_all_sync(
    fqdns: Iterable[str], resolvers: Sequence[Resolver], config: DnsConfig
) -> tuple[DnsAnswer, ...]:
    return asyncio.run(
        resolve_all(
            fqdns, resolvers, timeout=config.timeout_seconds, concurrency=config.concurrency
        )
    )


async def resolve(fqdn: str, resolver: Resolver, timeout: float) -> DnsAnswer:
    """Ask the resolver's servers in order, as a stub resolver does, until one answers."""
    if not resolver.targets:
        return DnsAnswer(
            fqdn, resolver.name, "", UNREACHABLE, detail=f"no nameserver in {resolver.address}"
        )
    last: DnsAnswer | None = None
    for server in resolver.targets:
        last = await query(fqdn, resolver.name, server, timeout)
        if last.answered:
            return last
    assert last is not None
    return last


async def query(fqdn: str, resolver: str, server: str, timeout: float) -> DnsAnswer:
    """One A query to one server: UDP, then TCP if the answer was truncated."""
    host, port = split_host_port(server)
    request = dns.message.make_query(fqdn, dns.rdatatype.A)
    started = time.perf_counter()

    def failed(rcode: str, detail: str) -> DnsAnswer:
        latency = (time.perf_counter() - started) * 1000
        return DnsAnswer(fqdn, resolver, server, rcode, latency_ms=latency, detail=detail)

    try:
        response, used_tcp = await dns.asyncquery.udp_with_fallback(
            request, host, timeout=timeout, port=port
        )
    except dns.exception.Timeout:
        return failed(TIMEOUT, f"no answer within {timeout:g}s")
    except OSError as exc:  # ICMP port/host unreachable, connection refused (TCP)
        return failed(UNREACHABLE, exc.strerror or type(exc).__name__)
    except dns.exception.DNSException as exc:  # a reply that is not a DNS answer to our query
        return failed(MALFORMED_ANSWER, f"{type(exc).__name__}: {exc}")
    latency = (time.perf_counter() - started) * 1000
    chain, addresses = walk_answer(response, request.question[0].name)
    return DnsAnswer(
        fqdn=fqdn,
        resolver=resolver,
        server=server,
        rcode=dns.rcode.to_text(response.rcode()),
        cname_chain=chain,
        addresses=addresses,
        latency_ms=latency,
        transport="tcp" if used_tcp else "udp",
    )


def walk_answer(
    response: dns.message.Message, qname: dns.name.Name
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Follow the CNAMEs from ``qname`` through the answer section; the A records at the end.

    Records that do not hang off the chain are ignored, as a stub resolver ignores them.
    """
    owners: Mapping[tuple[dns.name.Name, int], list[str]] = {
        (rrset.name, rrset.rdtype): [rd.to_text() for rd in rrset] for rrset in response.answer
    }
    chain: list[str] = []
    name = qname
    for _ in range(MAX_CHAIN):
        targets = owners.get((name, dns.rdatatype.CNAME))
        if not targets:
            break
        name = dns.name.from_text(targets[0])
        chain.append(name.to_text(omit_final_dot=True).lower())
    return tuple(chain), tuple(sorted(owners.get((name, dns.rdatatype.A), [])))
