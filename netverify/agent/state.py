"""What the agent remembers between runs: the last status of every finding uid, in SQLite.

Each run's snapshot is compared with the remembered statuses to make **change events**: a finding
that starts failing, one that is resolved, and a reminder for one that is still failing after
``reminder`` — so a SIEM rule can alert on change without being flooded by the full snapshot.

One run is recorded in one transaction (WAL, ``synchronous=FULL``): a ``kill -9`` at any moment
leaves either the whole run or none of it. Change events are stored *undelivered* with the run and
marked delivered once the sinks took them, so a crash in between re-delivers them on the next
start (at least once, with a stable ``event_id`` to deduplicate).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from netverify.model import FINDING_NAMESPACE
from netverify.sinks.events import SCHEMA_VERSION

STATE_FILE = "state.sqlite3"
FAILING = frozenset({"fail", "error"})  # the statuses a change event calls failing
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    observed_at TEXT NOT NULL,
    findings INTEGER NOT NULL,
    failing INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS findings (
    uid TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    failing_since TEXT,
    last_notified TEXT,
    last_run_id TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    run_id TEXT NOT NULL,
    uid TEXT NOT NULL,
    change TEXT NOT NULL,
    event TEXT NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS latest (
    uid TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_undelivered ON changes (delivered) WHERE delivered = 0;
"""


class Change(StrEnum):
    FAILING = "failing"  # fail or error now, and not (or with another status) before
    RESOLVED = "resolved"  # failing before, pass or skipped now
    STILL_FAILING = "still_failing"  # the reminder: unchanged failure, last told `reminder` ago


@dataclass(frozen=True, slots=True)
class RunRecord:
    run_id: str
    observed_at: datetime
    findings: int
    failing: int


@dataclass(frozen=True, slots=True)
class _Remembered:
    status: str
    failing_since: str | None
    last_notified: str | None


class StateError(Exception):
    """The state database cannot be opened or used; the message names the file."""


