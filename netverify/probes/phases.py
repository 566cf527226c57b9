"""Wall time of a run's phases, for the run's critical path (debug log and /metrics)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from netverify.facts import Phase


class PhaseClock:
    """A run's phases, one after another: ``next(name)`` ends the phase under way (if any)
    and starts ``name``; ``end()`` ends it. Thread-safe.

    The phases follow each other, so their durations add up to the time they cover: the
    longest is where a faster run must win.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._began = clock()
        self._lock = threading.Lock()
        self._phases: list[Phase] = []
        self._open: tuple[str, float] | None = None

    def next(self, name: str) -> None:
        with self._lock:
            now = self._close()
            self._open = (name, now)

    def end(self) -> None:
        with self._lock:
            self._close()

    def phases(self) -> tuple[Phase, ...]:
        """Every phase ended so far, in order."""
        with self._lock:
            return tuple(self._phases)

    def _close(self) -> float:
        now = self._clock()
        if self._open is not None:
            name, started = self._open
            self._phases.append(Phase(name, started - self._began, now - started))
            self._open = None
        return now


def describe(phases: tuple[Phase, ...]) -> str:
    """One line: ``discovery 0.12 s, workspace reads 4.80 s, ...`` in order."""
    return ", ".join(f"{p.name} {p.seconds:.2f} s" for p in phases)
