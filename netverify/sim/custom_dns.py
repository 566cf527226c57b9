"""Real custom DNS servers (BIND, dnsmasq, unbound) as child processes on 127.0.0.1, for tests and the demo.

Each is set up the way customers run "custom DNS" in a VNet: conditional forwarders for the Azure
private-link zones (here pointing at StaticDnsServer stand-ins for 168.63.129.16) and a default
forwarder for everything else (a stand-in for public DNS). Every server is boxed in so that it
can only ever send traffic to the loopback forwarders it was given: no root hints, no DNSSEC
trust anchors, no IPv6, no control channel, no system configuration files.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rdataclass
import dns.rdatatype

NAMED = "/usr/sbin/named"
DNSMASQ = "/usr/sbin/dnsmasq"
UNBOUND = "/usr/sbin/unbound"
# The only address pytest-socket's --allow-hosts lets tests reach, so every server uses it.
HOST = "127.0.0.1"
START_TIMEOUT = 15.0
BIND_ATTEMPTS = 3
# Nothing listens on port 1 and the kernel never hands it out as an ephemeral port, so unlike a
# "free" port it cannot be taken later by a stand-in started after the server.
DEAD_FORWARDER = f"{HOST}:1"
# Printed (lower-cased) when the port was taken between _free_port() and the server's bind().
# BIND 9.18 does not say why; it exits with "unable to listen on any configured interfaces".
ADDRESS_IN_USE = ("address in use", "address already in use", "unable to listen on any")


@dataclass
class RunningDns:
    kind: str
    host: str
    port: int
    process: subprocess.Popen[bytes]
    workdir: Path

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.kind}.log"

    def log(self) -> str:
        """The server's stderr: start-up messages and, where enabled, one line per query."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """Terminate, then kill; always reaps so no zombie or orphan is left. Idempotent."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _loopback(address: str) -> tuple[str, int]:
    """Split "host:port" and refuse anything off loopback, so no config can leak queries."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"forwarder must be 'host:port', got {address!r}")
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"forwarder {address!r} is not on loopback")
    return host, int(port)


def _zone(name: str) -> str:
    return name.strip(".").lower()


def _free_port() -> int:
    """A port free for both UDP and TCP on HOST (racy: start-up retries if it is lost)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((HOST, 0))
            port: int = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((HOST, port))
                except OSError:
                    continue
                return port


def _answers(host: str, port: int) -> bool:
    # CHAOS version.bind is answered by all three servers locally (even if only with REFUSED),
    # so the probe never reaches a forwarder and never shows up in a stand-in's query log.
    probe = dns.message.make_query("version.bind", dns.rdatatype.TXT, dns.rdataclass.CH)
    try:
        dns.query.udp(probe, host, port=port, timeout=0.1)
    except (dns.exception.DNSException, OSError):
        return False
    return True


def _start(kind: str, workdir: Path, command: Callable[[Path, int], list[str]]) -> RunningDns:
    """Run ``command(workdir, port)`` until the server answers; retry lost port races."""
    workdir = workdir.resolve()  # the servers chdir or chroot-check; relative paths break
    workdir.mkdir(parents=True, exist_ok=True)
    for _ in range(BIND_ATTEMPTS):
        port = _free_port()
        argv = command(workdir, port)
        with open(workdir / f"{kind}.log", "wb") as log:  # a file: an unread pipe fills up
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
            )
        server = RunningDns(kind, HOST, port, proc, workdir)
        deadline = time.monotonic() + START_TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline:
            # poll() again: a server that lost the port race may still be exiting while the
            # winner answers the probe.
            if _answers(HOST, port) and proc.poll() is None:
                return server
            time.sleep(0.02)
        code = proc.poll()
        why = f"exited with code {code}" if code is not None else f"silent for {START_TIMEOUT}s"
        server.stop()
        if not any(s in server.log().lower() for s in ADDRESS_IN_USE):
            break  # not a lost port race: retrying will not help
    raise RuntimeError(
        f"{kind} did not start on {HOST}:{port} ({why}); command: {' '.join(argv)}\n"
        f"log ({server.log_path}):\n{server.log()}"
    )


# -- a server's own configuration ----------------------------------------------------------------

# What a configuration file may name: the server's own address, port and directory, and the
# stand-ins it forwards to ({azure.host}, {view:vnet-hub.port}, ...).
_PLACEHOLDER = re.compile(r"\{(host|port|dir|azure\.(?:host|port)|view:[\w.-]+\.(?:host|port))\}")
# Where each kind names an upstream: those must be loopback, like every other forwarder here.
_UPSTREAMS = {
    "bind": re.compile(r"forwarders\s*\{([^}]*)\}"),
    "unbound": re.compile(r"forward-addr:\s*(\S+)"),
    "dnsmasq": re.compile(r"^\s*server=(?:/[^/]*/)*([^/\s]+)\s*$", re.MULTILINE),
}
_ADDRESS = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")


