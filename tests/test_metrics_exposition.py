"""/metrics through prometheus-client's exposition: query strings, OpenMetrics, gzip, per-sink
series, and promtool's own check of what is served."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from netverify.agent.health import HealthServer
from netverify.agent.metrics import Metrics
from netverify.sinks.events import event_id
from netverify.sinks.spool import Spool
from netverify.testing import finding_events
from tests.test_serve import free_port

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Spool]]:
    """A listener whose metrics watch one syslog sink's spool: 1 delivered, 1 rejected,
    1 dropped (a spool of 3 given 4 events), 1 waiting."""
    spool = Spool(tmp_path / "siem.sqlite", name="siem", max_events=3)
    spool.put([{**e, "event_id": event_id(e)} for e in finding_events(2)])
    spool.delivered(spool.head(1))
    spool.reject(spool.head(1)[0], "receiver said no")
    metrics = Metrics()
    metrics.watch_sinks(lambda: [("siem", "syslog", spool.stats())])
    metrics.runs.labels(result="pass").inc()
    server = HealthServer(f"127.0.0.1:{free_port()}", lambda: (True, {}), metrics.registry)
    server.start()
    yield f"http://{server.address}", spool
    server.stop()
    spool.close()


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status, dict(answer.headers), answer.read()


def test_a_query_string_is_accepted(served: tuple[str, Spool]) -> None:
    """/metrics?x=1 answers 200 with the Prometheus text format, as /metrics does."""
    status, headers, body = get(f"{served[0]}/metrics?x=1")

    assert 200 == status
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b"netverify_runs_total" in body


def test_per_sink_series_read_the_spool(served: tuple[str, Spool]) -> None:
    """backlog, delivered, dropped and rejected per sink, labelled with its name and type."""
    _, _, body = get(f"{served[0]}/metrics")

    samples = {
        s.name: (s.labels, s.value)
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if s.name.startswith("netverify_sink_")
    }
    labels = {"sink": "siem", "type": "syslog"}
    assert {
        "netverify_sink_backlog_events": (labels, 1.0),
        "netverify_sink_delivered_events_total": (labels, 1.0),
        "netverify_sink_dropped_events_total": (labels, 1.0),
        "netverify_sink_rejected_events_total": (labels, 1.0),
    } == samples


def test_openmetrics_when_asked(served: tuple[str, Spool]) -> None:
    """Accept: application/openmetrics-text gets OpenMetrics, ending in # EOF."""
    _, headers, body = get(f"{served[0]}/metrics", Accept="application/openmetrics-text")

    assert headers["Content-Type"].startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")


def test_gzip_when_asked(served: tuple[str, Spool]) -> None:
    """Accept-Encoding: gzip gets the same exposition, gzipped."""
    _, plain_headers, plain = get(f"{served[0]}/metrics")
    _, headers, body = get(f"{served[0]}/metrics", **{"Accept-Encoding": "gzip"})

    assert ("gzip", None) == (headers["Content-Encoding"], plain_headers.get("Content-Encoding"))
    assert plain == gzip.decompress(body)


@pytest.mark.skipif(not Path(PROMTOOL).exists(), reason=f"{PROMTOOL} not installed")
def test_promtool_accepts_what_is_served(served: tuple[str, Spool]) -> None:
    """`promtool check metrics` finds nothing wrong with /metrics?x=1, and does reject a series
    whose name breaks its lint rules (so it really checked)."""
    _, _, body = get(f"{served[0]}/metrics?x=1")

    checked = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=body, capture_output=True, timeout=60
    )
    broken = subprocess.run(
        [PROMTOOL, "check", "metrics"],
        input=b"# HELP bad_total x\n# TYPE bad_total gauge\nbad_total 1\n",
        capture_output=True,
        timeout=60,
    )

    assert (0, b"") == (checked.returncode, checked.stdout + checked.stderr)
    assert 0 != broken.returncode
