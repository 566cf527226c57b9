"""workspace_image_build_compute_set, judged from hand-built facts."""

from dataclasses import replace

import pytest

from netverify.checklib.catalog import load_checks
from netverify.config import WORKSPACE_TYPE
from netverify.facts import ReadProblem
from netverify.model import Status
from netverify.testing import REGISTRY_TYPE, arm_id, facts, failed, mixed_case, registry, workspace

[check] = [c.module for c in load_checks() if c.meta.id == "workspace_image_build_compute_set"]


@pytest.mark.parametrize(("public", "default_action"), [("Disabled", None), ("Enabled", "Deny")])
def test_private_registry_without_build_compute_fails(public: str, default_action: str) -> None:
    """Registry public access disabled (or default action Deny) and no imageBuildCompute fails."""
    cr = registry(public_network_access=public, default_action=default_action)
    [finding] = check.evaluate(facts([workspace(registry="crtest")], registries=[cr]))

    assert finding.status == Status.FAIL
    assert "failed to communicate with the workspace's container registry" in finding.message
    assert (
        "az ml workspace update --name mlw-test --subscription 00000000-1111-2222-3333-444444444444 --resource-group rg-test "
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


def test_unreadable_workspace_is_skipped_and_the_next_is_judged() -> None:
    gone = failed(arm_id(WORKSPACE_TYPE, "MLW-Gone"), ReadProblem.FORBIDDEN, status_code=403)
    ws = workspace("mlw-b", registry="crtest", guid="99999999-2222-4333-8444-555555555555")

    findings = list(
        check.evaluate(facts([gone, ws], registries=[registry(public_network_access="Enabled")]))
    )

    assert [(f.status, f.resource_id, f.message) for f in findings] == [
        (Status.SKIPPED, gone.resource_id, "The workspace could not be read."),
        (
            Status.PASS,
            ws.id,
            "Workspace mlw-b: registry crtest is public; images build without a VNet compute.",
        ),
    ]


@pytest.mark.parametrize(
    ("problem", "status", "message"),
    [
        (None, Status.SKIPPED, "The container registry was not probed in this run."),
        (
            ReadProblem.FORBIDDEN,
            Status.ERROR,
            "Cannot read the container registry {registry}: the agent's identity lacks "
            "Microsoft.ContainerRegistry/registries/read.",
        ),
    ],
)
def test_unread_registry_is_reported_on_the_workspace(
    problem: ReadProblem | None, status: Status, message: str
) -> None:
    """The registry of a workspace (mixed-case link) not probed (a skip on the workspace), or
    refused (403, an error on the registry as the workspace spells it): no verdict on the build
    compute, and the finding says why."""
    ws = replace(
        workspace("MLW-Prod"), container_registry_id=mixed_case(arm_id(REGISTRY_TYPE, "CrProd"))
    )
    registries = (
        []
        if problem is None
        else [
            failed(
                ws.container_registry_id or "",
                problem,
                status_code=403,
                permission="Microsoft.ContainerRegistry/registries/read",
            )
        ]
    )

    [finding] = check.evaluate(facts([ws], registries=registries))

    on = ws.id if problem is None else ws.container_registry_id
    assert (finding.status, finding.resource_id) == (status, on)
    assert finding.message == message.format(registry=ws.container_registry_id)
