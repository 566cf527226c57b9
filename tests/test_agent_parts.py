"""The agent's small parts: crontab schedules, its config sections, log redaction, sd_notify."""

from __future__ import annotations

import json
import logging
import socket
import threading
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from netverify.agent.daemon import freshness, stale_period
from netverify.agent.health import WORKERS, HealthServer
from netverify.agent.logs import JsonLines, fields
from netverify.agent.notify import notify, watchdog_interval
from netverify.config import ConfigError, ScheduleConfig, parse_config
from netverify.schedule import cron_trigger, crontab_weekdays
from netverify.secret import REDACTED, redact, remember

MONDAY = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("crontab", "apscheduler"),
    [
        ("*", "*"),
        ("0", "sun"),
        ("7", "sun"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("*/2", "sun,tue,thu,sat"),
        ("0,6", "sun,sat"),
        ("mon-fri", "mon-fri"),
    ],
)
def test_crontab_weekdays_become_names(crontab: str, apscheduler: str) -> None:
    """Numeric weekdays count from Sunday as in crontab(5), not from Monday as APScheduler 3."""
    assert apscheduler == crontab_weekdays(crontab)


def test_cron_sunday_midnight_fires_on_sunday() -> None:
    """`0 0 * * 0` next fires at Sunday 00:00 UTC."""
    fire = cron_trigger("0 0 * * 0").get_next_fire_time(None, MONDAY)
    assert datetime(2026, 11, 29, 0, 0, tzinfo=UTC) == fire


def fires(expression: str, count: int, start: datetime = MONDAY) -> list[datetime]:
    """The next ``count`` fire times of ``expression`` after ``start``."""
    trigger, times, previous = cron_trigger(expression), [], None
    now = start
    for _ in range(count):
        previous = trigger.get_next_fire_time(previous, now)
        assert previous is not None
        times.append(previous)
        now = previous
    return times


def test_cron_day_of_month_or_weekday_as_crontab() -> None:
    """`0 9 1 * mon` fires on the 1st and on every Monday (crontab(5) ORs the two day fields)."""
    expected = [datetime(2026, 11, 30, 9, tzinfo=UTC), datetime(2026, 12, 1, 9, tzinfo=UTC)]
    expected += [datetime(2026, 12, d, 9, tzinfo=UTC) for d in (7, 14, 21, 28)]
    expected += [datetime(2027, 1, 1, 9, tzinfo=UTC), datetime(2027, 1, 4, 9, tzinfo=UTC)]
    assert expected == fires("0 9 1 * mon", 8)


def test_cron_star_day_field_keeps_and() -> None:
    """A day field that starts with `*` is unrestricted: `0 0 */10 * 1` fires on Mondays that
    are the 1st, 11th, 21st or 31st only (crontab(5) ORs only two restricted fields)."""
    assert [datetime(2026, 12, 21, tzinfo=UTC), datetime(2027, 1, 11, tzinfo=UTC)] == fires(
        "0 0 */10 * 1", 2
    )


def test_cron_or_keeps_jitter() -> None:
    """Both day fields restricted: the jitter still reaches the trigger."""
    assert 30 == cron_trigger("0 0 1 * 1", 30).jitter


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[schedule]\ncron = "*/15 * * *"',
            "c.toml: schedule.cron: '*/15 * * *' has 4 fields; crontab has 5",
        ),
        ('[schedule]\ncron = "61 * * * *"', "c.toml: schedule.cron: Error validating expression"),
        ('[health]\nlisten = "127.0.0.1"', "c.toml: health.listen: '127.0.0.1' has no port"),
        (
            '[health]\nlisten = "127.0.0.1:99999"',
            "c.toml: health.listen: '127.0.0.1:99999' is not host, host:port",
        ),
        (
            "[state]\nreminder_hours = -1",
            "c.toml: state.reminder_hours: -1 is out of range (expected a finite number at least 0 "
            "and at most 8760)",
        ),
        ("[state]\nreminder = 24", "c.toml: state.reminder: unknown key (expected one of:"),
    ],
)
def test_bad_agent_sections_name_the_key(toml: str, message: str) -> None:
    """Bad [schedule], [health] and [state] values fail at load, naming the key."""
    with pytest.raises(ConfigError) as raised:
        parse_config(toml, "c.toml")
    assert str(raised.value).startswith(message), str(raised.value)


def test_agent_sections_defaults_and_values() -> None:
    """Defaults: listener on loopback 9464, daily reminders; off and a cron are accepted."""
    default = parse_config("", "c.toml")
    assert ("127.0.0.1:9464", 24, None) == (
        default.health.listen,
        default.state.reminder_hours,
        default.state.directory,
    )
    custom = parse_config(
        '[health]\nlisten = "off"\n[schedule]\ncron = "*/5 * * * 1-5"\n[state]\n'
        'directory = "/srv/nv"\nreminder_hours = 0',
        "c.toml",
    )
    assert ("off", "*/5 * * * 1-5", Path("/srv/nv"), 0) == (
        custom.health.listen,
        custom.schedule.cron,
        custom.state.directory,
        custom.state.reminder_hours,
    )


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer sim-abc123_XYZ-789",
        '{"access_token": "sim-abc123_XYZ-789", "expires_in": "3600"}',
        "client_secret=sim-abc123_XYZ-789&scope=x",
        "X-IDENTITY-HEADER: sim-abc123_XYZ-789",
        "{'Authorization': 'Splunk sim-abc123_XYZ-789'}",
        "DefaultEndpointsProtocol=https;AccountKey=sim-abc123_XYZ-789;EndpointSuffix=x",
        "https://st.blob.core.windows.net/c?sv=2024&sig=sim-abc123_XYZ-789&se=1",
        '"api-key": "sim-abc123_XYZ-789"',
        "echoed token=sim-abc123_XYZ-789",
    ],
)
def test_redact_removes_token_shapes(text: str) -> None:
    """Bearer tokens, Authorization values, access_token fields, client secrets, keys, SAS
    signatures and the identity header are redacted."""
    assert "sim-abc123_XYZ-789" not in redact(text)
    assert REDACTED in redact(text)


