"""The run's critical path: phases one after another, their times in Facts and the debug log."""

from __future__ import annotations

import itertools
import logging

import pytest

from netverify.facts import Phase
from netverify.probes.phases import PhaseClock, describe
from netverify.runner import run_once
from tests.conftest import TenantFactory


def test_phases_follow_each_other_and_cover_the_time_between() -> None:
    """next() ends the phase under way; end() the last; each lasts until the next began."""
    ticks = iter([0.0, 1.0, 3.5, 4.0])
    clock = PhaseClock(lambda: next(ticks))

    clock.next("discovery")  # at 1.0
    clock.next("workspace reads")  # at 3.5
    clock.end()  # at 4.0

    assert (
        Phase("discovery", 1.0, 2.5),
        Phase("workspace reads", 3.5, 0.5),
    ) == clock.phases()
    assert "discovery 2.50 s, workspace reads 0.50 s" == describe(clock.phases())


def test_a_run_reports_its_critical_path(
    start_tenant: TenantFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """The demo tenant's run: every phase in order, back to back, and one debug line."""
    tenant = start_tenant()

    with caplog.at_level(logging.DEBUG, logger="netverify.probes.collect"):
        result = run_once(tenant.config(), run_id="run-1")

    phases = result.facts.phases
    assert [
        "discovery",
        "workspace reads",
        "policy reads",
        "private endpoint reads",
        "name resolution, zone, VNet and resolver reads beside it",
        "reachability",
        "scoring path",
    ] == [p.name for p in phases]
    for before, after in itertools.pairwise(phases):
        assert before.started_seconds + before.seconds == pytest.approx(after.started_seconds)
    [line] = [r.getMessage() for r in caplog.records if "critical path" in r.getMessage()]
    assert line.startswith("run run-1 critical path: discovery ")
