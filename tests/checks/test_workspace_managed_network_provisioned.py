"""workspace_managed_network_provisioned, judged from hand-built facts."""

from netverify.checklib.catalog import load_checks
from netverify.model import Status
from netverify.testing import deployment, endpoint, facts, failed_list, workspace

[check] = [c.module for c in load_checks() if c.meta.id == "workspace_managed_network_provisioned"]


def test_inactive_managed_network_with_deployments_fails() -> None:
    """Isolation on, status Inactive and online deployments present: fail with provision-network."""
    ws = workspace(managed_network="AllowOnlyApprovedOutbound", managed_network_status="Inactive")
    ep = endpoint()
    [finding] = check.evaluate(facts([ws], endpoints=[ep], deployments=[deployment(of=ep)]))

    assert finding.status == Status.FAIL
    assert "Inactive" in finding.message
    assert (
        "az ml workspace provision-network --name mlw-test --subscription 00000000-1111-2222-3333-444444444444 --resource-group rg-test"
        == finding.remediation.command
    )


def test_active_managed_network_passes() -> None:
    """A provisioned (Active) managed network passes."""
    ws = workspace(managed_network="AllowInternetOutbound", managed_network_status="Active")
    ep = endpoint()
    [finding] = check.evaluate(facts([ws], endpoints=[ep], deployments=[deployment(of=ep)]))

    assert finding.status == Status.PASS


def test_no_managed_network_passes() -> None:
    """Isolation mode Disabled (or absent) passes."""
    [finding] = check.evaluate(facts([workspace()]))

    assert finding.status == Status.PASS


def test_inactive_managed_network_without_deployments_is_skipped() -> None:
    """Not provisioned yet, but no deployment was created without it: skipped."""
    ws = workspace(managed_network="AllowInternetOutbound", managed_network_status="Inactive")
    [finding] = check.evaluate(facts([ws]))

    assert finding.status == Status.SKIPPED


def test_managed_network_in_no_status_fails_counting_every_deployment() -> None:
    """ARM gave no provisioning status: "not provisioned", with the deployments of all
    endpoints counted."""
    ws = workspace("MLW-Prod", managed_network="AllowInternetOutbound")
    a, b = endpoint("Ep-A", workspace_name="MLW-Prod"), endpoint("ep-b", workspace_name="MLW-Prod")
    run = facts(
        [ws],
        endpoints=[a, b],
        deployments=[deployment(of=a), deployment("green", of=a), deployment(of=b)],
    )

    [finding] = check.evaluate(run)

    assert (finding.status, finding.message) == (
        Status.FAIL,
        "Workspace MLW-Prod has 3 online deployment(s) but its managed VNet "
        "(AllowInternetOutbound) is not provisioned, not Active: they were created without it.",
    )
    assert finding.evidence.observed == {
        "isolationMode": "AllowInternetOutbound",
        "status": None,
        "onlineDeployments": 3,
    }


def test_unlistable_deployments_are_an_error_not_zero_deployments() -> None:
    """A deployment list that failed is an error of its own; the workspace is judged on the
    deployments that could be listed (none here: a skip), never on a guess."""
    ws = workspace(managed_network="AllowOnlyApprovedOutbound", managed_network_status="Inactive")
    ep = endpoint()
    down = failed_list(ep.id, "deployments")

    findings = list(check.evaluate(facts([ws], endpoints=[ep], failed_lists=[down])))

    assert [(f.status, f.resource_id) for f in findings] == [
        (Status.ERROR, down.resource_id),
        (Status.SKIPPED, ws.id),
    ]
    assert findings[0].message == (
        f"Cannot read the online deployment list {down.resource_id}: ARM answered 503 after retries"
    )
