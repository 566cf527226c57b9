"""A workspace managed VNet must be provisioned (Active) when online deployments exist."""

from collections.abc import Iterator

from netverify.azure.arm_ids import cli_subscription
from netverify.checklib.catalog import load_meta
from netverify.checklib.judging import skipped
from netverify.checklib.online import EndpointView, judge_endpoints
from netverify.facts import Facts, Workspace
from netverify.model import Evidence, Finding, Link, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    return judge_endpoints(META, facts, _judge, need_deployments=True)


def _judge(ws: Workspace, views: tuple[EndpointView, ...]) -> Iterator[Finding]:
    deployments = sum(len(view.deployments or ()) for view in views)
    isolation = ws.managed_network_isolation or "Disabled"
    evidence = Evidence(
        {
            "isolationMode": isolation,
            "status": ws.managed_network_status,
            "onlineDeployments": deployments,
        },
        {"status": "Active"},
    )
    if isolation == "Disabled":
        message = f"Workspace {ws.name} has no managed VNet (isolation mode Disabled)."
        yield Finding(META, Status.PASS, ws.id, message, evidence)
    elif ws.managed_network_status == "Active":
        message = f"Workspace {ws.name}'s managed VNet ({isolation}) is provisioned."
        yield Finding(META, Status.PASS, ws.id, message, evidence)
    elif not deployments:
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
            f"Workspace {ws.name} has {deployments} online deployment(s) but its "
            f"managed VNet ({isolation}) is {ws.managed_network_status or 'not provisioned'}, "
            "not Active: they were created without it.",
            evidence,
            META.remediation(
                workspace_name=ws.name,
                subscription=cli_subscription(ws.id),
                resource_group=ws.resource_group,
            ),
            # Its outbound rules stay Inactive until it is provisioned (their check needs this).
            breaks=frozenset({Link.resource(ws.id)}),
        )
