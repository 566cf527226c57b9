"""Where findings go besides the command's own output. Sinks know events, not Azure.

Every configured sink has its own durable spool (``netverify.sinks.spool``): a run puts its events in
every spool, then each sink's courier delivers from its spool, in parallel, for a bounded time.
What is not delivered by then stays on disk for the next run (or ``netverify serve``).
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from netverify.azure.clouds import Cloud
from netverify.config import (
    AzureMonitorSink,
    Config,
    JsonLinesFileSink,
    Sink,
    SplunkHecSink,
    StdoutSink,
    SyslogSink,
    WebhookSink,
    sink_names,
)
from netverify.contracts import Format, Transport
from netverify.sinks.events import event_id
from netverify.sinks.formats import RENDERERS, as_text, render_each
from netverify.sinks.spool import Backoff, Courier, RetryLater, Spool, SpoolError, SpoolStats

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential  # the Azure Monitor sink's only

log = logging.getLogger("netverify.sinks.delivery")
# How long ``close`` waits for the sends it aborted to return.
ABORT_GRACE_SECONDS = 1.0


class JsonLinesFile:
    """Appends one line per event: what Azure Monitor Agent, Fluent Bit or Filebeat tail.

    The file is opened, appended to and closed for each batch, so logrotate's default
    rename-and-create works (no copytruncate); a batch is one write to an O_APPEND file.
    """

    def __init__(self, path: Path | None, fmt: Format, stream: TextIO | None = None) -> None:
        self.path = path
        self.stream = stream
        self.format = fmt
        self.render = RENDERERS[fmt]

    def line(self, event: Mapping[str, Any]) -> str:
        return as_text(self.render(event)) + "\n"

    def send(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Raises ``RetryLater`` naming the file when it cannot be written (``the disk is full``);
        a batch that could not be written whole is cut off again, so no line is half there and
        none is written twice when the batch is retried."""
        text = "".join(render_each(self.line, events, self.format))
        if self.stream is not None:
            self.stream.write(text)
            self.stream.flush()
            return
        assert self.path is not None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _append(self.path, text.encode("utf-8"))
        except OSError as exc:
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
            cause = f"the disk is full ({exc.strerror})" if full else (exc.strerror or str(exc))
            raise RetryLater(f"cannot write {self.path}: {cause}") from exc

    def abort(self) -> None:
        return  # a write to a local file does not wait for a receiver

    def close(self) -> None:
        return


