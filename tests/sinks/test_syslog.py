"""Syslog into a real rsyslogd: RFC 5424 over UDP, octet-counted TCP and TLS; outages lose nothing."""

from __future__ import annotations

import json
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from netverify.config import SyslogSink
from netverify.sinks.events import event_id
from netverify.sinks.spool import Backoff, Courier, Spool
from netverify.sinks.syslog import Syslog, structured_data
from netverify.testing import finding_events
from tests.servers.rsyslog import RSYSLOGD, RunningRsyslog, start_rsyslog
from tests.sinks.rfc5424 import SD_ID, parsed, sd_of

pytestmark = [
    pytest.mark.servers,
    pytest.mark.skipif(not os.path.exists(RSYSLOGD), reason="rsyslogd not installed"),
]
FAST = Backoff(initial_seconds=0.05, max_seconds=0.3)


@pytest.fixture
def rsyslog(tmp_path: Path) -> Iterator[RunningRsyslog]:
    server = start_rsyslog(tmp_path / "rsyslog")
    yield server
    server.stop()


def syslog_sink(server: RunningRsyslog, protocol: str, **options: Any) -> SyslogSink:
    port = {"udp": server.udp_port, "tcp": server.tcp_port, "tls": server.tls_port}[protocol]
    values: dict[str, Any] = {"type": "syslog", "host": server.host, "port": port}
    if protocol == "tls":
        values["ca_file"] = server.ca_pem
    return SyslogSink.model_validate({**values, "protocol": protocol, **options})


def stamped(count: int = 1) -> list[dict[str, Any]]:
    return [{**e, "event_id": event_id(e)} for e in finding_events(count)]


def deliver(sink: SyslogSink, events: list[dict[str, Any]], tmp_path: Path) -> Spool:
    spool = Spool(tmp_path / f"{sink.protocol}.sqlite", name=sink.protocol, max_events=100_000)
    spool.put(events)
    Courier(spool, Syslog(sink, "agent-test"), batch_size=100, backoff=FAST).flush(5)
    return spool


def msg_of(line: str) -> str:
    text: str = parsed(line).msg
    return text


@pytest.mark.parametrize("protocol", ["udp", "tcp", "tls"])
def test_json_finding_arrives_as_rfc5424(
    rsyslog: RunningRsyslog, protocol: str, tmp_path: Path
) -> None:
    """PRI local0 + err for a failing high finding, version 1, host, app, msgid, the ids as
    STRUCTURED-DATA (as rsyslog's own parser reads it too), the event as MSG."""
    events = stamped()

    # Room for the whole event over UDP too: trimming is test_syslog_rfc5424's.
    spool = deliver(syslog_sink(rsyslog, protocol, max_message_bytes=8192), events, tmp_path)

    lines = rsyslog.wait_for(2)
    first = parsed(lines[0])
    assert ("<131>1", "agent-test", "netverify", None, "finding") == (
        lines[0].split(" ")[0],
        first.hostname,
        first.appname,
        first.procid,
        first.msgid,
    )
    assert first.timestamp.endswith("Z")
    assert [sd_of(e) for e in events] == [parsed(line).sd[SD_ID] for line in lines]
    assert events == [json.loads(msg_of(line)) for line in lines]
    assert [
        f"1 finding {structured_data(SD_ID, sd_of(e))}" for e in events
    ] == rsyslog.parsed_lines()
    assert (2, 0) == (spool.stats().delivered, spool.stats().backlog)


def test_a_udp_burst_of_1000_findings_arrives_paced_and_within_2048_octets(
    rsyslog: RunningRsyslog, tmp_path: Path
) -> None:
    """1,000 events over UDP in one flush: every one arrives (the pacing keeps rsyslog's socket
    buffer from overflowing), none above RFC 5426's 2048 octets."""
    events = stamped(500)

    deliver(syslog_sink(rsyslog, "udp"), events, tmp_path)

    lines = rsyslog.wait_for(1000)
    assert {e["event_id"] for e in events} == {parsed(line).sd[SD_ID]["eventId"] for line in lines}
    assert 2048 >= max(len(line.encode()) for line in lines)


def test_cef_over_tls(rsyslog: RunningRsyslog, tmp_path: Path) -> None:
    """format = cef puts the CEF record first in MSG (no BOM), for Sentinel's AMA or QRadar."""
    [event, _] = stamped()

    deliver(syslog_sink(rsyslog, "tls", format="cef", facility=20), [event], tmp_path)

    [line] = rsyslog.wait_for(1)
    message = msg_of(line)
    assert line.startswith("<163>1 ")  # local4.err
    assert message.startswith("CEF:0|netverify|netverify|")
    assert f"externalId={event['event_id']}" in message


