"""What the checks about online endpoints share: walking workspaces to endpoints to deployments,
turning every read that failed on the way into the check's own error or skip."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from netverify.checklib.judging import failed_read, skipped
from netverify.facts import Facts, OnlineDeployment, OnlineEndpoint, Workspace
from netverify.model import CheckMeta, Finding

SUCCEEDED = "succeeded"


@dataclass(frozen=True, slots=True)
class EndpointView:
    workspace: Workspace
    endpoint: OnlineEndpoint
    deployments: tuple[OnlineDeployment, ...] | None  # None: the list could not be read


def endpoints(
    meta: CheckMeta, facts: Facts, *, need_deployments: bool
) -> Iterator[EndpointView | Finding]:
    """Every endpoint of every workspace read, or the finding that says why one is missing.

    With ``need_deployments`` an endpoint whose deployments could not be listed yields the
    error finding instead of a view.
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
        for endpoint in listed.value:
            deployments = facts.deployments_of(endpoint.id)
            if deployments is not None and deployments.value is not None:
                yield EndpointView(ws, endpoint, deployments.value)
            elif not need_deployments:
                yield EndpointView(ws, endpoint, None)
            elif deployments is None:
                yield skipped(meta, endpoint.id, "The endpoint's deployments were not probed.")
            else:
                yield failed_read(meta, deployments, "online deployment list", linked=False)


def succeeded(deployment: OnlineDeployment) -> bool:
    return (deployment.provisioning_state or "").lower() == SUCCEEDED
