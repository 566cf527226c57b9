"""What the checks about online endpoints share: walking workspaces to endpoints to deployments,
turning every read that failed on the way into the check's own error or skip."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from netverify.azure.arm_ids import cli_subscription
from netverify.checklib.judging import failed_read, skipped
from netverify.facts import SERVING_STATES, Facts, OnlineDeployment, OnlineEndpoint, Workspace
from netverify.model import CheckMeta, Finding

SUCCEEDED = "succeeded"
# Provisioning states of MachineLearningServices' DeploymentProvisioningState: an operation in
# flight, which ends by itself (autoscale shows Scaling for the minutes scale-out takes).
TRANSIENT = frozenset({"creating", "updating", "scaling", "deleting"})


@dataclass(frozen=True, slots=True)
class EndpointView:
    workspace: Workspace
    endpoint: OnlineEndpoint
    deployments: tuple[OnlineDeployment, ...] | None  # None: the list could not be read


EndpointJudge = Callable[[Workspace, tuple[EndpointView, ...]], Iterable[Finding]]
"""Judges one workspace from its online endpoints (every one whose list could be read)."""


def judge_endpoints(
    meta: CheckMeta, facts: Facts, judge: EndpointJudge, *, need_deployments: bool
) -> Iterator[Finding]:
    """``judge``'s findings for every workspace whose endpoints were listed, and an error or
    skipped finding of ``meta`` for every read that failed on the way.

    The walk yields the failed reads itself, so no check can turn a 403 on an endpoint list
    into "has no online endpoints": ``judge`` is not called for a workspace whose endpoint list
    is missing. With ``need_deployments`` an endpoint whose deployments could not be listed is
    left out of the views and yields the error finding instead.
    """
    for read in facts.workspaces:
        ws = read.value
        if ws is None:
            yield skipped(meta, read.resource_id, "The workspace could not be read.")
            continue
        listed = facts.endpoints_of(ws.id)
        if listed is None:
            yield skipped(meta, ws.id, "The workspace's online endpoints were not probed.")
            continue
        if listed.value is None:
            yield failed_read(meta, listed, "online endpoint list", linked=False)
            continue
        views: list[EndpointView] = []
        for endpoint in listed.value:
            deployments = facts.deployments_of(endpoint.id)
            if deployments is not None and deployments.value is not None:
                views.append(EndpointView(ws, endpoint, deployments.value))
            elif not need_deployments:
                views.append(EndpointView(ws, endpoint, None))
            elif deployments is None:
                yield skipped(meta, endpoint.id, "The endpoint's deployments were not probed.")
            else:
                yield failed_read(meta, deployments, "online deployment list", linked=False)
        yield from judge(ws, tuple(views))


def command_names(view: EndpointView, deployment_name: str) -> dict[str, str]:
    """The names an ``az ml online-*`` remediation template takes, for one deployment."""
    return {
        "deployment_name": deployment_name,
        "endpoint_name": view.endpoint.name,
        "workspace_name": view.workspace.name,
        "subscription": cli_subscription(view.workspace.id),
        "resource_group": view.workspace.resource_group,
    }


def succeeded(deployment: OnlineDeployment) -> bool:
    return (deployment.provisioning_state or "").lower() == SUCCEEDED


def serving(deployment: OnlineDeployment) -> bool:
    """Succeeded, or scaling/updating with the instances it had still answering."""
    return (deployment.provisioning_state or "").lower() in SERVING_STATES


def transient(deployment: OnlineDeployment) -> bool:
    return (deployment.provisioning_state or "").lower() in TRANSIENT


def in_state_for(deployment: OnlineDeployment, facts: Facts) -> timedelta | None:
    """How long the deployment has been in its state (since systemData.lastModifiedAt), or
    None when ARM gave no time or the run recorded none."""
    if deployment.last_modified_at is None or facts.observed_at is None:
        return None
    return facts.observed_at - deployment.last_modified_at


def stuck(deployment: OnlineDeployment, facts: Facts) -> bool:
    """In a transient state for longer than the configured limit."""
    lasted = in_state_for(deployment, facts)
    return transient(deployment) and lasted is not None and lasted > facts.transient_state_limit
