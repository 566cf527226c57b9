"""The DNS probe keeps whole answers and turns every failure into a fact; the reachability
probe tells "does not connect" from "no TLS". Loopback stand-ins only."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dns.entropy
import dns.message
import dns.name
import dns.rrset
import pytest
import trustme

from netverify.config import DnsConfig, ReachabilityConfig
from netverify.facts import DnsAnswer, Reachability, Resolver, ResolverKind
from netverify.probes import reach as reach_probe
from netverify.probes.dns import (
    DnsClient,
    a_query,
    build_resolvers,
    read_resolv_conf,
    resolve_all,
)
from netverify.probes.reach import probe, probe_all
from netverify.sim.custom_dns import DEAD_FORWARDER
from netverify.sim.dns_server import ForwardingDnsServer, Record, StaticDnsServer, TcpFault
from netverify.sim.endpoints import TlsListener

NAME = "ws.workspace.eastus.api.azureml.ms"
PRIVATE = "ws.workspace.eastus.privatelink.api.azureml.ms"
RECORDS = [
    Record(NAME, "CNAME", PRIVATE),
    Record(PRIVATE, "A", "10.0.1.5"),
    *[Record("big.example", "A", f"10.9.{i // 250}.{i % 250}") for i in range(60)],
]


def resolver(*targets: str, kind: ResolverKind = ResolverKind.CUSTOM) -> Resolver:
    return Resolver("custom 10.0.0.4", kind, "10.0.0.4", targets)


@pytest.fixture
def server() -> Iterator[StaticDnsServer]:
    with StaticDnsServer(RECORDS, drop_names=["slow.example"]) as running:
        yield running


def ask(name: str, target: Resolver, timeout: float = 1.0) -> DnsAnswer:
    async def asked() -> DnsAnswer:
        client = DnsClient(timeout)
        try:
            return await client.resolve(name, target)
        finally:
            client.close()

    return asyncio.run(asked())


def test_answer_keeps_the_cname_chain(server: StaticDnsServer) -> None:
    """CNAME chain, the A records at its end, rcode, server and transport are all kept."""
    answer = ask(NAME, resolver(server.address))

    assert ("NOERROR", (PRIVATE,), ("10.0.1.5",)) == (
        answer.rcode,
        answer.cname_chain,
        answer.addresses,
    )
    assert (server.address, "udp") == (answer.server, answer.transport)
    assert answer.latency_ms > 0
    assert f"{PRIVATE} -> 10.0.1.5" == answer.summary()


def test_nxdomain_is_an_answer(server: StaticDnsServer) -> None:
    """NXDOMAIN is a verdict on the name, not a resolver failure."""
    answer = ask("missing.example", resolver(server.address))

    assert ("NXDOMAIN", True, "NXDOMAIN") == (answer.rcode, answer.answered, answer.summary())


def test_truncated_answer_is_retried_over_tcp(server: StaticDnsServer) -> None:
    """A 60-address answer does not fit 512 bytes: the probe asks again over TCP."""
    answer = ask("big.example", resolver(server.address))

    assert ("tcp", 60) == (answer.transport, len(answer.addresses))
    assert [("big.example", "A", "udp"), ("big.example", "A", "tcp")] == server.queries


def test_tcp_answer_closed_or_cut_is_malformed_and_other_names_answered() -> None:
    """TC set, then the TCP answer never comes whole (closed unanswered, or cut halfway): each
    is a MALFORMED answer saying so, and the name whose TCP answer is whole is still answered."""
    faults: dict[str, TcpFault] = {"big.example": "close", PRIVATE: "cut"}
    with StaticDnsServer(RECORDS, truncate_udp=True, tcp_faults=faults) as broken:
        answers = asyncio.run(
            resolve_all(
                ["big.example", PRIVATE, NAME],
                [resolver(broken.address)],
                timeout=1.0,
                concurrency=3,
            )
        )

    closed = "the server closed the TCP connection before a whole answer"
    assert [
        ("big.example", "MALFORMED", (), closed),
        (PRIVATE, "MALFORMED", (), closed),
        (NAME, "NOERROR", ("10.0.1.5",), ""),
    ] == [(a.fqdn, a.rcode, a.addresses, a.detail) for a in answers]


def test_a_query_that_raises_is_an_answer_and_the_others_complete(
    server: StaticDnsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception on one query becomes that query's MALFORMED answer naming the
    exception; the other names are still asked and answered."""
    original = DnsClient.query

    async def failing(client: DnsClient, fqdn: str, name: str, target: str) -> DnsAnswer:
        if fqdn == "missing.example":
            raise RuntimeError("a probe bug")
        return await original(client, fqdn, name, target)

    monkeypatch.setattr(DnsClient, "query", failing)
    answers = asyncio.run(
        resolve_all(
            ["missing.example", NAME], [resolver(server.address)], timeout=1.0, concurrency=2
        )
    )

    assert [
        (
            "missing.example",
            "MALFORMED",
            "the DNS probe failed on this query: RuntimeError: a probe bug",
        ),
        (NAME, "NOERROR", ""),
    ] == [(a.fqdn, a.rcode, a.detail) for a in answers]


