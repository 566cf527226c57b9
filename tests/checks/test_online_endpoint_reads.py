"""Every check that walks online endpoints turns a failed endpoint-list read into an error.

A 403 on ``<workspace>/onlineEndpoints`` says nothing about the endpoints: none of these checks
may read it as "the workspace has no online endpoints" (a skip) or judge the workspace as if it
had none (a pass).
"""

import pytest

from netverify.checklib.catalog import load_checks
from netverify.facts import ReadProblem
from netverify.model import Status
from netverify.testing import assignment, deployment, endpoint, facts, failed, workspace

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
