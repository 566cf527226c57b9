"""The DNS test doubles work: StaticDnsServer on its own, and BIND/dnsmasq/unbound forwarding to it.

Everything listens on and talks to 127.0.0.1 only; the helpers refuse non-loopback forwarders.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from netverify.sim.custom_dns import (
    DNSMASQ,
    NAMED,
    UNBOUND,
    RunningDns,
    start_bind,
    start_dnsmasq,
    start_unbound,
)
from netverify.sim.dns_server import Record, StaticDnsServer

HOST = "127.0.0.1"
ZONE_AML = "privatelink.api.azureml.ms"
ZONE_INFERENCE = "inference.ml.azure.com"

AZURE_RECORDS = [
    # What Azure DNS returns for a workspace behind a private endpoint: a CNAME chain inside the
    # privatelink zone ending at the private IP.
    Record(f"ws1.workspace.eastus.{ZONE_AML}", "CNAME", f"ws1-pe.{ZONE_AML}"),
    Record(f"ws1-pe.{ZONE_AML}", "A", "10.0.0.5"),
    Record(f"*.{ZONE_INFERENCE}", "A", "10.0.0.6"),
]
PUBLIC_RECORDS = [
    Record("www.example.com", "A", "93.184.216.34"),
    # Public DNS only knows the CNAME into the privatelink zone; the target lives in Azure DNS.
    Record("ws1.workspace.eastus.api.azureml.ms", "CNAME", f"ws1.workspace.eastus.{ZONE_AML}"),
]


def query(
    server: StaticDnsServer | RunningDns, name: str, rdtype: str = "A", timeout: float = 5.0
) -> dns.message.Message:
    return dns.query.udp(
        dns.message.make_query(name, rdtype), server.host, port=server.port, timeout=timeout
    )


def answer_text(response: dns.message.Message) -> list[str]:
    return [str(rrset) for rrset in response.answer]


# -- StaticDnsServer ---------------------------------------------------------------------------


@pytest.fixture
def static() -> Iterator[StaticDnsServer]:
    records = [
        *AZURE_RECORDS,
        Record("txt.example", "TXT", 'v=1 "quoted" text'),
        Record(f"exists.{ZONE_INFERENCE}", "TXT", "blocks the wildcard"),
        Record("loop-a.example", "CNAME", "loop-b.example"),
        Record("loop-b.example", "CNAME", "loop-a.example"),
    ]
    with StaticDnsServer(records, truncate_udp=False, drop_names=["slow.example"]) as server:
        yield server


def test_static_binds_loopback_and_exposes_port(static: StaticDnsServer) -> None:
    assert static.host == HOST
    assert static.port > 0
    assert static.address == f"{HOST}:{static.port}"


def test_static_cname_chain_then_a_in_one_answer(static: StaticDnsServer) -> None:
    r = query(static, f"ws1.workspace.eastus.{ZONE_AML}")
    assert r.rcode() == dns.rcode.NOERROR
    assert answer_text(r) == [
        f"ws1.workspace.eastus.{ZONE_AML}. 60 IN CNAME ws1-pe.{ZONE_AML}.",
        f"ws1-pe.{ZONE_AML}. 60 IN A 10.0.0.5",
    ]
    assert r.flags & dns.flags.AA
    assert r.flags & dns.flags.RA


def test_static_names_are_case_insensitive(static: StaticDnsServer) -> None:
    r = query(static, f"WS1-PE.{ZONE_AML.upper()}")
    assert [rd.to_text() for rd in r.answer[0]] == ["10.0.0.5"]
    assert static.queries[-1] == (f"ws1-pe.{ZONE_AML}", "A", "udp")


def test_static_wildcard(static: StaticDnsServer) -> None:
    r = query(static, f"my-endpoint.eastus.{ZONE_INFERENCE}")
    assert answer_text(r) == [f"my-endpoint.eastus.{ZONE_INFERENCE}. 60 IN A 10.0.0.6"]


def test_static_wildcard_does_not_cover_existing_names(static: StaticDnsServer) -> None:
    # RFC 4592: a name that exists (here with TXT only) is not synthesised from the wildcard.
    r = query(static, f"exists.{ZONE_INFERENCE}")
    assert r.rcode() == dns.rcode.NOERROR
    assert r.answer == []


def test_static_nxdomain_and_nodata(static: StaticDnsServer) -> None:
    assert query(static, f"missing.{ZONE_AML}").rcode() == dns.rcode.NXDOMAIN
    nodata = query(static, f"ws1-pe.{ZONE_AML}", "AAAA")
    assert (nodata.rcode(), nodata.answer) == (dns.rcode.NOERROR, [])
    # An ancestor of a known name exists (empty non-terminal), so it is NODATA, not NXDOMAIN.
    ent = query(static, "workspace.eastus." + ZONE_AML)
    assert (ent.rcode(), ent.answer) == (dns.rcode.NOERROR, [])


def test_static_txt_value_is_one_string(static: StaticDnsServer) -> None:
    r = query(static, "txt.example", "TXT")
    assert [s for rd in r.answer[0] for s in rd.strings] == [b'v=1 "quoted" text']


def test_static_cname_loop_is_servfail_not_hang(static: StaticDnsServer) -> None:
    assert query(static, "loop-a.example").rcode() == dns.rcode.SERVFAIL


def test_static_tcp(static: StaticDnsServer) -> None:
    q = dns.message.make_query(f"ws1-pe.{ZONE_AML}", "A")
    r = dns.query.tcp(q, static.host, port=static.port, timeout=5)
    assert answer_text(r) == [f"ws1-pe.{ZONE_AML}. 60 IN A 10.0.0.5"]
    assert static.queries[-1] == (f"ws1-pe.{ZONE_AML}", "A", "tcp")


def test_static_truncation_forces_tcp_fallback() -> None:
    with StaticDnsServer(AZURE_RECORDS, truncate_udp=True) as server:
        q = dns.message.make_query(f"ws1-pe.{ZONE_AML}", "A")
        udp_only = dns.query.udp(q, server.host, port=server.port, timeout=5)
        assert udp_only.flags & dns.flags.TC
        assert udp_only.answer == []
        r, used_tcp = dns.query.udp_with_fallback(q, server.host, port=server.port, timeout=5)
    assert used_tcp
    assert answer_text(r) == [f"ws1-pe.{ZONE_AML}. 60 IN A 10.0.0.5"]
    assert [t for _, _, t in server.queries] == ["udp", "udp", "tcp"]


def test_static_dropped_name_times_out(static: StaticDnsServer) -> None:
    with pytest.raises(dns.exception.Timeout):
        query(static, "SLOW.example", timeout=0.3)
    with pytest.raises(dns.exception.Timeout):
        dns.query.tcp(
            dns.message.make_query("slow.example", "A"),
            static.host,
            port=static.port,
            timeout=0.3,
        )
    assert static.queries[-2:] == [("slow.example", "A", "udp"), ("slow.example", "A", "tcp")]
    # Other names keep working.
    assert query(static, f"ws1-pe.{ZONE_AML}").rcode() == dns.rcode.NOERROR


def test_static_stop_closes_sockets_and_joins_threads() -> None:
    before = set(threading.enumerate())
    server = StaticDnsServer(AZURE_RECORDS).start()
    ours = set(threading.enumerate()) - before
    assert ours and all(t.daemon for t in ours)
    port = server.port
    server.stop()
    assert not any(t.is_alive() for t in ours)
    with pytest.raises(ConnectionRefusedError), socket.create_connection((HOST, port), 1):
        pass
    server.stop()  # idempotent


def test_static_refuses_non_loopback_and_bad_records() -> None:
    with pytest.raises(ValueError, match="loopback"):
        StaticDnsServer([], host="192.0.2.1")
    with pytest.raises(ValueError, match="unsupported"):
        Record("x.example", "MX", "10 mail.example")
    with pytest.raises(ValueError, match="CNAME"):
        StaticDnsServer([Record("x.example", "A", "10.0.0.1"), Record("x.example", "CNAME", "y")])


# -- BIND, dnsmasq, unbound --------------------------------------------------------------------

Starter = Callable[[Path, Mapping[str, str], str | None], RunningDns]
KINDS: dict[str, tuple[Starter, str]] = {
    "bind": (start_bind, NAMED),
    "dnsmasq": (start_dnsmasq, DNSMASQ),
    "unbound": (start_unbound, UNBOUND),
}
kinds = pytest.mark.parametrize(
    "kind",
    [
        pytest.param(k, marks=pytest.mark.skipif(not os.path.exists(b), reason=f"{b} missing"))
        for k, (_, b) in KINDS.items()
    ],
)


@pytest.fixture(scope="module")
def azure_dns() -> Iterator[StaticDnsServer]:
    with StaticDnsServer(AZURE_RECORDS) as server:
        yield server


@pytest.fixture(scope="module")
def public_dns() -> Iterator[StaticDnsServer]:
    with StaticDnsServer(PUBLIC_RECORDS) as server:
        yield server


@pytest.fixture
def start(
    tmp_path: Path, azure_dns: StaticDnsServer, public_dns: StaticDnsServer
) -> Iterator[Callable[[str, bool], RunningDns]]:
    """Start a custom DNS server of a kind, forwarding the Azure zones to the Azure stand-in."""
    started: list[RunningDns] = []

    def _start(kind: str, with_default: bool = True) -> RunningDns:
        azure_dns.queries.clear()
        public_dns.queries.clear()
        forwarders = {ZONE_AML: azure_dns.address, ZONE_INFERENCE + ".": azure_dns.address}
        default = public_dns.address if with_default else None
        server = KINDS[kind][0](tmp_path / kind, forwarders, default)
        started.append(server)
        return server

    yield _start
    for server in started:
        server.stop()


@pytest.mark.servers
@kinds
def test_conditional_zone_answered_by_upstream(
    kind: str,
    start: Callable[[str, bool], RunningDns],
    azure_dns: StaticDnsServer,
    public_dns: StaticDnsServer,
) -> None:
    server = start(kind, True)
    assert server.host == HOST
    r = query(server, f"ws1.workspace.eastus.{ZONE_AML}")
    assert r.rcode() == dns.rcode.NOERROR
    assert [
        (rr.name.to_text(), dns.rdatatype.to_text(rr.rdtype), [x.to_text() for x in rr])
        for rr in r.answer
    ] == [
        (f"ws1.workspace.eastus.{ZONE_AML}.", "CNAME", [f"ws1-pe.{ZONE_AML}."]),
        (f"ws1-pe.{ZONE_AML}.", "A", ["10.0.0.5"]),
    ]
    r = query(server, f"ep1.eastus.{ZONE_INFERENCE}")
    assert [x.to_text() for x in r.answer[0]] == ["10.0.0.6"]
    assert (f"ws1.workspace.eastus.{ZONE_AML}", "A", "udp") in azure_dns.queries
    assert public_dns.queries == []


@pytest.mark.servers
@kinds
def test_other_names_go_to_default_forwarder(
    kind: str,
    start: Callable[[str, bool], RunningDns],
    azure_dns: StaticDnsServer,
    public_dns: StaticDnsServer,
) -> None:
    server = start(kind, True)
    r = query(server, "www.example.com")
    assert answer_text(r) == ["www.example.com. 60 IN A 93.184.216.34"]
    assert query(server, "missing.example.com").rcode() == dns.rcode.NXDOMAIN
    assert {q[0] for q in public_dns.queries} == {"www.example.com", "missing.example.com"}
    assert azure_dns.queries == []


@pytest.mark.servers
@kinds
def test_public_cname_into_private_zone(
    kind: str, start: Callable[[str, bool], RunningDns]
) -> None:
    """BIND and unbound chase a CNAME from the default forwarder into the conditional zone;
    dnsmasq does not: it hands back the public answer (here the bare CNAME) unchanged. With real
    public DNS that is the *public* IP of the workspace, the classic dnsmasq misconfiguration."""
    server = start(kind, True)
    r = query(server, "ws1.workspace.eastus.api.azureml.ms")
    addresses = [x.to_text() for rr in r.answer if rr.rdtype == dns.rdatatype.A for x in rr]
    assert r.answer[0].rdtype == dns.rdatatype.CNAME
    assert addresses == ([] if kind == "dnsmasq" else ["10.0.0.5"])


@pytest.mark.servers
@kinds
def test_without_default_forwarder_other_names_fail(
    kind: str, start: Callable[[str, bool], RunningDns], public_dns: StaticDnsServer
) -> None:
    server = start(kind, False)
    r = query(server, f"ws1-pe.{ZONE_AML}")
    assert [x.to_text() for x in r.answer[0]] == ["10.0.0.5"]
    # BIND cannot refuse by name and answers SERVFAIL; dnsmasq and unbound answer REFUSED.
    assert query(server, "www.example.com").rcode() in (dns.rcode.REFUSED, dns.rcode.SERVFAIL)
    assert public_dns.queries == []


@pytest.mark.servers
@kinds
def test_generated_config_is_valid(kind: str, start: Callable[[str, bool], RunningDns]) -> None:
    server = start(kind, True)
    checks = {
        "bind": ["named-checkconf", str(server.workdir / "named.conf")],
        "unbound": ["unbound-checkconf", str(server.workdir / "unbound.conf")],
        # dnsmasq's config is its argv: --test parses it and exits.
        "dnsmasq": [*cast(list[str], server.process.args), "--test"],
    }
    check = subprocess.run(checks[kind], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.servers
@kinds
def test_stop_leaves_no_process(kind: str, start: Callable[[str, bool], RunningDns]) -> None:
    server = start(kind, True)
    pid = server.process.pid
    server.stop()
    assert server.process.returncode is not None
    assert not os.path.exists(f"/proc/{pid}")
    with pytest.raises(dns.exception.Timeout):
        query(server, "www.example.com", timeout=0.3)
    server.stop()  # idempotent


def test_helpers_refuse_non_loopback_forwarders(tmp_path: Path) -> None:
    for starter, _ in KINDS.values():
        with pytest.raises(ValueError, match="loopback"):
            starter(tmp_path, {ZONE_AML: "192.0.2.1:53"}, None)
        with pytest.raises(ValueError, match="loopback"):
            starter(tmp_path, {}, "8.8.8.8:53")


# -- negative answers carry their zone's SOA ----------------------------------------------------


def _soa_owners(response: dns.message.Message) -> list[str]:
    return [
        rrset.name.to_text(omit_final_dot=True)
        for rrset in response.authority
        if rrset.rdtype == dns.rdatatype.SOA
    ]


def test_a_negative_answer_carries_the_soa_of_its_zone() -> None:
    """NXDOMAIN in the privatelink zone, and NODATA at the end of a CNAME chain, carry that
    zone's SOA (negative TTL 10 s), as Azure DNS's do; an answer with data carries none; a
    name under no zone of the server carries none."""
    records = [*PUBLIC_RECORDS, *AZURE_RECORDS]
    with StaticDnsServer(records, soa_zones=[ZONE_AML, "api.azureml.ms"]) as server:
        missing = query(server, f"gone.{ZONE_AML}")
        nodata = query(server, "ws1.workspace.eastus.api.azureml.ms", "TXT")
        found = query(server, "ws1.workspace.eastus.api.azureml.ms")
        elsewhere = query(server, "nothing.example")

    assert (dns.rcode.NXDOMAIN, [ZONE_AML]) == (missing.rcode(), _soa_owners(missing))
    assert 10 == missing.authority[0].ttl
    assert (dns.rcode.NOERROR, [ZONE_AML]) == (nodata.rcode(), _soa_owners(nodata))
    assert ([], ["10.0.0.5"]) == (
        _soa_owners(found),
        [r.address for rrset in found.answer if rrset.rdtype == dns.rdatatype.A for r in rrset],
    )
    assert (dns.rcode.NXDOMAIN, []) == (elsewhere.rcode(), _soa_owners(elsewhere))


@pytest.mark.servers
@pytest.mark.skipif(not os.path.exists(NAMED), reason="BIND missing")
def test_bind_passes_the_stand_ins_soa_on(tmp_path: Path) -> None:
    """A real BIND forwarding to the Azure DNS stand-in hands the client the stand-in's SOA
    with the NXDOMAIN (what lets it cache the "no", and what netverify reads as the zone that
    said it)."""
    with StaticDnsServer(AZURE_RECORDS, soa_zones=[ZONE_AML]) as azure:
        bind = start_bind(tmp_path / "bind", {ZONE_AML: azure.address}, None)
        try:
            response = query(bind, f"gone.{ZONE_AML}")
        finally:
            bind.stop()

    assert (dns.rcode.NXDOMAIN, [ZONE_AML]) == (response.rcode(), _soa_owners(response))
