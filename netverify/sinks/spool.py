"""The durable spool every sink delivers through: at-least-once, bounded, never silent.

Each sink has its own SQLite file (WAL) under ``<state dir>/spool/``. An event is committed to
disk before any delivery is tried and removed only once its sink has taken it, so a receiver
that is down, a crash or a kill loses nothing: the next flush (this process or the next run)
sends it again, with the same event id so the SIEM can drop the duplicate. The spool is bounded:
past ``max_events`` the oldest events are dropped, counted and logged. An event its receiver
refuses for good (malformed, too large on its own) moves to a ``rejected`` table, also counted
and logged, so that it no longer blocks the ones behind it; so does an event that cannot be
rendered, and a row that is not a JSON event. A spool file that cannot be read is set aside and a
fresh one started; a full disk is an error that says so, and an event id the spool took before
is not taken twice. Two processes on one state directory take turns (``Spool.turn``, a lock).

``Spool.stats()`` gives the counters (delivered, retried, dropped, rejected, backlog) that
``netverify serve``'s metrics read.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from netverify.contracts import Transport
from netverify.model import CannotRun

log = logging.getLogger("netverify.sinks.spool")

COUNTERS = ("delivered", "retried", "dropped", "rejected", "set_aside")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY, body TEXT NOT NULL, reason TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS seen (event_id TEXT PRIMARY KEY);
"""
# What SQLite says of a file that is not, or no longer, a database it can read.
_UNREADABLE = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})
Result = TypeVar("Result")


class SpoolError(CannotRun):
    """A spool that cannot be opened or written; the message names the sink, the file and why
    (the disk is full, ...)."""


class _Unreadable(Exception):
    """The spool file cannot be read as a spool (not SQLite, or damaged)."""


@dataclass(frozen=True, slots=True)
class SpoolStats:
    delivered: int  # events a sink has taken
    retried: int  # events sent again after a failed attempt
    dropped: int  # events deleted unsent because the spool was full (oldest first)
    rejected: int  # events the receiver refused for good, kept in the rejected table
    backlog: int  # events waiting
    set_aside: int = 0  # unreadable spool files renamed and replaced by a fresh one


@dataclass(frozen=True, slots=True)
class SpooledEvent:
    seq: int
    event: dict[str, Any]


