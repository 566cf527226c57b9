"""The demo's real events, for the tests that run a format or transport's validator over them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netverify.agent.state import Change, change_event
from netverify.checklib.catalog import list_checks
from netverify.runner import run_once
from netverify.sim.scenario import builtin_scenario
from netverify.sim.tenant import SimulatedTenant
from netverify.sinks.events import event_id, to_event


@pytest.fixture(scope="session")
def demo_events(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[dict[str, Any]]]:
    """Every finding event of one ``netverify demo`` run, then a change event around each
    (failing for a fail, resolved for a pass), as a sink receives them."""
    workdir: Path = tmp_path_factory.mktemp("demo")
    with (
        pytest.MonkeyPatch.context() as env,
        SimulatedTenant(builtin_scenario(), workdir) as tenant,
    ):
        for key, value in tenant.credential_environment.items():
            env.setenv(key, value)
        result = run_once(tenant.config())
    findings = [to_event(f, result.context) for f in result.findings]
    findings = [{**f, "event_id": event_id(f)} for f in findings]
    changes = [
        change_event(Change.FAILING, f, None, f["observed_at"])
        if f["status"] == "fail"
        else change_event(Change.RESOLVED, f, "fail", None)
        for f in findings
        if f["status"] in ("fail", "pass")
    ]
    # The validators prove nothing over an empty or one-sided set: the demo judges every
    # check but the two its world has no subject for, with each verdict and change kind.
    unjudged = {
        "dns_forwarding_rule_targets_answer_privately",
        "kubernetes_endpoint_router_reachable",
    }
    assert unjudged == {m.id for m in list_checks()} - {f["check_id"] for f in findings}
    assert {"pass", "fail", "skipped"} <= {f["status"] for f in findings}
    assert {Change.FAILING.value, Change.RESOLVED.value} == {c["change"] for c in changes}
    yield findings + changes
