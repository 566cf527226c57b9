"""A private rsyslogd for tests: UDP, plain TCP (RFC 6587) and TLS (RFC 5425) on 127.0.0.1.

One rsyslogd serves all three: imtcp is loaded without a module-level stream driver (so it
defaults to plain ptcp) and only the TLS input selects gtls. Every message received on any
listener is written as received (%rawmsg%) to one file, one line per message, and as rsyslog's
own RFC 5424 parser read it (MSGID and STRUCTURED-DATA; "-" for what it could not parse) to a
second file, line for line.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import trustme

RSYSLOGD = "/usr/sbin/rsyslogd"
HOST = "127.0.0.1"
START_TIMEOUT = 10.0
BIND_ATTEMPTS = 3

# Inputs are bound to their own ruleset so rsyslogd's internal messages (which go to the
# default ruleset, i.e. stderr under -n) never land in the output file.
# maxMessageSize must precede the inputs; the default (8k) would truncate large JSON findings.
# The output is written synchronously and flushed per batch so tests can poll the file.
CONFIG = """\
global(
  maxMessageSize="64k"
  workDirectory="{spool}"
  DefaultNetstreamDriverCAFile="{ca}"
  DefaultNetstreamDriverCertFile="{cert}"
  DefaultNetstreamDriverKeyFile="{key}"
)
module(load="imudp")
module(load="imtcp")
template(name="raw" type="string" string="%rawmsg%\\n")
template(name="parsed" type="string" string="%protocol-version% %msgid% %structured-data%\\n")
ruleset(name="received") {{
  action(type="omfile" file="{output}" template="raw" flushOnTXEnd="on" asyncWriting="off")
  action(type="omfile" file="{parsed}" template="parsed" flushOnTXEnd="on" asyncWriting="off")
}}
input(type="imudp" address="{host}" port="{udp}" ruleset="received")
input(type="imtcp" address="{host}" port="{tcp}" ruleset="received"
      SupportOctetCountedFraming="on")
input(type="imtcp" address="{host}" port="{tls}" ruleset="received"
      SupportOctetCountedFraming="on"
      StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
"""


@dataclass
class RunningRsyslog:
    udp_port: int
    tcp_port: int
    tls_port: int
    host: str
    output: Path
    ca_pem: Path
    process: subprocess.Popen[bytes]
    workdir: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def restart(self) -> None:
        """Start rsyslogd again with the same config and ports, e.g. to end an outage."""
        self.stop()
        self.process = _launch(self.workdir)
        if not self.wait_ready():
            raise RuntimeError(f"rsyslogd did not come back; stderr:\n{self.stderr()}")

    def wait_ready(self) -> bool:
        """True once this rsyslogd owns its three ports; False if it exits or cannot bind."""
        wanted = {("udp", self.udp_port), ("tcp", self.tcp_port), ("tcp", self.tls_port)}
        deadline = time.monotonic() + START_TIMEOUT
        while self.process.poll() is None and time.monotonic() < deadline:
            if wanted <= _owned_ports(self.process.pid):
                return True
            # rsyslogd does not exit when a listener cannot bind; it logs and carries on.
            if "Could not create" in self.stderr():
                return False
            time.sleep(0.02)
        return False

    def lines(self) -> list[str]:
        return _lines(self.output)

    def parsed_lines(self) -> list[str]:
        """``VERSION MSGID STRUCTURED-DATA`` of each message as rsyslog parsed it."""
        return _lines(self.output.with_name("parsed.log"))

    def wait_for(self, count: int, timeout: float = 10.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.lines()
            if len(got) >= count:
                return got
            if time.monotonic() >= deadline:
                raise TimeoutError(f"expected {count} lines in {self.output}, got {got!r}")
            time.sleep(0.02)

    def stderr(self) -> str:
        return (self.workdir / "rsyslogd.stderr").read_text(errors="replace")


def _lines(path: Path) -> list[str]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:  # omfile creates the file on the first message
        return []
    # Only complete lines count; split on "\n" alone because str.splitlines() would also
    # split on characters such as U+2028 that may legitimately appear inside a message.
    return data.decode("utf-8", errors="replace").split("\n")[:-1]


def _free_port(kind: socket.SocketKind) -> int:
    # Racy by nature (the port is free only until closed); start_rsyslog retries on bind errors.
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def _owned_ports(pid: int) -> set[tuple[str, int]]:
    """(proto, port) pairs that process pid has bound on 127.0.0.1 (TCP: listening only).

    Asking the kernel instead of connecting proves the port belongs to *this* rsyslogd (not a
    process that won the port race), works for UDP, and leaves no probe noise in the output.
    """
    inodes = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:  # rsyslogd exited; the caller notices via poll()
        return set()
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    owned = set()
    for proto in ("udp", "tcp"):
        for row in Path(f"/proc/net/{proto}").read_text().splitlines()[1:]:
            fields = row.split()
            addr, port = fields[1].split(":")
            listening = proto == "udp" or fields[3] == "0A"
            if addr == "0100007F" and listening and fields[9] in inodes:
                owned.add((proto, int(port, 16)))
    return owned


def _make_certs(workdir: Path) -> tuple[Path, Path, Path]:
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", HOST)
    paths = workdir / "ca.pem", workdir / "server-cert.pem", workdir / "server-key.pem"
    ca.cert_pem.write_to_path(str(paths[0]))
    leaf.cert_chain_pems[0].write_to_path(str(paths[1]))
    leaf.private_key_pem.write_to_path(str(paths[2]))
    return paths


def _launch(workdir: Path) -> subprocess.Popen[bytes]:
    with open(workdir / "rsyslogd.stderr", "wb") as err:  # a file: a pipe could fill up
        return subprocess.Popen(
            # -n: stay in the foreground; -i: own pid file, so no clash with a system one.
            [
                RSYSLOGD,
                "-n",
                "-f",
                str(workdir / "rsyslog.conf"),
                "-i",
                str(workdir / "rsyslogd.pid"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def start_rsyslog(workdir: Path) -> RunningRsyslog:
    workdir = workdir.resolve()  # rsyslogd wants absolute paths
    spool = workdir / "spool"
    spool.mkdir(parents=True, exist_ok=True)
    ca, cert, key = _make_certs(workdir)
    output = workdir / "received.log"
    for _ in range(BIND_ATTEMPTS):
        udp, tcp, tls = (
            _free_port(socket.SOCK_DGRAM),
            _free_port(socket.SOCK_STREAM),
            _free_port(socket.SOCK_STREAM),
        )
        conf = workdir / "rsyslog.conf"
        conf.write_text(
            CONFIG.format(
                spool=spool,
                ca=ca,
                cert=cert,
                key=key,
                output=output,
                parsed=output.with_name("parsed.log"),
                host=HOST,
                udp=udp,
                tcp=tcp,
                tls=tls,
            )
        )
        server = RunningRsyslog(udp, tcp, tls, HOST, output, ca, _launch(workdir), workdir)
        if server.wait_ready():
            return server
        server.stop()
        if "Could not create" not in server.stderr():
            break  # not a lost port race: retrying will not help
    raise RuntimeError(f"rsyslogd did not become ready; stderr:\n{server.stderr()}")
