"""online_deployment_provisioning_succeeded, judged from hand-built facts."""

import pytest

from netverify.checklib.catalog import load_checks
from netverify.facts import ReadProblem
from netverify.model import Status
from netverify.testing import deployment, endpoint, facts, failed, workspace

[check] = [
    c.module for c in load_checks() if c.meta.id == "online_deployment_provisioning_succeeded"
]


@pytest.mark.parametrize("state", ["Failed", "Canceled", "Creating"])
def test_deployment_not_succeeded_fails_with_get_logs(state: str) -> None:
    """A deployment that is not Succeeded fails, naming the state and the get-logs command."""
    ep = endpoint()
    [finding] = check.evaluate(
        facts([workspace()], endpoints=[ep], deployments=[deployment(of=ep, state=state)])
    )

    assert finding.status == Status.FAIL
    assert state in finding.message
    assert (
        "az ml online-deployment get-logs --endpoint-name ep-test --name blue "
        "--resource-group rg-test --workspace-name mlw-test" == finding.remediation.command
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
