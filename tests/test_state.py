"""The state store: change events from one run to the next, reminders, durability, redelivery."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from netverify.agent.state import STATE_FILE, StateError, StateStore, state_directory
from netverify.sinks.events import load_schema

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


def finding(uid: str, status: str, run_id: str = "run") -> dict[str, Any]:
    return {"uid": uid, "status": status, "run_id": run_id, "observed_at": "2026-01-01T12:00:00Z"}


def record(
    store: StateStore, at: datetime, reminder: timedelta | None = DAY, **statuses: str
) -> dict[str, str]:
    """Record one run of ``uid=status`` findings; the changes it made, by uid."""
    run_id = f"run-{at.isoformat()}"
    events = [finding(uid, status, run_id) for uid, status in statuses.items()]
    changes = store.record(events, run_id=run_id, observed_at=at, reminder=reminder)
    return {c["uid"]: c["change"] for c in changes}


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore.open(tmp_path)


def test_first_run_reports_only_failures(store: StateStore) -> None:
    """A finding seen for the first time is a change only when it fails or errs."""
    assert {"b": "failing", "c": "failing"} == record(store, T0, a="pass", b="fail", c="error")


def test_unchanged_statuses_make_no_event(store: StateStore) -> None:
    """The same statuses an hour later, before the reminder is due, make no change event."""
    assert {"b": "failing"} == record(store, T0, a="pass", b="fail")
    assert {} == record(store, T0 + timedelta(hours=1), a="pass", b="fail")


def test_resolved_and_newly_failing(store: StateStore) -> None:
    """fail -> pass is resolved, pass -> fail is failing, fail -> skipped is resolved."""
    record(store, T0, a="fail", b="pass", c="fail")
    assert {"a": "resolved", "b": "failing", "c": "resolved"} == record(
        store, T0 + timedelta(minutes=15), a="pass", b="fail", c="skipped"
    )


def test_fail_to_error_is_a_new_failure(store: StateStore) -> None:
    """A finding that goes from fail to error (can no longer be observed) is told again."""
    record(store, T0, a="fail")
    assert {"a": "failing"} == record(store, T0 + timedelta(minutes=15), a="error")


def test_reminder_after_the_configured_hours(store: StateStore) -> None:
    """A failure unchanged for reminder hours is reminded once, then again after as long."""
    record(store, T0, a="fail")
    assert {} == record(store, T0 + DAY - timedelta(minutes=1), a="fail")
    assert {"a": "still_failing"} == record(store, T0 + DAY, a="fail")
    assert {} == record(store, T0 + DAY + timedelta(hours=23), a="fail")
    assert {"a": "still_failing"} == record(store, T0 + 2 * DAY, a="fail")


def test_no_reminder_when_disabled(store: StateStore) -> None:
    """reminder None never repeats a failure."""
    assert {"a": "failing"} == record(store, T0, reminder=None, a="fail")
    assert {} == record(store, T0 + 30 * DAY, reminder=None, a="fail")


def test_failing_since_survives_a_status_change_within_failure(store: StateStore) -> None:
    """failing_since is when the failure began, kept through fail -> error, cleared on resolve."""
    record(store, T0, a="fail")
    [changed] = store.record(
        [finding("a", "error")], run_id="r2", observed_at=T0 + DAY, reminder=DAY
    )
    assert "2026-01-01T12:00:00Z" == changed["failing_since"]
    [resolved] = store.record(
        [finding("a", "pass")], run_id="r3", observed_at=T0 + 2 * DAY, reminder=DAY
    )
    assert (None, "error") == (resolved["failing_since"], resolved["previous_status"])


def test_change_events_match_their_schema(store: StateStore) -> None:
    """Change events validate against change.schema.json and carry the finding as it is now."""
    event = finding("6f1c2b0e-4a59-5d3e-9c8e-2f4d5a7b9c01", "fail")
    [change] = store.record([event], run_id="run", observed_at=T0, reminder=DAY)

    jsonschema.Draft202012Validator(load_schema("change")).validate(change)
    assert event == change["finding"]
    assert ("change", "failing", None) == (
        change["kind"],
        change["change"],
        change["previous_status"],
    )


def test_change_events_wait_until_delivered_even_across_a_reopen(tmp_path: Path) -> None:
    """Recorded change events stay undelivered (also after reopening) until marked delivered."""
    store = StateStore.open(tmp_path)
    record(store, T0, a="fail", b="fail")
    store.close()

    reopened = StateStore.open(tmp_path)
    pending = reopened.undelivered()
    assert ["a", "b"] == [c["uid"] for c in pending]
    reopened.mark_delivered(pending[:1])
    assert ["b"] == [c["uid"] for c in reopened.undelivered()]


def test_a_failed_run_records_nothing(store: StateStore) -> None:
    """A run that cannot be recorded whole (a malformed finding) leaves no trace of itself."""
    record(store, T0, a="fail")
    with pytest.raises(KeyError):
        store.record(
            [finding("a", "pass"), {"uid": "broken"}], run_id="r2", observed_at=T0, reminder=DAY
        )
    assert {"a": "fail"} == store.statuses()
    assert 1 == len(store.runs())
    assert 1 == len(store.changes())


def test_database_is_wal_and_durable(store: StateStore, tmp_path: Path) -> None:
    """The state file is in WAL mode, so a reader never blocks the agent and a crash is safe."""
    with sqlite3.connect(tmp_path / STATE_FILE) as db:
        assert "wal" == db.execute("PRAGMA journal_mode").fetchone()[0]


def test_unwritable_state_names_the_file(tmp_path: Path) -> None:
    """A state directory that cannot be created is a clear error naming the file."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StateError, match=f"{blocker}/sub/{STATE_FILE}: cannot open"):
        StateStore.open(blocker / "sub")


