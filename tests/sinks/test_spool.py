"""The spool: on disk before delivery, oldest first, bounded with counted drops, retries."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from netverify.sinks.spool import Backoff, Courier, Refused, RetryLater, Spool, SpoolStats


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
