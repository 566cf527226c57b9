"""Ask every resolver in the chain for every FQDN, concurrently, and keep the whole answer.

A probe records; it never judges. A timeout, a refused query or an unreachable server is an
answer like any other (``DnsAnswer.rcode``), so the checks can say which link broke.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import struct
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

import dns.asyncquery
import dns.entropy
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from netverify.azure.net import split_host_port
from netverify.config import DnsConfig
from netverify.facts import (
    MALFORMED_ANSWER,
    TIMEOUT,
    UNREACHABLE,
    DnsAnswer,
    ExpectedName,
    ForwardingRuleset,
    ProbeError,
    Resolver,
    ResolverKind,
    rule_target_label,
)
from netverify.probes.cancel import Cancel

# Real resolvers give up following CNAMEs at about this depth; so does the chain walk.
MAX_CHAIN = 16
RECEIVE_BUFFER = 1 << 20
MAX_DATAGRAM = 65535
# Ids of unanswered queries kept from reuse per server (of 65,536), then forgotten.
MAX_RETIRED_IDS = 32768
RESOLV_CONF = "resolv.conf"  # the probe that reads it, as ProbeError names it


@dataclass(frozen=True, slots=True)
class ResolvConf:
    """The ``nameserver`` addresses of a resolv.conf in order, and the lines that could not be
    used (each a ``ProbeError`` naming the file and line)."""

    nameservers: tuple[str, ...]
    problems: tuple[ProbeError, ...] = ()


def read_resolv_conf(path: Path) -> ResolvConf:
    """The ``nameserver`` lines as the host's stub resolver reads them (resolv.conf(5)).

    Like glibc, it reads bytes: a comment or another keyword in any encoding is no problem. A
    ``nameserver`` line whose address is not an IP address is left out and reported; so is a
    file that cannot be read (then the host resolver has no nameserver to ask).
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        message = (
            f"{path}: cannot be read ({exc.strerror or type(exc).__name__}): "
            "the host resolver has no nameserver to ask"
        )
        return ResolvConf((), (ProbeError(RESOLV_CONF, str(path), message),))
    servers: list[str] = []
    problems: list[ProbeError] = []
    for number, line in enumerate(data.splitlines(), 1):
        words = line.split()
        if not words or words[0] != b"nameserver":
            continue
        address = words[1].decode("ascii", "replace") if len(words) > 1 else ""
        try:
            ipaddress.ip_address(address)
        except ValueError:
            shown = line.decode("utf-8", "backslashreplace").strip()
            problems.append(
                ProbeError(
                    RESOLV_CONF,
                    str(path),
                    f"{path}: line {number}: '{shown}' does not give an IP address "
                    "(expected nameserver <IPv4 or IPv6 address>); the line is ignored",
                    where=f"line {number}",
                )
            )
            continue
        servers.append(address)
    return ResolvConf(tuple(servers), tuple(problems))


def queried_address(config: DnsConfig, address: str) -> str:
    """Where queries to the declared DNS server ``address`` really go, as ``host:port``
    (``[v6]:port``): ``config.server_map``'s entry for it (with or without its port), else the
    address itself (port 53 when none is given)."""
    mapped = config.server_map.get(address) or config.server_map.get(split_host_port(address)[0])
    host, port = split_host_port(mapped or address)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def build_resolvers(
    config: DnsConfig, vnet_dns_servers: Sequence[str], azure_dns: str | None = None
) -> tuple[tuple[Resolver, ...], tuple[ProbeError, ...]]:
    """Host resolver, each custom DNS server (the VNet's, then configured), Azure DNS; and the
    resolv.conf lines that could not be used.

    ``config.server_map`` redirects a declared address to where queries really go (a DNS proxy,
    or a loopback stand-in); the resolver keeps its declared address as its name.
    """

    def target(address: str) -> str:
        return queried_address(config, address)

    resolvers: list[Resolver] = []
    host = ResolvConf(())
    if config.use_host_resolver:
        host = read_resolv_conf(config.resolv_conf)
        targets = tuple(map(target, host.nameservers))
        resolvers.append(Resolver("host", ResolverKind.HOST, str(config.resolv_conf), targets))
    customs = dict.fromkeys([*vnet_dns_servers, *config.custom_servers])
    for address in customs:
        resolvers.append(
            Resolver(f"custom {address}", ResolverKind.CUSTOM, address, (target(address),))
        )
    azure = azure_dns or config.azure_dns
    resolvers.append(Resolver(f"azure {azure}", ResolverKind.AZURE, azure, (target(azure),)))
    return tuple(resolvers), host.problems


