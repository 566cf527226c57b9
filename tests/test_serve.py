"""`netverify serve` as a real process against the simulated tenant: schedule, signals, state,
systemd notifications, health and metrics, secrets."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import tomli_w

from netverify.agent.state import STATE_FILE, StateStore
from netverify.model import Status
from netverify.runner import run_once
from netverify.sim.tenant import SimulatedTenant
from netverify.sinks.events import event_id, load_schema
from netverify.sinks.spool import Spool
from tests.conftest import TenantFactory
from tests.servers.receivers import LogsIngestionStandIn, SplunkHecStandIn, WebhookStandIn
from tests.servers.rsyslog import RSYSLOGD, start_rsyslog
from tests.sinks.ocsf import ocsf_errors

INTERVAL_SECONDS = 2
SKIPPED = (
    "skipped: the previous run was cancelled and its last reads are still in flight"
    " (each ends within arm.timeout_seconds); one run at a time"
)
SCHEDULE = {"interval_minutes": INTERVAL_SECONDS / 60, "jitter_seconds": 0}


@dataclass(frozen=True)
class Truth:
    """What one in-process run of the same tenant finds: the daemon must find the same."""

    findings: int
    failing_by_check: Counter[str]  # status fail
    changes: int  # a first run's change events: one per finding that fails or errs


# What the built-in demo tenant holds, written out from its scenario (netverify/sim/scenarios/
# demo.toml: 21 planted problems, 23 root-cause findings as some share one fix), so a daemon
# test compares with a number the code under test did not compute: a run that found nothing
# fails here instead of agreeing with an in-process run that found nothing too.
DEMO = Truth(
    findings=145,
    failing_by_check=Counter(
        {
            "dns_answer_inside_vnet": 1,
            "dns_custom_server_forwards_zones": 3,
            "dns_forwarding_ruleset_no_loop": 1,
            "dns_host_resolver_matches_vnet": 1,
            "dns_name_resolves_private_endpoint": 11,
            "dns_resolver_answers": 1,
            "keyvault_network_bypass_azure_services": 1,
            "online_deployment_provisioning_succeeded": 1,
            "online_endpoint_scoring_path_reachable": 2,
            "online_endpoint_traffic_to_succeeded_deployment": 1,
            "privatedns_record_matches_endpoint": 2,
            "privatedns_record_present": 5,
            "privatedns_zone_exists": 1,
            "privatedns_zone_linked_agent_vnet": 1,
            "privateendpoint_connection_approved": 1,
            "privateendpoint_tls_reachable": 4,
            "registry_egress_connection_approved": 1,
            "workspace_image_build_compute_set": 1,
            "workspace_policy_v1_legacy_mode_absent": 1,
            "workspace_v1_legacy_mode_disabled": 1,
        }
    ),
    changes=23,
)


def truth_of(tenant: SimulatedTenant) -> Truth:
    result = run_once(tenant.config())
    failing = Counter(f.check.id for f in result.findings if f.status is Status.FAIL)
    # Symptoms follow their root cause's change events (agent.state): none of their own.
    changes = sum(
        f.status in (Status.FAIL, Status.ERROR) and not f.caused_by for f in result.findings
    )
    return Truth(len(result.findings), failing, changes)


Line = dict[str, Any]


class NotifySocket:
    """What systemd would receive on $NOTIFY_SOCKET: an abstract unix datagram socket."""

    def __init__(self) -> None:
        self.address = f"@netverify-test-{uuid.uuid4().hex}"
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind("\0" + self.address[1:])
        self._sock.settimeout(0.2)
        self.messages: list[str] = []
        self._closed = False
        threading.Thread(target=self._receive, daemon=True).start()

    def _receive(self) -> None:
        while not self._closed:
            try:
                self.messages.append(self._sock.recv(4096).decode())
            except TimeoutError:
                continue
            except OSError:
                return

    def assignments(self) -> list[str]:
        return [a for m in list(self.messages) for a in m.split("\n")]

    def wait_for(self, assignment: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while assignment not in self.assignments():
            assert time.monotonic() < deadline, f"no {assignment} in {self.messages}"
            time.sleep(0.05)

    def close(self) -> None:
        self._closed = True
        self._sock.close()


class Agent:
    """One `netverify serve` process; its stdout lines parsed as they come."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.notify = NotifySocket()
        env = {**env, "NOTIFY_SOCKET": self.notify.address, "WATCHDOG_USEC": "200000"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "netverify.cli", "serve", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list[Line] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for text in self.process.stdout:
            try:
                line = json.loads(text)
            except json.JSONDecodeError:
                line = {"unstructured": text}
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def wait_for(self, match: Callable[[Line], bool], after: int = 0, timeout: float = 30) -> int:
        """Index of the first line from ``after`` on that matches."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index in range(after, len(self.lines)):
                    if match(self.lines[index]):
                        return index
                left = deadline - time.monotonic()
                assert (left > 0 and self.process.poll() is None) or any(
                    match(line) for line in self.lines[after:]
                ), f"nothing matched; exit {self.process.poll()}; lines:\n{self.dump()}"
                self._changed.wait(min(left, 0.2) if left > 0 else 0.2)

    def wait_log(self, message: str, after: int = 0, timeout: float = 30) -> int:
        return self.wait_for(lambda line: line.get("message") == message, after, timeout)

    def findings(self, after: int = 0, until: int | None = None) -> list[Line]:
        return [line for line in self.lines[after:until] if "check_id" in line]

    def changes(self, after: int = 0, until: int | None = None) -> list[Line]:
        return [line for line in self.lines[after:until] if line.get("kind") == "change"]

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, float]:
        """Send ``sig``; the exit code and how long the process took to exit."""
        began = time.monotonic()
        self.process.send_signal(sig)
        code = self.process.wait(timeout=20)
        seconds = time.monotonic() - began
        # Every line the agent wrote before it exited is read, not just those read so far.
        self._reader.join(timeout=10)
        return code, seconds

    def dump(self) -> str:
        return "\n".join(json.dumps(line)[:300] for line in self.lines)


@pytest.fixture
def tenant(start_tenant: TenantFactory) -> SimulatedTenant:
    return start_tenant()


@pytest.fixture
def start_agent(tmp_path: Path) -> Iterator[Callable[..., Agent]]:
    started: list[Agent] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Agent:
        agent = Agent(list(args), {**os.environ, **(env or {})})
        started.append(agent)
        return agent

    yield start
    for agent in started:
        if agent.process.poll() is None:
            agent.process.kill()
            agent.process.wait()
        agent.notify.close()


def write_config(tenant: SimulatedTenant, path: Path, **sections: Any) -> Path:
    """The tenant's config with a fast schedule, no listener and a JSON-lines sink."""
    sink = sections.pop("sink", None)
    document = tenant.config_document(
        schedule={**SCHEDULE, **sections.pop("schedule", {})},
        health=sections.pop("health", {"listen": "off"}),
        **sections,
    )
    if sink:
        document["sinks"] = [{"type": "jsonl_file", "path": str(sink)}]
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    return path


NOT_RUN = ("run skipped", "run did not complete", "cancelled run stopped")


def run_finished(line: Line) -> bool:
    return line.get("message") == "run finished"


def eventually(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll: spooled events reach a sink from the agent's delivery job, a few seconds later."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_an_in_process_run_of_the_demo_tenant_finds_what_the_daemon_tests_expect(
    tenant: SimulatedTenant,
) -> None:
    """The figures the daemon tests hold the agent to are what one run of the tenant finds."""
    assert DEMO == truth_of(tenant)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_scheduled_runs_notify_health_and_metrics(
    tenant: SimulatedTenant, start_agent: Callable[..., Agent], tmp_path: Path
) -> None:
    """A first run at start and one per interval; READY/STATUS/WATCHDOG; /healthz and /metrics."""
    port = free_port()
    config = write_config(tenant, tmp_path / "c.toml", health={"listen": f"127.0.0.1:{port}"})
    agent = start_agent("--config", str(config), "--state-dir", str(tmp_path / "state"))

    truth = DEMO
    agent.notify.wait_for("READY=1")
    first = agent.wait_for(run_finished)
    second = agent.wait_for(run_finished, first + 1)

    # Both runs found the demo's failures; only the first one reported them as changes.
    assert truth.failing_by_check == Counter(
        f["check_id"] for f in agent.findings(0, first) if f["status"] == "fail"
    )
    assert truth.findings == len(agent.findings(first, second))
    assert ["failing"] * truth.changes == [c["change"] for c in agent.changes(0, first)]
    assert [] == agent.changes(first, second)
    assert agent.lines[first]["run_id"] != agent.lines[second]["run_id"]
    # Every ARM request of a run carries its id; no run was skipped or cancelled.
    correlations = {r.correlation for r in tenant.arm.requests}
    assert {agent.lines[first]["run_id"], agent.lines[second]["run_id"]} <= correlations
    assert [] == [line for line in agent.lines if line.get("message") in NOT_RUN]
    # Runs are scheduled by their start (a first run takes longer than the next one): the
    # second is not early; how late depends on the machine's load, so no upper bound.
    began = [line["ts"] for line in agent.lines[:second] if line.get("message") == "run started"]
    gap = datetime.fromisoformat(began[1]) - datetime.fromisoformat(began[0])
    assert INTERVAL_SECONDS - 0.5 <= gap.total_seconds()
    change_schema = jsonschema.Draft202012Validator(load_schema("change"))
    for change in agent.changes():
        change_schema.validate(change)

    status, body = get(f"http://127.0.0.1:{port}/healthz")
    health = json.loads(body)
    assert (200, "ok", "fail", 1) == (
        status,
        health["status"],
        health["last_run"]["result"],
        health["last_run"]["exit_code"],
    )
    status, metrics = get(f"http://127.0.0.1:{port}/metrics")
    assert 200 == status
    runs = float(metrics.split('netverify_runs_total{result="fail"} ')[1].split()[0])
    assert runs >= 2
    assert 'result="skipped"' not in metrics and 'result="timeout"' not in metrics
    for check, count in truth.failing_by_check.items():
        assert f'netverify_findings{{check_id="{check}",status="fail"}} {float(count)}' in metrics
    assert f'netverify_change_events_total{{change="failing"}} {float(truth.changes)}' in metrics
    assert "netverify_sink_backlog_events{" not in metrics  # no sink configured, no series
    assert "netverify_run_duration_seconds_count" in metrics
    # The last run's critical path: a series per phase, the names resolved among them.
    assert 'netverify_run_phase_seconds{phase="workspace reads"}' in metrics
    assert 'netverify_run_phase_seconds{phase="reachability"}' in metrics
    # The demo's Azure DNS stand-in answers; its second custom DNS server is down.
    assert 'netverify_resolver_latency_seconds_count{resolver="azure 168.63.129.16"}' in metrics
    assert (
        'netverify_resolver_unanswered_total{rcode="UNREACHABLE",resolver="custom 10.0.0.5"}'
        in (metrics)
    )
    assert 404 == get(f"http://127.0.0.1:{port}/other")[0]
    assert 404 == get(f"http://127.0.0.1:{port}/report")[0]  # report.enabled is off by default
    assert not (tmp_path / "state" / "report.html").exists()

    assert any(a.startswith("STATUS=last run ") for a in agent.notify.assignments())
    assert agent.notify.assignments().count("WATCHDOG=1") >= 5
    assert (0, True) == (lambda code, seconds: (code, seconds < 10))(*agent.stop())
    agent.notify.wait_for("STOPPING=1")
    assert [] == [line for line in agent.lines if "unstructured" in line]


def test_reload_keeps_the_old_config_when_the_new_one_is_invalid(
    tenant: SimulatedTenant, start_agent: Callable[..., Agent], tmp_path: Path
) -> None:
    """SIGHUP with a bad file: logged, an error finding about the agent, old config runs on;
    SIGHUP with a good file: applied, and the agent's finding resolved."""
    sink = tmp_path / "findings.jsonl"
    config = write_config(tenant, tmp_path / "c.toml", sink=sink)
    agent = start_agent("--config", str(config), "--state-dir", str(tmp_path / "state"))
    first = agent.wait_for(run_finished)

    write_config(tenant, config, sink=sink, agent={"name": "never-applied"})
    config.write_text(config.read_text() + '\n[schedule_typo]\ninterval = "x"\n')
    agent.process.send_signal(signal.SIGHUP)
    rejected = agent.wait_log("configuration rejected, the previous one stays in force", first)
    assert "schedule_typo: unknown key" in agent.lines[rejected]["problem"]
    reported = agent.wait_for(lambda f: f.get("check_id") == "netverify_config_valid", first)
    error = agent.lines[reported]
    assert ("error", "netverify", "netverify-sim-agent") == (
        error["status"],
        error["resource_id"],
        error["subject"],
    )
    assert "schedule_typo" in error["message"]
    assert error["remediation"]["command"] == f"netverify config check {config}"
    agent.notify.wait_for("RELOADING=1")
    # The previous config is still in force: the next scheduled run happens and is complete.
    after_bad = agent.wait_for(run_finished, reported)
    after_bad_findings = agent.findings(reported + 1, after_bad)
    assert DEMO.findings == len(after_bad_findings)
    assert {"netverify-sim-agent"} == {f["agent"]["name"] for f in after_bad_findings}

    write_config(tenant, config, sink=sink, agent={"name": "renamed-agent"})
    agent.process.send_signal(signal.SIGHUP)
    reloaded = agent.wait_log("configuration reloaded", after_bad)
    next_run = agent.wait_for(run_finished, reloaded)
    assert {"renamed-agent"} == {f["agent"]["name"] for f in agent.findings(reloaded, next_run)}
    assert 0 == agent.stop()[0]

    in_sink = [json.loads(line) for line in sink.read_text().splitlines()]
    agent_changes = [
        (c["change"], c["status"])
        for c in in_sink
        if c.get("kind") == "change" and c["finding"]["check_id"] == "netverify_config_valid"
    ]
    assert [("failing", "error"), ("resolved", "pass")] == agent_changes
    assert agent.notify.assignments().count("READY=1") == 3


@pytest.mark.parametrize(
    ("appended", "problem"),
    [
        (b"# r\xe9seau\n", "line {line}: byte 0xe9 is not UTF-8 (expected a UTF-8 TOML file)"),
        (
            b"deep = " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
            "nested too deeply (expected at most 100 levels of arrays and tables)",
        ),
    ],
)
def test_reload_of_a_non_utf8_or_deeply_nested_file_never_stops_the_agent(
    tenant: SimulatedTenant,
    start_agent: Callable[..., Agent],
    tmp_path: Path,
    appended: bytes,
    problem: str,
) -> None:
    """SIGHUP with a file that is not UTF-8 or nests 100,000 arrays: rejected naming the file,
    the agent runs on with the old config and its next run is complete."""
    sink = tmp_path / "findings.jsonl"
    config = write_config(tenant, tmp_path / "c.toml", sink=sink)
    agent = start_agent("--config", str(config), "--state-dir", str(tmp_path / "state"))
    first = agent.wait_for(run_finished)

    good = config.read_bytes()
    config.write_bytes(good + appended)
    agent.process.send_signal(signal.SIGHUP)
    rejected = agent.wait_log("configuration rejected, the previous one stays in force", first)
    expected = f"{config}: " + problem.format(line=good.count(b"\n") + 1)
    assert expected == agent.lines[rejected]["problem"]
    reported = agent.wait_for(lambda f: f.get("check_id") == "netverify_config_valid", first)
    after_bad = agent.wait_for(run_finished, reported)

    assert DEMO.findings == len(agent.findings(reported + 1, after_bad))
    assert 0 == agent.stop()[0]


def test_sigterm_lets_the_run_in_flight_finish(
    tenant: SimulatedTenant, start_agent: Callable[..., Agent], tmp_path: Path
) -> None:
    """SIGTERM during a short run: the run completes, its findings reach the sink, exit 0."""
    sink = tmp_path / "findings.jsonl"
    config = write_config(tenant, tmp_path / "c.toml", sink=sink)
    tenant.arm.latency_seconds = 0.2  # a run takes a few seconds (several reads in a row)
    agent = start_agent("--config", str(config), "--state-dir", str(tmp_path / "state"))
    started = agent.wait_log("run started")

    code, seconds = agent.stop()

    assert (0, True) == (code, seconds < 10)
    finished = agent.wait_for(run_finished, started)
    assert finished < agent.wait_log("stopped", started)
    delivered = sum("check_id" in json.loads(line) for line in sink.read_text().splitlines())
    assert DEMO.findings == delivered


def test_sigterm_cancels_a_long_run_within_ten_seconds(
    tenant: SimulatedTenant, start_agent: Callable[..., Agent], tmp_path: Path
) -> None:
    """SIGTERM during a run that would take long: cancelled, nothing half-recorded, exit < 10 s."""
    config = write_config(tenant, tmp_path / "c.toml")
    tenant.arm.latency_seconds = 20
    state = tmp_path / "state"
    agent = start_agent("--config", str(config), "--state-dir", str(state))
    agent.wait_log("run started")

    code, seconds = agent.stop()

    assert (0, True) == (code, seconds < 10), agent.dump()
    agent.wait_log("run cancelled: the agent is stopping")
    with sqlite3.connect(state / STATE_FILE) as db:
        assert 0 == db.execute("SELECT count(*) FROM runs").fetchone()[0]


def test_a_run_over_its_timeout_is_an_error_finding_until_one_completes(
    tenant: SimulatedTenant, start_agent: Callable[..., Agent], tmp_path: Path
) -> None:
    """run_timeout_seconds: a run that takes longer gives an error finding about the agent;
    the next run that completes resolves it."""
    config = write_config(tenant, tmp_path / "c.toml", schedule={"run_timeout_seconds": 1})
    tenant.arm.latency_seconds = 3
    agent = start_agent("--config", str(config), "--state-dir", str(tmp_path / "state"))

    failed = agent.wait_log("run did not complete")
    assert "timeout" == agent.lines[failed]["result"]
    tenant.arm.latency_seconds = 0
    finished = agent.wait_for(run_finished, failed)
    agent.stop()

    run_findings = [
        (f["status"], f["message"])
        for f in agent.findings()
        if f["check_id"] == "netverify_run_completed"
    ]
    # The run due 2 s in found the cancelled one's reads (3 s each) still in flight.
    assert [
        (
            "error",
            "The scheduled run did not complete: timed out after 1 s (schedule.run_timeout_seconds)",
        ),
        ("error", f"The scheduled run did not complete: {SKIPPED}"),
        ("pass", "The scheduled run completed."),
    ] == run_findings
    assert ["failing", "resolved"] == [
        c["change"]
        for c in agent.changes()
        if c["finding"]["check_id"] == "netverify_run_completed"
    ]
    assert finished > failed


def test_one_run_at_a_time_a_cancelled_run_sends_nothing_more(
    tenant: SimulatedTenant, start_agent: Callable[..., Agent], tmp_path: Path
) -> None:
    """Every ARM answer takes 6 s, the run timeout is 1 s, a run is due every 2 s: each run is
    cancelled with its first requests in flight and sends no other; the runs due while they
    are in flight are skipped (an error finding, a log line, a metric); no two runs' requests
    are ever in flight at the stand-in together."""
    port = free_port()
    config = write_config(
        tenant,
        tmp_path / "c.toml",
        schedule={"run_timeout_seconds": 1},
        health={"listen": f"127.0.0.1:{port}"},
    )
    tenant.arm.latency_seconds = 6
    agent = start_agent("--config", str(config), "--state-dir", str(tmp_path / "state"))

    timed_out = agent.wait_log("run did not complete")
    skipped = agent.wait_log("run skipped", timed_out)
    stopped = agent.wait_log("cancelled run stopped", skipped)
    agent.wait_log("run started", stopped)  # the next run starts once the cancelled one ended
    metrics = get(f"http://127.0.0.1:{port}/metrics")[1]
    assert agent.stop()[0] == 0

    cancelled = agent.lines[timed_out]["run_id"]
    assert (cancelled, cancelled) == (
        agent.lines[skipped]["run_id"],
        agent.lines[stopped]["run_id"],
    )
    assert "timeout" == agent.lines[timed_out]["result"]
    assert SKIPPED == agent.lines[skipped]["problem"]
    assert f"The scheduled run did not complete: {SKIPPED}" in {
        f["message"] for f in agent.findings() if f["check_id"] == "netverify_run_completed"
    }
    assert 'netverify_runs_total{result="skipped"} ' in metrics
    assert 'netverify_runs_total{result="timeout"} ' in metrics

    by_run: dict[str, list[Any]] = {}
    for request in tenant.arm.requests:
        assert request.correlation is not None, request  # every request names its run
        by_run.setdefault(request.correlation, []).append(request)
    assert cancelled in by_run
    for run, requests in by_run.items():
        # Every answer comes after the timeout: a request sent after one is a cancelled run's.
        assert max(r.arrived for r in requests) < min(r.at for r in requests), run
    spans = sorted((min(r.arrived for r in rs), max(r.at for r in rs)) for rs in by_run.values())
    for (_, answered), (next_arrived, _) in itertools.pairwise(spans):
        assert answered < next_arrived  # the next run's first request after the last answer


def test_report_after_each_run_is_written_and_served(
    tenant: SimulatedTenant, start_agent: Callable[..., Agent], tmp_path: Path
) -> None:
    """With report.enabled the agent writes report.html into its state directory and serves it."""
    port = free_port()
    config = write_config(
        tenant,
        tmp_path / "c.toml",
        health={"listen": f"127.0.0.1:{port}"},
        report={"enabled": True},
    )
    agent = start_agent("--config", str(config), "--state-dir", str(tmp_path / "state"))
    agent.wait_for(run_finished)

    status, page = get(f"http://127.0.0.1:{port}/report")
    agent.stop()

    assert 200 == status
    assert page == (tmp_path / "state" / "report.html").read_text()
    assert "mlw-broken" in page
    assert "Workspace v1_legacy_mode is off" in page


def test_kill_9_and_restart_keep_the_state(
    tenant: SimulatedTenant, start_agent: Callable[..., Agent], tmp_path: Path
) -> None:
    """kill -9 after a run and again in the middle of one: the state opens intact, the recorded
    run is kept, and the restarted agent does not report the known failures as new."""
    config = write_config(tenant, tmp_path / "c.toml")
    args = ("--config", str(config), "--state-dir", str(tmp_path / "state"))
    agent = start_agent(*args)
    agent.wait_for(run_finished)
    agent.stop(signal.SIGKILL)

    tenant.arm.latency_seconds = 1
    mid_run = start_agent(*args)
    mid_run.wait_log("run started")
    time.sleep(0.5)  # inside the run: the ARM stand-in answers after 1 s
    mid_run.stop(signal.SIGKILL)

    tenant.arm.latency_seconds = 0
    restarted = start_agent(*args)
    restarted.wait_for(run_finished)
    restarted.stop()

    with sqlite3.connect(tmp_path / "state" / STATE_FILE) as db:
        assert "ok" == db.execute("PRAGMA integrity_check").fetchone()[0]
        assert 2 == db.execute("SELECT count(*) FROM runs").fetchone()[0]
        assert DEMO.changes == db.execute("SELECT count(*) FROM changes").fetchone()[0]
        assert 0 == db.execute("SELECT count(*) FROM changes WHERE delivered = 0").fetchone()[0]
    assert [] == restarted.changes()


def test_no_token_or_secret_in_logs_findings_or_state(
    tenant: SimulatedTenant, start_agent: Callable[..., Agent], tmp_path: Path
) -> None:
    """At debug level, nothing the agent writes holds an issued token or the identity secret."""
    sink = tmp_path / "findings.jsonl"
    config = write_config(tenant, tmp_path / "c.toml", sink=sink)
    state = tmp_path / "systemd-state"
    # The state directory comes from $STATE_DIRECTORY, as systemd's StateDirectory= sets it.
    agent = start_agent(
        "--config", str(config), "--log-level", "debug", env={"STATE_DIRECTORY": str(state)}
    )
    agent.wait_for(run_finished)
    agent.stop()

    secrets = {*tenant.arm.tokens.issued, tenant.identity.secret}
    assert len(secrets) >= 2
    written = "\n".join(json.dumps(line) for line in agent.lines)
    assert len([line for line in agent.lines if line.get("level") == "debug"]) > 10
    for text in (
        written,
        sink.read_text(),
        *(p.read_bytes().decode("latin-1") for p in state.rglob("*") if p.is_file()),
    ):
        assert [] == [s for s in secrets if s in text]


def test_an_invalid_config_at_start_exits_2_naming_the_key(
    tenant: SimulatedTenant, start_agent: Callable[..., Agent], tmp_path: Path
) -> None:
    """A bad config at start: one JSON log line naming file and key, exit 2, no READY."""
    config = write_config(tenant, tmp_path / "c.toml", health={"listen": "127.0.0.1"})
    agent = start_agent("--config", str(config), "--state-dir", str(tmp_path / "state"))

    assert 2 == agent.process.wait(timeout=30)
    line = agent.lines[agent.wait_log("cannot start")]
    assert f"{config}: health.listen: '127.0.0.1' has no port" in line["problem"]
    assert "READY=1" not in agent.notify.assignments()


def test_change_events_a_sink_missed_are_sent_later(
    tenant: SimulatedTenant, start_agent: Callable[..., Agent], tmp_path: Path
) -> None:
    """Change events left unsent (by a crash, or a sink that fails) are sent at the next start
    and the next run, and /metrics counts them meanwhile as the sink backlog."""
    state = tmp_path / "state"
    store = StateStore.open(state)
    left_over = {"uid": str(uuid.uuid4()), "status": "fail", "run_id": "r0", "observed_at": "x"}
    store.record([left_over], run_id="r0", observed_at=datetime.now(UTC), reminder=None)
    store.close()
    sink = tmp_path / "findings.jsonl"
    sink.mkdir()  # a sink that cannot be written to
    port = free_port()
    config = write_config(
        tenant,
        tmp_path / "c.toml",
        sink=sink,
        health={"listen": f"127.0.0.1:{port}"},
        delivery={"retry_initial_seconds": 0.2, "retry_max_seconds": 1},
    )
    agent = start_agent("--config", str(config), "--state-dir", str(state))

    assert left_over == agent.lines[agent.wait_for(lambda line: "kind" in line)]["finding"]
    finished = agent.wait_for(run_finished)
    metrics = f"http://127.0.0.1:{port}/metrics"
    # Spooled, not lost: the backlog holds the run's findings, its changes and the left-over
    # one - counted from what the agent emitted (the left-over change is among them); the
    # series is read at each scrape, so the next run's events may be in it already.
    changes = len(agent.changes(0, finished))
    backlog = len(agent.findings(0, finished)) + changes
    assert len(agent.findings(0, finished)) > 1 < changes  # the run judged, and changed things
    series = 'netverify_sink_backlog_events{sink="jsonl_file-0",type="jsonl_file"}'

    def spooled() -> float:
        text = get(metrics)[1]
        return float(text.split(f"{series} ")[1].split()[0]) if series in text else 0.0

    eventually(lambda: spooled() >= backlog)
    assert any("not delivered" in str(line.get("message")) for line in agent.lines)
    sink.rmdir()
    eventually(lambda: f"{series} 0.0" in get(metrics)[1])
    agent.stop()

    sent = [json.loads(line) for line in sink.read_text().splitlines()]
    assert changes == len({c["event_id"] for c in sent if c.get("kind") == "change"})
    assert left_over["uid"] in {c["uid"] for c in sent if c.get("kind") == "change"}


RULE = "dcr-0123456789abcdef0123456789abcdef"
STREAM = "Custom-NetverifyFindings_CL"
POISON = {"kind": "change", "event_id": "poison-1", "change": "failing"}


@pytest.mark.servers
@pytest.mark.skipif(not os.path.exists(RSYSLOGD), reason="rsyslogd not installed")
def test_every_format_gets_every_finding_and_change_of_two_runs(
    tenant: SimulatedTenant, start_agent: Callable[..., Agent], tmp_path: Path
) -> None:
    """One sink per format (CEF over syslog TCP to rsyslogd, OCSF and ECS to webhooks, JSON to
    Logs Ingestion and to Splunk HEC), each spool poisoned with an event no format can render: the poison moves to
    rejected with its reason, and every finding and change event of two runs (failing, then the
    still_failing reminders) arrives once at every receiver; OCSF validates against the official OCSF schema and the
    JSON against the finding and change schemas."""
    rsyslog = start_rsyslog(tmp_path / "rsyslog")
    ocsf_hook, ecs_hook = WebhookStandIn(tmp_path / "ocsf"), WebhookStandIn(tmp_path / "ecs")
    ingestion = LogsIngestionStandIn(tmp_path / "li", tenant.arm.tokens, RULE, STREAM)
    hec = SplunkHecStandIn(tmp_path / "hec", "hec-token", ack_delay_seconds=0)
    (tmp_path / "hec-token").write_text("hec-token")
    servers = (ocsf_hook, ecs_hook, ingestion, hec)
    for server in servers:
        server.start()
    state = tmp_path / "state"
    for name in ("cef", "ocsf", "ecs", "json", "hec"):
        poisoned = Spool.in_directory(state, name, 10_000)
        poisoned.put([POISON])
        poisoned.close()
    document = tenant.config_document(
        schedule=SCHEDULE,
        health={"listen": "off"},
        state={"reminder_hours": 0.0001},  # a reminder every run: changes in both runs
        delivery={"retry_initial_seconds": 0.05, "retry_max_seconds": 0.2},
    )
    document["sinks"] = [
        {
            "type": "syslog",
            "name": "cef",
            "host": rsyslog.host,
            "port": rsyslog.tcp_port,
            "protocol": "tcp",
            "format": "cef",
        },
        {"type": "webhook", "name": "ocsf", "url": ocsf_hook.url, "format": "ocsf"},
        {"type": "webhook", "name": "ecs", "url": ecs_hook.url, "format": "ecs"},
        {
            "type": "azure_monitor",
            "name": "json",
            "endpoint": ingestion.url,
            "rule_id": RULE,
            "stream": STREAM,
            "ca_file": str(ingestion.ca_pem),
        },
        {
            "type": "splunk_hec",
            "name": "hec",
            "url": hec.url,
            "token_file": str(tmp_path / "hec-token"),
            "ca_file": str(hec.ca_pem),
        },
    ]
    for sink, hook in ((document["sinks"][1], ocsf_hook), (document["sinks"][2], ecs_hook)):
        sink["ca_file"] = str(hook.ca_pem)
    config = tmp_path / "c.toml"
    config.write_text(tomli_w.dumps(document), encoding="utf-8")

    def received() -> dict[str, list[str]]:
        lines = rsyslog.lines()
        return {
            "cef": [line.split("externalId=")[1].split(" ")[0] for line in lines],
            "ocsf": [e["metadata"]["uid"] for e in list(ocsf_hook.received)],
            "ecs": [e["event"]["id"] for e in list(ecs_hook.received)],
            "json": [r["event_id"] for r in list(ingestion.rows)],
            "hec": [e["event"]["event_id"] for e in list(hec.indexed)],
        }

    try:
        agent = start_agent("--config", str(config), "--state-dir", str(state))
        second = agent.wait_for(run_finished, agent.wait_for(run_finished) + 1)
        findings, changes = agent.findings(0, second), agent.changes(0, second)
        expected = {event_id(f) for f in findings} | {c["event_id"] for c in changes}
        eventually(lambda: all(expected <= set(ids) for ids in received().values()))
        assert 0 == agent.stop()[0]
    finally:
        rsyslog.stop()
        for server in servers:
            server.stop()

    runs = {f["run_id"] for f in findings}
    assert 2 == len(runs)
    assert {"failing", "still_failing"} == {c["change"] for c in changes}
    assert 2 * DEMO.changes == len(changes)
    for name, ids in received().items():
        assert ([], False) == ([i for i in set(ids) if ids.count(i) > 1], "poison-1" in ids), name
        spool = Spool.in_directory(state, name, 10_000)
        [(rejected, reason)] = spool.rejected()
        # A third run may have spooled events by the stop; none of the two runs' is left.
        left = {e.event.get("event_id") for e in spool.head(10_000)}
        assert (POISON, 1, set()) == (rejected, spool.stats().rejected, left & expected), name
        assert reason.startswith("event poison-1 cannot be rendered as "), reason
    assert [] == [ocsf_errors(ocsf) for ocsf in ocsf_hook.received if ocsf_errors(ocsf)]
    closing = [e for e in ocsf_hook.received if e["metadata"]["uid"] in expected]
    assert {(1, "Create"), (2, "Update")} == {
        (e["activity_id"], e["activity_name"]) for e in closing
    }
    assert {"state", "event"} == {e["event"]["kind"] for e in ecs_hook.received}
    schemas = {
        kind: jsonschema.Draft202012Validator(load_schema(kind)) for kind in ("finding", "change")
    }
    rows = [{k: v for k, v in r.items() if k != "TimeGenerated"} for r in ingestion.rows]
    for event in rows + [e["event"] for e in hec.indexed]:
        schemas["change" if event.get("kind") == "change" else "finding"].validate(event)
    assert any(":still_failing|Still failing: " in line for line in rsyslog.lines())


def test_an_unreadable_spool_and_row_spare_the_agent_and_the_other_sinks(
    tenant: SimulatedTenant, start_agent: Callable[..., Agent], tmp_path: Path
) -> None:
    """At start one sink's spool file is not SQLite and another's holds a row that is not JSON:
    the file is set aside and a fresh spool started, the row moves to rejected, both logged;
    both sinks get every finding and change event of the first run."""
    state = tmp_path / "state"
    (state / "spool").mkdir(parents=True)
    (state / "spool" / "broken.sqlite").write_bytes(b"not a spool\n" * 100)
    rows = Spool.in_directory(state, "rows", 10_000)
    rows.put([{"event_id": "to-break"}])
    rows.close()
    with sqlite3.connect(state / "spool" / "rows.sqlite") as db:
        db.execute("UPDATE events SET body = '{truncated'")
    document = tenant.config_document(schedule=SCHEDULE, health={"listen": "off"})
    document["sinks"] = [
        {"type": "jsonl_file", "name": name, "path": str(tmp_path / f"{name}.jsonl")}
        for name in ("broken", "rows")
    ]
    config = tmp_path / "c.toml"
    config.write_text(tomli_w.dumps(document), encoding="utf-8")

    agent = start_agent("--config", str(config), "--state-dir", str(state))
    first = agent.wait_for(run_finished)
    expected = {event_id(f) for f in agent.findings(0, first)}
    expected |= {c["event_id"] for c in agent.changes(0, first)}
    assert len(agent.findings(0, first)) > 1 < len(agent.changes(0, first))

    def delivered(name: str) -> set[str]:
        path = tmp_path / f"{name}.jsonl"
        lines = path.read_text().splitlines() if path.exists() else []
        return {json.loads(line)["event_id"] for line in lines}

    eventually(lambda: expected <= delivered("broken") and expected <= delivered("rows"))
    assert 0 == agent.stop()[0]

    [aside] = (state / "spool").glob("broken.sqlite.unreadable-*")
    assert b"not a spool\n" * 100 == aside.read_bytes()
    assert 1 == Spool.in_directory(state, "broken", 10_000).stats().set_aside
    [(row, reason)] = Spool.in_directory(state, "rows", 10_000).rejected()
    assert ("{truncated", "unreadable spool row 1: not JSON: ") == (row, reason[:34])
    messages = [str(line.get("message")) for line in agent.lines]
    assert any(m.startswith("spool of sink broken at ") and "set aside as" in m for m in messages)
    assert any(m.startswith("sink rows: spool row 1 is not an event") for m in messages)


class SilentReceiver:
    """Takes TCP connections on loopback and never answers: a webhook receiver that hangs."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._sock.getsockname()[1]}/hook"

    def _accept(self) -> None:
        while True:
            try:
                self.connections.append(self._sock.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self._sock.close()
        for connection in self.connections:
            connection.close()


def stop_timeout_of(unit: str) -> float:
    """``TimeoutStopSec=`` of a unit in systemd/, in seconds: SIGKILL comes after it."""
    text = (Path(__file__).parent.parent / "systemd" / unit).read_text(encoding="utf-8")
    return float(text.split("\nTimeoutStopSec=")[1].split()[0])


def test_sigterm_during_a_silent_webhook_exits_at_once_and_keeps_every_event(
    tenant: SimulatedTenant, start_agent: Callable[..., Agent], tmp_path: Path
) -> None:
    """A webhook receiver that takes the connection and never answers (timeout_seconds = 30):
    SIGTERM aborts the send in flight, the agent exits well within netverify.service's
    TimeoutStopSec, and every event it emitted is still in the sink's spool (events in =
    0 delivered + spooled)."""
    silent = SilentReceiver()
    document = tenant.config_document(schedule=SCHEDULE, health={"listen": "off"})
    document["sinks"] = [
        {"type": "webhook", "name": "hook", "url": silent.url, "timeout_seconds": 30}
    ]
    config = tmp_path / "c.toml"
    config.write_text(tomli_w.dumps(document), encoding="utf-8")
    state = tmp_path / "state"
    try:
        agent = start_agent("--config", str(config), "--state-dir", str(state))
        agent.wait_for(run_finished)
        eventually(lambda: bool(silent.connections))  # a delivery is waiting for an answer

        code, seconds = agent.stop()
    finally:
        silent.close()

    assert (0, True) == (code, seconds < stop_timeout_of("netverify.service") / 3), agent.dump()
    emitted = {event_id(f) for f in agent.findings()} | {c["event_id"] for c in agent.changes()}
    spool = Spool.in_directory(state, "hook", 100_000)
    try:
        spooled = {e.event["event_id"] for e in spool.head(100_000)}
    finally:
        spool.close()
    assert emitted and emitted == spooled