def test_closed_port_is_unreachable_at_once() -> None:
    """Nothing listens: the ICMP port-unreachable makes it UNREACHABLE, not a timeout."""
    answer = ask(NAME, resolver(DEAD_FORWARDER), timeout=5.0)

    assert "UNREACHABLE" == answer.rcode
    assert answer.latency_ms < 1000


def test_timeout_is_a_fact(server: StaticDnsServer) -> None:
    """A server that stays silent gives TIMEOUT after the configured timeout."""
    answer = ask("slow.example", resolver(server.address), timeout=0.2)

    assert ("TIMEOUT", False) == (answer.rcode, answer.answered)
    assert "0.2s" in answer.detail


def test_servfail_and_refused_are_kept() -> None:
    """A forwarder whose upstream is dead answers SERVFAIL; one with no route answers REFUSED."""
    with ForwardingDnsServer([], {"dead.example": DEAD_FORWARDER}, None) as forwarder:
        dead = ask("x.dead.example", resolver(forwarder.address))
        refused = ask("other.example", resolver(forwarder.address))

    assert ("SERVFAIL", False) == (dead.rcode, dead.answered)
    assert ("REFUSED", False) == (refused.rcode, refused.answered)


def test_stub_moves_to_the_next_nameserver(server: StaticDnsServer) -> None:
    """As a stub resolver, the host resolver asks its next nameserver when one fails."""
    with ForwardingDnsServer([], {}, None) as refusing:
        answer = ask(NAME, resolver(refusing.address, server.address, kind=ResolverKind.HOST))

    assert (server.address, ("10.0.1.5",)) == (answer.server, answer.addresses)


def test_no_nameserver_is_unreachable() -> None:
    """A resolv.conf without nameservers leaves the host resolver nothing to ask."""
    answer = ask(NAME, Resolver("host", ResolverKind.HOST, "/etc/resolv.conf", ()))

    assert "UNREACHABLE" == answer.rcode
    assert "no nameserver in /etc/resolv.conf" == answer.detail


def test_resolvers_from_config_vnet_and_resolv_conf(tmp_path: Path) -> None:
    """Host (resolv.conf), the VNet's servers then configured ones, Azure DNS; mapped targets."""
    conf = tmp_path / "resolv.conf"
    conf.write_text("search example\nnameserver 10.0.0.4\nnameserver 10.0.0.9\n")
    config = DnsConfig(
        resolv_conf=conf,
        custom_servers=("10.0.0.4", "10.0.0.6:5353"),
        server_map={"10.0.0.4": "127.0.0.1:5301", "168.63.129.16": "127.0.0.1:5302"},
    )

    resolvers, problems = build_resolvers(config, ["10.0.0.4", "10.0.0.5"])

    assert [
        ("host", ("127.0.0.1:5301", "10.0.0.9:53")),
        ("custom 10.0.0.4", ("127.0.0.1:5301",)),
        ("custom 10.0.0.5", ("10.0.0.5:53",)),
        ("custom 10.0.0.6:5353", ("10.0.0.6:5353",)),
        ("azure 168.63.129.16", ("127.0.0.1:5302",)),
    ] == [(r.name, r.targets) for r in resolvers]
    assert () == problems


