"""`netverify run` delivers through the spools: several sinks at once, bounded wait, kill/replay."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from netverify.agent.state import state_directory
from netverify.cli import main
from netverify.runner import run_once
from netverify.sinks.spool import Spool
from tests.conftest import TenantFactory
from tests.servers.receivers import (
    Fault,
    LogsIngestionStandIn,
    SplunkHecStandIn,
    WebhookStandIn,
)
from tests.servers.rsyslog import RSYSLOGD, RunningRsyslog, start_rsyslog

RULE = "dcr-0123456789abcdef0123456789abcdef"
STREAM = "Custom-NetverifyFindings_CL"
FAST_DELIVERY = {"retry_initial_seconds": 0.05, "retry_max_seconds": 0.2}


@pytest.fixture
def webhook(tmp_path: Path) -> Iterator[WebhookStandIn]:
    server = WebhookStandIn(tmp_path / "webhook")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def demo_findings(start_tenant: TenantFactory) -> int:
    """How many findings one run of the demo tenant makes (it grows with the checks)."""
    return len(run_once(start_tenant().config()).findings)


def write_config(
    start_tenant: TenantFactory,
    path: Path,
    sinks: list[dict[str, Any]],
    **delivery: Any,
) -> Path:
    tenant = start_tenant()
    document = tenant.config_document()
    document["sinks"] = sinks
    document["delivery"] = {**FAST_DELIVERY, **delivery}
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    return path


def webhook_sink(server: WebhookStandIn) -> dict[str, Any]:
    return {"type": "webhook", "url": server.url, "ca_file": str(server.ca_pem), "name": "hook"}


def netverify_run(config: Path, output: Path) -> subprocess.Popen[str]:
    """`netverify run` in its own process, printing into ``output`` (a pipe nobody reads while
    the test waits would fill up and stall the run before it delivers)."""
    with output.open("w") as printed:
        return subprocess.Popen(
            [sys.executable, "-m", "netverify.cli", "run", "--config", str(config), "-o", "jsonl"],
            stdout=printed,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ},
        )


@pytest.mark.servers
@pytest.mark.skipif(not os.path.exists(RSYSLOGD), reason="rsyslogd not installed")
def test_one_run_feeds_every_sink(
    start_tenant: TenantFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    webhook: WebhookStandIn,
    demo_findings: int,
) -> None:
    """syslog/CEF over TLS, HEC, Logs Ingestion, a webhook and an OCSF file, from one config."""
    rsyslog: RunningRsyslog = start_rsyslog(tmp_path / "rsyslog")
    tenant = start_tenant()
    hec = SplunkHecStandIn(tmp_path / "hec", "hec-token")
    ingestion = LogsIngestionStandIn(tmp_path / "li", tenant.arm.tokens, RULE, STREAM)
    for server in (hec, ingestion):
        server.start()
    (tmp_path / "hec-token").write_text("hec-token")
    ocsf_file = tmp_path / "out" / "findings.ocsf.jsonl"
    document = tenant.config_document()
    document["sinks"] = [
        {
            "type": "syslog",
            "host": rsyslog.host,
            "port": rsyslog.tls_port,
            "protocol": "tls",
            "format": "cef",
            "ca_file": str(rsyslog.ca_pem),
        },
        {
            "type": "splunk_hec",
            "url": hec.url,
            "token_file": str(tmp_path / "hec-token"),
            "ca_file": str(hec.ca_pem),
        },
        {
            "type": "azure_monitor",
            "endpoint": ingestion.url,
            "rule_id": RULE,
            "stream": STREAM,
            "ca_file": str(ingestion.ca_pem),
        },
        webhook_sink(webhook),
        {"type": "jsonl_file", "path": str(ocsf_file), "format": "ocsf"},
    ]
    config = tmp_path / "c.toml"
    config.write_text(tomli_w.dumps(document), encoding="utf-8")
    try:
        assert 1 == main(["run", "-c", str(config), "-o", "jsonl"])
        printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        ids = sorted(e["uid"] for e in printed)

        assert demo_findings == len(rsyslog.wait_for(demo_findings))
        assert ids == sorted(line.split("cs6=")[1].split(" ")[0] for line in rsyslog.lines())
        assert ids == sorted(e["event"]["uid"] for e in hec.indexed)
        assert ids == sorted(r["uid"] for r in ingestion.rows)
        assert ids == sorted(e["uid"] for e in webhook.received)
        ocsf = [json.loads(line) for line in ocsf_file.read_text().splitlines()]
        assert ids == sorted(r["finding_info"]["uid"] for r in ocsf)
        backlogs = {
            p.stem: Spool(p, name=p.stem, max_events=10).stats().backlog
            for p in (state_directory(None, None) / "spool").glob("*.sqlite")
        }
        assert {
            "syslog-0": 0,
            "splunk_hec-1": 0,
            "azure_monitor-2": 0,
            "hook": 0,
            "jsonl_file-4": 0,
        } == backlogs
    finally:
        rsyslog.stop()
        hec.stop()
        ingestion.stop()


def test_receiver_down_run_exits_in_time_and_the_next_run_sends_both(
    start_tenant: TenantFactory,
    tmp_path: Path,
    webhook: WebhookStandIn,
    capsys: pytest.CaptureFixture[str],
    demo_findings: int,
) -> None:
    """With the webhook down the run waits flush_timeout_seconds and keeps its events spooled."""
    config = write_config(
        start_tenant, tmp_path / "c.toml", [webhook_sink(webhook)], flush_timeout_seconds=0.5
    )
    webhook.stop()

    assert 1 == main(["run", "-c", str(config), "-o", "jsonl"])
    first = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    spool = Spool.in_directory(state_directory(None, None), "hook", 10)
    assert demo_findings == spool.stats().backlog

    webhook.start()
    assert 1 == main(["run", "-c", str(config), "-o", "jsonl"])
    second = [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    sent = {(e["uid"], e["run_id"]) for e in first + second}
    assert sent == {(e["uid"], e["run_id"]) for e in webhook.received}
    assert 0 == spool.stats().backlog


def test_a_receiver_echoing_its_secret_does_not_put_it_on_stderr(
    start_tenant: TenantFactory,
    tmp_path: Path,
    webhook: WebhookStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A 401 whose body echoes the webhook's Authorization value: `run` says so on stderr, with
    the value redacted; the retry delivers."""
    secret = "opaque-webhook-secret-4f9e2a"
    (tmp_path / "authorization").write_text(secret, encoding="utf-8")
    sink = {**webhook_sink(webhook), "authorization_file": str(tmp_path / "authorization")}
    webhook.fail_next(Fault(401, {"error": f"unknown authorization {secret}"}))
    config = write_config(start_tenant, tmp_path / "c.toml", [sink], flush_timeout_seconds=10)

    assert 1 == main(["run", "-c", str(config), "-o", "jsonl"])

    stderr = capsys.readouterr().err
    assert 'webhook answered 401: {"error": "unknown authorization [redacted]"}' in stderr
    assert secret not in stderr
    assert [401, 202] == webhook.statuses("")