class StateStore:
    """The SQLite state of one agent. Thread-safe; open with ``StateStore.open(directory)``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"{path}: cannot open the state database: {exc}") from exc

    @classmethod
    def open(cls, directory: Path) -> StateStore:
        return cls(directory / STATE_FILE)

    def close(self) -> None:
        with self._use():
            self._db.close()

    def record(
        self,
        events: Sequence[Mapping[str, Any]],
        *,
        run_id: str,
        observed_at: datetime,
        reminder: timedelta | None,
    ) -> list[dict[str, Any]]:
        """Remember one run's finding events; return its change events (stored undelivered).

        ``reminder`` None: never remind of a finding that is still failing.
        """
        at = _timestamp(observed_at)
        with self._use(), self._transaction():
            remembered = self._remembered(e["uid"] for e in events)
            changes: list[dict[str, Any]] = []
            for event in events:
                before = remembered.get(event["uid"])
                change = _change(before, event["status"], observed_at, reminder)
                # A symptom follows its root cause's events: none of its own while it fails,
                # and a resolved only when it had been announced (as a root, earlier).
                if event.get("root_cause") is False and change is not Change.RESOLVED:
                    change = None
                if change is Change.RESOLVED and before is not None and not before.last_notified:
                    change = None
                failing_now = event["status"] in FAILING
                since = (
                    (before.failing_since if before and before.status in FAILING else None) or at
                    if failing_now
                    else None
                )
                notified = before.last_notified if before else None
                if change is not None:
                    changes.append(
                        change_event(change, event, before.status if before else None, since)
                    )
                    notified = at if failing_now else None
                self._db.execute(
                    "INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (uid) DO UPDATE"
                    " SET status = excluded.status, failing_since = excluded.failing_since,"
                    " last_notified = excluded.last_notified,"
                    " last_run_id = excluded.last_run_id, last_seen = excluded.last_seen",
                    (event["uid"], event["status"], since, notified, run_id, at),
                )
            # The whole finding of this run, for reports made from the state (netverify report).
            self._db.executemany(
                "INSERT OR REPLACE INTO latest VALUES (?, ?, ?)",
                [(e["uid"], run_id, json.dumps(e)) for e in events],
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO changes (event_id, run_id, uid, change, event)"
                " VALUES (?, ?, ?, ?, ?)",
                [(c["event_id"], run_id, c["uid"], c["change"], json.dumps(c)) for c in changes],
            )
            self._db.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?)",
                (run_id, at, len(events), sum(e["status"] in FAILING for e in events)),
            )
        return changes

    def undelivered(self) -> list[dict[str, Any]]:
        """Change events recorded but not yet marked delivered, oldest first."""
        with self._use():
            rows = self._db.execute(
                "SELECT event FROM changes WHERE delivered = 0 ORDER BY seq"
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def mark_delivered(self, events: Iterable[Mapping[str, Any]]) -> None:
        with self._use(), self._transaction():
            self._db.executemany(
                "UPDATE changes SET delivered = 1 WHERE event_id = ?",
                [(e["event_id"],) for e in events],
            )

    def status(self, uid: str) -> str | None:
        """The last status recorded for one finding uid, None if never seen."""
        with self._use():
            row = self._db.execute("SELECT status FROM findings WHERE uid = ?", (uid,)).fetchone()
        return row[0] if row else None

    def statuses(self) -> dict[str, str]:
        """The last status of every finding uid ever seen."""
        with self._use():
            return dict(self._db.execute("SELECT uid, status FROM findings").fetchall())

    def runs(self) -> list[RunRecord]:
        """Every recorded run, oldest first."""
        with self._use():
            rows = self._db.execute(
                "SELECT run_id, observed_at, findings, failing FROM runs ORDER BY observed_at"
            ).fetchall()
        return [RunRecord(r[0], datetime.fromisoformat(r[1]), r[2], r[3]) for r in rows]

    def latest_run_events(self) -> list[dict[str, Any]]:
        """The finding events of the most recent run (empty before the first)."""
        with self._use():
            rows = self._db.execute(
                "SELECT event FROM latest WHERE run_id ="
                " (SELECT run_id FROM runs ORDER BY observed_at DESC LIMIT 1)"
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def changes(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """Every change event recorded (for one run, if given), oldest first."""
        query, args = "SELECT event FROM changes ORDER BY seq", tuple[str, ...]()
        if run_id is not None:
            query, args = "SELECT event FROM changes WHERE run_id = ? ORDER BY seq", (run_id,)
        with self._use():
            rows = self._db.execute(query, args).fetchall()
        return [json.loads(row[0]) for row in rows]

    def _remembered(self, uids: Iterable[str]) -> dict[str, _Remembered]:
        wanted = list(uids)
        found: dict[str, _Remembered] = {}
        for start in range(0, len(wanted), 500):  # SQLite caps the number of parameters
            chunk = wanted[start : start + 500]
            rows = self._db.execute(
                "SELECT uid, status, failing_since, last_notified FROM findings"
                f" WHERE uid IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            found.update({r[0]: _Remembered(r[1], r[2], r[3]) for r in rows})
        return found

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    @contextmanager
    def _use(self) -> Iterator[None]:
        """One thread at a time; a database error becomes a StateError naming the file."""
        with self._lock:
            try:
                yield
            except sqlite3.Error as exc:
                raise StateError(f"{self.path}: {exc}") from exc


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")


def _change(
    before: _Remembered | None, status: str, now: datetime, reminder: timedelta | None
) -> Change | None:
    was_failing = before is not None and before.status in FAILING
    if status not in FAILING:
        return Change.RESOLVED if was_failing else None
    if before is None or before.status != status:
        return Change.FAILING
    last = before.last_notified
    if reminder is not None and (last is None or now - datetime.fromisoformat(last) >= reminder):
        return Change.STILL_FAILING
    return None


def change_event(
    change: Change,
    finding: Mapping[str, Any],
    previous_status: str | None,
    failing_since: str | None,
) -> dict[str, Any]:
    """The change event sinks receive: what changed, wrapped around the finding event as it is now.

    ``event_id`` is the same for the same change of the same finding in the same run, so a
    re-delivered event can be deduplicated.
    """
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "change",
        "change": change.value,
        "event_id": str(uuid.uuid5(FINDING_NAMESPACE, f"{finding['run_id']}|{finding['uid']}")),
        "uid": finding["uid"],
        "status": finding["status"],
        "previous_status": previous_status,
        "failing_since": failing_since,
        "run_id": finding["run_id"],
        "observed_at": finding["observed_at"],
        "finding": dict(finding),
    }


def _timestamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


DEFAULT_STATE_DIRECTORY = Path("/var/lib/netverify")


def state_directory(explicit: Path | None, configured: Path | None) -> Path:
    """--state-dir, else state.directory, else $STATE_DIRECTORY (systemd's), else the default."""
    from_systemd = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    return (
        explicit or configured or (Path(from_systemd) if from_systemd else DEFAULT_STATE_DIRECTORY)
    )
