"""The agent's Prometheus metrics, in a registry of its own (served on /metrics).

To add a metric: declare it in ``Metrics.__init__`` with ``registry=self.registry`` and observe
it where the value is measured; /metrics exposes whatever the registry holds. The per-sink
series are read from the spools at each scrape (``watch_sinks``), so they are never stale.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from netverify.facts import DnsAnswer, Phase
from netverify.sinks.spool import SpoolStats

# (sink name, sink type, its spool's counters) for every sink.
SinkStats = Callable[[], Iterable[tuple[str, str, SpoolStats]]]
# Counter name (``_total`` is added) -> (SpoolStats field, help).
_SINK_COUNTERS = {
    "netverify_sink_delivered_events": ("delivered", "Events a sink has taken."),
    "netverify_sink_dropped_events": (
        "dropped",
        "Events deleted unsent because the sink's spool was full (oldest first).",
    ),
    "netverify_sink_rejected_events": (
        "rejected",
        "Events the receiver refused for good (or that cannot be rendered), kept aside.",
    ),
}

RUN_DURATION_BUCKETS = (1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
RESOLVER_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


class Metrics:
    def __init__(self) -> None:
        # *_created series are noise for counters that live exactly as long as the agent.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        self.runs = Counter(
            "netverify_runs",
            "Scheduled runs by result: pass, fail, error, could_not_run, timeout, crashed,"
            " cancelled (the agent stopped), skipped (a cancelled run still in flight).",
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
        self.resolver_latency = Histogram(
            "netverify_resolver_latency_seconds",
            "DNS answer time per resolver (host, custom <address>, azure <address>); queries that "
            "got no answer (timeout, unreachable) are counted in netverify_resolver_unanswered.",
            ["resolver"],
            buckets=RESOLVER_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.resolver_unanswered = Counter(
            "netverify_resolver_unanswered",
            "DNS queries a resolver gave no usable answer to, by rcode (TIMEOUT, SERVFAIL, ...).",
            ["resolver", "rcode"],
            registry=self.registry,
        )
        self.run_phases = Gauge(
            "netverify_run_phase_seconds",
            "Wall time of each phase of the last completed run, one after another (discovery,"
            " bulk reads, workspace reads, ..., name resolution, scoring path): its critical path.",
            ["phase"],
            registry=self.registry,
        )
        self.reloads = Counter(
            "netverify_config_reloads",
            "SIGHUP reloads by result: applied, rejected.",
            ["result"],
            registry=self.registry,
        )

    def watch_sinks(self, stats: SinkStats) -> None:
        """Expose every sink's backlog, delivered, dropped and rejected counts, labelled
        ``sink`` (its name) and ``type``, read from ``stats`` at each scrape."""
        self.registry.register(_SinkCollector(stats))

    def observe_findings(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Replace the findings gauge with one run's counts."""
        counts = Tally((e["check_id"], e["status"]) for e in events)
        self.findings.clear()
        for (check_id, status), count in counts.items():
            self.findings.labels(check_id=check_id, status=status).set(count)

    def observe_phases(self, phases: Iterable[Phase]) -> None:
        """Replace the phase gauge with one run's phases."""
        self.run_phases.clear()
        for phase in phases:
            self.run_phases.labels(phase=phase.name).set(phase.seconds)

    def observe_resolvers(self, answers: Iterable[DnsAnswer]) -> None:
        """One run's DNS answers: latency of those answered, a count of those not."""
        for answer in answers:
            if answer.answered:
                self.resolver_latency.labels(resolver=answer.resolver).observe(
                    answer.latency_ms / 1000
                )
            else:
                self.resolver_unanswered.labels(resolver=answer.resolver, rcode=answer.rcode).inc()


class _SinkCollector(Collector):
    def __init__(self, stats: SinkStats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        labels = ["sink", "type"]
        backlog = GaugeMetricFamily(
            "netverify_sink_backlog_events",
            "Events spooled for a sink and not yet delivered.",
            labels=labels,
        )
        counters = {
            name: CounterMetricFamily(name, text, labels=labels)
            for name, (_, text) in _SINK_COUNTERS.items()
        }
        for sink, kind, stats in self._stats():
            backlog.add_metric([sink, kind], stats.backlog)
            for name, (field, _) in _SINK_COUNTERS.items():
                counters[name].add_metric([sink, kind], getattr(stats, field))
        yield backlog
        yield from counters.values()
