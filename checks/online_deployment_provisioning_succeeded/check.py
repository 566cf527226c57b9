"""Every online deployment's provisioning state is Succeeded."""

from collections.abc import Iterator

from netverify.checklib.catalog import load_meta
from netverify.checklib.online import EndpointView, command_names, judge_endpoints, succeeded
from netverify.facts import Facts, Workspace
from netverify.model import Evidence, Finding, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    return judge_endpoints(META, facts, _judge, need_deployments=True)


def _judge(ws: Workspace, views: tuple[EndpointView, ...]) -> Iterator[Finding]:
    for view in views:
        endpoint = view.endpoint
        for deployment in view.deployments or ():
            evidence = Evidence(
                {
                    "provisioningState": deployment.provisioning_state,
                    "egressPublicNetworkAccess": deployment.egress_public_network_access,
                    "endpointComputeType": deployment.compute_type,
                    "endpoint": endpoint.name,
                },
                {"provisioningState": "Succeeded"},
            )
            if succeeded(deployment):
                yield Finding(
                    META,
                    Status.PASS,
                    deployment.id,
                    f"Deployment {deployment.name} of endpoint {endpoint.name} is Succeeded.",
                    evidence,
                )
                continue
            yield Finding(
                META,
                Status.FAIL,
                deployment.id,
                f"Deployment {deployment.name} of endpoint {endpoint.name} (workspace {ws.name}) "
                f"is {deployment.provisioning_state or 'in no provisioning state'}, not Succeeded.",
                evidence,
                META.remediation(**command_names(view, deployment.name)),
            )