def fill_config(kind: str, template: str, values: Mapping[str, str]) -> str:
    """``template`` with its placeholders filled from ``values``; refuses an unknown placeholder
    and any upstream that is not on loopback (ValueError naming it)."""

    def fill(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise ValueError(f"{kind} config names {match.group(0)}, which nothing here plays")
        return values[match.group(1)]

    text = _PLACEHOLDER.sub(fill, template)
    for upstream in _UPSTREAMS[kind].finditer(text):
        for address in _ADDRESS.findall(upstream.group(1)):
            if not ipaddress.ip_address(address).is_loopback:
                raise ValueError(f"{kind} config forwards to {address}, which is not on loopback")
    return text


CONFIG_FILES = {"bind": "named.conf", "unbound": "unbound.conf", "dnsmasq": "dnsmasq.conf"}


def start_configured(
    kind: str, workdir: Path, template: str, upstreams: Mapping[str, str]
) -> RunningDns:
    """A real ``kind`` server running ``template`` as its configuration file, with {host},
    {port}, {dir} and the ``upstreams`` placeholders (``"azure.host"`` -> ``"127.0.0.1"``)
    filled in."""

    def command(wd: Path, port: int) -> list[str]:
        conf = wd / CONFIG_FILES[kind]
        values = {**upstreams, "host": HOST, "port": str(port), "dir": str(wd)}
        conf.write_text(fill_config(kind, template, values))
        if kind == "bind":
            return [NAMED, "-g", "-4", "-c", str(conf)]
        if kind == "unbound":
            return [UNBOUND, "-d", "-c", str(conf)]
        return [DNSMASQ, "--no-daemon", f"--conf-file={conf}", "--log-facility=-"]

    return _start(kind, workdir, command)


# -- BIND --------------------------------------------------------------------------------------


def _bind_forwarders(address: str) -> str:
    host, port = _loopback(address)
    return f"{{ {host} port {port}; }}"


LocalZones = Mapping[str, Mapping[str, Sequence[str]]]
"""Zone -> {owner relative to the zone ("@" the apex, "*" a wildcard) -> IPv4 addresses}."""


def _zone_file(zone: str, records: Mapping[str, Sequence[str]]) -> str:
    """A master zone file: SOA and NS at the apex (so NXDOMAIN carries the SOA), then A records."""
    lines = [
        "$TTL 60",
        f"@ IN SOA localhost. hostmaster.{_zone(zone)}. 1 3600 600 86400 60",
        "@ IN NS localhost.",
        *(f"{owner} IN A {ip}" for owner, ips in records.items() for ip in ips),
    ]
    return "\n".join(lines) + "\n"


def _bind_conf(
    workdir: Path,
    port: int,
    conditional: Mapping[str, str],
    default: str | None,
    local_zones: LocalZones,
) -> str:
    if default is None:
        # BIND cannot refuse by name, and with no forwarders it would iterate from the built-in
        # root hints (i.e. the internet). A forwarder on a closed loopback port makes every other
        # name fail fast with SERVFAIL (ICMP port unreachable) without leaving the machine.
        default = DEAD_FORWARDER
    zones = "".join(
        f'zone "{_zone(z)}" {{ type forward; forward only; forwarders {_bind_forwarders(a)}; }};\n'
        for z, a in conditional.items()
        if _zone(z) not in {_zone(local) for local in local_zones}
    )
    for number, (zone, records) in enumerate(local_zones.items()):
        path = workdir / f"local-{number}.zone"
        path.write_text(_zone_file(zone, records), encoding="utf-8")
        zones += f'zone "{_zone(zone)}" {{ type master; file "{path}"; }};\n'
    return f"""\
options {{
    directory "{workdir}";
    pid-file "{workdir}/named.pid";
    session-keyfile "{workdir}/session.key";
    managed-keys-directory "{workdir}";
    listen-on port {port} {{ {HOST}; }};
    listen-on-v6 {{ none; }};
    recursion yes;
    allow-recursion {{ localhost; }};
    allow-query {{ localhost; }};
    // "auto" would prime the root trust anchor through the forwarders; nothing here is signed.
    dnssec-validation no;
    forward only;
    forwarders {_bind_forwarders(default)};
    notify no;
    querylog yes;
    // The default (90% of RAM) is absurd for a test and shows up as a warning in the log.
    max-cache-size 32m;
}};
// Without this BIND opens the default rndc channel 127.0.0.1:953 (Debian ships rndc.key), which
// collides between instances and is not needed.
controls {{ }};
{zones}"""


def start_bind(
    workdir: Path,
    conditional_forwarders: Mapping[str, str],
    default_forwarder: str | None,
    local_zones: LocalZones | None = None,
) -> RunningDns:
    """BIND forwarding as configured, and authoritative (master) for ``local_zones``."""

    def command(wd: Path, port: int) -> list[str]:
        conf = wd / "named.conf"
        conf.write_text(
            _bind_conf(wd, port, conditional_forwarders, default_forwarder, local_zones or {})
        )
        # -g: foreground, log to stderr; -4: no IPv6 sockets at all. No -u: as root BIND keeps
        # running as root, which is fine for a test and avoids chown'ing the workdir.
        return [NAMED, "-g", "-4", "-c", str(conf)]

    return _start("bind", workdir, command)


# -- dnsmasq -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rebinding:
    """DNS-rebinding protection: private addresses stripped, except under ``exempt``."""

    exempt: tuple[str, ...] = ()


def start_dnsmasq(
    workdir: Path,
    conditional_forwarders: Mapping[str, str],
    default_forwarder: str | None,
    rebinding: Rebinding | None = None,
) -> RunningDns:
    def command(wd: Path, port: int) -> list[str]:
        servers = []
        if rebinding is not None:
            servers.append("--stop-dns-rebind")
            servers += [f"--rebind-domain-ok=/{_zone(d)}/" for d in rebinding.exempt]
        for zone, address in conditional_forwarders.items():
            host, fport = _loopback(address)
            servers.append(f"--server=/{_zone(zone)}/{host}#{fport}")
        if default_forwarder is not None:
            host, fport = _loopback(default_forwarder)
            servers.append(f"--server={host}#{fport}")
        # With --no-resolv and no default --server, other names are answered REFUSED.
        return [
            DNSMASQ,
            # --no-daemon (not --keep-in-foreground): also keeps TCP in-process instead of
            # forking a child per connection, so stop() cannot leave a straggler behind.
            "--no-daemon",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            f"--port={port}",
            f"--listen-address={HOST}",
            "--bind-interfaces",
            f"--pid-file={wd / 'dnsmasq.pid'}",
            "--log-facility=-",
            "--log-queries",
            *servers,
        ]

    return _start("dnsmasq", workdir, command)


# -- unbound -----------------------------------------------------------------------------------


# The RFC 1918 ranges, as firewall appliances' rebinding protection lists them.
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


def _unbound_conf(
    workdir: Path,
    port: int,
    conditional: Mapping[str, str],
    default: str | None,
    rebinding: Rebinding | None = None,
) -> str:
    forwards = dict(conditional)
    local_zones = ""
    if rebinding is not None:
        local_zones += "".join(f"    private-address: {r}\n" for r in PRIVATE_RANGES)
        local_zones += "".join(f'    private-domain: "{_zone(d)}"\n' for d in rebinding.exempt)
    if default is None:
        # Refuse everything, then reopen the forwarded zones: the closest local-zone wins, and
        # without the "." refuse unbound would iterate from its built-in root hints.
        local_zones += '    local-zone: "." refuse\n' + "".join(
            f'    local-zone: "{_zone(z)}." transparent\n' for z in conditional
        )
    else:
        forwards["."] = default
    zones = ""
    for zone, address in forwards.items():
        host, fport = _loopback(address)
        name = _zone(zone) + "." if _zone(zone) else "."
        zones += f'forward-zone:\n    name: "{name}"\n    forward-addr: {host}@{fport}\n'
    return f"""\
server:
    username: ""
    chroot: ""
    directory: "{workdir}"
    pidfile: "{workdir}/unbound.pid"
    do-daemonize: no
    use-syslog: no
    logfile: ""
    verbosity: 1
    log-queries: yes
    num-threads: 1
    interface: {HOST}@{port}
    # The default (yes) lets two processes share a port, hiding a lost port race.
    so-reuseport: no
    do-ip6: no
    access-control: 127.0.0.0/8 allow
    # Forwarders live on 127.0.0.1, which unbound refuses to query by default.
    do-not-query-localhost: no
    # No validator module and no trust anchor: nothing may trigger DNSSEC priming.
    module-config: "iterator"
{local_zones}remote-control:
    control-enable: no
{zones}"""


def start_unbound(
    workdir: Path,
    conditional_forwarders: Mapping[str, str],
    default_forwarder: str | None,
    rebinding: Rebinding | None = None,
) -> RunningDns:
    def command(wd: Path, port: int) -> list[str]:
        conf = wd / "unbound.conf"
        conf.write_text(
            _unbound_conf(wd, port, conditional_forwarders, default_forwarder, rebinding)
        )
        return [UNBOUND, "-d", "-c", str(conf)]

    return _start("unbound", workdir, command)
