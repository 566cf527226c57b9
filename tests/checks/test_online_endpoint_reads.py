"""Every check that walks online endpoints turns a failed endpoint-list read into an error.

A 403 on ``<workspace>/onlineEndpoints`` says nothing about the endpoints: none of these checks
may read it as "the workspace has no online endpoints" (a skip) or judge the workspace as if it
had none (a pass).
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from netverify.checklib.catalog import load_checks
from netverify.checklib.online import EndpointView, in_state_for, judge_endpoints, stuck
from netverify.config import WORKSPACE_TYPE
from netverify.facts import Facts, ReadProblem, Workspace
from netverify.model import Finding, Status
from netverify.testing import (
    arm_id,
    assignment,
    deployment,
    endpoint,
    facts,
    failed,
    failed_list,
    workspace,
)

ONLINE_CHECKS = (
    "online_deployment_provisioning_succeeded",
    "online_endpoint_traffic_to_succeeded_deployment",
    "workspace_managed_network_provisioned",
    "workspace_policy_v1_legacy_mode_absent",
)
PERMISSION = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/read"
CHECKS = {c.meta.id: c.module for c in load_checks()}


@pytest.mark.parametrize("check_id", ONLINE_CHECKS)
def test_forbidden_endpoint_list_is_an_error_not_an_empty_workspace(check_id: str) -> None:
    ws = workspace("MLW-Prod", managed_network="AllowOnlyApprovedOutbound")
    denied = failed(
        f"{ws.id}/onlineEndpoints",
        ReadProblem.FORBIDDEN,
        status_code=403,
        permission=PERMISSION,
    )

    findings = list(
        CHECKS[check_id].evaluate(facts([ws], failed_lists=[denied], assignments=[assignment()]))
    )

    [finding] = findings
    assert finding.status == Status.ERROR
    assert finding.resource_id == f"{ws.id}/onlineEndpoints"
    assert finding.evidence.observed["missing_permission"] == PERMISSION
    assert finding.evidence.observed["http_status"] == 403


@pytest.mark.parametrize("check_id", ONLINE_CHECKS)
def test_one_workspace_failing_leaves_the_other_judged(check_id: str) -> None:
    """Two workspaces, one list unavailable (5xx): the readable one still gets its verdict."""
    readable = workspace(
        "mlw-a", managed_network="AllowInternetOutbound", managed_network_status="Active"
    )
    broken = workspace("mlw-b", guid="99999999-2222-4333-8444-555555555555")
    ep = endpoint("Ep-Scoring", workspace_name="mlw-a")
    down = failed(f"{broken.id}/onlineEndpoints", ReadProblem.UNAVAILABLE, status_code=503)

    findings = list(
        CHECKS[check_id].evaluate(
            facts(
                [readable, broken],
                endpoints=[ep],
                deployments=[deployment(of=ep)],
                failed_lists=[down],
                assignments=[assignment()],
            )
        )
    )

    errors = [f for f in findings if f.status == Status.ERROR]
    assert [f.resource_id for f in errors] == [f"{broken.id}/onlineEndpoints"]
    assert all(f.status != Status.SKIPPED or broken.id not in f.resource_id for f in findings)
    assert any(readable.id.lower() in f.resource_id.lower() for f in findings if f not in errors)


# -- the walk itself (netverify.checklib.online), judged through a judge that records its views --

META = next(
    c.meta for c in load_checks() if c.meta.id == "online_deployment_provisioning_succeeded"
)
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def walk(
    run: Facts, *, need_deployments: bool
) -> tuple[list[Finding], list[tuple[str, list[tuple[str, int | None]]]]]:
    """The walk's own findings, and per judged workspace its views as (endpoint name, number of
    deployments or None)."""
    judged: list[tuple[str, list[tuple[str, int | None]]]] = []

    def judge(ws: Workspace, views: tuple[EndpointView, ...]) -> list[Finding]:
        judged.append(
            (
                ws.name,
                [
                    (v.endpoint.name, None if v.deployments is None else len(v.deployments))
                    for v in views
                ],
            )
        )
        return []

    return list(judge_endpoints(META, run, judge, need_deployments=need_deployments)), judged


def test_unreadable_workspace_is_skipped_and_the_next_is_judged() -> None:
    gone = failed(arm_id(WORKSPACE_TYPE, "MLW-Gone"), ReadProblem.NOT_FOUND, status_code=404)
    ws = workspace("mlw-b", guid="99999999-2222-4333-8444-555555555555")

    findings, judged = walk(facts([gone, ws]), need_deployments=True)

    assert [(f.status, f.resource_id, f.message) for f in findings] == [
        (Status.SKIPPED, gone.resource_id, "The workspace could not be read.")
    ]
    assert judged == [("mlw-b", [])]


def test_endpoints_not_probed_are_skipped_without_judging() -> None:
    ws = workspace("MLW-Prod")
    run = facts([ws, workspace("mlw-b", guid="99999999-2222-4333-8444-555555555555")])
    run = replace(
        run, online_endpoints={k: v for k, v in run.online_endpoints.items() if "prod" not in k}
    )

    findings, judged = walk(run, need_deployments=False)

    assert [(f.status, f.resource_id, f.message) for f in findings] == [
        (Status.SKIPPED, ws.id, "The workspace's online endpoints were not probed.")
    ]
    assert judged == [("mlw-b", [])]


def test_endpoint_list_404_is_an_error_not_a_broken_link() -> None:
    """The list is not a linked resource: a 404 on it is an error, never "does not exist"."""
    ws = workspace("MLW-Prod")
    gone = failed(f"{ws.id}/onlineEndpoints", ReadProblem.NOT_FOUND, status_code=404)

    findings, judged = walk(facts([ws], failed_lists=[gone]), need_deployments=False)

    [finding] = findings
    assert (finding.status, finding.resource_id) == (Status.ERROR, gone.resource_id)
    assert finding.message == f"Cannot read the online endpoint list {gone.resource_id}: not_found"
    assert finding.evidence.observed == {
        "problem": "not_found",
        "detail": "not_found",
        "http_status": 404,
    }
    assert judged == []


def test_deployment_reads_without_need_leave_every_endpoint_in_view() -> None:
    """need_deployments=False: a failed or unprobed deployment list still yields the view
    (without deployments) and no finding of its own."""
    ws = workspace()
    a, b, c = endpoint("Ep-A"), endpoint("ep-b"), endpoint("EP-C")
    run = facts(
        [ws],
        endpoints=[a, b, c],
        deployments=[deployment(of=a), deployment("green", of=a)],
        failed_lists=[failed_list(b.id, "deployments")],
    )
    run = replace(
        run, online_deployments={k: v for k, v in run.online_deployments.items() if "ep-c" not in k}
    )

    findings, judged = walk(run, need_deployments=False)

    assert findings == []
    assert judged == [("mlw-test", [("Ep-A", 2), ("ep-b", None), ("EP-C", None)])]


def test_deployment_reads_with_need_give_a_skip_and_an_error() -> None:
    """need_deployments=True: an unprobed list is a skip, a 404 on it an error (not a broken
    link), and only the endpoint whose deployments were listed is judged."""
    ws = workspace()
    a, b, c = endpoint("Ep-A"), endpoint("ep-b"), endpoint("EP-C")
    gone = failed(f"{b.id}/deployments", ReadProblem.NOT_FOUND, status_code=404)
    run = facts([ws], endpoints=[a, b, c], deployments=[deployment(of=a)], failed_lists=[gone])
    run = replace(
        run, online_deployments={k: v for k, v in run.online_deployments.items() if "ep-c" not in k}
    )

    findings, judged = walk(run, need_deployments=True)

    assert [(f.status, f.resource_id, f.message) for f in findings] == [
        (
            Status.ERROR,
            gone.resource_id,
            f"Cannot read the online deployment list {gone.resource_id}: not_found",
        ),
        (Status.SKIPPED, c.id, "The endpoint's deployments were not probed."),
    ]
    assert judged == [("mlw-test", [("Ep-A", 1)])]


@pytest.mark.parametrize(
    ("modified_at", "observed_at"), [(None, NOW), (NOW - timedelta(hours=3), None), (None, None)]
)
def test_age_unknown_without_either_time(
    modified_at: datetime | None, observed_at: datetime | None
) -> None:
    """ARM gave no lastModifiedAt, or the run recorded no time: no age, so never stuck."""
    old = deployment(state="Updating", modified_at=modified_at)
    run = facts([workspace()], observed_at=observed_at)

    assert in_state_for(old, run) is None
    assert not stuck(old, run)


def test_stuck_only_past_the_limit() -> None:
    """Exactly the limit is not past it; one second more is."""
    run = facts([workspace()], observed_at=NOW)
    at_limit = deployment(state="Scaling", modified_at=NOW - run.transient_state_limit)
    past = deployment(
        state="Scaling", modified_at=NOW - run.transient_state_limit - timedelta(seconds=1)
    )

    assert in_state_for(at_limit, run) == timedelta(hours=1)
    assert not stuck(at_limit, run)
    assert stuck(past, run)
    assert not stuck(deployment(state="Succeeded", modified_at=NOW - timedelta(days=1)), run)
