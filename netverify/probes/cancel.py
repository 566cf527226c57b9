"""Cancelling one run for real: once cancelled, its reads, queries and waits stop.

The agent gives a run ``schedule.run_timeout_seconds``; a run past it is cancelled, and its
threads must stop asking ARM and DNS, not carry on beside the next run. Every probe asks
``Cancel.check`` before a request (ARM: the transport, before each attempt; DNS and
reachability: before each query or connection) and waits with ``Cancel.sleep``.
"""

from __future__ import annotations

import threading


class RunCancelled(BaseException):
    """Raised in a cancelled run by its next request or wait; the text says why it was cancelled.

    A BaseException, like ``asyncio.CancelledError``: the probes turn every ``Exception`` into a
    fact (a failed read, an error finding) and carry on, which a cancelled run must not do.
    """


class Cancel:
    """One run's cancellation; thread-safe. ``cancel`` once, from any thread."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._reason = ""

    def cancel(self, reason: str) -> None:
        """From now on ``check`` and ``sleep`` raise ``RunCancelled(reason)``."""
        self._reason = reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raises ``RunCancelled`` once the run is cancelled; else nothing."""
        if self._event.is_set():
            raise RunCancelled(self._reason)

    def sleep(self, seconds: float) -> None:
        """``time.sleep(seconds)``, but raises ``RunCancelled`` at once when cancelled meanwhile."""
        if self._event.wait(max(0.0, seconds)):
            raise RunCancelled(self._reason)
