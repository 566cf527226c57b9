"""A workspace managed VNet must be provisioned (Active) when online deployments exist."""

from collections.abc import Iterator

from netverify.checklib.catalog import load_meta
from netverify.checklib.judging import skipped
from netverify.checklib.online import EndpointView, endpoints
from netverify.facts import Facts
from netverify.model import Evidence, Finding, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    deployments: dict[str, int] = {}
    for view in endpoints(META, facts, need_deployments=False):
        if isinstance(view, EndpointView):
            deployments[view.workspace.id] = deployments.get(view.workspace.id, 0) + len(
                view.deployments or ()
            )
    for read in facts.workspaces:
        ws = read.value
        if ws is None:
            yield skipped(META, read.resource_id, "The workspace could not be read.")
            continue
        isolation = ws.managed_network_isolation or "Disabled"
        evidence = Evidence(
            {
                "isolationMode": isolation,
                "status": ws.managed_network_status,
                "onlineDeployments": deployments.get(ws.id, 0),
            },
            {"status": "Active"},
        )
        if isolation.lower() == "disabled":
            message = f"Workspace {ws.name} has no managed VNet (isolation mode Disabled)."
            yield Finding(META, Status.PASS, ws.id, message, evidence)
        elif (ws.managed_network_status or "").lower() == "active":
            message = f"Workspace {ws.name}'s managed VNet ({isolation}) is provisioned."
            yield Finding(META, Status.PASS, ws.id, message, evidence)
        elif not deployments.get(ws.id):
            yield skipped(
                META,
                ws.id,
                f"Workspace {ws.name}'s managed VNet is not provisioned yet, but it has no online deployments.",
            )
        else:
            yield Finding(
                META,
                Status.FAIL,
                ws.id,
                f"Workspace {ws.name} has {deployments[ws.id]} online deployment(s) but its "
                f"managed VNet ({isolation}) is {ws.managed_network_status or 'not provisioned'}, "
                "not Active: they were created without it.",
                evidence,
                META.remediation(workspace_name=ws.name, resource_group=ws.resource_group),
            )
