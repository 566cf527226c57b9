"""The issue-13 fault campaign as a runnable bench: hostile configs, ARM, token endpoint, DNS,
sinks and secrets against the simulated tenant, judged case by case.

Run from the repo root: ``PYTHONPATH=$PWD .venv/bin/python bench/fault_campaign.py`` (``-k arm``
runs only the cases whose kind or name contains ``arm``). It prints one line per wrong case with
its reason, then the table ``kind | tried | right | wrong`` and the four counters that must be 0:

* hangs: a case still running at its wall-clock bound (it is left behind, the campaign goes on);
* whole-run losses: a run that exited 2, or raised, with 0 findings where findings were expected;
* lost/duplicated events: events a run printed vs those at the loopback webhook plus its spool
  (waiting or rejected);
* leaks: threads or file descriptors left after the case (and its servers) vs before.

Everything listens on loopback; the exit code is 0 only when every case was right.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import os
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from netverify.agent.state import state_directory
from netverify.cli import main
from netverify.model import Finding, Status
from netverify.runner import RunResult, run_once
from netverify.sim.scenario import FaultSpec, builtin_scenario
from netverify.sim.tenant import SimulatedTenant
from netverify.sinks.spool import Spool
from tests.servers.receivers import Fault, WebhookStandIn

KV_PATH = "/providers/Microsoft.KeyVault/vaults/kv-broken$"
WS_PATH = "/workspaces/mlw-broken$"
ENDPOINTS_PATH = "/workspaces/mlw-healthy/onlineEndpoints$"
KV_CHECK = "keyvault_network_bypass_azure_services"
V1_CHECK = "workspace_v1_legacy_mode_disabled"
RESOLVER_CHECK = "dns_resolver_answers"
LEAK_SETTLE_SECONDS = 6.0


@dataclass
class Outcome:
    """What a case saw: ``wrong`` is None when right, else a one-line reason."""

    wrong: str | None = None
    whole_run_loss: bool = False
    lost_events: int = 0
    duplicated_events: int = 0


@dataclass
class Case:
    """One fault: ``run`` sets it up, runs netverify and judges; ``bound_seconds`` is a hang."""

    kind: str
    name: str
    run: Callable[[Campaign], Outcome]
    bound_seconds: float = 30.0


@dataclass
class Result:
    case: Case
    outcome: Outcome
    seconds: float
    hung: bool = False
    leaked: str = ""

    @property
    def right(self) -> bool:
        return not self.hung and not self.leaked and self.outcome.wrong is None

    @property
    def reason(self) -> str:
        if self.hung:
            return f"still running after {self.case.bound_seconds:.0f} s (hang)"
        return self.outcome.wrong or self.leaked


@dataclass
class Campaign:
    """The shared simulated tenant (demo scenario) and a scratch directory per case."""

    tenant: SimulatedTenant
    root: Path
    baseline_findings: int = 0
    _cases: int = field(default=0)

    def scratch(self) -> Path:
        self._cases += 1
        path = self.root / f"case{self._cases}"
        path.mkdir()
        os.environ["STATE_DIRECTORY"] = str(path / "state")
        return path

    def document(self, **sections: Any) -> dict[str, Any]:
        return self.tenant.config_document(**sections)

    def write(self, document: dict[str, Any], name: str = "config.toml") -> Path:
        path = self.scratch() / name
        path.write_text(tomli_w.dumps(document), encoding="utf-8")
        return path


# -- running netverify -------------------------------------------------------------------------


@dataclass
class CliRun:
    code: int
    stdout: str
    stderr: str


def cli(*argv: str) -> CliRun:
    """``netverify ARGV`` in this process, its output captured; an escaping exception is code -1."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
        except Exception as exc:  # the campaign judges it, it must not end the campaign
            print(f"escaped: {type(exc).__name__}: {exc}", file=err)
            code = -1
    return CliRun(code, out.getvalue(), err.getvalue())


def run_config(campaign: Campaign, **sections: Any) -> RunResult:
    campaign.scratch()
    return run_once(campaign.tenant.config(**sections))


def by_resource(result: RunResult, check_id: str) -> dict[str, Finding]:
    return {f.resource_id.rsplit("/", 1)[-1]: f for f in result.findings if f.check.id == check_id}


