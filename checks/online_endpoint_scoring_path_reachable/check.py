"""An unauthenticated request to each managed online endpoint's scoringUri, from this VNet, is
answered 401 by Azure ML's front end: the private scoring path works end to end."""

from collections.abc import Iterator

from netverify.checklib.catalog import load_meta
from netverify.checklib.dns import wrong_answer_needs
from netverify.checklib.scoring import (
    command_names,
    no_answer,
    not_contacted,
    observed,
    probes_of,
    transport_needs,
)
from netverify.facts import DnsFacts, Facts, ScoringProbe
from netverify.model import Evidence, Finding, Link, Remediation, Status

META = load_meta(__file__)

# The guide's status-code table for managed online endpoints (and Kubernetes ones for 502-504):
# what each answer to a request without a key means.
GUIDE_STATUS = {
    408: "request timeout: the model ran longer than request_settings.request_timeout_ms",
    424: "model error: the model container answered non-200 (see the "
    "ms-azureml-model-error-statuscode and ms-azureml-model-error-reason headers)",
    429: "too many requests: more pending requests than the deployment's "
    "2 * max_concurrent_requests_per_instance * instance_count, or the endpoint's rate limit",
    502: "bad gateway: score.py's run() raised or crashed",
    503: "service unavailable: requests per second rose faster than autoscale adds replicas",
    504: "gateway timeout: the request timed out (score.py too slow or not responding)",
}
# What Azure ML's public front end says to a request for an endpoint whose public network
# access is disabled (a 403 with this in its body): the request did not use the private
# endpoint.
PUBLIC_DENIED = "public network access"


def evaluate(facts: Facts) -> Iterator[Finding]:
    dns = facts.dns
    for probe in probes_of(dns, kubernetes=False):
        assert dns is not None
        yield not_contacted(META, probe) or _judge(dns, probe)


def _judge(dns: DnsFacts, probe: ScoringProbe) -> Finding:
    answer = probe.answer
    evidence = Evidence(observed(answer), {"status": 401})
    names = command_names(probe)
    name = probe.endpoint_name
    delays = evidence.observed["bandwidth_delay_ms"]
    throttled = f" (bandwidth-limit delays, ms: {delays})" if delays else ""

    def fail(message: str, remediation: Remediation, needs: frozenset[str]) -> Finding:
        return Finding(
            META,
            Status.FAIL,
            probe.endpoint_id,
            message + throttled,
            evidence,
            remediation,
            needs=needs,
        )

    if answer.status is None:
        return fail(
            f"Scoring endpoint {name} gets no answer from this VNet: {no_answer(answer)}.",
            META.remediation(**names),
            transport_needs(dns, answer),
        )
    where = f"{answer.host} at {answer.address}"
    if answer.status == 401:
        return Finding(
            META,
            Status.PASS,
            probe.endpoint_id,
            f"Scoring endpoint {name} ({where}) answers a request without a key with 401: "
            f"the private scoring path works end to end{throttled}.",
            evidence,
        )
    if answer.status == 403 and PUBLIC_DENIED in answer.body.lower():
        return fail(
            f"Scoring endpoint {name}: the request left the VNet - {answer.host} resolved to "
            f"{answer.address} (via {answer.resolver or 'no resolver'}), whose front end answers "
            "403, public network access is disabled. DNS gave the public address, not the "
            "workspace's private endpoint.",
            Remediation(
                f"Make {answer.host} resolve to the workspace's private endpoint from this VNet "
                "(see the DNS findings for the name), then run netverify again.",
                f"nslookup {answer.host}",
            ),
            wrong_answer_needs(dns, answer.host, lambda a: answer.address in a.addresses),
        )
    if answer.status == 404:
        return fail(
            f"Scoring endpoint {name} ({where}) answers 404: the endpoint has no valid "
            "deployment with positive traffic.",
            Remediation(
                f"Give a succeeded deployment of endpoint {name} traffic "
                "(see online_endpoint_traffic_to_succeeded_deployment).",
                "az ml online-endpoint show --name {endpoint_name} --subscription "
                "{subscription} --resource-group {resource_group} --workspace-name {workspace_name} --query traffic".format(
                    **names
                ),
            ),
            frozenset({Link.resource(probe.endpoint_id)}),
        )
    meaning = GUIDE_STATUS.get(answer.status, "an answer the guide's table does not list")
    # HTTP/2 gives no reason phrase: then the status alone.
    spoken = f"{answer.status} {answer.reason}".rstrip()
    return fail(
        f"Scoring endpoint {name} ({where}) answers {spoken}: {meaning}.",
        META.remediation(**names),
        frozenset(),
    )