def test_resolv_conf_lines_without_an_address_are_named_and_the_others_kept(
    tmp_path: Path,
) -> None:
    """`nameserver 999.1.1.1`, a nameserver that is not UTF-8 and one with no address are each a
    problem naming the file and line; the good nameservers are still used, in order."""
    conf = tmp_path / "resolv.conf"
    conf.write_bytes(
        b"nameserver 10.0.0.4\nnameserver 999.1.1.1\nnameserver 10.0.0.\xe9\n"
        b"nameserver\nnameserver fd00::53\n"
    )

    read = read_resolv_conf(conf)

    assert ("10.0.0.4", "fd00::53") == read.nameservers
    expected = "(expected nameserver <IPv4 or IPv6 address>); the line is ignored"
    assert [
        (
            "resolv.conf",
            str(conf),
            "line 2",
            f"{conf}: line 2: 'nameserver 999.1.1.1' does not give an IP address {expected}",
        ),
        (
            "resolv.conf",
            str(conf),
            "line 3",
            f"{conf}: line 3: 'nameserver 10.0.0.\\xe9' does not give an IP address {expected}",
        ),
        (
            "resolv.conf",
            str(conf),
            "line 4",
            f"{conf}: line 4: 'nameserver' does not give an IP address {expected}",
        ),
    ] == [(p.probe, p.input, p.where, p.message) for p in read.problems]


def test_resolv_conf_comments_in_any_encoding_are_no_problem(tmp_path: Path) -> None:
    """As glibc, only nameserver lines matter: a Latin-1 comment or option is no problem."""
    conf = tmp_path / "resolv.conf"
    conf.write_bytes(b"# caf\xe9 r\xe9seau\nsearch caf\xe9.example\nnameserver 10.0.0.4\n")

    assert ("10.0.0.4",) == read_resolv_conf(conf).nameservers
    assert () == read_resolv_conf(conf).problems


def test_missing_resolv_conf_is_a_problem_and_leaves_no_nameserver(tmp_path: Path) -> None:
    """A resolv.conf that cannot be read: no nameserver, and a problem naming the file."""
    config = DnsConfig(resolv_conf=tmp_path / "absent.conf")

    resolvers, problems = build_resolvers(config, [])

    assert ("host", ()) == (resolvers[0].name, resolvers[0].targets)
    assert [
        f"{tmp_path / 'absent.conf'}: cannot be read (No such file or directory): the host "
        "resolver has no nameserver to ask"
    ] == [p.message for p in problems]