def test_tls_verifies_the_receiver_by_default(
    rsyslog: RunningRsyslog, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Without the receiver's CA the handshake fails; the events stay spooled."""
    sink = syslog_sink(rsyslog, "tls").model_copy(update={"ca_file": None})

    with caplog.at_level(logging.WARNING, logger="netverify.sinks.spool"):
        spool = Spool(tmp_path / "s.sqlite", name="tls", max_events=10)
        spool.put(stamped())
        assert not Courier(spool, Syslog(sink, "agent"), backoff=FAST).flush(0.3)

    assert 2 == spool.stats().backlog
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text
    assert [] == rsyslog.lines()


@pytest.mark.parametrize("protocol", ["tcp", "tls"])
def test_outage_loses_no_event(rsyslog: RunningRsyslog, tmp_path: Path, protocol: str) -> None:
    """rsyslog goes down mid-delivery and comes back: every one of 2,000 events arrives."""
    events = stamped(1000)
    spool = Spool(tmp_path / "s.sqlite", name=protocol, max_events=100_000)
    spool.put(events)
    courier = Courier(
        spool, Syslog(syslog_sink(rsyslog, protocol), "agent"), batch_size=50, backoff=FAST
    )
    result: list[bool] = []
    worker = threading.Thread(target=lambda: result.append(courier.flush(60)))

    worker.start()
    rsyslog.wait_for(1)
    rsyslog.stop()
    down_at = spool.stats()
    time.sleep(1.0)
    rsyslog.restart()
    worker.join(60)

    assert [True] == result
    assert 0 < down_at.backlog
    assert 0 < spool.stats().retried
    expected = {e["event_id"] for e in events}
    assert expected == received_ids(rsyslog, expected)
    assert 0 == spool.stats().backlog


def received_ids(rsyslog: RunningRsyslog, expected: set[str], timeout: float = 10) -> set[str]:
    """Event ids in rsyslog's output, polled until all expected are there or ``timeout`` passed.

    rsyslog writes its file a moment after it has taken a batch, so a flush that returned is
    not yet a file that holds everything.
    """
    deadline = time.monotonic() + timeout
    while True:
        lines = rsyslog.lines()
        ids = {json.loads(msg_of(line))["event_id"] for line in lines}
        if expected <= ids or time.monotonic() > deadline:
            return ids
        time.sleep(0.05)


def test_udp_message_too_large_even_trimmed_is_set_aside(
    rsyslog: RunningRsyslog, tmp_path: Path
) -> None:
    """An event that cannot fit 2048 octets without cutting an identifier is rejected
    (counted, kept), never cut silently."""
    [big, small] = stamped()
    big = {**big, "subject": "x" * 3000}

    spool = deliver(syslog_sink(rsyslog, "udp"), [big, small], tmp_path)

    [line] = rsyslog.wait_for(1)
    assert small["event_id"] == json.loads(msg_of(line))["event_id"]
    assert [big["event_id"]] == [e["event_id"] for e, _ in spool.rejected()]


@pytest.mark.parametrize("named", ["by path", "as LoadCredential= credentials"])
def test_tls_client_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, named: str
) -> None:
    """client_cert_file/client_key_file authenticate netverify to a receiver that demands it;
    relative names are read from $CREDENTIALS_DIRECTORY (systemd's LoadCredential=)."""
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    authority.configure_trust(server_context)
    server_context.verify_mode = ssl.CERT_REQUIRED
    client = authority.issue_cert("netverify-agent")
    paths = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key")}
    authority.cert_pem.write_to_path(str(paths["ca"]))
    client.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    client.private_key_pem.write_to_path(str(paths["key"]))
    received: list[bytes] = []
    peers: list[str] = []
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))

    def credential(name: str) -> str:
        return str(paths[name]) if named == "by path" else paths[name].name

    with socket.create_server(("127.0.0.1", 0)) as listener:

        def serve() -> None:
            for _ in range(2):  # the batch, then the empty session that confirms it
                raw, _ = listener.accept()
                with server_context.wrap_socket(raw, server_side=True) as tls:
                    peer = tls.getpeercert() or {}
                    peers.extend(str(value) for _, value in peer.get("subjectAltName", ()))
                    while chunk := tls.recv(65536):
                        received.append(chunk)

        worker = threading.Thread(target=serve)
        worker.start()
        sink = SyslogSink.model_validate(
            {
                "type": "syslog",
                "host": "127.0.0.1",
                "port": listener.getsockname()[1],
                "ca_file": str(paths["ca"]),
                "client_cert_file": credential("cert"),
                "client_key_file": credential("key"),
            }
        )
        spool = deliver(sink, stamped(), tmp_path)
        worker.join(10)

    assert ["netverify-agent", "netverify-agent"] == peers
    assert 2 == spool.stats().delivered
    frames = b"".join(received)
    length, _, rest = frames.partition(b" ")
    assert rest[: int(length)].startswith(b"<131>1 ")
