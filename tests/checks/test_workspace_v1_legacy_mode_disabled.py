"""workspace_v1_legacy_mode_disabled, judged from hand-built facts."""

from netverify.checklib.catalog import load_checks
from netverify.facts import ReadProblem
from netverify.model import Status
from netverify.testing import arm_id, facts, failed, workspace

[check] = [c.module for c in load_checks() if c.meta.id == "workspace_v1_legacy_mode_disabled"]
WS_TYPE = "Microsoft.MachineLearningServices/workspaces"


def test_legacy_mode_on_fails_with_the_update_command() -> None:
    """A workspace with v1_legacy_mode = true yields one fail naming it, with the az command."""
    [finding] = check.evaluate(facts([workspace("mlw-a", v1_legacy_mode=True)]))

    assert finding.status == Status.FAIL
    assert "mlw-a" in finding.message
    assert dict(finding.evidence.observed) == {"v1LegacyMode": True}
    assert (
        f"az resource update --ids {arm_id(WS_TYPE, 'mlw-a')} --set properties.v1LegacyMode=false"
        == finding.remediation.command
    )
    assert "network security team" in finding.remediation.text


def test_legacy_mode_off_passes() -> None:
    """A workspace with v1_legacy_mode = false passes and carries no remediation."""
    [finding] = check.evaluate(facts([workspace(v1_legacy_mode=False)]))

    assert finding.status == Status.PASS
    assert finding.remediation is None


def test_unreadable_workspace_is_an_error_naming_the_permission() -> None:
    """A 403 on the workspace is an error that names the missing read permission."""
    read = failed(
        arm_id(WS_TYPE, "mlw-x"),
        ReadProblem.FORBIDDEN,
        status_code=403,
        permission="Microsoft.MachineLearningServices/workspaces/read",
    )
    [finding] = check.evaluate(facts([read]))

    assert (finding.status, finding.resource_id) == (Status.ERROR, read.resource_id)
    assert finding.message == (
        f"Cannot read the workspace {read.resource_id}: the agent's identity lacks "
        "Microsoft.MachineLearningServices/workspaces/read."
    )


def test_workspace_in_scope_that_does_not_exist_is_an_error() -> None:
    """A 404 on a workspace named in the config cannot be judged: error, not fail."""
    gone = failed(arm_id(WS_TYPE, "Mlw-Gone"), ReadProblem.NOT_FOUND, status_code=404)
    [finding] = check.evaluate(facts([gone]))

    assert finding.status == Status.ERROR
    assert finding.message == f"Cannot read the workspace {gone.resource_id}: not_found"


def test_uid_is_stable_across_status_changes() -> None:
    """The same workspace keeps its finding uid whether it passes or fails."""
    [bad] = check.evaluate(facts([workspace(v1_legacy_mode=True)]))
    [good] = check.evaluate(facts([workspace(v1_legacy_mode=False)]))

    assert bad.uid == good.uid