class Spool:
    """One sink's on-disk queue. Safe to share between threads; each call is one transaction.

    A spool file SQLite cannot read (not a database, damaged) is set aside, renamed
    ``<name>.sqlite.unreadable-<UTC time>``, counted (``set_aside``), logged, and a fresh one
    started; a row that is not a JSON event moves to ``rejected``. Any other SQLite or OS error
    is a ``SpoolError`` naming the sink, the file and the cause (``the disk is full``).
    """

    def __init__(self, path: Path, *, name: str, max_events: int) -> None:
        self.path = path
        self.name = name
        self.max_events = max_events
        self._lock = threading.Lock()
        try:
            self._db = self._open()
        except (OSError, sqlite3.Error) as exc:
            hint = (
                ""
                if _disk_full(exc)
                else " (set state.directory, or $STATE_DIRECTORY, to a writable directory)"
            )
            raise SpoolError(
                f"cannot open the spool of sink {name} at {path}: {_cause(exc)}{hint}"
            ) from exc

    @classmethod
    def in_directory(cls, state_directory: Path, name: str, max_events: int) -> Spool:
        return cls(state_directory / "spool" / f"{name}.sqlite", name=name, max_events=max_events)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def put(self, events: Iterable[Mapping[str, Any]]) -> int:
        """Commit events to disk; returns how many old events were dropped to make room.

        An event whose ``event_id`` the spool took before (among the last ``2 * max_events``) is
        not taken again: putting the same events twice delivers them once.
        """
        rows = [(e.get("event_id"), _json(e)) for e in events]

        def work(db: sqlite3.Connection) -> tuple[int, int]:
            for event_id, body in rows:
                if event_id is not None:
                    seen = db.execute("INSERT OR IGNORE INTO seen VALUES (?)", (event_id,))
                    if not seen.rowcount:
                        continue
                db.execute("INSERT INTO events (body) VALUES (?)", (body,))
            db.execute(
                "DELETE FROM seen WHERE rowid <= (SELECT max(rowid) FROM seen) - ?",
                (2 * self.max_events,),
            )
            return self._trim(db, "events"), self._trim(db, "rejected")

        dropped, dropped_rejected = self._run(work, write=True)
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
        """The oldest ``limit`` events, in the order they were put; a row that is not a JSON
        object moves to ``rejected`` (counted, logged) on the way."""
        while True:
            rows: list[tuple[int, Any]] = self._run(
                lambda db: db.execute(
                    "SELECT seq, body FROM events ORDER BY seq LIMIT ?", (limit,)
                ).fetchall(),
                write=False,
            )
            events, unreadable = [], []
            for seq, body in rows:
                event, problem = _parsed(body)
                if event is None:
                    unreadable.append((seq, body, problem))
                else:
                    events.append(SpooledEvent(seq, event))
            if not unreadable:
                return events
            for seq, body, problem in unreadable:
                self._move_to_rejected(seq, body, f"unreadable spool row {seq}: {problem}")
                log.error(
                    "sink %s: spool row %d is not an event (%s); it is kept in %s, table rejected",
                    self.name,
                    seq,
                    problem,
                    self.path,
                )

    def delivered(self, batch: Sequence[SpooledEvent]) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.executemany("DELETE FROM events WHERE seq = ?", [(e.seq,) for e in batch])
            _count(db, "delivered", len(batch))

        self._run(work, write=True)

    def retried(self, count: int) -> None:
        self._run(lambda db: _count(db, "retried", count), write=True)

    def reject(self, item: SpooledEvent, reason: str) -> None:
        self._move_to_rejected(item.seq, _json(item.event), reason)
        log.error(
            "sink %s refused event %s for good (%s); it is kept in %s, table rejected",
            self.name,
            item.event.get("event_id"),
            reason,
            self.path,
        )

    def rejected(self) -> list[tuple[dict[str, Any] | str, str]]:
        """Each rejected event with its reason; a row that was not JSON as its text."""
        rows = self._run(
            lambda db: db.execute("SELECT body, reason FROM rejected ORDER BY seq").fetchall(),
            write=False,
        )
        return [(_parsed(body)[0] or body, reason) for body, reason in rows]

    def stats(self) -> SpoolStats:
        def work(db: sqlite3.Connection) -> SpoolStats:
            values = dict(db.execute("SELECT name, value FROM counters").fetchall())
            (backlog,) = db.execute("SELECT count(*) FROM events").fetchone()
            return SpoolStats(**{c: values.get(c, 0) for c in COUNTERS}, backlog=backlog)

        return self._run(work, write=False)

    @contextmanager
    def turn(self, deadline: float, stop: threading.Event) -> Iterator[bool]:
        """This process's turn at the spool: an exclusive ``flock`` on ``<spool>.lock``, waited
        for until ``deadline`` (``time.monotonic()``) or ``stop``. Yields False when another
        process (the service and the timer unit on one state directory) kept it that long, so
        that two processes never send the same events."""
        lock = Path(f"{self.path}.lock")
        try:
            handle = lock.open("a")
        except OSError as exc:
            raise SpoolError(
                f"spool of sink {self.name}: cannot open {lock}: {_cause(exc)}"
            ) from exc
        with handle:
            told = False
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not told:
                        log.info(
                            "sink %s: another process is delivering from %s; waiting for it",
                            self.name,
                            self.path,
                        )
                        told = True
                    if time.monotonic() >= deadline or stop.wait(0.05):
                        yield False
                        return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _move_to_rejected(self, seq: int, body: Any, reason: str) -> None:
        def work(db: sqlite3.Connection) -> None:
            deleted = db.execute("DELETE FROM events WHERE seq = ?", (seq,)).rowcount
            if deleted:  # another courier may have delivered it meanwhile
                db.execute(
                    "INSERT OR REPLACE INTO rejected (seq, body, reason, at) VALUES (?, ?, ?, ?)",
                    (seq, body, reason, time.time()),
                )
                _count(db, "rejected", 1)

        self._run(work, write=True)

    def _trim(self, db: sqlite3.Connection, table: str) -> int:
        """Delete the oldest rows beyond the bound; counts them as dropped."""
        (count,) = db.execute(f"SELECT count(*) FROM {table}").fetchone()
        excess = int(count) - self.max_events
        if excess <= 0:
            return 0
        db.execute(
            f"DELETE FROM {table} WHERE seq IN (SELECT seq FROM {table} ORDER BY seq LIMIT ?)",
            (excess,),
        )
        _count(db, "dropped", excess)
        return excess

    def _run(self, work: Callable[[sqlite3.Connection], Result], *, write: bool) -> Result:
        """``work`` in one transaction (``write``: BEGIN IMMEDIATE ... COMMIT, else a read).

        A spool found unreadable is set aside and ``work`` done again on a fresh one; any other
        error is a ``SpoolError`` naming the sink, the file and the cause.
        """
        with self._lock:
            try:
                try:
                    return _transaction(self._db, work, write)
                except sqlite3.DatabaseError as exc:
                    if getattr(exc, "sqlite_errorname", None) not in _UNREADABLE:
                        raise
                    self._db.close()
                    self._db = self._fresh(str(exc))
                return _transaction(self._db, work, write)
            except (OSError, sqlite3.Error) as exc:
                raise SpoolError(
                    f"spool of sink {self.name} at {self.path}: {_cause(exc)}"
                ) from exc

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except _Unreadable as exc:
            return self._fresh(str(exc))

    def _fresh(self, problem: str) -> sqlite3.Connection:
        """Rename the unreadable file (and its WAL) aside; a new, empty spool in its place."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        aside = Path(f"{self.path}.unreadable-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            with suppress(FileNotFoundError):
                Path(f"{self.path}{suffix}").rename(f"{aside}{suffix}")
        try:
            db = self._connect()
        except _Unreadable as exc:  # the new file is SQLite's own: this is no longer the data
            raise SpoolError(f"spool of sink {self.name} at {self.path}: {exc}") from exc
        _transaction(db, lambda d: _count(d, "set_aside", 1), write=True)
        log.error(
            "spool of sink %s at %s cannot be read (%s): set aside as %s and a fresh spool "
            "started; the events it held were not delivered",
            self.name,
            self.path,
            problem,
            aside,
        )
        return db

    def _connect(self) -> sqlite3.Connection:
        """The spool's database, checked; raises ``_Unreadable`` for a file SQLite cannot read."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            # WAL + FULL: a committed event survives a crash of netverify and of the machine.
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA busy_timeout=10000")
            db.executescript(_SCHEMA)
            (check,) = db.execute("PRAGMA quick_check(1)").fetchone()
            if check != "ok":
                raise _Unreadable(f"integrity check: {check}")
        except sqlite3.DatabaseError as exc:
            db.close()
            if getattr(exc, "sqlite_errorname", None) in _UNREADABLE:
                raise _Unreadable(str(exc)) from exc
            raise
        except _Unreadable:
            db.close()
            raise
        return db