async def resolve_all(
    fqdns: Iterable[str],
    resolvers: Sequence[Resolver],
    *,
    timeout: float,
    concurrency: int,
    cancel: Cancel | None = None,
) -> tuple[DnsAnswer, ...]:
    """Every FQDN through every resolver, at most ``concurrency`` queries in flight; raises
    ``RunCancelled`` instead of asking the next one once ``cancel`` is cancelled.

    ``concurrency`` workers take the next (name, resolver) pair when one is done: no task or
    semaphore per query, which matters at thousands of names.
    """
    client = DnsClient(timeout)
    names = list(dict.fromkeys(f.lower() for f in fqdns))
    pairs = [(f, r) for f in names for r in resolvers]
    answers: list[DnsAnswer | None] = [None] * len(pairs)
    todo = iter(enumerate(pairs))

    async def worker() -> None:
        for index, (fqdn, resolver) in todo:  # one event loop: next() is never interleaved
            if cancel is not None:
                cancel.check()
            try:
                answers[index] = await client.resolve(fqdn, resolver)
            except Exception as exc:  # a fault boundary: one query's surprise loses no other
                detail = f"the DNS probe failed on this query: {type(exc).__name__}: {exc}"
                answers[index] = DnsAnswer(fqdn, resolver.name, "", MALFORMED_ANSWER, detail=detail)

    try:
        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(pairs)))))
    finally:
        client.close()
    return tuple(a for a in answers if a is not None)


def resolve_all_sync(
    fqdns: Iterable[str],
    resolvers: Sequence[Resolver],
    config: DnsConfig,
    cancel: Cancel | None = None,
) -> tuple[DnsAnswer, ...]:
    return asyncio.run(
        resolve_all(
            fqdns,
            resolvers,
            timeout=config.timeout_seconds,
            concurrency=config.concurrency,
            cancel=cancel,
        )
    )


def rule_targets(
    rulesets: Iterable[ForwardingRuleset], expected: Iterable[ExpectedName], config: DnsConfig
) -> dict[Resolver, list[str]]:
    """Each target DNS server of an enabled forwarding rule that covers a needed name (the name
    itself, or its privatelink zone: Azure DNS forwards there after the public CNAME), as a
    resolver labelled ``rule_target_label``, with the names to ask it (the names themselves:
    a target resolves them as a forwarded query's recursion would). A target a mapped world
    (``config.server_map`` set) does not name is left out: never contacted."""
    names = list(expected)
    targets: dict[Resolver, list[str]] = {}
    for rule in (r for s in rulesets for r in s.rules if r.enabled):
        covered = [n.fqdn.lower() for n in names if rule.covers(n.fqdn) or rule.covers(n.zone_name)]
        for ip in rule.targets if covered else ():
            if config.server_map and ip not in config.server_map:
                continue
            resolver = Resolver(
                rule_target_label(ip), ResolverKind.CUSTOM, ip, (queried_address(config, ip),)
            )
            asked = targets.setdefault(resolver, [])
            asked += [f for f in covered if f not in asked]
    return targets


def ask_rule_targets(
    targets: Mapping[Resolver, Sequence[str]], config: DnsConfig, cancel: Cancel | None = None
) -> tuple[DnsAnswer, ...]:
    """Each target asked for its names (``rule_targets``); never raises for what a server does."""

    async def ask() -> tuple[DnsAnswer, ...]:
        found = await asyncio.gather(
            *(
                resolve_all(
                    names,
                    [resolver],
                    timeout=config.timeout_seconds,
                    concurrency=config.concurrency,
                    cancel=cancel,
                )
                for resolver, names in targets.items()
            )
        )
        return tuple(a for answers in found for a in answers)

    return asyncio.run(ask()) if targets else ()


