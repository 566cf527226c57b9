"""A small in-process DNS server that answers from a fixed list of records.

It stands in for Azure DNS (168.63.129.16) and for "the public internet DNS" so that checks and
real forwarders (BIND, unbound, dnsmasq) can be exercised against loopback only. It behaves like
the recursive answer a client would see: CNAME chains are followed within its own data and the
whole chain lands in one answer section, wildcards follow RFC 4592, unknown names are NXDOMAIN.
Three fault switches exist because the code under test must cope with them: ``truncate_udp``
(forces TCP fallback), ``drop_names`` (forces timeouts) and ``tcp_faults`` (a TCP answer that
never comes whole: the connection closed unanswered, or cut halfway).
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import logging
import socket
import struct
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self, cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.TXT
import dns.rrset

logger = logging.getLogger(__name__)

RTYPES = frozenset({"A", "AAAA", "CNAME", "TXT"})
# A CNAME loop in test data must not hang the server; real resolvers give up around here too.
MAX_CHAIN = 16
# Socket timeouts double as the polling interval for stop(); short keeps stop() fast.
POLL_INTERVAL = 0.1
# UDP queries answered at once (the probe sends up to dns.concurrency = 64 in flight).
UDP_WORKERS = 16
# Without EDNS a UDP reply may not exceed 512 bytes (RFC 1035 4.2.1).
CLASSIC_UDP_SIZE = 512

# What the server does to a TCP query for a name: close the connection without an answer, or
# send the length prefix and only half the answer, then close.
TcpFault = Literal["close", "cut"]


@dataclass(frozen=True)
class Record:
    """One resource record. ``value`` is zone-file text, except TXT which is the raw string."""

    name: str
    rtype: str  # "A" | "AAAA" | "CNAME" | "TXT"
    value: str
    ttl: int = 60

    def __post_init__(self) -> None:
        if self.rtype.upper() not in RTYPES:
            raise ValueError(f"unsupported record type {self.rtype!r}; use one of {sorted(RTYPES)}")


def _to_rdata(record: Record) -> dns.rdata.Rdata:
    rdtype = dns.rdatatype.from_text(record.rtype.upper())
    if rdtype == dns.rdatatype.TXT:
        # Built directly so a value with spaces or quotes is one string, not zone-file syntax.
        return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, rdtype, [record.value.encode()])
    # A CNAME target is absolute with or without the trailing dot, as the owner name is; the
    # default relativize=True would turn it back into a relative name.
    return dns.rdata.from_text(
        dns.rdataclass.IN, rdtype, record.value, origin=dns.name.root, relativize=False
    )


# What a server answers a question with: rcode, answer section, authority section.
Resolution = tuple[dns.rcode.Rcode, list[dns.rrset.RRset], list[dns.rrset.RRset]]
NEGATIVE_TTL = 10  # seconds a "no" may be cached: the SOA minimum of Azure private DNS zones


class StaticDnsServer:
    """Serves ``records`` over UDP and TCP on one loopback port until stopped.

    ``queries`` logs every query received as ``(qname, qtype, transport)`` with the name in
    lower case without the trailing dot; appends happen under a lock and list appends are atomic,
    so tests may read or clear it while the server runs.
    """

    def __init__(
        self,
        records: Iterable[Record],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        truncate_udp: bool = False,
        drop_names: Iterable[str] = (),
        soa_zones: Iterable[str] = (),
        tcp_faults: Mapping[str, TcpFault] | None = None,
    ) -> None:
        # Refuse anything but loopback: a stand-in listening on a real interface could answer
        # (or be mistaken for) production DNS.
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"StaticDnsServer only listens on loopback, not {host!r}")
        self.host = host
        self.port = port
        self.truncate_udp = truncate_udp
        self.queries: list[tuple[str, str, str]] = []
        self._drop = {dns.name.from_text(n) for n in drop_names}
        # The zones this server answers for: a negative answer (NXDOMAIN, NODATA) carries the
        # SOA of the closest one in its authority section, as Azure DNS and public DNS do, so
        # real servers behind it cache the "no" for the SOA's minimum (RFC 2308).
        self._soa_zones = sorted(
            {dns.name.from_text(z) for z in soa_zones}, key=lambda z: -len(z.labels)
        )
        self._tcp_faults = {dns.name.from_text(n): f for n, f in (tcp_faults or {}).items()}
        self._data: dict[dns.name.Name, dict[int, dns.rrset.RRset]] = {}
        for record in records:
            self._add(record)
        # Every ancestor of an owner name exists as an empty non-terminal, so a query for it is
        # NOERROR/empty rather than NXDOMAIN, and it blocks wildcard matching as in RFC 4592.
        self._existing = {a for owner in self._data for a in _self_and_ancestors(owner)}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []

    def _add(self, record: Record) -> None:
        owner = dns.name.from_text(record.name)
        rdata = _to_rdata(record)
        node = self._data.setdefault(owner, {})
        has_cname = dns.rdatatype.CNAME in node
        if (rdata.rdtype == dns.rdatatype.CNAME and node) or has_cname:
            raise ValueError(f"{record.name}: a CNAME cannot coexist with other data (RFC 1034)")
        rrset = node.setdefault(rdata.rdtype, dns.rrset.RRset(owner, rdata.rdclass, rdata.rdtype))
        rrset.add(rdata, record.ttl)

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """``host:port`` (IPv6 in brackets) as used for forwarder settings."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def start(self) -> Self:
        if self._sockets:
            raise RuntimeError("server already started")
        self._stopping.clear()
        udp, tcp = self._bind()
        self._sockets = [udp, tcp]
        self._threads = [
            threading.Thread(target=self._serve_udp, args=(udp,), daemon=True),
            threading.Thread(target=self._serve_tcp, args=(tcp,), daemon=True),
        ]
        for t in self._threads:
            t.start()
        return self

    def _bind(self) -> tuple[socket.socket, socket.socket]:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # With port 0 the UDP port the kernel picks may be taken for TCP; retry a few times.
        for _ in range(20):
            udp = socket.socket(family, socket.SOCK_DGRAM)
            tcp = socket.socket(family, socket.SOCK_STREAM)
            try:
                udp.bind((self.host, self.port))
                port: int = udp.getsockname()[1]
                tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                tcp.bind((self.host, port))
                tcp.listen(16)
            except OSError:
                udp.close()
                tcp.close()
                if self.port:
                    raise
                continue
            udp.settimeout(POLL_INTERVAL)
            tcp.settimeout(POLL_INTERVAL)
            self.port = port
            return udp, tcp
        raise OSError(f"no port free for both UDP and TCP on {self.host}")

    def stop(self) -> None:
        """Stop serving; safe to call twice. Joins every thread so no answer arrives late."""
        self._stopping.set()
        for t in self._threads:
            t.join(timeout=5)
        for s in self._sockets:
            s.close()
        self._sockets = []
        self._threads = []

    def __enter__(self) -> StaticDnsServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- transports --------------------------------------------------------------------------

    def _serve_udp(self, sock: socket.socket) -> None:
        # Queries are answered concurrently, as real servers do: one query waiting on a slow or
        # dead upstream must not hold up the others until their clients time out.
        with ThreadPoolExecutor(UDP_WORKERS, thread_name_prefix="sim-dns-udp") as pool:
            while not self._stopping.is_set():
                try:
                    wire, peer = sock.recvfrom(65535)
                except TimeoutError:
                    continue
                except OSError:
                    return
                pool.submit(self._answer_datagram, sock, wire, peer)

    def _answer_datagram(self, sock: socket.socket, wire: bytes, peer: tuple[Any, ...]) -> None:
        reply = self._reply(wire, "udp")
        if reply is not None:
            # The client may be gone already; for UDP that is not our problem.
            with contextlib.suppress(OSError):
                sock.sendto(reply, peer)

    def _serve_tcp(self, listener: socket.socket) -> None:
        connections: list[threading.Thread] = []
        while not self._stopping.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            t = threading.Thread(target=self._serve_connection, args=(conn,), daemon=True)
            t.start()
            connections.append(t)
        for t in connections:
            t.join(timeout=5)

    def _serve_connection(self, conn: socket.socket) -> None:
        # RFC 7766: a client may send several length-prefixed queries on one connection.
        conn.settimeout(POLL_INTERVAL)
        with conn:
            while not self._stopping.is_set():
                header = self._recv_exactly(conn, 2)
                if header is None:
                    return
                wire = self._recv_exactly(conn, struct.unpack("!H", header)[0])
                if wire is None:
                    return
                reply = self._reply(wire, "tcp")
                fault = self._tcp_fault(wire)
                if fault == "close":
                    return
                if reply is not None:
                    sent = reply[: len(reply) // 2] if fault == "cut" else reply
                    try:
                        conn.sendall(struct.pack("!H", len(reply)) + sent)
                    except OSError:
                        return
                if fault == "cut":
                    return

    def _tcp_fault(self, wire: bytes) -> TcpFault | None:
        """The fault ``tcp_faults`` sets for the name this query asks for, if any."""
        if not self._tcp_faults:
            return None
        try:
            question = dns.message.from_wire(wire).question
        except dns.exception.DNSException:
            return None
        return self._tcp_faults.get(question[0].name) if question else None

    def _recv_exactly(self, conn: socket.socket, size: int) -> bytes | None:
        """``size`` bytes, or None once the peer closes or the server stops."""
        data = b""
        while len(data) < size:
            if self._stopping.is_set():
                return None
            try:
                chunk = conn.recv(size - len(data))
            except TimeoutError:
                continue
            except OSError:
                return None
            if not chunk:
                return None
            data += chunk
        return data

    # -- DNS ---------------------------------------------------------------------------------

    def _reply(self, wire: bytes, transport: str) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None  # garbage: a real server would also stay silent
        if query.flags & dns.flags.QR:
            return None
        try:
            return self._answer(query, transport)
        except Exception:
            # A bug here must not kill the serving thread (every later query would time out
            # and hide the cause): log it and fail this one query visibly instead.
            logger.exception("StaticDnsServer failed to answer %s", query.question)
            response = dns.message.make_response(query, recursion_available=True)
            response.set_rcode(dns.rcode.SERVFAIL)
            return response.to_wire()

    def _answer(self, query: dns.message.Message, transport: str) -> bytes | None:
        # RA: the servers this stands in for (Azure DNS, public resolvers) are recursive, and a
        # check inspecting flags (or dig, which warns on RD without RA) must see them as such.
        response = dns.message.make_response(query, recursion_available=True)
        if query.opcode() != dns.opcode.QUERY or len(query.question) != 1:
            rcode = dns.rcode.NOTIMP if query.opcode() != dns.opcode.QUERY else dns.rcode.FORMERR
            response.set_rcode(rcode)
            return response.to_wire()
        question = query.question[0]
        qname = question.name
        with self._lock:
            self.queries.append(
                (
                    qname.to_text(omit_final_dot=True).lower(),
                    dns.rdatatype.to_text(question.rdtype),
                    transport,
                )
            )
        if qname in self._drop:
            return None
        if transport == "udp" and self.truncate_udp:
            response.flags |= dns.flags.TC
            return response.to_wire()
        if question.rdclass == dns.rdataclass.IN:
            rcode, answer, authority = self._resolve(qname, question.rdtype)
            response.answer.extend(answer)
            response.authority.extend(authority)
            response.set_rcode(rcode)
            # AA: everything in the reply comes from this server's own data.
            response.flags |= dns.flags.AA
        else:
            response.set_rcode(dns.rcode.REFUSED)
        if transport == "tcp":
            return response.to_wire()
        limit = max(CLASSIC_UDP_SIZE, query.payload) if query.edns >= 0 else CLASSIC_UDP_SIZE
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            response.answer.clear()
            response.flags |= dns.flags.TC
            return response.to_wire()

    def _resolve(self, qname: dns.name.Name, rdtype: int) -> Resolution:
        """(rcode, answer, authority) for a question."""
        rcode, answer = self._chase(qname, rdtype)
        return rcode, answer, self._negative_soa(qname, rdtype, rcode, answer)

    def _chase(
        self, qname: dns.name.Name, rdtype: int
    ) -> tuple[dns.rcode.Rcode, list[dns.rrset.RRset]]:
        answer: list[dns.rrset.RRset] = []
        name = qname
        for _ in range(MAX_CHAIN):
            node = self._lookup(name)
            if node is None:
                # A CNAME pointing outside our data is normal (e.g. public DNS pointing into a
                # privatelink zone served elsewhere): NOERROR, and the client chases the target.
                return (dns.rcode.NOERROR if answer else dns.rcode.NXDOMAIN), answer
            if rdtype == dns.rdatatype.ANY:
                answer.extend(_synthesize(rrset, name) for rrset in node.values())
                return dns.rcode.NOERROR, answer
            if rdtype in node:
                answer.append(_synthesize(node[rdtype], name))
                return dns.rcode.NOERROR, answer
            cname = node.get(dns.rdatatype.CNAME)
            if cname is None:
                return dns.rcode.NOERROR, answer  # NODATA
            answer.append(_synthesize(cname, name))
            name = cast(dns.rdtypes.ANY.CNAME.CNAME, cname[0]).target
        return dns.rcode.SERVFAIL, answer  # CNAME loop

    def _negative_soa(
        self,
        qname: dns.name.Name,
        rdtype: int,
        rcode: dns.rcode.Rcode,
        answer: list[dns.rrset.RRset],
    ) -> list[dns.rrset.RRset]:
        """The SOA of the closest zone holding the name the answer ends at, for a negative
        answer (NXDOMAIN, or NOERROR without data of the asked type); else nothing."""
        if rcode not in (dns.rcode.NXDOMAIN, dns.rcode.NOERROR) or rdtype == dns.rdatatype.ANY:
            return []
        if any(rrset.rdtype == rdtype for rrset in answer):
            return []
        last = answer[-1] if answer and answer[-1].rdtype == dns.rdatatype.CNAME else None
        name = cast(dns.rdtypes.ANY.CNAME.CNAME, last[0]).target if last else qname
        zone = next((z for z in self._soa_zones if name.is_subdomain(z)), None)
        return [] if zone is None else [_soa(zone)]

    def _lookup(self, name: dns.name.Name) -> dict[int, dns.rrset.RRset] | None:
        """The node answering for ``name``: exact, else the closest encloser's wildcard."""
        if name in self._existing:  # dns.name.Name compares and hashes case-insensitively
            return self._data.get(name, {})
        for ancestor in _self_and_ancestors(name):
            if ancestor in self._existing:
                try:
                    return self._data.get(dns.name.Name(("*", *ancestor.labels)))
                except dns.name.NameTooLong:
                    return None
        return None


@functools.cache
def _soa(zone: dns.name.Name) -> dns.rrset.RRset:
    """Azure private DNS's SOA (negative TTL 10 s) for ``zone``; public zones say much the same.
    Built once per zone: parsing it was a third of the server's time per negative answer."""
    return dns.rrset.from_text(
        zone,
        NEGATIVE_TTL,
        "IN",
        "SOA",
        "azureprivatedns.net. azureprivatedns-host.microsoft.com. 1 3600 300 2419200 10",
    )


def _self_and_ancestors(name: dns.name.Name) -> list[dns.name.Name]:
    out = [name]
    while out[-1] != dns.name.root:
        out.append(out[-1].parent())
    return out


def _synthesize(rrset: dns.rrset.RRset, owner: dns.name.Name) -> dns.rrset.RRset:
    """``rrset`` under ``owner``: wildcard answers carry the query name, not ``*``."""
    if rrset.name == owner:
        return rrset
    return dns.rrset.from_rdata_list(owner, rrset.ttl, list(rrset))


class ForwardingDnsServer(StaticDnsServer):
    """A forwarding DNS server in Python: its own records first, then per-zone forwarders.

    It stands in for a customer's custom DNS server where no BIND, dnsmasq or Unbound is
    installed, and for a host's local cache. Like dnsmasq it relays the upstream answer as is
    and does not chase a CNAME into another forwarded zone. An upstream that does not answer
    gives SERVFAIL, as BIND does; the upstream timeout keeps that well inside a client's
    timeout (netverify's default is 2 s), with room for a loaded machine.
    """

    def __init__(
        self,
        records: Iterable[Record],
        forwarders: Mapping[str, str],
        default: str | None,
        host: str = "127.0.0.1",
        *,
        upstream_timeout: float = 0.6,
        strip_private_except: tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(records, host)
        self.forwarders = {
            dns.name.from_text(zone): address for zone, address in forwarders.items()
        }
        self.default = default
        self.upstream_timeout = upstream_timeout
        self._in_flight: dict[tuple[dns.name.Name, int], Future[Resolution]] = {}
        # DNS-rebinding protection (None: off): private A records are dropped from upstream
        # answers, except for names under these domains - as Unbound's private-address does.
        self.strip_private_except = (
            None
            if strip_private_except is None
            else tuple(dns.name.from_text(d) for d in strip_private_except)
        )

    def _resolve(self, qname: dns.name.Name, rdtype: int) -> Resolution:
        """A question already being resolved joins that resolution (as BIND's fetches do)
        instead of being forwarded again: concurrent clients share one upstream query, and a
        forwarding loop (a rule back to this server) ends in the first query's upstream
        timeout instead of multiplying."""
        key = (qname, rdtype)
        with self._lock:
            pending = self._in_flight.get(key)
            owner = pending is None
            if pending is None:
                pending = self._in_flight[key] = Future()
        if not owner:
            try:
                return pending.result(timeout=self.upstream_timeout)
            except TimeoutError:
                return dns.rcode.SERVFAIL, [], []
        try:
            result = self._resolve_once(qname, rdtype)
        except BaseException as exc:
            pending.set_exception(exc)
            raise
        finally:
            with self._lock:
                del self._in_flight[key]
        pending.set_result(result)
        return result

    def _resolve_once(self, qname: dns.name.Name, rdtype: int) -> Resolution:
        if self._lookup(qname) is not None:
            return StaticDnsServer._resolve(self, qname, rdtype)
        zones = [z for z in self.forwarders if qname.is_subdomain(z)]
        upstream = self.forwarders[max(zones, key=len)] if zones else self.default
        if upstream is None:
            return dns.rcode.REFUSED, [], []
        return self._forward(qname, rdtype, upstream)

    def _forward(self, qname: dns.name.Name, rdtype: int, upstream: str) -> Resolution:
        host, _, port = upstream.rpartition(":")
        try:
            reply, _ = dns.query.udp_with_fallback(
                dns.message.make_query(qname, dns.rdatatype.RdataType.make(rdtype)),
                host.strip("[]"),
                timeout=self.upstream_timeout,
                port=int(port),
            )
        except (dns.exception.DNSException, OSError):
            return dns.rcode.SERVFAIL, [], []
        # The upstream's SOA is passed on with its "no", as dnsmasq does.
        soa = [r for r in reply.authority if r.rdtype == dns.rdatatype.SOA]
        return reply.rcode(), self._rebinding_filter(qname, list(reply.answer)), soa

    def _rebinding_filter(
        self, qname: dns.name.Name, answer: list[dns.rrset.RRset]
    ) -> list[dns.rrset.RRset]:
        exempt = self.strip_private_except
        if exempt is None or any(qname.is_subdomain(d) for d in exempt):
            return answer
        return [
            rrset
            for rrset in answer
            if rrset.rdtype != dns.rdatatype.A
            or not any(ipaddress.ip_address(r.address).is_private for r in rrset)
        ]


class AzureDnsView(ForwardingDnsServer):
    """Azure DNS as one VNet sees it, with the DNS forwarding rulesets linked to that VNet: a
    name under a rule's domain goes to the rule's target (rules come before the linked zones),
    also when a CNAME leads there, as Azure DNS resolves the chain itself. ``forwarders`` (the
    rules) may be set after start, once the targets' servers run."""

    def __init__(self, records: Iterable[Record], soa_zones: Iterable[str] = ()) -> None:
        super().__init__(records, {}, None)
        self._soa_zones = sorted(
            {dns.name.from_text(z) for z in soa_zones}, key=lambda z: -len(z.labels)
        )

    def set_rules(self, rules: Mapping[str, str]) -> None:
        """Domain -> the address its queries go to (``host:port``)."""
        self.forwarders = {dns.name.from_text(d): a for d, a in rules.items()}

    def _resolve_once(self, qname: dns.name.Name, rdtype: int) -> Resolution:
        upstream = self._rule_for(qname)
        if upstream is not None:
            return self._forward(qname, rdtype, upstream)
        rcode, answer, authority = StaticDnsServer._resolve(self, qname, rdtype)
        last = answer[-1] if answer and answer[-1].rdtype == dns.rdatatype.CNAME else None
        if rcode == dns.rcode.NOERROR and last is not None:
            target = cast(dns.rdtypes.ANY.CNAME.CNAME, last[0]).target
            upstream = self._rule_for(target)
            if upstream is not None:
                more_rcode, more, more_authority = self._forward(target, rdtype, upstream)
                return more_rcode, answer + more, more_authority
        return rcode, answer, authority

    def _lookup(self, name: dns.name.Name) -> dict[int, dns.rrset.RRset] | None:
        # Under a rule's domain the rule answers, not the linked zones.
        return None if self._rule_for(name) is not None else super()._lookup(name)

    def _rule_for(self, name: dns.name.Name) -> str | None:
        zones = [z for z in self.forwarders if name.is_subdomain(z)]
        return self.forwarders[max(zones, key=len)] if zones else None