def test_killed_mid_delivery_the_spool_replays(
    start_tenant: TenantFactory, tmp_path: Path, webhook: WebhookStandIn, demo_findings: int
) -> None:
    """SIGKILL while the receiver holds the request: the next run delivers the lost run's events."""
    config = write_config(start_tenant, tmp_path / "c.toml", [webhook_sink(webhook)])
    webhook.fail_next(Fault(202, delay_seconds=60))  # takes the batch but never answers in time

    killed = netverify_run(config, tmp_path / "killed.jsonl")
    if not webhook.arrived.wait(30):
        killed.kill()
        raise AssertionError(f"no delivery reached the webhook: {killed.communicate()[1]}")
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=30)
    lost_lines = (tmp_path / "killed.jsonl").read_text().splitlines()
    lost_run = {json.loads(line)["run_id"] for line in lost_lines}
    assert [] == webhook.received
    assert -signal.SIGKILL == killed.returncode

    again = netverify_run(config, tmp_path / "again.jsonl")
    _, errors = again.communicate(timeout=60)
    assert 1 == again.returncode, errors

    output = (tmp_path / "again.jsonl").read_text()
    runs = lost_run | {json.loads(line)["run_id"] for line in output.splitlines()}
    assert 2 == len(runs)
    assert runs == {e["run_id"] for e in webhook.received}
    assert 2 * demo_findings == len({e["event_id"] for e in webhook.received})


def test_spool_at_its_bound_drops_the_oldest_run_and_says_so(
    start_tenant: TenantFactory,
    tmp_path: Path,
    webhook: WebhookStandIn,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    demo_findings: int,
) -> None:
    """Receiver down for two runs of N events, max_events N + 2: the N - 2 oldest are dropped,
    counted and logged; when it is back, the newest N + 2 arrive."""
    n = demo_findings
    bound = n + 2
    config = write_config(
        start_tenant,
        tmp_path / "c.toml",
        [webhook_sink(webhook)],
        max_events=bound,
        flush_timeout_seconds=0.2,
    )
    webhook.stop()
    with caplog.at_level(logging.WARNING, logger="netverify.sinks.spool"):
        main(["run", "-c", str(config), "-o", "jsonl"])
        first = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        main(["run", "-c", str(config), "-o", "jsonl"])
        second = [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    spool = Spool.in_directory(state_directory(None, None), "hook", bound)
    # Counted from what the runs emitted: under heavy load a run can make one finding more
    # than the fixture's run (a nondeterminism not yet tracked down), which is not what this tests.
    spooled = len(first) + len(second)
    assert (spooled - bound, bound) == (spool.stats().dropped, spool.stats().backlog)
    assert (
        f"spool hook is full (max_events={bound}): dropped the {spooled - bound} oldest "
        "undelivered events"
    ) in caplog.text

    # Back up: the third run's N events push out the N oldest again, then the newest arrive.
    webhook.start()
    main(["run", "-c", str(config), "-o", "jsonl"])
    third = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    received = [(e["run_id"], e["uid"]) for e in webhook.received]
    assert [(e["run_id"], e["uid"]) for e in (first + second + third)[-bound:]] == received
    assert (spooled + len(third) - bound, 0) == (spool.stats().dropped, spool.stats().backlog)


def test_two_runs_on_one_state_directory_deliver_each_event_once(
    start_tenant: TenantFactory, tmp_path: Path, webhook: WebhookStandIn, demo_findings: int
) -> None:
    """Two `netverify run` at once (the service and the timer unit on one state directory) share
    the spool: they take turns at it, so every event of both runs reaches the webhook once."""
    config = write_config(start_tenant, tmp_path / "c.toml", [webhook_sink(webhook)], batch_size=7)

    runs = [netverify_run(config, tmp_path / f"run-{i}.jsonl") for i in range(2)]
    for run in runs:
        _, errors = run.communicate(timeout=120)
        assert 1 == run.returncode, errors

    received = [e["event_id"] for e in webhook.received]
    assert 2 * demo_findings == len(set(received))
    assert len(set(received)) == len(received)