@pytest.mark.parametrize(
    "text",
    [
        "the list at /x does not end: its $skipToken repeats after 2 pages",
        "no access token: the token request failed within credential.timeout_seconds",
        "keyVault kv-1 allows public network access; authorization failed for scope /s",
    ],
)
def test_redact_leaves_ordinary_text_alone(text: str) -> None:
    """Words such as token, key and authorization outside a name=value secret are kept."""
    assert text == redact(text)


def test_redact_removes_remembered_secrets() -> None:
    """A secret read from a file is redacted wherever it turns up, whatever its shape."""
    remember("plain-secret-4b1d9")
    assert f"401: unknown key {REDACTED}" == redact("401: unknown key plain-secret-4b1d9")


def test_redact_removes_secret_environment_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """The value of $IDENTITY_HEADER is redacted wherever it appears."""
    monkeypatch.setenv("IDENTITY_HEADER", "s3cr3t-header-value")
    assert f"header was {REDACTED}." == redact("header was s3cr3t-header-value.")


def test_log_lines_are_json_with_fields_and_redacted() -> None:
    """A log record becomes one JSON object with its fields; a token in it is redacted."""
    record = logging.LogRecord(
        "netverify.agent.daemon",
        logging.ERROR,
        __file__,
        1,
        "sink failed: %s",
        ("Bearer abc.def",),
        None,
    )
    record.__dict__.update(fields(sink="jsonl_file"))
    line = json.loads(JsonLines().format(record))
    assert {
        "level": "error",
        "logger": "netverify.agent.daemon",
        "message": f"sink failed: Bearer {REDACTED}",
        "sink": "jsonl_file",
    } == {k: v for k, v in line.items() if k != "ts"}


def test_notify_sends_one_datagram(monkeypatch: pytest.MonkeyPatch) -> None:
    """notify() sends its assignments, newline-separated, to an abstract $NOTIFY_SOCKET."""
    name = f"netverify-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind("\0" + name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert notify("READY=1", "STATUS=up")
        assert b"READY=1\nSTATUS=up" == receiver.recv(4096)


def test_notify_without_systemd_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without $NOTIFY_SOCKET, or with one nobody listens on, notify() returns False."""
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not notify("READY=1")
    monkeypatch.setenv("NOTIFY_SOCKET", "/nonexistent/notify")
    assert not notify("READY=1")


def test_watchdog_interval_is_half_of_watchdog_usec(monkeypatch: pytest.MonkeyPatch) -> None:
    """WATCHDOG_USEC=120000000 (WatchdogSec=120) -> ping every 60 s; none for another pid."""
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert watchdog_interval() is None
    monkeypatch.setenv("WATCHDOG_USEC", "120000000")
    assert 60.0 == watchdog_interval()
    monkeypatch.setenv("WATCHDOG_PID", "1")
    assert watchdog_interval() is None


def test_freshness_before_and_after_the_first_run() -> None:
    """starting until stale_after passes without a run; ok while the last run is fresh; stale after."""
    start = MONDAY
    assert ("starting", 60.0) == freshness(None, start, start + timedelta(seconds=60), 100)
    assert ("stale", 101.0) == freshness(None, start, start + timedelta(seconds=101), 100)
    last = start + timedelta(seconds=90)
    assert ("ok", 100.0) == freshness(last, start, last + timedelta(seconds=100), 100)
    assert ("stale", 150.0) == freshness(last, start, last + timedelta(seconds=150), 100)


@pytest.mark.parametrize(
    ("schedule", "seconds"),
    [
        ({"interval_minutes": 15, "jitter_seconds": 60}, 2 * 900 + 600 + 60),
        ({"cron": "0 */6 * * *", "jitter_seconds": 0, "run_timeout_seconds": 60}, 2 * 21600 + 60),
    ],
)
def test_stale_period_follows_the_schedule(schedule: dict[str, Any], seconds: float) -> None:
    """Two periods of the interval or the cron line, plus the run timeout and the jitter."""
    assert seconds == stale_period(ScheduleConfig.model_validate(schedule))


def test_cron_jitter_is_kept() -> None:
    """schedule.jitter_seconds reaches the cron trigger."""
    assert 30 == cron_trigger("*/15 * * * *", 30).jitter


def test_idle_connections_to_the_health_port_hold_no_thread_and_healthz_still_answers() -> None:
    """1,500 connections that never send a request: the listener holds no thread for any and
    keeps the newest MAX_WAITING (the oldest are closed), and /healthz still answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = HealthServer(
        f"127.0.0.1:{port}", lambda: (True, {"status": "ok"}), CollectorRegistry()
    )
    server.start()
    threads = threading.active_count()
    idle: list[socket.socket] = []
    try:
        for _ in range(1500):
            idle.append(socket.create_connection(("127.0.0.1", port)))

        with urllib.request.urlopen(f"http://{server.address}/healthz", timeout=10) as answer:
            assert (200, {"status": "ok"}) == (answer.status, json.loads(answer.read()))
        assert threading.active_count() <= threads + WORKERS
        idle[0].settimeout(10)
        assert b"" == idle[0].recv(1)  # closed, to make room
        idle[-1].setblocking(False)
        with pytest.raises(BlockingIOError):  # still open, waiting for its request
            idle[-1].recv(1)
    finally:
        for sock in idle:
            sock.close()
        server.stop()
