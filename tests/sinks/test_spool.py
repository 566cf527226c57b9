"""The spool: on disk before delivery, oldest first, bounded with counted drops, retries."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from netverify.sinks import spool as spool_module
from netverify.sinks.spool import (
    Backoff,
    Courier,
    Refused,
    RetryLater,
    Spool,
    SpoolError,
    SpoolStats,
)


def events(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"event_id": f"e{i}", "n": i} for i in range(start, start + count)]


class ScriptedTransport:
    """Takes batches, or fails them as scripted: one entry per send, None = accept."""

    def __init__(self, *script: Exception | None, refuse: set[int] | None = None) -> None:
        self.script = list(script)
        self.refuse = refuse or set()
        self.received: list[int] = []
        self.batches: list[int] = []

    def send(self, batch: Sequence[Mapping[str, Any]]) -> None:
        self.batches.append(len(batch))
        failure = self.script.pop(0) if self.script else None
        if failure is not None:
            raise failure
        if self.refuse & {e["n"] for e in batch}:
            raise Refused("413 Payload Too Large")
        self.received.extend(e["n"] for e in batch)

    def close(self) -> None:
        return


FAST = Backoff(initial_seconds=0.001, max_seconds=0.01)


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    return Spool(tmp_path / "s.sqlite", name="test", max_events=1000)


def test_events_survive_a_reopen_in_order(tmp_path: Path) -> None:
    """What was put is on disk: a new Spool on the same file sees it, oldest first."""
    first = Spool(tmp_path / "s.sqlite", name="test", max_events=10)
    first.put(events(3))
    first.close()

    again = Spool(tmp_path / "s.sqlite", name="test", max_events=10)
    assert [0, 1, 2] == [e.event["n"] for e in again.head(10)]


def test_delivered_events_leave_the_spool_and_are_counted(spool: Spool) -> None:
    """A delivered batch is removed; the counter says how many went."""
    spool.put(events(5))
    spool.delivered(spool.head(2))

    assert SpoolStats(delivered=2, retried=0, dropped=0, rejected=0, backlog=3) == spool.stats()
    assert [2, 3, 4] == [e.event["n"] for e in spool.head(10)]


def test_full_spool_drops_the_oldest_counts_and_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Past max_events the oldest go first; the drop is counted and logged, never silent."""
    spool = Spool(tmp_path / "s.sqlite", name="siem", max_events=5)
    spool.put(events(4))
    with caplog.at_level(logging.WARNING, logger="netverify.sinks.spool"):
        assert 3 == spool.put(events(4, start=4))

    assert [3, 4, 5, 6, 7] == [e.event["n"] for e in spool.head(10)]
    assert (3, 5) == (spool.stats().dropped, spool.stats().backlog)
    assert "spool siem is full (max_events=5): dropped the 3 oldest" in caplog.text


def test_courier_delivers_everything_in_batches(spool: Spool) -> None:
    """flush sends oldest first, batch by batch, and reports an empty spool."""
    spool.put(events(25))
    transport = ScriptedTransport()

    assert Courier(spool, transport, batch_size=10, backoff=FAST).flush(5)
    assert list(range(25)) == transport.received
    assert [10, 10, 5] == transport.batches
    assert 25 == spool.stats().delivered


def test_courier_retries_until_the_receiver_takes_it(spool: Spool) -> None:
    """A receiver that fails twice (500, then a network error) gets the batch on the third try."""
    spool.put(events(3))
    transport = ScriptedTransport(RetryLater("500"), ConnectionRefusedError("refused"))

    assert Courier(spool, transport, backoff=FAST).flush(5)
    assert [0, 1, 2] == transport.received
    assert SpoolStats(delivered=3, retried=6, dropped=0, rejected=0, backlog=0) == spool.stats()


def test_flush_gives_up_at_its_deadline_and_keeps_the_events(spool: Spool) -> None:
    """A receiver that stays down: flush returns False in time and nothing leaves the spool."""
    spool.put(events(3))
    down = ScriptedTransport(*[RetryLater("down")] * 1000)

    assert not Courier(spool, down, backoff=Backoff(0.05, 0.05)).flush(0.3)
    assert 3 == spool.stats().backlog


def test_retry_after_is_a_floor_for_the_wait(spool: Spool) -> None:
    """A 429 with Retry-After longer than the flush budget ends the flush without sending."""
    spool.put(events(1))
    throttled = ScriptedTransport(RetryLater("429", retry_after=60))
    courier = Courier(spool, throttled, backoff=Backoff(initial_seconds=0.001, max_seconds=120))

    assert not courier.flush(0.5)
    assert [1] == throttled.batches