def test_concurrency_is_bounded(server: StaticDnsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """resolve_all never has more than `concurrency` queries in flight, and answers them all."""
    in_flight = peak = 0
    original = DnsClient.resolve

    async def counting(client: DnsClient, fqdn: str, target: Resolver) -> DnsAnswer:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            return await original(client, fqdn, target)
        finally:
            in_flight -= 1

    monkeypatch.setattr(DnsClient, "resolve", counting)
    names = [f"n{i}.example" for i in range(40)]
    answers = asyncio.run(
        resolve_all(names, [resolver(server.address)], timeout=1.0, concurrency=5)
    )

    assert 40 == len(answers)
    assert {"NXDOMAIN"} == {a.rcode for a in answers}
    assert 1 < peak <= 5


def test_the_query_sent_is_dnspythons_a_query() -> None:
    """What is sent is what dns.message.make_query renders (RD set, no EDNS), bar the id."""
    for fqdn in (NAME, "big.example", "x-y.Example.COM."):
        made = dns.message.make_query(fqdn, "A")
        made.id = 0
        assert made.to_wire() == a_query(dns.name.from_text(fqdn))


def test_resolvers_that_send_to_one_server_share_each_query(server: StaticDnsServer) -> None:
    """resolv.conf naming the server Azure DNS is: each name is asked once, and both resolvers
    get the whole answer under their own names."""
    host = Resolver("host", ResolverKind.HOST, "/etc/resolv.conf", (server.address,))
    azure = Resolver("azure 168.63.129.16", ResolverKind.AZURE, "168.63.129.16", (server.address,))

    answers = asyncio.run(
        resolve_all([NAME, "missing.example"], [host, azure], timeout=1.0, concurrency=4)
    )

    assert [(NAME, "A", "udp"), ("missing.example", "A", "udp")] == server.queries
    assert [
        (NAME, "host", "NOERROR", (PRIVATE,), ("10.0.1.5",)),
        (NAME, "azure 168.63.129.16", "NOERROR", (PRIVATE,), ("10.0.1.5",)),
        ("missing.example", "host", "NXDOMAIN", (), ()),
        ("missing.example", "azure 168.63.129.16", "NXDOMAIN", (), ()),
    ] == [(a.fqdn, a.resolver, a.rcode, a.cname_chain, a.addresses) for a in answers]
    assert {server.address} == {a.server for a in answers}


def test_answers_that_arrived_are_read_before_the_timers_that_would_resend_them() -> None:
    """Every answer lands while the event loop is held (as a busy process holds it) until the
    queries' resend timers are due: all the answers are read first, so none is sent again."""
    names = [f"n{i}.example" for i in range(20)]
    stand_in = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stand_in.bind(("127.0.0.1", 0))
    stand_in.settimeout(5.0)
    address = f"127.0.0.1:{stand_in.getsockname()[1]}"
    received, held, replied = threading.Event(), threading.Event(), threading.Event()

    def answer_all_while_held() -> None:
        queries = [stand_in.recvfrom(512) for _ in names]
        received.set()
        held.wait(5.0)
        for wire, peer in queries:
            stand_in.sendto(dns.message.make_response(dns.message.from_wire(wire)).to_wire(), peer)
        replied.set()

    async def asked() -> list[DnsAnswer]:
        client = DnsClient(0.4)  # resends 0.2 s after each send
        try:
            queries = [asyncio.ensure_future(client.query(n, "r", address)) for n in names]
            while not received.is_set():
                await asyncio.sleep(0.01)
            held.set()
            replied.wait(5.0)
            time.sleep(0.3)  # the loop is held past every resend timer
            return await asyncio.gather(*queries)
        finally:
            client.close()

    answering = threading.Thread(target=answer_all_while_held)
    answering.start()
    try:
        answers = asyncio.run(asked())
        answering.join(5.0)
        stand_in.setblocking(False)
        resent = 0
        with contextlib.suppress(BlockingIOError):
            while stand_in.recv(512):
                resent += 1
    finally:
        stand_in.close()

    assert [(n, "NOERROR") for n in names] == [(a.fqdn, a.rcode) for a in answers]
    assert 0 == resent


def test_a_late_answer_to_a_query_that_timed_out_is_not_a_later_querys_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first query times out; its answer comes later, when a second query is in flight.
    The second query never draws the first one's id, so it gets its own answer, not the late
    one (which would not answer its question: MALFORMED)."""
    # Drawn in turn: the first query message's id (dnspython's), the id it is sent with, the
    # second message's, then 7 again for the second query and, as 7 is retired, 8.
    ids = iter([1, 7, 2, 7, 8])
    monkeypatch.setattr(dns.entropy, "random_16", lambda: next(ids))
    stand_in = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stand_in.bind(("127.0.0.1", 0))
    stand_in.settimeout(1.0)
    address = f"127.0.0.1:{stand_in.getsockname()[1]}"

    def reply(wire: bytes, ip: str) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        response.answer.append(dns.rrset.from_text(query.question[0].name, 60, "IN", "A", ip))
        return response.to_wire()

    async def asked() -> tuple[DnsAnswer, DnsAnswer]:
        client = DnsClient(0.2)
        try:
            first = await client.query("first.example", "r", address)
            late, peer = stand_in.recvfrom(512)  # the first query (its resend follows)
            second = asyncio.ensure_future(client.query("second.example", "r", address))
            while True:  # the resend of the first query, then the second query
                wire, _ = await asyncio.to_thread(stand_in.recvfrom, 512)
                if dns.message.from_wire(wire).question[0].name.to_text() == "second.example.":
                    break
            stand_in.sendto(reply(late, "10.0.0.1"), peer)
            stand_in.sendto(reply(wire, "10.0.0.2"), peer)
            return first, await second
        finally:
            client.close()

    try:
        first, second = asyncio.run(asked())
    finally:
        stand_in.close()

    assert ("first.example", "TIMEOUT") == (first.fqdn, first.rcode)
    assert ("second.example", "NOERROR", ("10.0.0.2",)) == (
        second.fqdn,
        second.rcode,
        second.addresses,
    )


# -- reachability ----------------------------------------------------------------------------


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    return tmp_path / "ca.pem"


@pytest.fixture
def tls_listener(ca_file: Path) -> Iterator[TlsListener]:
    """A front end with a certificate for NAME's wildcard, from the CA in ``ca_file``."""
    authority = trustme.CA()
    authority.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("*.workspace.eastus.api.azureml.ms").configure_cert(context)
    listener = TlsListener(context)
    listener.start()
    yield listener
    listener.stop()


def reach(address_map: dict[str, str], ca_file: Path | None = None) -> ReachabilityConfig:
    return ReachabilityConfig(timeout_seconds=1.0, address_map=address_map, ca_file=ca_file)


def test_tls_handshake_with_sni(tls_listener: TlsListener, ca_file: Path) -> None:
    """Connected, TLS done (certificate verified), and the listener saw the FQDN as SNI."""
    config = reach({"10.0.1.5": tls_listener.address}, ca_file)
    result = asyncio.run(probe(NAME, "10.0.1.5", config))

    assert (True, True, tls_listener.address) == (result.connected, result.tls_ok, result.target)
    assert [NAME] == tls_listener.server_names


def test_closed_port_does_not_connect() -> None:
    """Nothing listens: no TCP, no TLS, and the detail says why."""
    result = asyncio.run(probe(NAME, "10.0.1.99", reach({"10.0.1.99": DEAD_FORWARDER})))

    assert (False, False) == (result.connected, result.tls_ok)
    assert result.detail.startswith("TCP connect failed")


def test_a_reachability_probe_that_raises_is_a_result_and_the_others_complete(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unexpected exception on one target is that target's result naming the exception
    (not connected); the other target is still probed."""
    original = reach_probe.probe

    async def failing(
        fqdn: str, address: str, config: ReachabilityConfig, context: ssl.SSLContext | None = None
    ) -> Reachability:
        if address == "10.0.1.5":
            raise RuntimeError("a probe bug")
        return await original(fqdn, address, config, context)

    monkeypatch.setattr(reach_probe, "probe", failing)
    config = reach({"10.0.1.99": DEAD_FORWARDER})
    results = asyncio.run(probe_all([(NAME, "10.0.1.5"), (NAME, "10.0.1.99")], config))

    failed, probed = results
    assert ("10.0.1.5", False, "the reachability probe failed: RuntimeError: a probe bug") == (
        failed.address,
        failed.connected,
        failed.detail,
    )
    assert ("10.0.1.99", False) == (probed.address, probed.connected)
    assert probed.detail.startswith("TCP connect failed")


def test_plain_tcp_is_not_tls() -> None:
    """A port that accepts TCP but closes without TLS: connected, no TLS."""
    listener = socket.create_server(("127.0.0.1", 0))

    def close_one() -> None:
        conn, _ = listener.accept()
        conn.close()

    threading.Thread(target=close_one, daemon=True).start()
    address = f"127.0.0.1:{listener.getsockname()[1]}"
    result = asyncio.run(probe(NAME, "10.0.1.5", reach({"10.0.1.5": address})))
    listener.close()

    assert (True, False) == (result.connected, result.tls_ok)
    assert result.detail.startswith("TLS handshake failed")


def raw_server(
    reply: Callable[[bytes], bytes | None], queries: int = 1
) -> tuple[str, threading.Thread]:
    """A one-socket UDP server: ``reply(query)`` for each of ``queries`` (None: stay silent)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(3)

    def serve() -> None:
        with sock:
            for _ in range(queries):
                try:
                    wire, peer = sock.recvfrom(512)
                except TimeoutError:
                    return
                answer = reply(wire)
                if answer is not None:
                    sock.sendto(answer, peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"127.0.0.1:{sock.getsockname()[1]}", thread


def a_record(wire: bytes, name: str = NAME) -> bytes:
    response = dns.message.make_response(dns.message.from_wire(wire))
    response.answer.append(dns.rrset.from_text(name + ".", 60, "IN", "A", "10.0.1.5"))
    return response.to_wire()


def test_lost_datagram_is_sent_again() -> None:
    """The first query is lost: the probe sends it again halfway through the timeout."""
    seen: list[bytes] = []

    def second_only(wire: bytes) -> bytes | None:
        seen.append(wire)
        return a_record(wire) if len(seen) == 2 else None

    address, thread = raw_server(second_only, queries=2)
    answer = ask(NAME, resolver(address), timeout=1.0)
    thread.join(5)

    assert ("NOERROR", ("10.0.1.5",)) == (answer.rcode, answer.addresses)
    assert 500 <= answer.latency_ms < 1000


def test_garbage_reply_is_malformed() -> None:
    """A reply with our id that is not a DNS message: MALFORMED, with what dnspython said."""
    address, thread = raw_server(lambda wire: wire[:2] + b"\x81\x80\xff")
    answer = ask(NAME, resolver(address), timeout=1.0)
    thread.join(5)

    assert ("MALFORMED", False) == (answer.rcode, answer.answered)
    assert answer.detail


def test_reply_to_another_question_is_malformed() -> None:
    """A well-formed reply for a different name is not an answer to ours."""
    address, thread = raw_server(a_record_for_other)
    answer = ask(NAME, resolver(address), timeout=1.0)
    thread.join(5)

    assert ("MALFORMED", "the reply does not answer the question asked") == (
        answer.rcode,
        answer.detail,
    )


def a_record_for_other(wire: bytes) -> bytes:
    other = dns.message.make_query("other.example", "A")
    other.id = dns.message.from_wire(wire).id
    return a_record(other.to_wire(), "other.example")
