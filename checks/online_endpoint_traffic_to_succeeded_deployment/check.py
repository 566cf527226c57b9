"""An online endpoint's traffic gives a positive weight to at least one succeeded deployment."""

from collections.abc import Iterator

from netverify.checklib.catalog import load_meta
from netverify.checklib.online import (
    EndpointView,
    command_names,
    judge_endpoints,
    serving,
    succeeded,
    transient,
)
from netverify.facts import Facts
from netverify.model import Evidence, Finding, Link, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    return judge_endpoints(META, facts, lambda _, views: map(_judge, views), need_deployments=True)


def _judge(view: EndpointView) -> Finding:
    ws, endpoint, deployments = view.workspace, view.endpoint, view.deployments or ()
    ready = {d.name.lower(): d.name for d in deployments if serving(d)}
    weighted = sorted(name for name, weight in endpoint.traffic.items() if weight > 0)
    observed = {
        "traffic": dict(endpoint.traffic),
        "deployments": {d.name: d.provisioning_state for d in deployments},
        "publicNetworkAccess": endpoint.public_network_access,
        "egressPublicNetworkAccess": {d.name: d.egress_public_network_access for d in deployments},
    }
    evidence = Evidence(observed, {"traffic": "a positive weight on a Succeeded deployment"})
    live = [name for name in weighted if name.lower() in ready]
    if live:
        return Finding(
            META,
            Status.PASS,
            endpoint.id,
            f"Endpoint {endpoint.name} sends traffic to serving deployment(s) {', '.join(live)}.",
            evidence,
        )
    by_name = {d.name.lower(): d for d in deployments}
    pending = [n for n in weighted if (d := by_name.get(n.lower())) is not None and transient(d)]
    if pending:
        return Finding(
            META,
            Status.SKIPPED,
            endpoint.id,
            f"Endpoint {endpoint.name}: its traffic goes to {', '.join(pending)}, still "
            f"{by_name[pending[0].lower()].provisioning_state}; judged again next run.",
            evidence,
        )
    why = (
        f"its traffic goes only to {', '.join(weighted)}, which did not succeed"
        if weighted
        else "no deployment has a positive traffic weight"
    )
    return Finding(
        META,
        Status.FAIL,
        endpoint.id,
        f"Endpoint {endpoint.name} (workspace {ws.name}) answers scoring with 404: {why}.",
        evidence,
        META.remediation(
            **command_names(
                view, next((d.name for d in deployments if succeeded(d)), "<deployment-name>")
            )
        ),
        # Scoring answers 404 because of it (online_endpoint_scoring_path_reachable).
        breaks=frozenset({Link.resource(endpoint.id)}),
        # Traffic that goes only to deployments that failed follows from their failure.
        needs=frozenset(
            Link.resource(by_name[n.lower()].id) for n in weighted if n.lower() in by_name
        ),
    )