class _UdpChannel:
    """One connected UDP socket to one server; many queries in flight, matched by query id.

    A socket per query (what ``dns.asyncquery.udp`` does) costs more than the query itself at
    thousands of names. Connected, the socket also hears ICMP "port unreachable", so a server
    that is down is reported at once instead of after the timeout. Each time the socket is
    readable every datagram waiting is read, before the event loop runs its due timers:
    asyncio's datagram transport reads one per turn of the loop, so on a loaded machine
    answers that had arrived sat in the buffer while their queries' timers expired.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.pending: dict[int, asyncio.Future[bytes]] = {}
        # Ids of queries that ended without their answer: a late answer to one of them must
        # not be taken for the answer to a new query that drew the same id.
        self._retired: set[int] = set()
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._drain)

    def _drain(self) -> None:
        while True:
            try:
                data = self._sock.recv(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # ICMP port/host unreachable: the server is not there
                self._fail_all(exc)
                return
            query_id = int.from_bytes(data[:2], "big") if len(data) > 2 else None
            waiter = self.pending.pop(query_id, None) if query_id is not None else None
            if waiter is not None and not waiter.done():
                waiter.set_result(data)

    def _fail_all(self, exc: Exception) -> None:
        for waiter in self.pending.values():
            if not waiter.done():
                waiter.set_exception(exc)
        self.pending.clear()

    def _send(self, wire: bytes) -> None:
        try:
            self._sock.send(wire)
        except (BlockingIOError, InterruptedError):
            pass  # the send buffer is full: as a lost datagram, the retry sends it again
        except OSError as exc:  # an ICMP error from an earlier datagram
            self._fail_all(exc)

    def _new_id(self) -> int:
        if len(self._retired) > MAX_RETIRED_IDS:
            self._retired.clear()  # long gone: their late answers cannot be in flight still
        query_id = dns.entropy.random_16()
        while query_id in self.pending or query_id in self._retired:
            query_id = dns.entropy.random_16()
        return query_id

    async def exchange(self, wire: bytes, timeout: float) -> bytes:
        """Send a query (its id replaced by one not in flight here) and await its answer."""
        query_id = self._new_id()
        wire = query_id.to_bytes(2, "big") + wire[2:]
        waiter: asyncio.Future[bytes] = self._loop.create_future()
        self.pending[query_id] = waiter
        self._send(wire)
        # UDP may lose a datagram: send once more halfway, as stub resolvers retry, then give
        # up. A timer rather than asyncio.wait_for, which costs a task per query.
        timers: list[asyncio.TimerHandle] = []
        timers.append(
            self._loop.call_later(timeout / 2, self._retry, waiter, wire, timeout / 2, timers)
        )
        answered = False
        try:
            answer = await waiter
            answered = True
            return answer
        finally:
            for timer in timers:
                timer.cancel()
            self.pending.pop(query_id, None)
            if not answered:
                self._retired.add(query_id)

    def _retry(
        self,
        waiter: asyncio.Future[bytes],
        wire: bytes,
        remaining: float,
        timers: list[asyncio.TimerHandle],
    ) -> None:
        if waiter.done():
            return
        self._send(wire)
        timers.append(self._loop.call_later(remaining, _expire, waiter))

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.remove_reader(self._sock.fileno())
        self._sock.close()


def _expire(waiter: asyncio.Future[bytes]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class DnsClient:
    """Queries for one run: a shared UDP channel per server, TCP after truncation. Resolvers
    that send to the same server (resolv.conf naming Azure DNS itself) share each query: the
    server is asked a name once, and every such resolver gets its answer."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._channels: dict[tuple[str, int], asyncio.Future[_UdpChannel]] = {}
        self._queries: dict[str, tuple[dns.name.Name, bytes]] = {}
        self._servers: dict[str, tuple[str, int]] = {}
        self._asked: dict[tuple[str, str], asyncio.Future[DnsAnswer]] = {}

    async def resolve(self, fqdn: str, resolver: Resolver) -> DnsAnswer:
        """Ask the resolver's servers in order, as a stub resolver does, until one answers."""
        if not resolver.targets:
            return DnsAnswer(
                fqdn, resolver.name, "", UNREACHABLE, detail=f"no nameserver in {resolver.address}"
            )
        last: DnsAnswer | None = None
        for server in resolver.targets:
            last = await self.query(fqdn, resolver.name, server)
            if last.answered:
                return last
        assert last is not None
        return last

    async def query(self, fqdn: str, resolver: str, server: str) -> DnsAnswer:
        """One A query to one server: UDP, then TCP if the answer was truncated; asked once
        per run, whichever resolvers send to that server."""
        key = (fqdn, server)
        asked = self._asked.get(key)
        if asked is not None:
            return replace(await asked, resolver=resolver)
        asked = self._asked[key] = asyncio.get_running_loop().create_future()
        try:
            answer = await self._ask(fqdn, resolver, server)
        except asyncio.CancelledError:
            asked.cancel()
            raise
        except BaseException as exc:
            asked.set_exception(exc)
            asked.exception()  # retrieved: no "never retrieved" warning when no one else asks
            raise
        asked.set_result(answer)
        return answer

    async def _ask(self, fqdn: str, resolver: str, server: str) -> DnsAnswer:
        host, port = self._where(server)
        qname, wire = self._query_for(fqdn)
        started = time.perf_counter()

        def failed(rcode: str, detail: str) -> DnsAnswer:
            latency = (time.perf_counter() - started) * 1000
            return DnsAnswer(fqdn, resolver, server, rcode, latency_ms=latency, detail=detail)

        transport = "udp"
        try:
            channel = await self._channel(host, port)
            response = dns.message.from_wire(await channel.exchange(wire, self.timeout))
            asked = response.question[0] if len(response.question) == 1 else None
            if asked is None or asked.name != qname or asked.rdtype != dns.rdatatype.A:
                return failed(MALFORMED_ANSWER, "the reply does not answer the question asked")
            if response.flags & dns.flags.TC:
                transport = "tcp"
                request = dns.message.make_query(qname, dns.rdatatype.A)
                response = await dns.asyncquery.tcp(request, host, timeout=self.timeout, port=port)
        except TimeoutError:
            return failed(TIMEOUT, f"no answer within {self.timeout:g}s")
        except dns.exception.Timeout:
            return failed(TIMEOUT, f"no answer within {self.timeout:g}s (TCP)")
        except OSError as exc:  # ICMP port/host unreachable, connection refused (TCP)
            return failed(UNREACHABLE, exc.strerror or type(exc).__name__)
        except EOFError:  # dnspython's TCP read: the server closed before the whole answer
            return failed(
                MALFORMED_ANSWER, "the server closed the TCP connection before a whole answer"
            )
        except dns.exception.DNSException as exc:  # a reply that is not a DNS message
            return failed(MALFORMED_ANSWER, f"{type(exc).__name__}: {exc}")
        latency = (time.perf_counter() - started) * 1000
        chain, addresses = walk_answer(response, qname)
        soa = next((r.name for r in response.authority if r.rdtype == dns.rdatatype.SOA), None)
        return DnsAnswer(
            fqdn=fqdn,
            resolver=resolver,
            server=server,
            rcode=dns.rcode.to_text(response.rcode()),
            cname_chain=chain,
            addresses=addresses,
            latency_ms=latency,
            transport=transport,
            authoritative=bool(response.flags & dns.flags.AA),
            soa_zone=soa.to_text(omit_final_dot=True).lower() if soa is not None else None,
        )

    def _where(self, server: str) -> tuple[str, int]:
        if server not in self._servers:
            self._servers[server] = split_host_port(server)
        return self._servers[server]

    def _query_for(self, fqdn: str) -> tuple[dns.name.Name, bytes]:
        """The name and A query of an FQDN, built once for all resolvers (its id is set per
        send)."""
        if fqdn not in self._queries:
            qname = dns.name.from_text(fqdn)
            self._queries[fqdn] = (qname, a_query(qname))
        return self._queries[fqdn]

    async def _channel(self, host: str, port: int) -> _UdpChannel:
        key = (host, port)
        if key not in self._channels:  # one opener per server; others await the same future
            self._channels[key] = asyncio.ensure_future(self._open(host, port))
        return await self._channels[key]

    async def _open(self, host: str, port: int) -> _UdpChannel:
        family, kind, proto, _, address = (
            await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        )[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            # Hundreds of answers may land at once on this one socket; the default buffer
            # drops some under load (the kernel caps the size at net.core.rmem_max).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            sock.connect(address)  # UDP: no packet sent, only the peer fixed
            return _UdpChannel(sock)
        except BaseException:
            sock.close()
            raise

    def close(self) -> None:
        for opening in self._channels.values():
            if opening.done() and not opening.cancelled() and not opening.exception():
                opening.result().close()
        self._channels.clear()


# A query's header after its id: RD set, one question, no other records (no EDNS).
_QUERY_HEADER = struct.pack("!HHHHH", dns.flags.RD, 1, 0, 0, 0)
_A_IN = struct.pack("!HH", dns.rdatatype.A, dns.rdataclass.IN)


def a_query(qname: dns.name.Name) -> bytes:
    """The wire form of ``dns.message.make_query(qname, "A")`` with id 0, written directly:
    building the message object and rendering it cost five times as much, per name."""
    return b"\0\0" + _QUERY_HEADER + cast(bytes, qname.to_wire()) + _A_IN


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
