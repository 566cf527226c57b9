"""workspace_managed_network_provisioned, judged from hand-built facts."""

from netverify.checklib.catalog import load_checks
from netverify.model import Status
from netverify.testing import deployment, endpoint, facts, workspace

[check] = [c.module for c in load_checks() if c.meta.id == "workspace_managed_network_provisioned"]


def test_inactive_managed_network_with_deployments_fails() -> None:
    """Isolation on, status Inactive and online deployments present: fail with provision-network."""
    ws = workspace(managed_network="AllowOnlyApprovedOutbound", managed_network_status="Inactive")
    ep = endpoint()
    [finding] = check.evaluate(facts([ws], endpoints=[ep], deployments=[deployment(of=ep)]))

    assert finding.status == Status.FAIL
    assert "Inactive" in finding.message
    assert (
        "az ml workspace provision-network --name mlw-test --resource-group rg-test"
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