def test_refused_event_is_isolated_and_set_aside(
    spool: Spool, caplog: pytest.LogCaptureFixture
) -> None:
    """A 413 on a batch halves it until the one event refused alone is moved to rejected."""
    spool.put(events(8))
    transport = ScriptedTransport(refuse={5})

    with caplog.at_level(logging.ERROR, logger="netverify.sinks.spool"):
        assert Courier(spool, transport, batch_size=8, backoff=FAST).flush(5)

    assert [0, 1, 2, 3, 4, 6, 7] == sorted(transport.received)
    assert [({"event_id": "e5", "n": 5}, "413 Payload Too Large")] == spool.rejected()
    assert (7, 1, 0) == (spool.stats().delivered, spool.stats().rejected, spool.stats().backlog)
    assert "refused event e5 for good (413 Payload Too Large)" in caplog.text


def test_backoff_grows_exponentially_with_full_jitter() -> None:
    """Attempt n waits up to initial * 2^n (capped), scaled by a random factor."""
    backoff = Backoff(initial_seconds=1, max_seconds=300)

    assert 8.0 == backoff.delay(3, None, lambda: 1.0)
    assert 4.0 == backoff.delay(3, None, lambda: 0.5)
    assert 300.0 == backoff.delay(20, None, lambda: 1.0)
    assert 30.0 == backoff.delay(0, 30.0, lambda: 0.2)


def test_retry_after_is_capped_at_the_longest_wait() -> None:
    """A receiver's Retry-After: 999999 waits max_seconds (delivery.retry_max_seconds), no more."""
    backoff = Backoff(initial_seconds=1, max_seconds=300)

    assert 300.0 == backoff.delay(0, 999999.0, lambda: 0.2)
    assert 299.0 == backoff.delay(0, 299.0, lambda: 0.2)  # below the cap: as asked


def test_an_unreadable_row_moves_to_rejected_and_the_rest_flows(
    spool: Spool, caplog: pytest.LogCaptureFixture
) -> None:
    """A row that is not JSON, and one that is JSON but no object: each moves to rejected with
    its text and the reason, is counted and logged; the events around them are delivered."""
    spool.put(events(4))
    with sqlite3.connect(spool.path) as db:
        db.execute('UPDATE events SET body = \'{"event_id": "e1", trunc\' WHERE seq = 2')
        db.execute("UPDATE events SET body = '[3]' WHERE seq = 4")
    transport = ScriptedTransport()

    with caplog.at_level(logging.ERROR, logger="netverify.sinks.spool"):
        assert Courier(spool, transport, backoff=FAST).flush(5)

    assert [0, 2] == transport.received
    assert [
        (
            '{"event_id": "e1", trunc',
            "unreadable spool row 2: not JSON: JSONDecodeError: Expecting property name "
            "enclosed in double quotes: line 1 column 20 (char 19)",
        ),
        ("[3]", "unreadable spool row 4: not a JSON object"),
    ] == spool.rejected()
    assert SpoolStats(delivered=2, retried=0, dropped=0, rejected=2, backlog=0) == spool.stats()
    assert (
        f"sink test: spool row 4 is not an event (not a JSON object); it is kept in {spool.path}"
    ) in caplog.text


def corrupt(path: Path) -> None:
    """Overwrite a spool's pages after the first with garbage (its header stays SQLite's)."""
    data = bytearray(path.read_bytes())
    data[8192:] = b"\x5a" * (len(data) - 8192)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["not a database", "damaged pages"])
