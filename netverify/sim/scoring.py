"""The simulated scoring front ends: what Azure ML answers a request without a key.

The private front end (behind the workspace's private endpoint, and a Kubernetes cluster's
inference router) answers per endpoint, as the scenario says (``OnlineEndpointSpec.scoring``);
the public front end refuses every request, as Azure ML's does for an endpoint whose public
network access is disabled - so a request that DNS sent to a public address shows it.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from urllib.parse import urlsplit

from netverify.facts import SERVING_STATES
from netverify.sim.arm_state import scoring_uri
from netverify.sim.scenario import OnlineEndpointSpec, Scenario

PUBLIC_DENIED_MESSAGE = (
    "Public network access is disabled for this endpoint: send requests through its private "
    "endpoint."
)
NO_DEPLOYMENT_MESSAGE = (
    "No valid deployments to route to. Please check that the endpoint has at least one "
    "deployment with positive weight values or use a deployment specific header to route."
)
GARBAGE = b"\x16\x03 this is not HTTP\r\n\r\n"


def http_answer(status: int, message: str, headers: dict[str, str] | None = None) -> bytes:
    """A whole HTTP/1.1 answer with a JSON body ``{"message": ...}``."""
    body = json.dumps({"message": message}).encode()
    lines = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def public_answer(host: str, path: str) -> bytes:
    """The public front end: 403 to everything."""
    return http_answer(403, PUBLIC_DENIED_MESSAGE)


def scoring_host(scenario: Scenario, ep: OnlineEndpointSpec) -> str | None:
    uri = scoring_uri(scenario, ep)
    return (urlsplit(uri).hostname or "").lower() if uri else None


class PrivateFrontEnd:
    """Answers by host: each endpoint's as its spec says; an unknown host gets 404."""

    def __init__(self, scenario: Scenario) -> None:
        self.by_host = {
            host: ep
            for ep in scenario.online_endpoints
            if (host := scoring_host(scenario, ep)) is not None
        }

    def __call__(self, host: str, path: str) -> bytes | None:
        ep = self.by_host.get(host)
        if ep is None:
            return http_answer(404, f"no endpoint is scored at {host}")
        answer = ep.scoring if ep.scoring is not None else _default(ep)
        if answer == "garbage":
            return GARBAGE
        if answer == "silent":
            return None
        headers = {}
        if ep.bandwidth_delay_ms is not None:
            headers = {
                "ms-azureml-bandwidth-request-delay-ms": str(ep.bandwidth_delay_ms),
                "ms-azureml-bandwidth-response-delay-ms": str(ep.bandwidth_delay_ms),
            }
        if answer == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="azureml"'
        if answer == 424:
            headers["ms-azureml-model-error-statuscode"] = "500"
            headers["ms-azureml-model-error-reason"] = "model_error"
        if answer == 200:
            return http_answer(200, f"swagger of {ep.name}", headers)
        message = NO_DEPLOYMENT_MESSAGE if answer == 404 else HTTPStatus(answer).phrase
        return http_answer(answer, message, headers)


def _default(ep: OnlineEndpointSpec) -> int:
    """401 (a K8S router's swagger: 200) with a serving deployment (Succeeded, or Updating /
    Scaling with its instances still up: ``facts.SERVING_STATES``) taking traffic; else 404."""
    serving = {
        d.name.lower() for d in ep.deployments if d.provisioning_state.lower() in SERVING_STATES
    }
    live = any(w > 0 and n.lower() in serving for n, w in ep.traffic.items())
    if not live:
        return 404
    return 200 if ep.kind == "K8S" else 401
