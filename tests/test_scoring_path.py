"""The scoring path probe end to end: the simulated ARM, the real DNS servers (BIND) and the
simulated scoring front ends on loopback. The chain scenario holds one managed endpoint per
answer class of the guide's status-code table and two Kubernetes endpoints; a small scenario
with a custom BIND server covers an IP-literal host, a mixed-case host, an endpoint without a
scoringUri yet, garbage, silence and the probe switched off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netverify.diagnose import problems
from netverify.model import Finding, Status
from netverify.runner import run_once
from netverify.sim.scenario import builtin_scenario, parse_scenario
from netverify.sim.scoring import NO_DEPLOYMENT_MESSAGE, PUBLIC_DENIED_MESSAGE
from netverify.sim.tenant import SimulatedTenant
from tests.conftest import TenantFactory

SCORING = "online_endpoint_scoring_path_reachable"
ROUTER = "kubernetes_endpoint_router_reachable"
SUFFIX = "eastus.inference.ml.azure.com"


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Finding]]:
    """One run of the chain scenario (its DNS: Azure DNS and the host's stale cache)."""
    workdir: Path = tmp_path_factory.mktemp("chain")
    with (
        pytest.MonkeyPatch.context() as patch,
        SimulatedTenant(builtin_scenario("chain"), workdir, custom_dns="bind") as tenant,
    ):
        for key, value in tenant.credential_environment.items():
            patch.setenv(key, value)
        yield list(run_once(tenant.config()).findings)


def one(findings: list[Finding], check: str, endpoint: str) -> Finding:
    [found] = [
        f for f in findings if f.check.id == check and f.resource_id.endswith(f"/{endpoint}")
    ]
    return found


def by_uid(findings: list[Finding], check: str, resource: str) -> str:
    [found] = [
        f
        for f in findings
        if f.check.id == check and f.status is Status.FAIL and resource in f.resource_id
    ]
    return found.uid


def request(observed: dict[str, Any]) -> dict[str, Any]:
    """The evidence without what differs per run (the loopback port, the time taken)."""
    assert observed["connected_to"].startswith("127.0.0.1:") or observed["connected_to"] == ""
    assert observed["latency_ms"] >= 0
    return {k: v for k, v in observed.items() if k not in {"connected_to", "latency_ms"}}


def json_body(message: str) -> str:
    return '{"message": "' + message + '"}'


def test_401_is_the_private_path_working_with_bandwidth_delays_reported(
    chain: list[Finding],
) -> None:
    """ep-score-ok answers 401 at its private endpoint: pass, the delay headers in evidence."""
    finding = one(chain, SCORING, "ep-score-ok")

    assert finding.status is Status.PASS
    assert finding.evidence is not None
    assert {
        "url": f"https://ep-score-ok.{SUFFIX}/score",
        "host": f"ep-score-ok.{SUFFIX}",
        "address": "10.20.1.7",
        "resolver": "host",
        "status": 401,
        "reason": "Unauthorized",
        "headers": {
            "content-type": "application/json",
            "www-authenticate": 'Bearer realm="azureml"',
            "ms-azureml-bandwidth-request-delay-ms": "12",
            "ms-azureml-bandwidth-response-delay-ms": "12",
        },
        "body": json_body("Unauthorized"),
        "failure": None,
        "detail": "",
        "verify_code": 0,
        "verify_message": "",
        "bandwidth_delay_ms": {"request": "12", "response": "12"},
    } == request(dict(finding.evidence.observed))
    assert finding.evidence.expected == {"status": 401}
    assert "bandwidth-limit delays" in finding.message


def test_a_healthy_endpoint_passes_without_delays(chain: list[Finding]) -> None:
    finding = one(chain, SCORING, "ep-chain")

    assert finding.status is Status.PASS
    assert finding.evidence is not None
    assert finding.evidence.observed["bandwidth_delay_ms"] == {}
    assert "bandwidth" not in finding.message


@pytest.mark.parametrize(
    ("status", "reason", "meaning"),
    [
        (408, "Request Timeout", "request_settings.request_timeout_ms"),
        (424, "Failed Dependency", "model error"),
        (429, "Too Many Requests", "max_concurrent_requests_per_instance"),
        (502, "Bad Gateway", "score.py's run() raised or crashed"),
        (503, "Service Unavailable", "autoscale"),
        (504, "Gateway Timeout", "score.py too slow"),
    ],
)
def test_each_status_of_the_guide_is_named_as_its_own_root_cause(
    chain: list[Finding], status: int, reason: str, meaning: str
) -> None:
    finding = one(chain, SCORING, f"ep-score-{status}")

    assert finding.status is Status.FAIL
    assert finding.caused_by == () and finding.needs == frozenset()
    assert f"answers {status} {reason}: " in finding.message and meaning in finding.message
    assert finding.evidence is not None
    observed = request(dict(finding.evidence.observed))
    assert (observed["status"], observed["reason"], observed["body"]) == (
        status,
        reason,
        json_body(reason),
    )
    assert observed["address"] == "10.20.1.7" and observed["failure"] is None
    assert finding.remediation is not None
    assert f"--endpoint-name ep-score-{status} " in (finding.remediation.command or "")


def test_a_424_reports_the_model_error_headers(chain: list[Finding]) -> None:
    finding = one(chain, SCORING, "ep-score-424")

    assert finding.evidence is not None
    assert finding.evidence.observed["headers"] == {
        "content-type": "application/json",
        "ms-azureml-model-error-statuscode": "500",
        "ms-azureml-model-error-reason": "model_error",
    }


def test_public_denied_means_the_request_left_the_vnet_and_folds_under_dns(
    chain: list[Finding],
) -> None:
    """The host's stale cache gives ep-score-public's public address: the public front end
    refuses it, and the finding follows from the host resolver's wrong answer."""
    finding = one(chain, SCORING, "ep-score-public")
    host = f"ep-score-public.{SUFFIX}"

    assert finding.status is Status.FAIL
    assert finding.evidence is not None
    observed = request(dict(finding.evidence.observed))
    assert (observed["address"], observed["resolver"], observed["status"]) == (
        "52.160.200.1",
        "host",
        403,
    )
    assert observed["body"] == json_body(PUBLIC_DENIED_MESSAGE)
    assert "the request left the VNet" in finding.message
    assert finding.caused_by == (by_uid(chain, "dns_host_resolver_matches_vnet", host),)
    assert finding.remediation is not None
    assert finding.remediation.command == f"nslookup {host}"


def test_404_folds_under_the_endpoint_without_traffic(chain: list[Finding]) -> None:
    finding = one(chain, SCORING, "ep-score-404")

    assert finding.status is Status.FAIL
    assert finding.evidence is not None
    assert finding.evidence.observed["status"] == 404
    assert finding.evidence.observed["body"] == json_body(NO_DEPLOYMENT_MESSAGE)
    assert "no valid deployment with positive traffic" in finding.message
    traffic = by_uid(chain, "online_endpoint_traffic_to_succeeded_deployment", "/ep-score-404")
    assert finding.caused_by == (traffic,)


def test_tls_name_mismatch_is_named_and_folds_under_the_tls_finding(
    chain: list[Finding],
) -> None:
    finding = one(chain, SCORING, "ep-score-tls")
    host = f"ep-score-tls.{SUFFIX}"

    assert finding.status is Status.FAIL
    assert finding.evidence is not None
    observed = request(dict(finding.evidence.observed))
    assert (observed["status"], observed["failure"], observed["verify_code"]) == (None, "tls", 62)
    assert host in observed["verify_message"]
    assert "TLS name mismatch" in finding.message
    assert finding.caused_by == (by_uid(chain, "privateendpoint_tls_reachable", host),)


def test_kubernetes_router_that_answers_swagger_passes(chain: list[Finding]) -> None:
    finding = one(chain, ROUTER, "ep-k8s")

    assert finding.status is Status.PASS
    assert finding.evidence is not None
    observed = request(dict(finding.evidence.observed))
    assert observed == {
        "url": "https://ep-k8s.inference.corp.example/api/v1/endpoint/ep-k8s/swagger.json",
        "host": "ep-k8s.inference.corp.example",
        "address": "10.20.2.10",
        "resolver": "host",
        "status": 200,
        "reason": "OK",
        "headers": {"content-type": "application/json"},
        "body": json_body("swagger of ep-k8s"),
        "failure": None,
        "detail": "",
        "verify_code": 0,
        "verify_message": "",
        "bandwidth_delay_ms": {},
    }
    # A Kubernetes endpoint is the router check's, not the managed scoring check's.
    assert not [f for f in chain if f.check.id == SCORING and f.resource_id.endswith("/ep-k8s")]


def test_kubernetes_host_that_does_not_resolve_is_its_own_root_cause(
    chain: list[Finding],
) -> None:
    finding = one(chain, ROUTER, "ep-k8s-lost")

    assert finding.status is Status.FAIL and finding.caused_by == ()
    assert finding.evidence is not None
    observed = request(dict(finding.evidence.observed))
    assert (observed["address"], observed["status"], observed["failure"]) == (
        None,
        None,
        "unresolved",
    )
    assert observed["detail"] == "host: NXDOMAIN"
    assert finding.message == (
        "Kubernetes endpoint ep-k8s-lost cannot be scored from this VNet: "
        "ep-k8s-lost.inference.corp.example does not resolve (host: NXDOMAIN)."
    )


# --- a small tenant whose VNet uses a custom BIND server -----------------------------------------


def small(*endpoints: dict[str, Any]) -> dict[str, Any]:
    return {
        "subscriptions": ["1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d"],
        "default_location": "eastus",
        "vnets": [
            {
                "name": "vnet-a",
                "address_space": ["10.30.0.0/16"],
                "dns_servers": ["10.30.0.4"],
                "subnets": ["pe"],
            }
        ],
        "workspaces": [
            {
                "name": "mlw-a",
                "guid": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4e",
                "private_endpoints": ["pe-a"],
            }
        ],
        "private_endpoints": [
            {
                "name": "pe-a",
                "vnet": "vnet-a",
                "subnet": "pe",
                "target": "mlw-a",
                "group_id": "amlworkspace",
                "ip": "10.30.1.5",
                "scoring_ip": "10.30.1.7",
            }
        ],
        "online_endpoints": [
            {"workspace": "mlw-a", "traffic": {"blue": 100}, "deployments": [{"name": "blue"}]} | e
            for e in endpoints
        ],
        "private_dns_zones": [
            {"service": "aml_api", "links": [{"name": "link", "vnet": "vnet-a"}]},
            {"service": "aml_notebooks", "links": [{"name": "link", "vnet": "vnet-a"}]},
        ],
        "dns": {"custom_servers": [{"address": "10.30.0.4"}]},
    }


def run_small(
    start_tenant: TenantFactory, *endpoints: dict[str, Any], **sections: Any
) -> list[Finding]:
    tenant = start_tenant(parse_scenario(small(*endpoints), "test"), custom_dns="bind")
    return list(run_once(tenant.config(**sections)).findings)


def test_garbage_and_silence_are_classified_never_raised(start_tenant: TenantFactory) -> None:
    """A front end that answers no HTTP and one that says nothing within the timeout: each a
    fail of its own (the path up to TLS works), within the configured timeout."""
    findings = run_small(
        start_tenant,
        {"name": "ep-garbage", "scoring": "garbage"},
        {"name": "ep-silent", "scoring": "silent"},
        scoring={"timeout_seconds": 0.5},
    )
    garbage, silent = one(findings, SCORING, "ep-garbage"), one(findings, SCORING, "ep-silent")

    assert garbage.evidence is not None and silent.evidence is not None
    assert (garbage.status, garbage.evidence.observed["failure"]) == (Status.FAIL, "malformed")
    assert garbage.evidence.observed["detail"] == (
        "not an HTTP answer: '\\x16\\x03 this is not HTTP\\r\\n\\r\\n'"
    )
    assert garbage.caused_by == () and garbage.needs == frozenset()
    assert (silent.status, silent.evidence.observed["failure"]) == (Status.FAIL, "timeout")
    assert silent.evidence.observed["detail"] == "no HTTP answer within 0.5s"
    assert 400 <= silent.evidence.observed["latency_ms"] < 3000
    assert "the request timed out at 10.30.1.7" in silent.message


def test_ip_literal_mixed_case_host_and_no_scoring_uri(start_tenant: TenantFactory) -> None:
    """An IP-literal Kubernetes host needs no DNS and passes; a mixed-case one that no record
    names is resolved (lower-case) through BIND and fails; an endpoint still Creating has no
    scoringUri and is not requested; the managed endpoint's 401 came through the custom
    server."""
    findings = run_small(
        start_tenant,
        {"name": "ep-managed"},
        {"name": "ep-new", "provisioning_state": "Creating"},
        {"name": "ep-ip", "kind": "K8S", "scoring_host": "10.30.2.20"},
        {"name": "ep-lost", "kind": "K8S", "scoring_host": "EP-Lost.Corp.Example"},
    )
    managed, ip = one(findings, SCORING, "ep-managed"), one(findings, ROUTER, "ep-ip")
    lost = one(findings, ROUTER, "ep-lost")

    assert managed.status is Status.PASS and managed.evidence is not None
    assert managed.evidence.observed["resolver"] == "host"
    assert ip.status is Status.PASS and ip.evidence is not None
    assert (ip.evidence.observed["address"], ip.evidence.observed["resolver"]) == (
        "10.30.2.20",
        "",
    )
    assert lost.status is Status.FAIL and lost.evidence is not None
    assert lost.evidence.observed["host"] == "ep-lost.corp.example"
    assert lost.evidence.observed["failure"] == "unresolved"
    assert lost.evidence.observed["detail"] == "host: NXDOMAIN"
    assert not [
        f for f in findings if f.resource_id.endswith("/ep-new") and f.check.id in {SCORING, ROUTER}
    ]


def test_the_probe_switched_off_requests_nothing(start_tenant: TenantFactory) -> None:
    findings = run_small(
        start_tenant,
        {"name": "ep-managed", "scoring": 503},
        {"name": "ep-ip", "kind": "K8S", "scoring_host": "10.30.2.20"},
        scoring={"enabled": False},
    )

    assert not [f for f in findings if f.check.id in {SCORING, ROUTER}]
    # The run judged the endpoints all the same (a run that judged nothing would pass above).
    assert {"ep-managed", "ep-ip"} <= {
        f.resource_id.rsplit("/", 1)[-1]
        for f in findings
        if f.check.id == "online_endpoint_traffic_to_succeeded_deployment"
    }


def test_a_deployment_that_is_updating_or_scaling_still_serves(start_tenant: TenantFactory) -> None:
    """Autoscale (Scaling) and an update (Updating) keep the running instances answering: the
    scoring path passes with 401 (the real-world case H08's kind); a Failed deployment with the
    same traffic gets 404."""
    findings = run_small(
        start_tenant,
        {"name": "ep-scaling", "deployments": [{"name": "blue", "provisioning_state": "Scaling"}]},
        {
            "name": "ep-updating",
            "deployments": [{"name": "blue", "provisioning_state": "Updating"}],
        },
        {"name": "ep-failed", "deployments": [{"name": "blue", "provisioning_state": "Failed"}]},
    )
    statuses = {}
    for name in ("ep-scaling", "ep-updating", "ep-failed"):
        finding = one(findings, SCORING, name)
        assert finding.evidence is not None
        statuses[name] = (finding.status, request(dict(finding.evidence.observed))["status"])

    assert {
        "ep-scaling": (Status.PASS, 401),
        "ep-updating": (Status.PASS, 401),
        "ep-failed": (Status.FAIL, 404),
    } == statuses


def test_a_request_to_an_endpoint_whose_connection_is_pending_folds_under_the_connection(
    start_tenant: TenantFactory,
) -> None:
    """The workspace's private endpoint connection is Pending (never approved): Private Link
    drops the scoring request's TCP connection to 10.30.1.7 - a symptom of the connection (the
    real-world case H19's kind, there Rejected), one problem in all."""
    scenario = small({"name": "ep-a"})
    scenario["private_endpoints"][0]["status"] = "Pending"
    tenant = start_tenant(parse_scenario(scenario, "test"), custom_dns="bind")
    findings = list(run_once(tenant.config()).findings)
    scoring = one(findings, SCORING, "ep-a")
    [connection] = [
        f
        for f in findings
        if f.check.id == "privateendpoint_connection_approved" and f.status is Status.FAIL
    ]

    assert scoring.status is Status.FAIL and scoring.evidence is not None
    assert (scoring.evidence.observed["failure"], scoring.evidence.observed["address"]) == (
        "connect",
        "10.30.1.7",
    )
    assert (connection.uid,) == scoring.caused_by
    assert [connection.uid] == [p.lead.uid for p in problems(findings)]


def test_an_address_outside_the_mapped_world_is_not_requested_and_not_judged(
    start_tenant: TenantFactory,
) -> None:
    """The address map names every IP of the world but the Kubernetes cluster IP 10.30.2.20:
    the probe sends nothing there and the router check says so (skipped), neither a pass nor a
    network failure it never observed (the real-world case H03's kind, there an endpoint the
    world records only in ARM); the managed endpoint beside it is requested and passes."""
    tenant = start_tenant(
        parse_scenario(
            small({"name": "ep-a"}, {"name": "ep-ip", "kind": "K8S", "scoring_host": "10.30.2.20"}),
            "test",
        ),
        custom_dns="bind",
    )
    mapped = dict(tenant.config_document()["reachability"]["address_map"])
    del mapped["10.30.2.20"]
    findings = list(run_once(tenant.config(reachability={"address_map": mapped})).findings)
    router = one(findings, ROUTER, "ep-ip")

    assert router.status is Status.SKIPPED and router.evidence is not None
    assert (
        "Endpoint ep-ip was not requested at 10.30.2.20: 10.30.2.20 is not in "
        "reachability.address_map: not contacted." == router.message
    )
    assert "not_contacted" == router.evidence.observed["failure"]
    assert Status.PASS is one(findings, SCORING, "ep-a").status
