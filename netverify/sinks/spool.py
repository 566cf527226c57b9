"""The durable spool every sink delivers through: at-least-once, bounded, never silent.

Each sink has its own SQLite file (WAL) under ``<state dir>/spool/``. An event is committed to
disk before any delivery is tried and removed only once its sink has taken it, so a receiver
that is down, a crash or a kill loses nothing: the next flush (this process or the next run)
sends it again, with the same event id so the SIEM can drop the duplicate. The spool is bounded:
past ``max_events`` the oldest events are dropped, counted and logged. An event its receiver
refuses for good (malformed, too large on its own) moves to a ``rejected`` table, also counted
and logged, so that it no longer blocks the ones behind it.

``Spool.stats()`` gives the counters (delivered, retried, dropped, rejected, backlog) that
``netverify serve``'s metrics read.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netverify.contracts import Transport
from netverify.model import CannotRun

log = logging.getLogger("netverify.sinks.spool")

COUNTERS = ("delivered", "retried", "dropped", "rejected")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY, body TEXT NOT NULL, reason TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class SpoolError(CannotRun):
    """A spool that cannot be opened; the message names the sink and the file."""


@dataclass(frozen=True, slots=True)
class SpoolStats:
    delivered: int  # events a sink has taken
    retried: int  # events sent again after a failed attempt
    dropped: int  # events deleted unsent because the spool was full (oldest first)
    rejected: int  # events the receiver refused for good, kept in the rejected table
    backlog: int  # events waiting


@dataclass(frozen=True, slots=True)
class SpooledEvent:
    seq: int
    event: dict[str, Any]


class Spool:
    """One sink's on-disk queue. Safe to share between threads; each call is one transaction."""

    def __init__(self, path: Path, *, name: str, max_events: int) -> None:
        self.path = path
        self.name = name
        self.max_events = max_events
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            # WAL + FULL: a committed event survives a crash of netverify and of the machine.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise SpoolError(
                f"cannot open the spool of sink {name} at {path}: {exc} "
                "(set state.directory, or $STATE_DIRECTORY, to a writable directory)"
            ) from exc

    @classmethod
    def in_directory(cls, state_directory: Path, name: str, max_events: int) -> Spool:
        return cls(state_directory / "spool" / f"{name}.sqlite", name=name, max_events=max_events)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def put(self, events: Iterable[Mapping[str, Any]]) -> int:
        """Commit events to disk; returns how many old events were dropped to make room."""
        rows = [(json.dumps(e, ensure_ascii=False, separators=(",", ":")),) for e in events]
        with self._lock, self._transaction():
            self._db.executemany("INSERT INTO events (body) VALUES (?)", rows)
            dropped = self._trim("events")
            dropped_rejected = self._trim("rejected")
        for count, what in ((dropped, "undelivered"), (dropped_rejected, "rejected")):
            if count:
                log.warning(
                    "spool %s is full (max_events=%d): dropped the %d oldest %s events "
                    "(%d dropped in total)",
                    self.name,
                    self.max_events,
                    count,
                    what,
                    self.stats().dropped,
                )
        return dropped

    def head(self, limit: int) -> list[SpooledEvent]:
        """The oldest ``limit`` events, in the order they were put."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, body FROM events ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [SpooledEvent(seq, json.loads(body)) for seq, body in rows]

    def delivered(self, batch: Sequence[SpooledEvent]) -> None:
        with self._lock, self._transaction():
            self._db.executemany("DELETE FROM events WHERE seq = ?", [(e.seq,) for e in batch])
            self._count("delivered", len(batch))

    def retried(self, count: int) -> None:
        with self._lock, self._transaction():
            self._count("retried", count)

    def reject(self, item: SpooledEvent, reason: str) -> None:
        with self._lock, self._transaction():
            deleted = self._db.execute("DELETE FROM events WHERE seq = ?", (item.seq,)).rowcount
            if deleted:  # another courier may have delivered it meanwhile
                self._db.execute(
                    "INSERT OR REPLACE INTO rejected (seq, body, reason, at) VALUES (?, ?, ?, ?)",
                    (item.seq, json.dumps(item.event), reason, time.time()),
                )
                self._count("rejected", 1)
        log.error(
            "sink %s refused event %s for good (%s); it is kept in %s, table rejected",
            self.name,
            item.event.get("event_id"),
            reason,
            self.path,
        )

    def rejected(self) -> list[tuple[dict[str, Any], str]]:
        with self._lock:
            rows = self._db.execute("SELECT body, reason FROM rejected ORDER BY seq").fetchall()
        return [(json.loads(body), reason) for body, reason in rows]

    def stats(self) -> SpoolStats:
        with self._lock:
            values = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
            (backlog,) = self._db.execute("SELECT count(*) FROM events").fetchone()
        return SpoolStats(**{c: values.get(c, 0) for c in COUNTERS}, backlog=backlog)

    def _trim(self, table: str) -> int:
        """Delete the oldest rows beyond the bound; counts them as dropped."""
        (count,) = self._db.execute(f"SELECT count(*) FROM {table}").fetchone()
        excess = int(count) - self.max_events
        if excess <= 0:
            return 0
        self._db.execute(
            f"DELETE FROM {table} WHERE seq IN (SELECT seq FROM {table} ORDER BY seq LIMIT ?)",
            (excess,),
        )
        self._count("dropped", excess)
        return excess

    def _count(self, name: str, amount: int) -> None:
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            (name, amount),
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")


class RetryLater(Exception):
    """The receiver did not take the batch this time (down, busy, 429/5xx, no ack yet)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Refused(Exception):
    """The receiver will never take this batch as it is (too large, malformed)."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential back-off with full jitter; a receiver's Retry-After is a floor, itself
    capped at ``max_seconds`` (a ``Retry-After: 999999`` must not stall a sink for 11 days)."""

    initial_seconds: float = 1.0
    max_seconds: float = 300.0

    def delay(self, attempt: int, retry_after: float | None, rand: Callable[[], float]) -> float:
        ceiling = min(self.max_seconds, self.initial_seconds * 2.0 ** min(attempt, 32))
        return max(min(retry_after or 0.0, self.max_seconds), ceiling * rand())