def _transaction(
    db: sqlite3.Connection, work: Callable[[sqlite3.Connection], Result], write: bool
) -> Result:
    if not write:
        return work(db)
    db.execute("BEGIN IMMEDIATE")
    try:
        result = work(db)
    except BaseException:
        with suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return result


def _count(db: sqlite3.Connection, name: str, amount: int) -> None:
    db.execute(
        "INSERT INTO counters (name, value) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
        (name, amount),
    )


def _json(event: Mapping[str, Any]) -> str:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def _parsed(body: Any) -> tuple[dict[str, Any] | None, str]:
    """A spool row as its event, or None and why it is not one."""
    try:
        event = json.loads(body)
    except (ValueError, TypeError) as exc:
        return None, f"not JSON: {type(exc).__name__}: {exc}"
    return (event, "") if isinstance(event, dict) else (None, "not a JSON object")


def _disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return getattr(exc, "sqlite_errorname", None) == "SQLITE_FULL"


def _cause(exc: BaseException) -> str:
    """What went wrong, in words: ``the disk is full (…)`` first when it is."""
    detail = str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        detail = exc.strerror + (f": {exc.filename}" if exc.filename else "")
    return f"the disk is full ({detail})" if _disk_full(exc) else detail


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
        self._taken: Sequence[SpooledEvent] = []  # delivered, not yet removed from the spool
        self._stop = threading.Event()

    def stop(self) -> None:
        """Makes a running ``flush`` return at its next wait."""
        self._stop.set()

    def flush(self, timeout: float) -> bool:
        """Deliver until the spool is empty (True) or ``timeout`` seconds have passed (False),
        in this process's turn at the spool (``Spool.turn``)."""
        deadline = time.monotonic() + timeout
        with self.spool.turn(deadline, self._stop) as ours:
            return ours and self._deliver(deadline)

    def _deliver(self, deadline: float) -> bool:
        limit = self.batch_size
        while True:
            if self._not_before > deadline or self._stop.wait(self._not_before - time.monotonic()):
                return False
            if self._taken and not self._forget_taken():
                continue
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
                wait = self._back_off(exc.retry_after if isinstance(exc, RetryLater) else None)
                self.spool.retried(len(batch))
                log.warning(
                    "sink %s: %d events not delivered (%s); retry %d in %.1fs",
                    self.spool.name,
                    len(batch),
                    exc,
                    self._attempt,
                    wait,
                )
                continue
            self._taken = batch
            if not self._forget_taken():
                continue
            self._attempt = 0
            limit = self.batch_size
            if time.monotonic() >= deadline:
                return not self.spool.head(1)

    def _forget_taken(self) -> bool:
        """Remove the batch the receiver took from the spool. When the spool cannot (a full
        disk), the batch stays in memory, is never sent again, and removing it is retried."""
        try:
            self.spool.delivered(self._taken)
        except SpoolError as exc:
            wait = self._back_off(None)
            log.error(
                "sink %s: %d events were delivered but are still in the spool (%s); they are not "
                "sent again, removing them is retried in %.1fs",
                self.spool.name,
                len(self._taken),
                exc,
                wait,
            )
            return False
        self._taken = []
        return True

    def _back_off(self, retry_after: float | None) -> float:
        """Seconds until the next attempt (``Backoff``), counted from now."""
        wait = self.backoff.delay(self._attempt, retry_after, self._rand)
        self._attempt += 1
        self._not_before = time.monotonic() + wait
        return wait