def expect(
    result: RunResult, check_id: str, statuses: dict[str, Status], text: str = ""
) -> Outcome:
    """Right when each resource's finding of ``check_id`` has its status (and the first names
    ``text``) and the run exits 1 (the demo's own fails), having lost none of its findings."""
    if not result.findings:
        return Outcome(f"exit {result.exit_code} with 0 findings", whole_run_loss=True)
    found = by_resource(result, check_id)
    for resource, status in statuses.items():
        finding = found.get(resource)
        if finding is None:
            return Outcome(f"no {check_id} finding for {resource}")
        if finding.status is not status:
            return Outcome(
                f"{resource}: {finding.status.value}, expected {status.value}: "
                f"{finding.message[:120]}"
            )
    first = found[next(iter(statuses))]
    if text and text not in finding_text(first):
        return Outcome(
            f"{first.resource_id.rsplit('/', 1)[-1]} does not say {text!r}: {first.message[:120]}"
        )
    if result.exit_code != 1:
        return Outcome(f"exit {result.exit_code}, expected 1")
    return Outcome()


def finding_text(finding: Finding) -> str:
    observed = finding.evidence.observed if finding.evidence else {}
    return f"{finding.message} {json.dumps(observed, default=str)}"


# -- malformed configs -------------------------------------------------------------------------


def config_case(
    edit: Callable[[dict[str, Any]], Any], raw: bytes | None = None
) -> Callable[[Campaign], Outcome]:
    """``config check`` on the demo config after ``edit`` (or on ``raw`` bytes): exit 2 with a
    message naming the file, never an unexpected exception."""

    def run(campaign: Campaign) -> Outcome:
        document = campaign.document()
        edit(document)
        path = campaign.write(document)
        if raw is not None:
            path.write_bytes(raw)
        checked = cli("config", "check", str(path))
        said = checked.stderr.strip().splitlines()[-1:] or [checked.stdout.strip()]
        if checked.code != 2:
            return Outcome(f"config check exit {checked.code}: {said[0][:140]}")
        if "could not run" in checked.stderr or checked.code == -1:
            return Outcome(f"unexpected exception: {said[0][:140]}")
        if str(path) not in checked.stderr:
            return Outcome(f"message does not name the file: {said[0][:140]}")
        return Outcome()

    return run