def test_an_unreadable_spool_file_is_set_aside_and_a_fresh_one_started(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    """A spool file SQLite cannot read is renamed aside (kept as it was), counted and logged;
    the sink starts a fresh spool and delivers; the other sink's spool is not touched."""
    directory = tmp_path / "state"
    other = Spool.in_directory(directory, "other", 100_000)
    other.put(events(3))
    broken = Spool.in_directory(directory, "broken", 100_000)
    broken.put(events(2000))
    broken.close()
    if damage == "not a database":
        broken.path.write_bytes(b"this is not SQLite\n" * 100)
    else:
        corrupt(broken.path)
    before = broken.path.read_bytes()

    with caplog.at_level(logging.ERROR, logger="netverify.sinks.spool"):
        fresh = Spool.in_directory(directory, "broken", 100_000)

    [aside] = (directory / "spool").glob("broken.sqlite.unreadable-*")
    assert before == aside.read_bytes()
    cause = "file is not a database" if damage == "not a database" else "integrity check: "
    assert (
        f"spool of sink broken at {broken.path} cannot be read ({cause}" in caplog.text
        and f"set aside as {aside} and a fresh spool started" in caplog.text
    )
    assert SpoolStats(0, 0, 0, 0, backlog=0, set_aside=1) == fresh.stats()
    transport = ScriptedTransport()
    fresh.put(events(2, start=10))
    assert Courier(fresh, transport, backoff=FAST).flush(5)
    assert [10, 11] == transport.received
    assert SpoolStats(0, 0, 0, 0, backlog=3, set_aside=0) == other.stats()


def test_a_spool_that_becomes_unreadable_is_set_aside_and_the_call_done_again(
    spool: Spool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite finding the open spool corrupt mid-call: set aside, a fresh spool, and the call
    (here: put) done on it, so the events are not lost."""
    spool.put(events(2))
    real = spool_module._transaction
    failures = [sqlite_error("database disk image is malformed", "SQLITE_CORRUPT")]

    def corrupt_once(db: sqlite3.Connection, work: Any, write: bool) -> Any:
        if failures:
            raise failures.pop()
        return real(db, work, write)

    monkeypatch.setattr(spool_module, "_transaction", corrupt_once)
    with caplog.at_level(logging.ERROR, logger="netverify.sinks.spool"):
        spool.put(events(1, start=5))

    assert [5] == [e.event["n"] for e in spool.head(10)]
    assert 1 == spool.stats().set_aside
    assert "cannot be read (database disk image is malformed): set aside as" in caplog.text
    assert 1 == len(list(spool.path.parent.glob("s.sqlite.unreadable-*")))


def sqlite_error(message: str, name: str) -> sqlite3.OperationalError:
    """The error SQLite raises, with the error name it carries (SQLITE_FULL, SQLITE_CORRUPT)."""
    error = sqlite3.OperationalError(message)
    error.sqlite_errorname = name  # type: ignore[attr-defined]
    return error


class FullDisk:
    """Monkeypatched at the spool's write boundary: while ``full``, every write transaction
    fails as SQLite fails on ENOSPC; reads go on."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = False
        real = spool_module._transaction

        def transaction(db: sqlite3.Connection, work: Any, write: bool) -> Any:
            if write and self.full:
                raise sqlite_error("database or disk is full", "SQLITE_FULL")
            return real(db, work, write)

        monkeypatch.setattr(spool_module, "_transaction", transaction)


def test_a_full_disk_is_named_and_nothing_is_lost_or_sent_twice(
    spool: Spool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The disk fills after the receiver took a batch: the spool cannot forget it, the error
    names the file and the full disk, and the batch is not sent again; new events cannot be
    spooled (the error says why); once there is room, the rest goes, each event once."""
    disk = FullDisk(monkeypatch)
    spool.put(events(3))
    transport = ScriptedTransport()
    courier = Courier(spool, transport, batch_size=2, backoff=FAST)
    sent = transport.send

    def send_then_fill(batch: Sequence[Mapping[str, Any]]) -> None:
        sent(batch)
        disk.full = True

    transport.send = send_then_fill  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="netverify.sinks.spool"):
        assert not courier.flush(0.3)
        with pytest.raises(SpoolError) as full:
            spool.put(events(1, start=3))

    assert [0, 1] == transport.received
    assert [2] == transport.batches
    disk_full = f"spool of sink test at {spool.path}: the disk is full (database or disk is full)"
    assert disk_full == str(full.value)
    assert f"2 events were delivered but are still in the spool ({disk_full})" in caplog.text

    disk.full = False
    transport.send = sent  # type: ignore[method-assign]
    spool.put(events(1, start=3))
    assert courier.flush(5)
    assert [0, 1, 2, 3] == transport.received
    assert SpoolStats(delivered=4, retried=0, dropped=0, rejected=0, backlog=0) == spool.stats()


def test_an_event_put_twice_is_spooled_once(spool: Spool) -> None:
    """Putting events again (change events a failed enqueue left pending) adds only new ids."""
    spool.put(events(3))
    spool.delivered(spool.head(1))
    spool.put(events(5))

    assert [1, 2, 3, 4] == [e.event["n"] for e in spool.head(10)]


def test_two_processes_take_turns_at_one_spool(tmp_path: Path) -> None:
    """Two spools on one file (two open files, as two processes have): while one courier
    delivers, the other waits for its turn and sends nothing; every event goes once."""
    first = Spool(tmp_path / "s.sqlite", name="service", max_events=100)
    second = Spool(tmp_path / "s.sqlite", name="timer", max_events=100)
    first.put(events(3))
    release, holding = threading.Event(), threading.Event()
    slow, other = ScriptedTransport(), ScriptedTransport()
    slow_send = slow.send

    def hold(batch: Sequence[Mapping[str, Any]]) -> None:
        holding.set()
        assert release.wait(10)
        slow_send(batch)

    slow.send = hold  # type: ignore[method-assign]
    delivering = threading.Thread(target=Courier(first, slow, backoff=FAST).flush, args=(10,))
    delivering.start()
    assert holding.wait(10)

    assert not Courier(second, other, backoff=FAST).flush(0.3)
    assert [] == other.batches
    release.set()
    delivering.join(10)
    assert Courier(second, other, backoff=FAST).flush(5)
    assert ([0, 1, 2], []) == (slow.received, other.received)
    assert 0 == second.stats().backlog