def test_state_directory_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    """--state-dir, then state.directory, then $STATE_DIRECTORY, then /var/lib/netverify."""
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    assert Path("/var/lib/netverify") == state_directory(None, None)
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/private/netverify:/var/lib/other")
    assert Path("/var/lib/private/netverify") == state_directory(None, None)
    assert Path("/etc/x") == state_directory(None, Path("/etc/x"))
    assert Path("/cli") == state_directory(Path("/cli"), Path("/etc/x"))


def test_database_errors_name_the_file(store: StateStore) -> None:
    """A database error while recording is a StateError naming the state file."""
    store.close()
    with pytest.raises(StateError, match=f"{store.path}: Cannot operate on a closed database"):
        record(store, T0, a="fail")


def run_with_roles(
    store: StateStore, at: datetime, **findings: tuple[str, bool | None]
) -> dict[str, str]:
    """One run of ``uid=(status, root_cause)`` findings; its changes by uid."""
    run_id = f"run-{at.isoformat()}"
    events = [
        finding(uid, status, run_id) | {"root_cause": root}
        for uid, (status, root) in findings.items()
    ]
    changes = store.record(events, run_id=run_id, observed_at=at, reminder=DAY)
    return {c["uid"]: c["change"] for c in changes}


def test_change_events_follow_the_root_cause(store: StateStore) -> None:
    """A cause and its symptoms appear: one event, the cause's; a day later one reminder; when
    they clear, one resolved - a symptom never announced is never resolved either."""
    failing = {"cause": ("fail", True), "name-a": ("fail", False), "name-b": ("fail", False)}
    assert {"cause": "failing"} == run_with_roles(store, T0, **failing)
    assert {"cause": "still_failing"} == run_with_roles(store, T0 + DAY, **failing)
    cleared = {uid: ("pass", None) for uid in failing}
    assert {"cause": "resolved"} == run_with_roles(store, T0 + 2 * DAY, **cleared)


def test_a_root_that_becomes_a_symptom_is_resolved_once_when_it_clears(store: StateStore) -> None:
    """Announced while it was a root cause; quiet while another cause explains it; its
    resolution is still told, so the SIEM's open alert closes."""
    assert {"name": "failing"} == run_with_roles(store, T0, name=("fail", True))
    hour = timedelta(hours=1)
    assert {"cause": "failing"} == run_with_roles(
        store, T0 + hour, name=("fail", False), cause=("fail", True)
    )
    assert {"name": "resolved", "cause": "resolved"} == run_with_roles(
        store, T0 + 2 * hour, name=("pass", None), cause=("pass", None)
    )
