"""The agent's Prometheus metrics, in a registry of its own (served on /metrics).

To add a metric: declare it in ``Metrics.__init__`` with ``registry=self.registry`` and observe
it where the value is measured; /metrics exposes whatever the registry holds.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

RUN_DURATION_BUCKETS = (1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)


class Metrics:
    def __init__(self) -> None:
        # *_created series are noise for counters that live exactly as long as the agent.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        self.runs = Counter(
            "netverify_runs",
            "Scheduled runs by result: pass, fail, error, could_not_run, timeout, crashed.",
            ["result"],
            registry=self.registry,
        )
        self.run_duration = Histogram(
            "netverify_run_duration_seconds",
            "Wall time of scheduled runs, probe to evaluated findings.",
            buckets=RUN_DURATION_BUCKETS,
            registry=self.registry,
        )
        self.last_run = Gauge(
            "netverify_last_run_timestamp_seconds",
            "When the last completed run finished (Unix time).",
            registry=self.registry,
        )
        self.findings = Gauge(
            "netverify_findings",
            "Findings of the last completed run by check and status.",
            ["check_id", "status"],
            registry=self.registry,
        )
        self.changes = Counter(
            "netverify_change_events",
            "Change events recorded: failing, resolved, still_failing.",
            ["change"],
            registry=self.registry,
        )
        self.sink_backlog = Gauge(
            "netverify_sink_backlog_events",
            "Change events recorded in the state but not yet delivered to every sink.",
            registry=self.registry,
        )
        self.reloads = Counter(
            "netverify_config_reloads",
            "SIGHUP reloads by result: applied, rejected.",
            ["result"],
            registry=self.registry,
        )

    def observe_findings(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Replace the findings gauge with one run's counts."""
        counts = Tally((e["check_id"], e["status"]) for e in events)
        self.findings.clear()
        for (check_id, status), count in counts.items():
            self.findings.labels(check_id=check_id, status=status).set(count)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
