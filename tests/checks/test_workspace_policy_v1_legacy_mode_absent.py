"""workspace_policy_v1_legacy_mode_absent, judged from hand-built facts."""

import dataclasses

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
    failed_list,
    mixed_case,
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

    assert (Status.FAIL, scope) == (finding.status, finding.evidence.observed["scope"])
    assert finding.message == (
        "Policy assignment require-v1 (Deny) requires V1LegacyMode on workspace mlw-test, which "
        "has online endpoints: turning legacy mode off will be denied."
    )


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

    assert (Status.PASS, {"assignmentsApplying": 1}) == (
        finding.status,
        finding.evidence.observed,
    )
    assert finding.message == "No policy assignment requires V1LegacyMode on workspace mlw-test."


def test_workspace_without_endpoints_is_skipped() -> None:
    """No online endpoint, no conflict to report."""
    [finding] = judge(assignment(), endpoints=[])

    assert (Status.SKIPPED, workspace().id) == (finding.status, finding.resource_id)
    assert finding.message == "Workspace mlw-test has no online endpoints."


def test_unreadable_definition_is_an_error() -> None:
    """A 403 on the assigned definition is an error naming the permission."""
    denied = failed(
        V1_POLICY_ID,
        ReadProblem.FORBIDDEN,
        status_code=403,
        permission="Microsoft.Authorization/policyDefinitions/read",
    )
    [finding] = judge(assignment(), definitions=[denied])

    assert (Status.ERROR, V1_POLICY_ID) == (finding.status, finding.resource_id)
    assert finding.message == (
        f"Cannot read the policy definition {V1_POLICY_ID}: the agent's identity lacks "
        "Microsoft.Authorization/policyDefinitions/read."
    )


# -- full evidence, spellings and reads that failed -------------------------------------------


def test_a_deny_on_the_group_spelled_in_another_case_fails_with_its_full_evidence() -> None:
    """The assignment's scope in upper case with a trailing slash, the definition's alias in
    another case, its effect parameter written in upper case: still the one conflict."""
    scope = GROUP_SCOPE.upper() + "/"
    definition = dataclasses.replace(
        v1_legacy_mode_policy(),
        fields=("type", "Microsoft.MachineLearningServices/workspaces/V1LegacyMode"),
        effect="[PARAMETERS('effect')]",
    )
    deny = assignment(scope, effect="Deny")
    ws = workspace()

    [finding] = judge(deny, definitions=[definition])

    assert (Status.FAIL, ws.id, deny.id) == (finding.status, finding.resource_id, finding.subject)
    assert finding.message == (
        "Policy assignment require-v1 (Deny) requires V1LegacyMode on workspace mlw-test, which "
        "has online endpoints: turning legacy mode off will be denied."
    )
    assert {
        "assignment": deny.id,
        "scope": scope,
        "definition": "Azure Machine Learning workspaces should enable V1LegacyMode",
        "effect": "Deny",
        "enforcementMode": "Default",
        "v1LegacyMode": False,
    } == finding.evidence.observed
    assert {"assignment": None} == finding.evidence.expected
    assert finding.remediation.text == (
        "Agree with the owners of policy assignment require-v1 to exempt workspace mlw-test (or "
        "to remove the assignment) before turning v1_legacy_mode off."
    )
    assert finding.remediation.command == (
        "az policy exemption create --name netverify-v1legacymode-mlw-test --policy-assignment "
        f"{deny.id} --exemption-category Waiver --scope {ws.id}"
    )