class Courier:
    """Moves a spool's events into its transport, oldest first, batch by batch."""

    def __init__(
        self,
        spool: Spool,
        transport: Transport,
        *,
        batch_size: int = 500,
        backoff: Backoff = Backoff(),
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.spool = spool
        self.transport = transport
        self.batch_size = batch_size
        self.backoff = backoff
        self._rand = rand
        self._attempt = 0
        self._not_before = 0.0  # time.monotonic() before which the next attempt must not start
        self._stop = threading.Event()

    def stop(self) -> None:
        """Makes a running ``flush`` return at its next wait."""
        self._stop.set()

    def flush(self, timeout: float) -> bool:
        """Deliver until the spool is empty (True) or ``timeout`` seconds have passed (False)."""
        deadline = time.monotonic() + timeout
        limit = self.batch_size
        while True:
            if self._not_before > deadline or self._stop.wait(self._not_before - time.monotonic()):
                return False
            batch = self.spool.head(limit)
            if not batch:
                return True
            try:
                self.transport.send([e.event for e in batch])
            except Refused as exc:
                if len(batch) == 1:
                    self.spool.reject(batch[0], str(exc))
                else:  # find the event it refuses by halving: the others still go through
                    limit = max(1, len(batch) // 2)
                continue
            except (RetryLater, OSError) as exc:
                retry_after = exc.retry_after if isinstance(exc, RetryLater) else None
                wait = self.backoff.delay(self._attempt, retry_after, self._rand)
                self._attempt += 1
                self.spool.retried(len(batch))
                log.warning(
                    "sink %s: %d events not delivered (%s); retry %d in %.1fs",
                    self.spool.name,
                    len(batch),
                    exc,
                    self._attempt,
                    wait,
                )
                self._not_before = time.monotonic() + wait
                continue
            self.spool.delivered(batch)
            self._attempt = 0
            limit = self.batch_size
            if time.monotonic() >= deadline:
                return not self.spool.head(1)
