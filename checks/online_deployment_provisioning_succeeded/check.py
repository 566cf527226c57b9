"""Every online deployment's provisioning state is Succeeded, or transient for a bounded time.

Failed and Canceled fail; Creating/Updating/Scaling/Deleting are an operation in flight (a note)
until they last longer than ``checks.transient_state_limit_minutes``, when they are stuck.
"""

from collections.abc import Iterator

from netverify.checklib.catalog import load_meta
from netverify.checklib.online import (
    EndpointView,
    command_names,
    in_state_for,
    judge_endpoints,
    stuck,
    succeeded,
    transient,
)
from netverify.facts import Facts, OnlineDeployment, Workspace
from netverify.model import Evidence, Finding, Link, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    return judge_endpoints(
        META, facts, lambda ws, views: _judge(ws, views, facts), need_deployments=True
    )


def _judge(ws: Workspace, views: tuple[EndpointView, ...], facts: Facts) -> Iterator[Finding]:
    limit_minutes = facts.transient_state_limit.total_seconds() / 60
    for view in views:
        endpoint = view.endpoint
        for deployment in view.deployments or ():
            lasted = in_state_for(deployment, facts)
            minutes = round(lasted.total_seconds() / 60) if lasted is not None else None
            evidence = Evidence(
                {
                    "provisioningState": deployment.provisioning_state,
                    "lastModifiedAt": _time(deployment),
                    "minutesInState": minutes,
                    "egressPublicNetworkAccess": deployment.egress_public_network_access,
                    "endpointComputeType": deployment.compute_type,
                    "endpoint": endpoint.name,
                },
                {"provisioningState": "Succeeded", "transientStateLimitMinutes": limit_minutes},
            )
            state = deployment.provisioning_state
            where = (
                f"Deployment {deployment.name} of endpoint {endpoint.name} (workspace {ws.name})"
            )
            if succeeded(deployment):
                yield Finding(
                    META,
                    Status.PASS,
                    deployment.id,
                    f"Deployment {deployment.name} of endpoint {endpoint.name} is Succeeded.",
                    evidence,
                )
            elif transient(deployment) and not stuck(deployment, facts):
                since = f" for {minutes} min" if minutes is not None else ""
                yield Finding(
                    META,
                    Status.SKIPPED,
                    deployment.id,
                    f"{where} is {state}{since}: an operation in flight, judged again next run "
                    f"(stuck after {limit_minutes:g} min).",
                    evidence,
                )
            elif transient(deployment):
                yield Finding(
                    META,
                    Status.FAIL,
                    deployment.id,
                    f"{where} has been {state} for {minutes} min, past the {limit_minutes:g}-min "
                    "limit: the operation is stuck.",
                    evidence,
                    META.remediation(**command_names(view, deployment.name)),
                    breaks=frozenset({Link.resource(deployment.id)}),
                )
            else:
                yield Finding(
                    META,
                    Status.FAIL,
                    deployment.id,
                    f"{where} is {state or 'in no provisioning state'}, not Succeeded.",
                    evidence,
                    META.remediation(**command_names(view, deployment.name)),
                    breaks=frozenset({Link.resource(deployment.id)}),
                )


def _time(deployment: OnlineDeployment) -> str | None:
    stamp = deployment.last_modified_at
    return stamp.isoformat() if stamp is not None else None