@pytest.mark.parametrize(
    ("written", "effect", "consequence"),
    [
        ("deny", "deny", "will be denied"),
        ("Audit", "Audit", "will be flagged as non-compliant"),
        ("[parameters('mode')]", "None", "will be flagged as non-compliant"),
    ],
    ids=["literal-deny", "literal-audit", "parameter-without-value-or-default"],
)
def test_the_effect_as_written_or_unresolved(written: str, effect: str, consequence: str) -> None:
    """A literal effect is taken as written (any case); a parameter the assignment does not set
    and that has no default leaves the effect unknown, which is no Deny."""
    definition = dataclasses.replace(v1_legacy_mode_policy(), effect=written)

    [finding] = judge(assignment(effect="Deny"), definitions=[definition])

    assert Status.FAIL is finding.status
    assert finding.message == (
        f"Policy assignment require-v1 ({effect}) requires V1LegacyMode on workspace mlw-test, "
        f"which has online endpoints: turning legacy mode off {consequence}."
    )
    assert (None if effect == "None" else effect) == finding.evidence.observed["effect"]


@pytest.mark.parametrize(
    "scope",
    [
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-tes",  # a prefix of rg-test
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-test-other",
        f"{GROUP_SCOPE}/providers/Microsoft.MachineLearningServices/workspaces/mlw-test2",
    ],
)
def test_a_scope_that_only_begins_like_the_workspace_does_not_cover_it(scope: str) -> None:
    """A scope covers what lies at or under it, path segment by path segment."""
    [finding] = judge(assignment(scope, effect="disabled"), assignment(scope))

    assert (Status.PASS, {"assignmentsApplying": 2}) == (
        finding.status,
        finding.evidence.observed,
    )
    assert finding.message == "No policy assignment requires V1LegacyMode on workspace mlw-test."


def test_an_assignment_on_the_workspace_itself_and_one_disabled_in_lower_case() -> None:
    """Scoped at the workspace's own id (mixed case): covered; a disabled one is no conflict."""
    ws = workspace()
    mine = assignment(mixed_case(ws.id), name="on-the-workspace")

    [finding] = judge(mine, assignment(effect="disabled", name="off"))

    assert (Status.FAIL, mine.id) == (finding.status, finding.subject)


def test_a_management_group_in_the_not_scopes_hides_the_assignment() -> None:
    """The hierarchy is not read: an excluded management group is taken to hold the workspace."""
    scope = "/providers/Microsoft.Management/managementGroups/mg-corp"
    excluded = assignment(scope, not_scopes=(f"{scope}/", "/providers/x/managementGroups/mg-b"))

    [finding] = judge(excluded)

    assert (Status.PASS, {"assignmentsApplying": 1}) == (
        finding.status,
        finding.evidence.observed,
    )


def test_a_policy_set_or_unread_definition_is_no_conflict() -> None:
    """An assignment of an initiative (its definition not read here) is left alone."""
    initiative = assignment(
        definition_id="/providers/Microsoft.Authorization/policySetDefinitions/baseline"
    )

    [finding] = judge(initiative)

    assert (Status.PASS, {"assignmentsApplying": 1}) == (
        finding.status,
        finding.evidence.observed,
    )


def test_a_conflict_beside_an_unreadable_definition_gives_both_and_no_pass() -> None:
    """One definition read (conflict), another 404 (a broken link: fail naming it)."""
    gone = "/providers/Microsoft.Authorization/policyDefinitions/gone"
    missing = failed(
        gone, ReadProblem.NOT_FOUND, message="PolicyDefinitionNotFound", status_code=404
    )

    conflict, broken = judge(
        assignment(),
        assignment(name="gone", definition_id=gone),
        definitions=[v1_legacy_mode_policy(), missing],
    )

    assert (Status.FAIL, Status.FAIL) == (conflict.status, broken.status)
    assert (
        broken.message == f"The linked policy definition {gone} does not exist (ARM answered 404)."
    )
    assert {"problem": "not_found", "detail": "PolicyDefinitionNotFound", "http_status": 404} == (
        broken.evidence.observed
    )


