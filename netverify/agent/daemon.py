"""``netverify serve``: the agent. Scheduled runs, state and change events, signals, health.

Threads: the main thread waits for signals (SIGHUP reload, SIGTERM/SIGINT stop) with the
signals blocked everywhere else, and pings the systemd watchdog; APScheduler's single worker
thread runs the job; each run's probing happens in a daemon thread of its own so the job can
give up on it after ``run_timeout_seconds`` or when told to stop. Giving up cancels the run
(``probes.cancel``): it sends no further request, and its thread ends once the reads in flight
have (each within ``arm.timeout_seconds``). One run at a time: a scheduled run that finds the
cancelled one still in flight is skipped, with an error finding, a log line and
``netverify_runs_total{result="skipped"}``.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from azure.core.credentials import TokenCredential

from netverify.agent import self_checks as agent
from netverify.agent.health import HealthServer
from netverify.agent.logs import fields, journal_lines, journal_stream, setup_logging
from netverify.agent.metrics import Metrics
from netverify.agent.notify import notify, watchdog_interval
from netverify.agent.state import FAILING, StateError, StateStore, state_directory
from netverify.azure.clouds import cloud
from netverify.config import Config, ConfigError, ScheduleConfig, load_config, sink_names
from netverify.model import Finding, RunContext
from netverify.output import render
from netverify.probes.cancel import Cancel, RunCancelled
from netverify.probes.credentials import make_credential
from netverify.report import history_from_change_events, write_report
from netverify.runner import RunResult, agent_of, run_once
from netverify.schedule import cron_trigger
from netverify.secret import redact
from netverify.sinks.delivery import Delivery, SinkEnvironment
from netverify.sinks.events import to_event
from netverify.sinks.spool import SpoolError

# SIGTERM waits this long for the run in flight to finish, then cancels it: the agent is gone
# within 10 s (systemd's TimeoutStopSec=15 would SIGKILL it at 15 s).
STOP_GRACE_SECONDS = 7.0
EXIT_CANNOT_RUN = 2
JOB_ID = "run"
_STOP = {signal.SIGTERM, signal.SIGINT}
_HANDLED = {signal.SIGHUP, *_STOP}
_RESULTS = {0: "pass", 1: "fail", 2: "could_not_run", 3: "error"}

REPORT_FILE = "report.html"
DELIVERY_JOB_ID = "deliver"
DELIVERY_INTERVAL_SECONDS = 5  # how often spooled events are retried between runs
DELIVERY_SLICE_SECONDS = 2.0  # keeps a stop within systemd's TimeoutStopSec
STOP_BUDGET_SECONDS = 9.5  # SIGTERM to exit, as the brief and TimeoutStopSec=15 allow
log = logging.getLogger("netverify.agent.daemon")


def _config_problem(path: Path, exc: Exception) -> str:
    """A rejected configuration in words: a ConfigError names the file already; anything else
    (a bug the file triggers) is named with the file and the exception, secrets redacted."""
    if isinstance(exc, ConfigError):
        return str(exc)
    return redact(f"{path}: cannot be used: {type(exc).__name__}: {exc}")


def serve(config_file: Path, state_dir: Path | None, log_level: str) -> int:
    setup_logging(log_level)
    # Blocked before any thread starts, so every thread inherits the mask and the signals wait
    # for the main thread's sigtimedwait instead of interrupting a run or a SQLite write.
    signal.pthread_sigmask(signal.SIG_BLOCK, _HANDLED)
    try:
        config = load_config(config_file)
        store = StateStore.open(state_directory(state_dir, config.state.directory))
    except (ConfigError, StateError) as exc:
        log.error("cannot start", extra=fields(problem=str(exc)))
        return EXIT_CANNOT_RUN
    try:
        daemon = Daemon(config_file, config, store)
    except SpoolError as exc:  # a spool directory that cannot be written, a full disk
        store.close()
        log.error("cannot start", extra=fields(problem=str(exc)))
        return EXIT_CANNOT_RUN
    try:
        code = daemon.run()
    finally:
        store.close()
    if daemon.run_in_flight():
        # A cancelled run's last ARM reads still sit in a concurrent.futures pool, whose threads
        # the interpreter would join at exit: leave now, everything is flushed and closed.
        logging.shutdown()
        sys.stdout.flush()
        os._exit(code)
    return code


@dataclass(frozen=True, slots=True)
class _Completed:
    run_id: str
    finished_at: datetime
    result: str
    exit_code: int


class _Cancelled(Exception):
    """The run in flight was abandoned because the agent is stopping."""


class Daemon:
    def __init__(self, config_file: Path, config: Config, store: StateStore) -> None:
        self.config_file = config_file
        self.config = config
        self.store = store
        self.metrics = Metrics()
        self._credential = _credential(config)
        self._started_at = datetime.now(UTC)
        self._deliver_lock = threading.Lock()
        self._running = threading.Event()
        self._cancel = threading.Event()
        self._last: _Completed | None = None
        self._last_attempt: str | None = None
        # The last run's thread: alive while any of its reads may be in flight, cancelled or not.
        self._run_thread: threading.Thread | None = None
        self.delivery = self._make_delivery(config)
        # Sinks change only with a restart, so the names and types are this config's for good.
        kinds = dict(zip(sink_names(config.sinks), (s.type for s in config.sinks), strict=True))
        self.metrics.watch_sinks(
            lambda: [(n, kinds[n], stats) for n, stats in self.delivery.stats().items()]
        )
        self.scheduler = BackgroundScheduler(
            # One worker for the runs, one for delivery, so neither waits for the other.
            executors={"default": ThreadPoolExecutor(2)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=UTC,
        )
        self.health: HealthServer | None = None

    def run(self) -> int:
        if self.config.health.listen != "off":
            try:
                self.health = HealthServer(
                    self.config.health.listen,
                    self.health_report,
                    self.metrics.registry,
                    self.report_page,
                )
            except OSError as exc:
                log.error(
                    "cannot listen",
                    extra=fields(listen=self.config.health.listen, problem=str(exc)),
                )
                return EXIT_CANNOT_RUN
            self.health.start()
        # What a crash or a failing sink left unsent goes out first (to stdout too, in case the
        # crash came before it was printed).
        _write_stdout(self.store.undelivered())
        self._send_pending(self.config)
        self.scheduler.add_job(
            self._scheduled_run,
            _trigger(self.config.schedule),
            id=JOB_ID,
            misfire_grace_time=self.config.schedule.misfire_grace_seconds,
            next_run_time=datetime.now(UTC),  # the first run at start
        )
        log.info(
            "started",
            extra=fields(
                config=str(self.config_file),
                state=str(self.store.path),
                listen=self.health.address if self.health else "off",
                pid=os.getpid(),
            ),
        )
        self.scheduler.add_job(
            self._flush,
            "interval",
            seconds=DELIVERY_INTERVAL_SECONDS,
            id=DELIVERY_JOB_ID,
            next_run_time=datetime.now(UTC),
        )
        self.scheduler.start()
        notify("READY=1", "STATUS=started, first run under way")
        self._wait_for_signals()
        return self._stop()

    def _wait_for_signals(self) -> None:
        ping = watchdog_interval()
        while True:
            received = signal.sigtimedwait(_HANDLED, ping or 3600)
            if ping and self.scheduler.running:
                notify("WATCHDOG=1")
            if received is None:
                continue
            if received.si_signo == signal.SIGHUP:
                self.reload()
            else:
                log.info("stopping", extra=fields(signal=signal.Signals(received.si_signo).name))
                return

    def _stop(self) -> int:
        notify("STOPPING=1", "STATUS=stopping")
        stopping = time.monotonic()
        self.scheduler.pause()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while self._running.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._running.is_set():
            self._cancel.set()
        # Waits for the jobs: a cancelled run returns at once, a finishing one spools its events,
        # and a delivery in flight ends within DELIVERY_SLICE_SECONDS whatever its receiver does
        # (Delivery.flush); what is left stays spooled.
        self.scheduler.shutdown(wait=True)
        # A last slice for what a run that finished meanwhile spooled, within the stop budget;
        # then a send still waiting for its receiver is aborted (Delivery.close). Anything
        # undelivered stays spooled for the next start.
        left = STOP_BUDGET_SECONDS - (time.monotonic() - stopping)
        self.delivery.flush(max(0.5, min(DELIVERY_SLICE_SECONDS, left)))
        self.delivery.close()
        if self.health:
            self.health.stop()
        log.info("stopped")
        return 0

    def reload(self) -> None:
        notify("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")
        try:
            config = load_config(self.config_file)
        except Exception as exc:  # whatever the file holds, a reload never stops the agent
            problem = "; ".join(_config_problem(self.config_file, exc).splitlines())
            log.error(
                "configuration rejected, the previous one stays in force",
                extra=fields(config=str(self.config_file), problem=problem),
            )
            self.metrics.reloads.labels(result="rejected").inc()
            rejected = agent.config_rejected(_name(self.config), str(self.config_file), problem)
            self._deliver(self.config, [rejected])
        else:
            # Resolved under the name the rejection was reported with, should the name change.
            accepted = agent.config_accepted(_name(self.config), str(self.config_file))
            self._apply(config)
            self.metrics.reloads.labels(result="applied").inc()
            log.info("configuration reloaded", extra=fields(config=str(self.config_file)))
            self._recover(self.config, accepted)
        notify("READY=1", f"STATUS={self._status()}")

    def _apply(self, config: Config) -> None:
        for needs_restart in ("state", "health", "sinks", "delivery"):
            if getattr(config, needs_restart) != getattr(self.config, needs_restart):
                log.warning(
                    "a changed section takes effect at the next restart",
                    extra=fields(section=needs_restart),
                )
        if config.credential != self.config.credential or config.cloud != self.config.cloud:
            self._credential = _credential(config)
        if config.schedule != self.config.schedule:
            self.scheduler.modify_job(
                JOB_ID, misfire_grace_time=config.schedule.misfire_grace_seconds
            )
            self.scheduler.reschedule_job(JOB_ID, trigger=_trigger(config.schedule))
        self.config = config

    def run_in_flight(self) -> bool:
        """Whether the last run (cancelled or not) still has a thread, and so reads, in flight."""
        return self._run_thread is not None and self._run_thread.is_alive()

    def _scheduled_run(self) -> None:
        config = self.config
        if self.run_in_flight():
            self._skip(config)
            return
        self._running.set()
        notify("STATUS=running the checks")
        log.info("run started")
        began = time.monotonic()
        try:
            result = self._bounded_run(config, self._credential)
        except _Cancelled:
            log.warning("run cancelled: the agent is stopping")
            self.metrics.runs.labels(result="cancelled").inc()
            return
        except Exception as exc:
            timed_out = isinstance(exc, TimeoutError)
            label = "timeout" if timed_out else "crashed"
            problem = str(exc) if timed_out else f"{type(exc).__name__}: {exc}"
            log.error(
                "run did not complete", extra=fields(result=label, problem=problem, **self._run_id)
            )
            self.metrics.runs.labels(result=label).inc()
            self._last_attempt = label
            self._deliver(config, [agent.run_failed(_name(config), redact(problem))])
            return
        finally:
            self._running.clear()
        seconds = time.monotonic() - began
        label = _RESULTS.get(result.exit_code, "error")
        events = [to_event(f, result.context) for f in result.findings]
        changes = self._deliver_events(config, result.context, events)
        if config.report.enabled:
            self._write_report(events)
        self._recover(config, agent.run_completed(_name(config)))
        self.metrics.runs.labels(result=label).inc()
        self.metrics.run_duration.observe(seconds)
        self.metrics.last_run.set_to_current_time()
        self.metrics.observe_findings(events)
        self.metrics.observe_phases(result.facts.phases)
        if result.facts.dns is not None:
            self.metrics.observe_resolvers(result.facts.dns.answers)
        self._last = _Completed(result.context.run_id, datetime.now(UTC), label, result.exit_code)
        self._last_attempt = label
        counts = Counter(e["status"] for e in events)
        log.info(
            "run finished",
            extra=fields(
                run_id=result.context.run_id,
                result=label,
                seconds=round(seconds, 3),
                findings=len(events),
                **{status: counts.get(status, 0) for status in ("fail", "error", "pass")},
                changes=Counter(c["change"] for c in changes),
            ),
        )
        notify(f"STATUS={self._status()}")

    def _skip(self, config: Config) -> None:
        """The scheduled run is not started: the cancelled one's last reads are still in flight."""
        problem = (
            "skipped: the previous run was cancelled and its last reads are still in flight"
            " (each ends within arm.timeout_seconds); one run at a time"
        )
        log.warning("run skipped", extra=fields(problem=problem, **self._run_id))
        self.metrics.runs.labels(result="skipped").inc()
        self._last_attempt = "skipped"
        self._deliver(config, [agent.run_failed(_name(config), problem)])

    @property
    def _run_id(self) -> dict[str, str]:
        """The last run's id, as log fields."""
        return {"run_id": self._run_thread.name.removeprefix("run ")} if self._run_thread else {}

    def _bounded_run(self, config: Config, credential: TokenCredential) -> RunResult:
        """``run_once`` within the run timeout; raises TimeoutError, _Cancelled or its error.

        On a timeout or a stop the run is cancelled (``probes.cancel``): its thread sends no
        further request and ends once the reads in flight have.
        """
        outcome: dict[str, Any] = {}
        done = threading.Event()
        cancel = Cancel()
        run_id = str(uuid.uuid4())

        def work() -> None:
            try:
                outcome["result"] = run_once(
                    config, credential=credential, cancel=cancel, run_id=run_id
                )
            except RunCancelled as stopped:
                log.info("cancelled run stopped", extra=fields(run_id=run_id, reason=str(stopped)))
            except Exception as exc:
                outcome["error"] = exc
            finally:
                done.set()

        # A daemon thread: a cancelled run's last read cannot keep the process from exiting.
        self._run_thread = threading.Thread(target=work, name=f"run {run_id}", daemon=True)
        self._run_thread.start()
        deadline = time.monotonic() + config.schedule.run_timeout_seconds
        while not done.wait(0.1):
            if self._cancel.is_set():
                cancel.cancel("the agent is stopping")
                raise _Cancelled
            if time.monotonic() >= deadline:
                problem = (
                    f"timed out after {config.schedule.run_timeout_seconds:g} s"
                    " (schedule.run_timeout_seconds)"
                )
                cancel.cancel(problem)
                raise TimeoutError(problem)
        if "error" in outcome:
            raise outcome["error"]
        result: RunResult = outcome["result"]
        return result

    def _recover(self, config: Config, passed: Finding) -> None:
        """Deliver an agent finding's pass only when the state remembers it failing."""
        if self.store.status(passed.uid) in FAILING:
            self._deliver(config, [passed])

    def _deliver(self, config: Config, findings: Sequence[Finding]) -> None:
        now = datetime.now(UTC)
        context = RunContext(str(uuid.uuid4()), now, now, agent_of(config), config.cloud.value)
        self._deliver_events(config, context, [to_event(f, context) for f in findings])

    def _deliver_events(
        self, config: Config, context: RunContext, events: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Print the snapshot, record the state, print the changes, hand both to the sinks."""
        hours = config.state.reminder_hours
        with self._deliver_lock:
            _write_stdout(events)  # in the journal whatever happens to the state
            try:
                changes = self.store.record(
                    events,
                    run_id=context.run_id,
                    observed_at=context.observed_at,
                    reminder=timedelta(hours=hours) if hours else None,
                )
            except StateError as exc:
                log.error("state not recorded: no change events", extra=fields(problem=str(exc)))
                changes = []
            for change in changes:
                self.metrics.changes.labels(change=change["change"]).inc()
            _write_stdout(changes)
            self._emit(config, events)
            self._send_pending(config)
        return changes

    def _send_pending(self, config: Config) -> None:
        """Every change event the sinks have not all taken yet: this run's, and older ones."""
        try:
            pending = self.store.undelivered()
            if pending and self._emit(config, pending):
                self.store.mark_delivered(pending)
        except StateError as exc:
            log.error("change events not sent", extra=fields(problem=str(exc)))

    def _make_delivery(self, config: Config) -> Delivery:
        environment = SinkEnvironment(
            hostname=_name(config), cloud=cloud(config.cloud), credential=lambda: self._credential
        )
        return Delivery(config, environment, self.store.path.parent)

    def _emit(self, config: Config, events: Sequence[Mapping[str, Any]]) -> bool:
        """Commit the events to every sink's spool; from there they are delivered at least once."""
        try:
            self.delivery.enqueue(events)
        except SpoolError as exc:
            log.error("sink failed", extra=fields(problem=str(exc)))
            return False
        return True  # the delivery job sends them within DELIVERY_INTERVAL_SECONDS

    def _flush(self) -> None:
        """The delivery job: every spool towards its sink, a bounded slice at a time."""
        self.delivery.flush(DELIVERY_SLICE_SECONDS)

    @property
    def report_path(self) -> Path:
        return self.store.path.parent / REPORT_FILE

    def _write_report(self, events: Sequence[Mapping[str, Any]]) -> None:
        """The HTML report of this run, with the state's change history as its timeline."""
        try:
            history = history_from_change_events(events, self.store.changes())
            write_report(self.report_path, history, datetime.now(UTC))
        except (OSError, StateError) as exc:
            log.error("report not written", extra=fields(problem=str(exc)))

    def report_page(self) -> bytes | None:
        """/report: the last report written, while report.enabled is on."""
        if not self.config.report.enabled:
            return None
        try:
            return self.report_path.read_bytes()
        except OSError:
            return None

    def health_report(self) -> tuple[bool, dict[str, Any]]:
        """Healthy while runs complete in time: see ``freshness``."""
        stale_after = stale_period(self.config.schedule)
        last = self._last
        now = datetime.now(UTC)
        status, age = freshness(
            last.finished_at if last else None, self._started_at, now, stale_after
        )
        job = self.scheduler.get_job(JOB_ID)
        next_run = job.next_run_time if job else None
        return status != "stale", {
            "status": status,
            "stale_after_seconds": stale_after,
            "run_in_flight": self._running.is_set(),
            "last_attempt": self._last_attempt,
            "last_run": None
            if last is None
            else {
                "run_id": last.run_id,
                "finished_at": _rfc3339(last.finished_at),
                "result": last.result,
                "exit_code": last.exit_code,
                "age_seconds": round(age, 3),
            },
            "next_run_at": _rfc3339(next_run) if next_run else None,
        }

    def _status(self) -> str:
        if self._last is None:
            return "no run completed yet"
        return (
            f"last run {_rfc3339(self._last.finished_at)}: {self._last.result}"
            f" (exit {self._last.exit_code})"
        )


def _trigger(schedule: ScheduleConfig) -> BaseTrigger:
    jitter = schedule.jitter_seconds or None
    if schedule.cron is not None:
        return cron_trigger(schedule.cron, jitter)
    assert schedule.interval_minutes is not None  # the config allows no schedule without either
    return IntervalTrigger(seconds=schedule.interval_minutes * 60, jitter=jitter, timezone=UTC)


def stale_period(schedule: ScheduleConfig) -> float:
    """Seconds without a completed run before the agent is stale: two periods of the schedule,
    plus the run timeout and the jitter."""
    trigger = _trigger(schedule.model_copy(update={"jitter_seconds": 0}))
    first = trigger.get_next_fire_time(None, datetime.now(UTC))
    second = trigger.get_next_fire_time(first, first)
    period: float = (second - first).total_seconds()
    return 2 * period + schedule.run_timeout_seconds + schedule.jitter_seconds


def freshness(
    last_run: datetime | None, started: datetime, now: datetime, stale_after: float
) -> tuple[str, float]:
    """``ok`` (or ``starting``, before the first run) while the last completed run (or the
    start) is at most ``stale_after`` seconds old, else ``stale``; and that age."""
    age = (now - (last_run or started)).total_seconds()
    if age > stale_after:
        return "stale", age
    return ("ok" if last_run else "starting"), age


def _name(config: Config) -> str:
    return agent_of(config).name


def _credential(config: Config) -> TokenCredential:
    # One credential for the agent's lifetime: azure-identity caches the token until it expires.
    return make_credential(config.credential, cloud(config.cloud))


def _write_stdout(events: Sequence[Mapping[str, Any]]) -> None:
    """Whole events as JSON lines; one-line summaries when stdout is the journal."""
    journal = journal_stream(sys.stdout)
    sys.stdout.write(journal_lines(events) if journal else render(events, "jsonl"))
    sys.stdout.flush()


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
