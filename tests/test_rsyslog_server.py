"""The rsyslogd test fixture itself works: UDP, octet-counted TCP, TLS, UTF-8, clean stop."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.rsyslog import RSYSLOGD, RunningRsyslog, start_rsyslog

pytestmark = [
    pytest.mark.servers,
    pytest.mark.skipif(not os.path.exists(RSYSLOGD), reason="rsyslogd not installed"),
]


def rfc5424(msg: str, msgid: str = "TEST") -> bytes:
    return f"<134>1 2024-05-01T12:00:00.000Z testhost netverify 42 {msgid} - {msg}".encode()


def octet_counted(*frames: bytes) -> bytes:
    return b"".join(b"%d %s" % (len(f), f) for f in frames)


@pytest.fixture(scope="module")
def rsyslog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRsyslog]:
    server = start_rsyslog(tmp_path_factory.mktemp("rsyslog"))
    yield server
    server.stop()


def test_generated_config_validates(rsyslog: RunningRsyslog) -> None:
    check = subprocess.run(
        [RSYSLOGD, "-N1", "-f", str(rsyslog.workdir / "rsyslog.conf")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert check.returncode == 0, check.stderr


def test_udp(rsyslog: RunningRsyslog) -> None:
    before = len(rsyslog.lines())
    msg = rfc5424("over udp", "UDP")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(msg, (rsyslog.host, rsyslog.udp_port))
    assert rsyslog.wait_for(before + 1)[before:] == [msg.decode()]


def test_tcp_two_octet_counted_frames_in_one_write(rsyslog: RunningRsyslog) -> None:
    before = len(rsyslog.lines())
    first, second = rfc5424("first frame", "TCP1"), rfc5424("second frame", "TCP2")
    with socket.create_connection((rsyslog.host, rsyslog.tcp_port)) as s:
        s.sendall(octet_counted(first, second))
    assert rsyslog.wait_for(before + 2)[before:] == [first.decode(), second.decode()]


def test_tls(rsyslog: RunningRsyslog) -> None:
    before = len(rsyslog.lines())
    msg = rfc5424("over tls", "TLS")
    ctx = ssl.create_default_context(cafile=str(rsyslog.ca_pem))
    with (
        socket.create_connection((rsyslog.host, rsyslog.tls_port)) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(octet_counted(msg))
        # Send close_notify, else rsyslogd logs GnuTLS error -110 ("non-properly terminated").
        # rsyslogd then drops the TCP connection without its own close_notify, hence the EOF.
        with contextlib.suppress(ssl.SSLEOFError):
            tls.unwrap()
    assert rsyslog.wait_for(before + 1)[before:] == [msg.decode()]


def test_json_utf8_payload_intact(rsyslog: RunningRsyslog) -> None:
    payload = json.dumps(
        {"finding": "café", "check": "dns→private", "ok": False}, ensure_ascii=False
    )
    before = len(rsyslog.lines())
    msg = rfc5424(payload, "JSON")
    with socket.create_connection((rsyslog.host, rsyslog.tcp_port)) as s:
        s.sendall(octet_counted(msg))
    [line] = rsyslog.wait_for(before + 1)[before:]
    assert line == msg.decode()
    assert json.loads(line.split(" - ", 1)[1]) == json.loads(payload)


def test_stop_leaves_no_process(tmp_path: Path) -> None:
    server = start_rsyslog(tmp_path)
    pid = server.process.pid
    server.stop()
    assert server.process.returncode is not None
    assert not os.path.exists(f"/proc/{pid}")
    server.stop()  # idempotent