def setting(section: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        document.setdefault(section, {})[key] = value

    return edit


def nothing(document: dict[str, Any]) -> None:
    return None


def config_cases() -> list[Case]:
    deep = b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n"
    edits: dict[str, Callable[[dict[str, Any]], None]] = {
        "retry_total a string": setting("arm", "retry_total", "two"),
        "retry_total -1": setting("arm", "retry_total", -1),
        "arm timeout inf": setting("arm", "timeout_seconds", float("inf")),
        "arm timeout nan": setting("arm", "timeout_seconds", float("nan")),
        "arm timeout 1e-9": setting("arm", "timeout_seconds", 1e-9),
        "dns timeout inf": setting("dns", "timeout_seconds", float("inf")),
        "dns timeout 1e-9": setting("dns", "timeout_seconds", 1e-9),
        "reach timeout nan": setting("reachability", "timeout_seconds", float("nan")),
        "interval inf": setting("schedule", "interval_minutes", float("inf")),
        "interval 1e-9": setting("schedule", "interval_minutes", 1e-9),
        "run timeout inf": setting("schedule", "run_timeout_seconds", float("inf")),
        "azure_dns 10.0.0.300": setting("dns", "azure_dns", "10.0.0.300"),
        "server_map 999.1.1.1": setting("dns", "server_map", {"999.1.1.1": "127.0.0.1:53"}),
        "reach port 70000": setting("reachability", "port", 70000),
        "http:// ARM endpoint": setting("arm", "endpoint", "http://127.0.0.1:1"),
        "empty scope": setting("scope", "workspaces", []),
        "workspace not an ARM id": setting("scope", "workspaces", ["mlw-healthy"]),
    }
    cases = [Case("config", name, config_case(edit)) for name, edit in edits.items()]
    raws = {
        "non-UTF-8 file": b'cloud = "Azure\xff\xfeCloud"\n',
        "deep nesting": deep,
        "TOML syntax error": b"[arm\nendpoint = \n",
        "empty file": b"",
    }
    cases += [Case("config", name, config_case(nothing, raw)) for name, raw in raws.items()]
    return cases


# -- ARM faults --------------------------------------------------------------------------------


def arm_case(
    faults: list[FaultSpec],
    check_id: str,
    statuses: dict[str, Status],
    text: str = "",
    **sections: Any,
) -> Callable[[Campaign], Outcome]:
    def run(campaign: Campaign) -> Outcome:
        for fault in faults:
            campaign.tenant.arm.inject(fault)
        try:
            return expect(run_config(campaign, **sections), check_id, statuses, text)
        finally:
            campaign.tenant.arm.clear_faults()

    return run


def arm_cases() -> list[Case]:
    vault_error = {"kv-broken": Status.ERROR, "kv-healthy": Status.PASS}
    vault_judged = {"kv-broken": Status.FAIL, "kv-healthy": Status.PASS}
    workspace_error = {"mlw-broken": Status.ERROR, "mlw-healthy": Status.PASS}
    cases = [
        Case(
            "arm",
            f"vault {status} always",
            arm_case([FaultSpec(path=KV_PATH, status=status)], KV_CHECK, vault_error, str(status)),
        )
        for status in (500, 502, 503, 504)
    ]
    cases += [
        Case(
            "arm",
            "vault 500 once then 200",
            arm_case([FaultSpec(path=KV_PATH, status=500, times=1)], KV_CHECK, vault_judged),
        ),
        Case(
            "arm",
            "vault 429 Retry-After 1 once",
            arm_case(
                [FaultSpec(path=KV_PATH, status=429, retry_after=1, times=1)],
                KV_CHECK,
                vault_judged,
            ),
        ),
        Case(
            "arm",
            "vault 429 Retry-After 100000 once",
            arm_case(
                [FaultSpec(path=KV_PATH, status=429, retry_after=100000, times=1)],
                KV_CHECK,
                {"kv-healthy": Status.PASS},
                arm={"max_retry_after_seconds": 2},
            ),
        ),
        Case(
            "arm",
            "vault 429 Retry-After 100000 always (cap 3 s)",
            arm_case(
                [FaultSpec(path=KV_PATH, status=429, retry_after=100000)],
                KV_CHECK,
                vault_error,
                "429",
                arm={"max_retry_after_seconds": 3},
            ),
        ),
        Case(
            "arm",
            "vault 429 Retry-After 999999999",
            arm_case(
                [FaultSpec(path=KV_PATH, status=429, retry_after=999999999)],
                KV_CHECK,
                vault_error,
                "429",
                arm={"max_retry_after_seconds": 1},
            ),
        ),
        Case(
            "arm",
            "vault 403",
            arm_case(
                [FaultSpec(path=KV_PATH, status=403)],
                KV_CHECK,
                vault_error,
                "Microsoft.KeyVault/vaults/read",
            ),
        ),
        Case(
            "arm",
            "vault 404",
            arm_case(
                [FaultSpec(path=KV_PATH, status=404)], KV_CHECK, vault_judged, "does not exist"
            ),
        ),
        Case(
            "arm",
            "vault answers after 1.5 s",
            arm_case(
                [FaultSpec(path=KV_PATH, status=200, delay_seconds=1.5, times=1)],
                KV_CHECK,
                vault_judged,
            ),
        ),
        Case(
            "arm",
            "vault never answers (arm timeout 0.5 s)",
            arm_case(
                # Late past every try's timeout, yet within LEAK_SETTLE_SECONDS: the simulator's
                # threads still sleeping on the answer are not the agent's leak.
                [FaultSpec(path=KV_PATH, status=200, delay_seconds=4)],
                KV_CHECK,
                vault_error,
                arm={"timeout_seconds": 0.5},
            ),
        ),
    ]
    bodies = {
        "truncated JSON": '{"id": "x", "name": "mlw-bro',
        "HTML": "<html><body><h1>502 Bad Gateway</h1></body></html>",
        "null": "null",
        "a list": "[]",
        "a string": '"workspace"',
        "properties null": '{"id": "x", "name": "mlw-broken", "location": "eastus", "properties": null}',
        "v1LegacyMode a string": '{"id": "x", "name": "mlw-broken", "location": "eastus",'
        ' "properties": {"v1LegacyMode": "yes"}}',
        "empty": "",
    }
    cases += [
        Case(
            "arm",
            f"workspace body {name}",
            arm_case([FaultSpec(path=WS_PATH, status=200, body=body)], V1_CHECK, workspace_error),
        )
        for name, body in bodies.items()
    ]
    cases.append(Case("arm", "self-pointing nextLink", self_pointing_next_link))
    return cases


def self_pointing_next_link(campaign: Campaign) -> Outcome:
    """A list whose nextLink names its own page: an error finding saying so, a bounded run."""
    tenant = campaign.tenant
    healthy = next(w for w in tenant.workspace_ids() if w.endswith("/mlw-healthy"))
    page = f"{tenant.arm.url}{healthy}/onlineEndpoints?api-version=2025-12-01"
    body = json.dumps({"value": [], "nextLink": page})
    tenant.arm.inject(FaultSpec(path=ENDPOINTS_PATH, status=200, body=body))
    try:
        result = run_config(campaign)
    finally:
        tenant.arm.clear_faults()
    if not result.findings:
        return Outcome("0 findings", whole_run_loss=True)
    said = [
        f for f in result.findings if f.status is Status.ERROR and "nextLink" in finding_text(f)
    ]
    return Outcome() if said else Outcome("no error finding names the repeating nextLink")


# -- token endpoint ----------------------------------------------------------------------------


class HostileHttp:
    """A loopback HTTP/1.1 server that misbehaves one way: ``silent`` (accepts, never answers),
    ``close`` (accepts and closes), or a fixed ``status`` and ``body``."""

    def __init__(self, behaviour: str, status: int = 200, body: bytes = b"") -> None:
        self.behaviour, self.status, self.body = behaviour, status, body
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, name="hostile-http", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> HostileHttp:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for held in self._held:
            held.close()
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            if self.behaviour == "silent":
                self._held.append(connection)
                continue
            if self.behaviour == "status":
                with contextlib.suppress(OSError):
                    connection.settimeout(1)
                    connection.recv(65536)
                    head = (
                        f"HTTP/1.1 {self.status} X\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(self.body)}\r\nConnection: close\r\n\r\n"
                    )
                    connection.sendall(head.encode() + self.body)
            connection.close()


@contextlib.contextmanager
def identity_at(url: str) -> Iterator[None]:
    saved = os.environ["IDENTITY_ENDPOINT"]
    os.environ["IDENTITY_ENDPOINT"] = f"{url}/msi/token"
    try:
        yield
    finally:
        os.environ["IDENTITY_ENDPOINT"] = saved


def cannot_authenticate(result: RunResult) -> Outcome:
    """Right: exit 2 with findings, and no check judged what it read from ARM (DNS and TLS
    checks read nothing from ARM and may still judge)."""
    if result.exit_code != 2:
        return Outcome(f"exit {result.exit_code}, expected 2 (no token)")
    if not result.findings:
        return Outcome("0 findings: nothing says why")
    if any(
        f.status in (Status.PASS, Status.FAIL)
        for f in result.findings
        if "dns" not in f.check.id and "tls" not in f.check.id
    ):
        return Outcome("an ARM check judged without a token")
    return Outcome()


def token_case(
    behaviour: str, status: int = 200, body: bytes = b""
) -> Callable[[Campaign], Outcome]:
    def run(campaign: Campaign) -> Outcome:
        with HostileHttp(behaviour, status, body) as server, identity_at(server.url):
            return cannot_authenticate(run_config(campaign, credential={"timeout_seconds": 2}))

    return run


def no_identity(campaign: Campaign) -> Outcome:
    campaign.tenant.identity.identity_assigned = False
    try:
        return cannot_authenticate(run_config(campaign))
    finally:
        campaign.tenant.identity.identity_assigned = True


def token_cases() -> list[Case]:
    return [
        Case("token", "no identity (400)", no_identity),
        Case("token", "silent endpoint", token_case("silent"), bound_seconds=60),
        Case("token", "closes the connection", token_case("close"), bound_seconds=60),
        Case("token", "500", token_case("status", 500, b'{"error": "boom"}'), bound_seconds=60),
        Case("token", "200 not JSON", token_case("status", 200, b"<html>"), bound_seconds=60),
        Case(
            "token",
            "200 without access_token",
            token_case("status", 200, b'{"expires_on": "1"}'),
            bound_seconds=60,
        ),
    ]


# -- DNS faults --------------------------------------------------------------------------------


class HostileDns:
    """A loopback DNS server on UDP and TCP: ``servfail``, ``silent``, ``garbage`` (random
    bytes), ``tc-close`` (TC over UDP, then TCP closes) or ``tc-short`` (TC, then a TCP answer
    cut after its length prefix)."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind(("127.0.0.1", 0))
        self._udp.settimeout(0.2)
        self._tcp = socket.create_server(("127.0.0.1", self._udp.getsockname()[1]))
        self._tcp.settimeout(0.2)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._serve_udp, daemon=True),
            threading.Thread(target=self._serve_tcp, daemon=True),
        ]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._udp.getsockname()[1]}"

    def __enter__(self) -> HostileDns:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._udp.close()
        self._tcp.close()

    def _reply(self, query: bytes) -> bytes | None:
        if self.behaviour == "silent" or len(query) < 12:
            return None
        if self.behaviour == "garbage":
            return os.urandom(7)
        flags = 0x8182 if self.behaviour == "servfail" else 0x8380  # QR RD RA + SERVFAIL / QR TC
        return query[:2] + flags.to_bytes(2, "big") + query[4:6] + b"\0" * 6 + query[12:]

    def _serve_udp(self) -> None:
        while not self._stop.is_set():
            try:
                query, peer = self._udp.recvfrom(4096)
            except TimeoutError:
                continue
            reply = self._reply(query)
            if reply is not None:
                self._udp.sendto(reply, peer)

    def _serve_tcp(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._tcp.accept()
            except TimeoutError:
                continue
            with contextlib.suppress(OSError), connection:
                connection.settimeout(1)
                query = connection.recv(4096)[2:]
                if self.behaviour == "tc-short" and len(query) >= 12:
                    connection.sendall((200).to_bytes(2, "big") + query[:5])
                elif self.behaviour not in ("tc-close", "silent"):
                    reply = self._reply(query)
                    if reply is not None:
                        connection.sendall(len(reply).to_bytes(2, "big") + reply)


def resolver_judged(result: RunResult, baseline: int) -> Outcome:
    """Right: the run keeps its findings (no whole-run loss) and the resolver is not a pass."""
    if result.exit_code == 2 or not result.findings:
        return Outcome(
            f"exit {result.exit_code} with {len(result.findings)} findings",
            whole_run_loss=not result.findings,
        )
    if len(result.findings) < baseline // 2:
        return Outcome(f"{len(result.findings)} findings of {baseline}: a part of the run is lost")
    resolver = [f for f in result.findings if f.check.id == RESOLVER_CHECK]
    if not resolver or all(f.status is Status.PASS for f in resolver):
        return Outcome(f"no {RESOLVER_CHECK} finding names the broken resolver")
    return Outcome()


def dns_case(behaviour: str) -> Callable[[Campaign], Outcome]:
    """The host's resolver (first nameserver of resolv.conf) is a hostile DNS server."""

    def run(campaign: Campaign) -> Outcome:
        document = campaign.document()
        nameserver = campaign.tenant.write_resolv_conf().read_text().split()[1]
        with HostileDns(behaviour) as server:
            dns = {
                **document["dns"],
                "server_map": {**document["dns"]["server_map"], nameserver: server.address},
            }
            return resolver_judged(run_config(campaign, dns=dns), campaign.baseline_findings)

    return run


def resolv_conf_case(content: bytes | None) -> Callable[[Campaign], Outcome]:
    """resolv.conf is ``content`` (None: missing): the run goes on, a finding names the file."""

    def run(campaign: Campaign) -> Outcome:
        path = campaign.scratch() / "resolv.conf"
        if content is not None:
            path.write_bytes(content)
        result = run_once(campaign.tenant.config(dns={"resolv_conf": str(path)}))
        if result.exit_code == 2 or len(result.findings) < campaign.baseline_findings // 2:
            return Outcome(
                f"exit {result.exit_code} with {len(result.findings)} findings",
                whole_run_loss=not result.findings,
            )
        named = [
            f
            for f in result.findings
            if f.status is not Status.PASS and str(path) in finding_text(f)
        ]
        return Outcome() if named else Outcome(f"no finding names {path.name}")

    return run


def dns_cases() -> list[Case]:
    cases = [
        Case("dns", f"resolver {b}", dns_case(b), bound_seconds=60)
        for b in ("silent", "servfail", "garbage", "tc-close", "tc-short")
    ]
    files = {
        "resolv.conf non-UTF-8": b"nameserver 10.0.0.4\xff\xfe\n",
        "resolv.conf nameserver 999.1.1.1": b"nameserver 999.1.1.1\n",
        "resolv.conf missing": None,
        "resolv.conf without nameserver": b"search example.com\n",
    }
    cases += [
        Case("dns", name, resolv_conf_case(content), bound_seconds=60)
        for name, content in files.items()
    ]
    return cases


# -- sink outages ------------------------------------------------------------------------------


def sink_case(faults: list[Fault], down: bool = False) -> Callable[[Campaign], Outcome]:
    """``netverify run`` with a webhook that answers ``faults`` (or is down) beside a JSON lines
    file: it exits 1 within its flush timeout; every printed event is at the webhook, waiting in
    its spool or in its rejected table, none arrived twice, and the file has each one once (one
    sink's outage holds back no other)."""

    def run(campaign: Campaign) -> Outcome:
        workdir = campaign.scratch()
        receiver = WebhookStandIn(workdir / "webhook")
        receiver.start()
        receiver.fail_next(*faults)
        document = campaign.document()
        document["sinks"] = [
            {
                "type": "webhook",
                "url": receiver.url,
                "name": "hook",
                "ca_file": str(receiver.ca_pem),
                "timeout_seconds": 2,
            },
            {"type": "jsonl_file", "path": str(workdir / "events.jsonl"), "name": "file"},
        ]
        document["delivery"] = {
            "retry_initial_seconds": 0.05,
            "retry_max_seconds": 0.2,
            "flush_timeout_seconds": 1,
        }
        config = workdir / "config.toml"
        config.write_text(tomli_w.dumps(document), encoding="utf-8")
        if down:
            receiver.stop()
        try:
            ran = cli("run", "-c", str(config), "-o", "jsonl")
        finally:
            receiver.stop()
        spool = Spool.in_directory(state_directory(None, None), "hook", 10)
        return delivered(ran, receiver, spool, workdir / "events.jsonl")

    return run


def delivered(ran: CliRun, receiver: WebhookStandIn, spool: Spool, file: Path) -> Outcome:
    printed = [json.loads(line)["uid"] for line in ran.stdout.splitlines() if line.startswith("{")]
    if ran.code != 1 or not printed:
        return Outcome(
            f"run exit {ran.code} with {len(printed)} events: {ran.stderr[-140:]!r}",
            whole_run_loss=not printed,
        )
    arrived = Counter(e["uid"] for e in receiver.received)
    duplicated = sum(n - 1 for n in arrived.values())
    stats = spool.stats()  # refused for good (413 at one event, 401): kept and named, not lost
    lost = max(0, len(printed) - len(arrived) - stats.backlog - stats.rejected)
    lines = file.read_text().splitlines() if file.exists() else []
    written = Counter(json.loads(line)["uid"] for line in lines)
    lost += len(set(printed) - set(written))
    duplicated += sum(n - 1 for n in written.values())
    if lost or duplicated:
        return Outcome(
            f"{lost} lost, {duplicated} duplicated of {len(printed)}",
            lost_events=lost,
            duplicated_events=duplicated,
        )
    return Outcome()


def sink_cases() -> list[Case]:
    always = 40
    return [
        Case("sink", "webhook 500 always", sink_case([Fault(500)] * always)),
        Case("sink", "webhook 503 twice then 202", sink_case([Fault(503)] * 2)),
        Case(
            "sink",
            "webhook 429 Retry-After 999999",
            sink_case([Fault(429, headers={"Retry-After": "999999"})] * always),
        ),
        Case(
            "sink",
            "webhook 503 Retry-After 999999 once",
            sink_case([Fault(503, headers={"Retry-After": "999999"})]),
        ),
        Case("sink", "webhook never answers", sink_case([Fault(503, delay_seconds=4)] * 4)),
        Case("sink", "webhook down", sink_case([], down=True)),
        Case("sink", "webhook 401 always", sink_case([Fault(401, {"error": "no"})] * always)),
        Case("sink", "webhook 413 always", sink_case([Fault(413)] * always)),
    ]


# -- secrets -----------------------------------------------------------------------------------


def secret_case(status: int, path: str, shape: str) -> Callable[[Campaign], Outcome]:
    """An ARM answer that echoes a bearer token the tenant issued: not in stdout, stderr or
    anything under the state directory."""

    def run(campaign: Campaign) -> Outcome:
        tenant = campaign.tenant
        token = tenant.arm.tokens.issue({"aud": "https://management.azure.com"})
        body = shape.replace("TOKEN", token)
        tenant.arm.inject(FaultSpec(path=path, status=status, body=body))
        config = campaign.write(campaign.document())
        try:
            outputs = {o: cli("run", "-c", str(config), "-o", o) for o in ("json", "table")}
        finally:
            tenant.arm.clear_faults()
        if any(ran.code != 1 for ran in outputs.values()):
            return Outcome(f"run exit {[ran.code for ran in outputs.values()]}, expected 1")
        where = [f"stdout -o {o}" for o, ran in outputs.items() if token in ran.stdout]
        where += [f"stderr -o {o}" for o, ran in outputs.items() if token in ran.stderr]
        state = state_directory(None, None)
        where += [
            p.name for p in state.rglob("*") if p.is_file() and token.encode() in p.read_bytes()
        ]
        return Outcome(f"token in {', '.join(where)}") if where else Outcome()

    return run


def webhook_echoing_its_secret(campaign: Campaign) -> Outcome:
    """A webhook whose 401 body echoes the Authorization value it was sent: the value is on
    neither stdout nor stderr of `run`, and the retry delivers."""
    workdir = campaign.scratch()
    secret = "opaque-webhook-secret-4f9e2a"
    (workdir / "authorization").write_text(secret, encoding="utf-8")
    receiver = WebhookStandIn(workdir / "webhook")
    receiver.start()
    receiver.fail_next(Fault(401, {"error": f"unknown authorization {secret}"}))
    document = campaign.document()
    document["sinks"] = [
        {
            "type": "webhook",
            "url": receiver.url,
            "ca_file": str(receiver.ca_pem),
            "authorization_file": str(workdir / "authorization"),
        }
    ]
    document["delivery"] = {"retry_initial_seconds": 0.05, "flush_timeout_seconds": 5}
    config = workdir / "config.toml"
    config.write_text(tomli_w.dumps(document), encoding="utf-8")
    try:
        ran = cli("run", "-c", str(config), "-o", "jsonl")
    finally:
        receiver.stop()
    if secret in ran.stdout + ran.stderr:
        return Outcome("the webhook's secret is in run's output")
    if ran.code != 1 or not receiver.received:
        return Outcome(f"run exit {ran.code}, {len(receiver.received)} events at the webhook")
    return Outcome()


def secret_cases() -> list[Case]:
    message = (
        '{"error": {"code": "BadGateway", "message": "upstream saw Authorization: Bearer TOKEN"}}'
    )
    bare = '{"error": {"code": "Forbidden", "message": "token TOKEN is not allowed"}}'
    return [
        Case("secret", "webhook 401 echoing its secret", webhook_echoing_its_secret),
        Case("secret", "502 echoing Authorization", secret_case(502, KV_PATH, message)),
        Case("secret", "403 echoing the bare token", secret_case(403, KV_PATH, bare)),
        Case(
            "secret",
            "200 workspace body with the token",
            secret_case(200, WS_PATH, '{"id": "x", "properties": {"v1LegacyMode": "TOKEN"}}'),
        ),
        Case(
            "secret",
            "500 HTML echoing the header",
            secret_case(500, KV_PATH, "<html>Authorization: Bearer TOKEN</html>"),
        ),
    ]


def all_cases() -> list[Case]:
    return [
        *config_cases(),
        *arm_cases(),
        *token_cases(),
        *dns_cases(),
        *sink_cases(),
        *secret_cases(),
    ]


# -- the campaign ------------------------------------------------------------------------------


def resources() -> tuple[set[str], int]:
    """(names of the live threads, open file descriptors) of this process; the simulator's own
    per-query threads (``sim-``) are its business, not the agent's."""
    threads = {t.name for t in threading.enumerate() if not t.name.startswith("sim-")}
    return threads, len(os.listdir("/proc/self/fd"))


def leaked(before: tuple[set[str], int]) -> str:
    """'' when threads and fds are back to ``before`` within LEAK_SETTLE_SECONDS, else what is left."""
    deadline = time.monotonic() + LEAK_SETTLE_SECONDS
    while True:
        gc.collect()  # an unreferenced client closes its pooled connections only when collected
        now = resources()
        if now[0] <= before[0] and now[1] <= before[1]:
            return ""
        if time.monotonic() > deadline:
            threads = sorted(now[0] - before[0])
            return f"leaked {len(threads)} threads {threads[:3]}, {now[1] - before[1]} fds"
        time.sleep(0.1)


def run_case(campaign: Campaign, case: Case) -> Result:
    """Run ``case`` in its own thread; past its bound it is a hang and is left behind."""
    before = resources()
    box: list[Outcome] = []

    def body() -> None:
        try:
            box.append(case.run(campaign))
        except Exception as exc:
            box.append(
                Outcome(f"raised {type(exc).__name__}: {str(exc)[:140]}", whole_run_loss=True)
            )

    started = time.monotonic()
    worker = threading.Thread(target=body, name=f"case {case.name}", daemon=True)
    worker.start()
    worker.join(case.bound_seconds)
    seconds = time.monotonic() - started
    if worker.is_alive():
        return Result(case, Outcome(), seconds, hung=True)
    return Result(case, box[0], seconds, leaked=leaked(before))


@contextlib.contextmanager
def campaign_on_demo() -> Iterator[Campaign]:
    """The demo tenant on loopback, its token endpoint in the environment, warmed by one run."""
    with tempfile.TemporaryDirectory(prefix="netverify-campaign-") as tmp:
        root = Path(tmp)
        os.environ["STATE_DIRECTORY"] = str(root / "state")
        with SimulatedTenant(
            builtin_scenario("demo"), root / "tenant", custom_dns="standin"
        ) as tenant:
            os.environ.update(tenant.credential_environment)
            campaign = Campaign(tenant, root)
            campaign.baseline_findings = len(run_config(campaign).findings)
            yield campaign


def table(results: list[Result]) -> str:
    kinds = list(dict.fromkeys(r.case.kind for r in results))
    rows = [("kind", "tried", "right", "wrong")]
    for kind in [*kinds, "total"]:
        mine = [r for r in results if kind in ("total", r.case.kind)]
        right = sum(r.right for r in mine)
        rows.append((kind, str(len(mine)), str(right), str(len(mine) - right)))
    lines = [" | ".join(cell.ljust(6) for cell in row).rstrip() for row in rows]
    counters = {
        "hangs": sum(r.hung for r in results),
        "whole-run losses": sum(r.outcome.whole_run_loss for r in results),
        "lost events": sum(r.outcome.lost_events for r in results),
        "duplicated events": sum(r.outcome.duplicated_events for r in results),
        "leaks": sum(bool(r.leaked) for r in results),
    }
    return "\n".join([*lines, "", *(f"{name}: {count}" for name, count in counters.items())])


def main_campaign(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-k", default="", help="only cases whose kind or name contains this")
    parser.add_argument("-v", "--verbose", action="store_true", help="a line for every case")
    args = parser.parse_args(argv)
    cases = [c for c in all_cases() if args.k in f"{c.kind} {c.name}"]
    started = time.monotonic()
    results: list[Result] = []
    with campaign_on_demo() as campaign:
        for case in cases:
            result = run_case(campaign, case)
            results.append(result)
            if args.verbose or not result.right:
                print(
                    f"{'right' if result.right else 'WRONG'} {case.kind} / {case.name} ({result.seconds:.1f} s): {result.reason or 'ok'}",
                    flush=True,
                )
    print(
        f"\n{len(results)} cases in {time.monotonic() - started:.0f} s, "
        f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n"
    )
    print(table(results))
    return 0 if all(r.right for r in results) else 1


if __name__ == "__main__":
    sys.exit(main_campaign())
