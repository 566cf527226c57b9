"""Flag policy assignments that require V1LegacyMode on workspaces with online endpoints."""

import re
from collections.abc import Iterator

from netverify.checklib.catalog import load_meta
from netverify.checklib.judging import failed_read, skipped
from netverify.checklib.online import EndpointView, judge_endpoints
from netverify.facts import Facts, PolicyAssignment, PolicyDefinition, Workspace
from netverify.model import Evidence, Finding, Status

META = load_meta(__file__)
V1_LEGACY_MODE_FIELD = "microsoft.machinelearningservices/workspaces/v1legacymode"
_PARAMETER = re.compile(r"^\[parameters\('([^']+)'\)\]$", re.IGNORECASE)


def evaluate(facts: Facts) -> Iterator[Finding]:
    def judge(ws: Workspace, views: tuple[EndpointView, ...]) -> Iterator[Finding]:
        if views:
            return _judge(ws, facts)
        return iter([skipped(META, ws.id, f"Workspace {ws.name} has no online endpoints.")])

    return judge_endpoints(META, facts, judge, need_deployments=False)


def _judge(ws: Workspace, facts: Facts) -> Iterator[Finding]:
    listed = facts.policy_assignments.get(ws.subscription.lower())
    if listed is None:
        yield skipped(META, ws.id, "The subscription's policy assignments were not probed.")
        return
    if listed.value is None:
        yield failed_read(META, listed, "policy assignment list", linked=False)
        return
    conflicts = unknown = 0
    for assignment in listed.value:
        if not _covers(assignment, ws.id):
            continue
        definition_read = facts.policy_definitions.get(assignment.policy_definition_id.lower())
        if definition_read is None:
            continue  # a policy set (initiative) or a definition that was not read
        if definition_read.value is None:
            unknown += 1
            yield failed_read(META, definition_read, "policy definition", linked=True)
            continue
        definition = definition_read.value
        if V1_LEGACY_MODE_FIELD not in {f.lower() for f in definition.fields}:
            continue
        effect = _effect(assignment, definition)
        if (effect or "").lower() == "disabled":
            continue
        conflicts += 1
        denies = (effect or "").lower() == "deny" and assignment.enforcement_mode != "DoNotEnforce"
        consequence = "will be denied" if denies else "will be flagged as non-compliant"
        yield Finding(
            META,
            Status.FAIL,
            ws.id,
            f"Policy assignment {assignment.display_name or assignment.name} ({effect}) requires "
            f"V1LegacyMode on workspace {ws.name}, which has online endpoints: turning legacy "
            f"mode off {consequence}.",
            Evidence(
                {
                    "assignment": assignment.id,
                    "scope": assignment.scope,
                    "definition": definition.display_name,
                    "effect": effect,
                    "enforcementMode": assignment.enforcement_mode,
                    "v1LegacyMode": ws.v1_legacy_mode,
                },
                {"assignment": None},
            ),
            META.remediation(
                assignment_name=assignment.name,
                assignment_id=assignment.id,
                workspace_name=ws.name,
                workspace_id=ws.id,
            ),
            subject=assignment.id,
        )
    if not conflicts and not unknown:
        yield Finding(
            META,
            Status.PASS,
            ws.id,
            f"No policy assignment requires V1LegacyMode on workspace {ws.name}.",
            Evidence({"assignmentsApplying": len(listed.value)}),
        )


def _covers(assignment: PolicyAssignment, resource_id: str) -> bool:
    """An assignment listed for the subscription covers what lies at or under its scope,
    except its notScopes; management-group assignments listed there cover the subscription.

    The management-group hierarchy is not read, so a management group among the notScopes is
    taken to contain the workspace: such an exclusion hides the assignment rather than raising
    a conflict that may not exist.
    """

    def under(scope: str) -> bool:
        scope = scope.rstrip("/").lower()
        return (
            "/managementgroups/" in scope
            or resource_id.lower() == scope
            or (resource_id.lower().startswith(scope + "/"))
        )

    return under(assignment.scope) and not any(under(s) for s in assignment.not_scopes)


def _effect(assignment: PolicyAssignment, definition: PolicyDefinition) -> str | None:
    """The effect as assigned: a parameter's value, else its default, else the literal."""
    written = definition.effect
    parameter = _PARAMETER.match(written or "")
    if parameter is None:
        return written
    name = parameter.group(1)
    value = assignment.parameters.get(name, definition.parameter_defaults.get(name))
    return str(value) if value is not None else None