def test_the_subscription_assignments_not_probed_or_unreadable() -> None:
    """Not probed: skipped; a 403 on the list: an error naming the permission."""
    ws = workspace()
    unprobed = dataclasses.replace(facts([ws], endpoints=[endpoint()]), policy_assignments={})
    denied = failed(
        f"/subscriptions/{SUBSCRIPTION}",
        ReadProblem.FORBIDDEN,
        status_code=403,
        permission="Microsoft.Authorization/policyAssignments/read",
    )
    unreadable = facts([ws], endpoints=[endpoint()], assignments=denied)

    [skip] = check.evaluate(unprobed)
    [error] = check.evaluate(unreadable)

    assert (Status.SKIPPED, ws.id, "The subscription's policy assignments were not probed.") == (
        skip.status,
        skip.resource_id,
        skip.message,
    )
    assert (Status.ERROR, f"/subscriptions/{SUBSCRIPTION}") == (error.status, error.resource_id)
    assert error.message == (
        f"Cannot read the policy assignment list /subscriptions/{SUBSCRIPTION}: the agent's "
        "identity lacks Microsoft.Authorization/policyAssignments/read."
    )
    assert {
        "problem": "forbidden",
        "detail": "forbidden",
        "http_status": 403,
        "missing_permission": "Microsoft.Authorization/policyAssignments/read",
    } == error.evidence.observed


def test_an_endpoint_whose_deployments_failed_to_list_still_has_the_workspace_judged() -> None:
    """The conflict is the workspace's (it has an endpoint), whatever its deployments: a 503 on
    the deployment list is no error of this check and leaves the verdict as it is."""
    ws, ep = workspace(), endpoint()
    seen = facts(
        [ws],
        endpoints=[ep],
        failed_lists=[failed_list(ep.id, "deployments")],
        assignments=[assignment()],
        definitions=[v1_legacy_mode_policy()],
    )

    [finding] = check.evaluate(seen)

    assert (Status.FAIL, ws.id, assignment().id) == (
        finding.status,
        finding.resource_id,
        finding.subject,
    )


def test_a_404_on_the_assignment_list_is_an_error_not_a_broken_link() -> None:
    """The subscription's assignment list is no resource the workspace links to: a 404 there
    says netverify could not observe, not that something is missing."""
    gone = failed(f"/subscriptions/{SUBSCRIPTION}", ReadProblem.NOT_FOUND, status_code=404)

    [error] = check.evaluate(facts([workspace()], endpoints=[endpoint()], assignments=gone))

    assert (Status.ERROR, f"/subscriptions/{SUBSCRIPTION}") == (error.status, error.resource_id)
    assert error.message == (
        f"Cannot read the policy assignment list /subscriptions/{SUBSCRIPTION}: not_found"
    )
    assert {"problem": "not_found", "detail": "not_found", "http_status": 404} == (
        error.evidence.observed
    )


def test_an_assignment_without_a_display_name_is_named_by_its_name() -> None:
    """ARM leaves displayName out when nobody set one: the message names the assignment."""
    unnamed = dataclasses.replace(
        assignment(name="Require-V1-Audit", effect="Audit"), display_name=None
    )

    [finding] = judge(unnamed)

    assert finding.message == (
        "Policy assignment Require-V1-Audit (Audit) requires V1LegacyMode on workspace mlw-test, "
        "which has online endpoints: turning legacy mode off will be flagged as non-compliant."
    )


def test_an_assignment_on_a_workspace_whose_name_ends_in_capitals_covers_it() -> None:
    """Only the scope's trailing slashes are stripped, not its last letters (mlw-BOX)."""
    ws = workspace("mlw-BOX")
    mine = assignment(ws.id, name="on-mlw-box")

    [finding] = check.evaluate(
        facts(
            [ws],
            endpoints=[endpoint(workspace_name="mlw-BOX")],
            assignments=[mine],
            definitions=[v1_legacy_mode_policy()],
        )
    )

    assert (Status.FAIL, ws.id, mine.id) == (finding.status, finding.resource_id, finding.subject)