def _append(path: Path, data: bytes) -> None:
    """``data`` at the end of ``path``, whole or not at all (the file is cut back on failure)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        written = 0
        try:
            while written < len(data):
                written += os.write(fd, data[written:])
        except OSError:
            os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class SinkEnvironment:
    """What a transport may need besides its own section: the agent and the Azure identity."""

    hostname: str
    cloud: Cloud
    credential: Callable[[], TokenCredential]


def make_transport(config: Sink, name: str, env: SinkEnvironment) -> Transport:
    match config:
        case JsonLinesFileSink():
            return JsonLinesFile(config.path, config.format)
        case StdoutSink():
            return JsonLinesFile(None, config.format, sys.stdout)
        case SyslogSink():
            from netverify.sinks.syslog import Syslog

            return Syslog(config, env.hostname)
        case SplunkHecSink():
            from netverify.sinks.http import SplunkHec

            return SplunkHec(config, name, env.hostname)
        case WebhookSink():
            from netverify.sinks.http import Webhook

            return Webhook(config)
        case AzureMonitorSink():
            from netverify.sinks.azure_monitor import AzureMonitorLogs

            return AzureMonitorLogs(config, env.cloud, env.credential())


class Delivery:
    """Every sink of a config, each behind its own spool.

    ``enqueue`` commits to every spool; ``flush`` delivers; ``stats`` gives the counters per sink.
    """

    def __init__(self, config: Config, env: SinkEnvironment, state_directory: Path) -> None:
        delivery = config.delivery
        backoff = Backoff(delivery.retry_initial_seconds, delivery.retry_max_seconds)
        self.flush_timeout = delivery.flush_timeout_seconds
        self.couriers: dict[str, Courier] = {}
        self._sinks: dict[str, tuple[Sink, Spool]] = {}
        self._env = env
        self._backoff = backoff
        self._batch_size = delivery.batch_size
        self._threads: dict[str, threading.Thread] = {}  # each sink's last flush
        for name, sink in zip(sink_names(config.sinks), config.sinks, strict=True):
            spool = Spool.in_directory(state_directory, name, delivery.max_events)
            self._sinks[name] = (sink, spool)

    def spools(self) -> dict[str, Spool]:
        return {name: spool for name, (_, spool) in self._sinks.items()}

    def enqueue(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Commit to every spool; an event without an ``event_id`` gets one (``events.event_id``).

        Raises ``SpoolError`` naming every spool that could not take them (after all were tried).
        """
        stamped = [{**e, "event_id": e.get("event_id") or event_id(e)} for e in events]
        failures = []
        for spool in self.spools().values():  # one spool that cannot take them spares the rest
            try:
                spool.put(stamped)
            except SpoolError as exc:
                failures.append(str(exc))
        if failures:
            raise SpoolError("; ".join(failures))

    def flush(self, timeout: float | None = None) -> dict[str, bool]:
        """Deliver every spool in parallel for at most ``timeout`` seconds; True = emptied.

        Returns by then whatever a receiver does. A send still in flight is not aborted (the
        receiver may have taken the batch: sent again, it would arrive twice): it ends alone,
        within its transport's timeout, and later flushes skip that sink until it has; ``close``
        cuts it short.
        """
        budget = self.flush_timeout if timeout is None else timeout
        deadline = time.monotonic() + budget
        results: dict[str, bool] = {}
        started: list[threading.Thread] = []
        for name in self._sinks:
            if self._busy(name):
                log.warning("sink %s: the previous delivery has not ended yet; skipped", name)
                continue
            # A daemon thread: a send that cannot be aborted must not hold up the exit either.
            thread = threading.Thread(
                target=lambda name=name: results.update({name: self._flush_one(name, budget)}),
                name=f"sink {name}",
                daemon=True,
            )
            self._threads[name] = thread
            started.append(thread)
            thread.start()
        for thread in started:
            thread.join(max(0.0, deadline - time.monotonic()))
        return {name: results.get(name, False) for name in self._sinks}

    def _busy(self, name: str) -> bool:
        thread = self._threads.get(name)
        return thread is not None and thread.is_alive()

    def _flush_one(self, name: str, timeout: float) -> bool:
        sink, spool = self._sinks[name]
        try:
            courier = self.couriers.get(name)
            if courier is None:
                transport = make_transport(sink, name, self._env)
                courier = Courier(
                    spool, transport, batch_size=self._batch_size, backoff=self._backoff
                )
                self.couriers[name] = courier
            emptied = courier.flush(timeout)
        except Exception as exc:  # a broken sink must not take the others (or the run) down
            log.error("sink %s cannot deliver: %s: %s", name, type(exc).__name__, exc)
            return False
        if not emptied:
            log.warning(
                "sink %s: %d events still spooled in %s; they go with the next delivery",
                name,
                spool.stats().backlog,
                spool.path,
            )
        return emptied

    def stats(self) -> dict[str, SpoolStats]:
        return {name: spool.stats() for name, spool in self.spools().items()}

    def close(self) -> None:
        """Stop every sink, aborting the sends in flight (their batches stay spooled), and close
        them; the spool of one whose send could not be aborted (see ``Transport.abort``) is left
        open for that send, which the exit ends."""
        for courier in self.couriers.values():
            courier.stop()
            courier.transport.abort()
        grace = time.monotonic() + ABORT_GRACE_SECONDS
        for thread in list(self._threads.values()):
            thread.join(max(0.0, grace - time.monotonic()))
        for name, (_, spool) in self._sinks.items():
            if self._busy(name):
                continue
            if name in self.couriers:
                self.couriers[name].transport.close()
            spool.close()
