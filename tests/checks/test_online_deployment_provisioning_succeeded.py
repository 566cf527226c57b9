"""online_deployment_provisioning_succeeded, judged from hand-built facts."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from netverify.checklib.catalog import load_checks
from netverify.facts import ReadProblem
from netverify.model import Status
from netverify.testing import SUBSCRIPTION, deployment, endpoint, facts, failed, workspace

[check] = [
    c.module for c in load_checks() if c.meta.id == "online_deployment_provisioning_succeeded"
]


@pytest.mark.parametrize("state", ["Failed", "Canceled", "failed"])
def test_deployment_that_failed_fails_with_get_logs(state: str) -> None:
    """A Failed or Canceled deployment (in any case) fails, naming the state and get-logs."""
    ep = endpoint()
    [finding] = check.evaluate(
        facts([workspace()], endpoints=[ep], deployments=[deployment(of=ep, state=state)])
    )

    assert finding.status == Status.FAIL
    assert state in finding.message
    assert (
        "az ml online-deployment get-logs --endpoint-name ep-test --name blue "
        "--subscription 00000000-1111-2222-3333-444444444444 --resource-group rg-test --workspace-name mlw-test"
        == finding.remediation.command
    )


def test_succeeded_deployment_passes_and_records_egress() -> None:
    """A Succeeded deployment passes; its egressPublicNetworkAccess is in the evidence."""
    ep = endpoint()
    [finding] = check.evaluate(
        facts([workspace()], endpoints=[ep], deployments=[deployment(of=ep, egress="Enabled")])
    )

    assert finding.status == Status.PASS
    assert "Enabled" == finding.evidence.observed["egressPublicNetworkAccess"]


def test_unlistable_deployments_are_an_error() -> None:
    """A 403 on the deployment list is an error naming the permission."""
    ep = endpoint()
    denied = failed(
        f"{ep.id}/deployments",
        ReadProblem.FORBIDDEN,
        status_code=403,
        permission="Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments/read",
    )
    [finding] = check.evaluate(facts([workspace()], endpoints=[ep], failed_lists=[denied]))

    assert finding.status == Status.ERROR
    assert "onlineEndpoints/deployments/read" in finding.message


NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("state", ["Scaling", "Updating", "Creating", "Deleting"])
def test_transient_state_within_the_limit_is_a_note(state: str) -> None:
    """H08: an operation in flight (autoscale shows Scaling) is noted, not failed."""
    ep = endpoint()
    scaling = deployment(of=ep, state=state, modified_at=NOW - timedelta(minutes=12))
    [finding] = check.evaluate(
        facts([workspace()], endpoints=[ep], deployments=[scaling], observed_at=NOW)
    )

    assert finding.status == Status.SKIPPED
    assert f"is {state} for 12 min: an operation in flight" in finding.message
    assert finding.evidence.observed["minutesInState"] == 12
    assert finding.evidence.observed["lastModifiedAt"] == "2026-12-06T11:48:00+00:00"
    assert finding.evidence.expected["transientStateLimitMinutes"] == 60


def test_transient_state_past_the_limit_is_stuck() -> None:
    """A state that outlasts the limit (systemData.lastModifiedAt long ago) fails as stuck."""
    ep = endpoint()
    old = deployment(of=ep, state="Updating", modified_at=NOW - timedelta(hours=3))
    [finding] = check.evaluate(
        facts([workspace()], endpoints=[ep], deployments=[old], observed_at=NOW)
    )

    assert finding.status == Status.FAIL
    assert "has been Updating for 180 min, past the 60-min limit" in finding.message
    assert finding.remediation is not None and "get-logs" in (finding.remediation.command or "")


def test_transient_state_without_a_time_is_a_note() -> None:
    """Without systemData the age is unknown: a note, never a guess that it is stuck."""
    ep = endpoint()
    [finding] = check.evaluate(
        facts([workspace()], endpoints=[ep], deployments=[deployment(of=ep, state="Scaling")])
    )

    assert finding.status == Status.SKIPPED
    assert finding.message == (
        "Deployment blue of endpoint ep-test (workspace mlw-test) is Scaling: an operation in "
        "flight, judged again next run (stuck after 60 min)."
    )
    assert finding.evidence.observed["minutesInState"] is None


def test_deployment_in_no_state_fails_saying_so() -> None:
    """ARM returned no provisioningState: neither Succeeded nor in flight, so a fail that says
    the state is missing."""
    ep = endpoint("Ep-Prod")
    bare = replace(deployment("Green", of=ep), provisioning_state=None)
    [finding] = check.evaluate(facts([workspace()], endpoints=[ep], deployments=[bare]))

    assert (finding.status, finding.resource_id) == (Status.FAIL, bare.id)
    assert finding.message == (
        "Deployment Green of endpoint Ep-Prod (workspace mlw-test) is in no provisioning state, "
        "not Succeeded."
    )
    assert finding.evidence.observed["provisioningState"] is None


def test_get_logs_names_the_subscription_of_a_workspace_in_a_second_subscription() -> None:
    """Two workspaces in two subscriptions, a failed deployment in each: each get-logs
    command names its own workspace's subscription, not the CLI's current one."""
    other = "99999999-8888-4777-8666-555555555555"
    home_ep, away_ep = endpoint(), endpoint("ep-away", workspace_name="mlw-away")
    away_ws = workspace("mlw-away")
    away_ws = replace(away_ws, id=away_ws.id.replace(SUBSCRIPTION, other))
    away_ep = replace(
        away_ep,
        id=away_ep.id.replace(SUBSCRIPTION, other),
        workspace_id=away_ws.id,
    )
    findings = list(
        check.evaluate(
            facts(
                [workspace(), away_ws],
                endpoints=[home_ep, away_ep],
                deployments=[
                    deployment(of=home_ep, state="Failed"),
                    deployment(of=away_ep, state="Failed"),
                ],
            )
        )
    )

    assert [
        (
            "az ml online-deployment get-logs --endpoint-name ep-test --name blue --subscription "
            f"{SUBSCRIPTION} --resource-group rg-test --workspace-name mlw-test"
        ),
        (
            "az ml online-deployment get-logs --endpoint-name ep-away --name blue --subscription "
            f"{other} --resource-group rg-test --workspace-name mlw-away"
        ),
    ] == [f.remediation.command for f in findings if f.remediation is not None]
    assert [Status.FAIL, Status.FAIL] == [f.status for f in findings]
