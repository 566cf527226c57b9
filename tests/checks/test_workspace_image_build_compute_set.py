"""workspace_image_build_compute_set, judged from hand-built facts."""

import pytest

from netverify.checklib.catalog import load_checks
from netverify.model import Status
from netverify.testing import facts, registry, workspace

[check] = [c.module for c in load_checks() if c.meta.id == "workspace_image_build_compute_set"]


@pytest.mark.parametrize(("public", "default_action"), [("Disabled", None), ("Enabled", "Deny")])
def test_private_registry_without_build_compute_fails(public: str, default_action: str) -> None:
    """Registry public access disabled (or default action Deny) and no imageBuildCompute fails."""
    cr = registry(public_network_access=public, default_action=default_action)
    [finding] = check.evaluate(facts([workspace(registry="crtest")], registries=[cr]))

    assert finding.status == Status.FAIL
    assert "failed to communicate with the workspace's container registry" in finding.message
    assert (
        "az ml workspace update --name mlw-test --resource-group rg-test "
        "--image-build-compute <compute-cluster-name>" == finding.remediation.command
    )


def test_private_registry_with_build_compute_passes() -> None:
    """A named image-build compute passes."""
    ws = workspace(registry="crtest", image_build_compute="cpu-build")
    [finding] = check.evaluate(facts([ws], registries=[registry()]))

    assert finding.status == Status.PASS
    assert "cpu-build" == finding.evidence.observed["imageBuildCompute"]


def test_public_registry_needs_no_build_compute() -> None:
    """A public registry passes without an image-build compute."""
    cr = registry(public_network_access="Enabled")
    [finding] = check.evaluate(facts([workspace(registry="crtest")], registries=[cr]))

    assert finding.status == Status.PASS


def test_workspace_without_registry_is_skipped() -> None:
    """No linked registry: nothing to judge."""
    [finding] = check.evaluate(facts([workspace()]))

    assert finding.status == Status.SKIPPED
