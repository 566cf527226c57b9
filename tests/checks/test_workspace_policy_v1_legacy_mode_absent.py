"""workspace_policy_v1_legacy_mode_absent, judged from hand-built facts."""

import pytest

from netverify.checklib.catalog import load_checks
from netverify.facts import ReadProblem
from netverify.model import Status
from netverify.testing import (
    GROUP,
    SUBSCRIPTION,
    V1_POLICY_ID,
    assignment,
    endpoint,
    facts,
    failed,
    v1_legacy_mode_policy,
    workspace,
)

[check] = [c.module for c in load_checks() if c.meta.id == "workspace_policy_v1_legacy_mode_absent"]
GROUP_SCOPE = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}"


def judge(*assignments, definitions=None, endpoints=None):  # type: ignore[no-untyped-def]
    ws = workspace()
    return list(
        check.evaluate(
            facts(
                [ws],
                endpoints=[endpoint()] if endpoints is None else endpoints,
                assignments=list(assignments),
                definitions=[v1_legacy_mode_policy()] if definitions is None else definitions,
            )
        )
    )


@pytest.mark.parametrize(
    ("effect", "mode", "consequence"),
    [
        ("Deny", "Default", "will be denied"),
        ("Audit", "Default", "flagged as non-compliant"),
        ("Deny", "DoNotEnforce", "flagged as non-compliant"),
        (None, "Default", "flagged as non-compliant"),  # the definition's default: Audit
    ],
)
def test_assignment_covering_a_workspace_with_endpoints_fails(
    effect: str | None, mode: str, consequence: str
) -> None:
    """A V1LegacyMode assignment at the group fails, saying what turning legacy mode off meets."""
    [finding] = judge(assignment(GROUP_SCOPE, effect=effect, enforcement_mode=mode))

    assert finding.status == Status.FAIL
    assert consequence in finding.message
    assert finding.remediation.command.startswith(
        "az policy exemption create --name netverify-v1legacymode-mlw-test --policy-assignment "
        f"{GROUP_SCOPE}/providers/Microsoft.Authorization/policyAssignments/require-v1"
    )


def test_management_group_assignment_covers_the_workspace() -> None:
    """An assignment inherited from a management group covers the subscription's workspaces."""
    scope = "/providers/Microsoft.Management/managementGroups/mg-corp"
    [finding] = judge(assignment(scope))

    assert finding.status == Status.FAIL


@pytest.mark.parametrize(
    "quiet",
    [
        assignment(effect="Disabled"),
        assignment(f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-other"),
        assignment(not_scopes=(GROUP_SCOPE,)),
        assignment(definition_id="/providers/Microsoft.Authorization/policyDefinitions/other"),
    ],
    ids=["disabled", "other-group", "not-scope", "other-definition"],
)
def test_assignments_that_do_not_require_legacy_mode_pass(quiet) -> None:  # type: ignore[no-untyped-def]
    """Disabled effect, another scope, a notScope or another policy: pass."""
    other = v1_legacy_mode_policy(
        "/providers/Microsoft.Authorization/policyDefinitions/other", fields=("type",)
    )
    [finding] = judge(quiet, definitions=[v1_legacy_mode_policy(), other])

    assert finding.status == Status.PASS


def test_workspace_without_endpoints_is_skipped() -> None:
    """No online endpoint, no conflict to report."""
    [finding] = judge(assignment(), endpoints=[])

    assert finding.status == Status.SKIPPED


def test_unreadable_definition_is_an_error() -> None:
    """A 403 on the assigned definition is an error naming the permission."""
    denied = failed(
        V1_POLICY_ID,
        ReadProblem.FORBIDDEN,
        status_code=403,
        permission="Microsoft.Authorization/policyDefinitions/read",
    )
    [finding] = judge(assignment(), definitions=[denied])

    assert finding.status == Status.ERROR
    assert "Microsoft.Authorization/policyDefinitions/read" in finding.message
