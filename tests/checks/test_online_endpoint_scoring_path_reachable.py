"""online_endpoint_scoring_path_reachable and kubernetes_endpoint_router_reachable, judged from
hand-built scoring probes (no I/O; tests/test_scoring_path.py drives a real endpoint on loopback)."""

from __future__ import annotations

import pytest

from netverify.facts import HttpAnswer, HttpFailure
from netverify.model import Link, Status
from netverify.testing import (
    AZURE,
    CUSTOM,
    HOST,
    dns_answer,
    dns_facts,
    endpoint,
    expected_name,
    only_finding,
    scoring_probe,
)

CHECK_ID = "online_endpoint_scoring_path_reachable"
ROUTER_ID = "kubernetes_endpoint_router_reachable"
SCORING = "ep-test.eastus.inference.ml.azure.com"
URL = f"https://{SCORING}/score"
EP_ID = endpoint().id
SHOW = (
    "az ml online-endpoint show --name ep-test --subscription 00000000-1111-2222-3333-444444444444 --resource-group rg-test --workspace-name "
    "mlw-test --query traffic"
)


def answer(status: int | None, reason: str = "", **fields: object) -> HttpAnswer:
    values: dict[str, object] = {
        "address": "10.0.1.7",
        "resolver": HOST,
        "target": "10.0.1.7:443",
        "status": status,
        "reason": reason,
    }
    values.update(fields)
    return HttpAnswer(URL, SCORING, **values)  # type: ignore[arg-type]


def judged(got: HttpAnswer, *, kubernetes: bool = False, answers=()):  # type: ignore[no-untyped-def]
    world = dns_facts(
        list(answers),
        names=[expected_name(SCORING, ips=("10.0.1.7",), record="ep-test.eastus")],
        scoring=[scoring_probe(got, kubernetes=kubernetes)],
    )
    return only_finding(ROUTER_ID if kubernetes else CHECK_ID, world)


@pytest.mark.parametrize(
    ("status", "reason", "meaning"),
    [
        (
            408,
            "Request Timeout",
            "request timeout: the model ran longer than request_settings.request_timeout_ms",
        ),
        (
            424,
            "Failed Dependency",
            "model error: the model container answered non-200 (see the "
            "ms-azureml-model-error-statuscode and ms-azureml-model-error-reason headers)",
        ),
        (
            429,
            "Too Many Requests",
            "too many requests: more pending requests than the "
            "deployment's 2 * max_concurrent_requests_per_instance * instance_count, or the "
            "endpoint's rate limit",
        ),
        (502, "Bad Gateway", "bad gateway: score.py's run() raised or crashed"),
        (
            503,
            "Service Unavailable",
            "service unavailable: requests per second rose faster than autoscale adds replicas",
        ),
        (
            504,
            "Gateway Timeout",
            "gateway timeout: the request timed out (score.py too slow or not responding)",
        ),
        (500, "Internal Server Error", "an answer the guide's table does not list"),
        (418, "", "an answer the guide's table does not list"),
    ],
)
def test_each_status_of_the_guide_says_its_meaning(status: int, reason: str, meaning: str) -> None:
    """Each status of the guide's table (and one it does not list, with and without a reason
    phrase) fails with the guide's words and the scoring remedy."""
    finding = judged(answer(status, reason))

    assert (Status.FAIL, EP_ID, frozenset()) == (finding.status, finding.resource_id, finding.needs)
    spoken = f"{status} {reason}" if reason else f"{status}"
    assert finding.message == (
        f"Scoring endpoint ep-test ({SCORING} at 10.0.1.7) answers {spoken}: {meaning}."
    )
    assert {"status": 401} == finding.evidence.expected
    assert finding.remediation is not None and finding.remediation.command is not None


def test_a_403_of_the_public_front_end_follows_from_the_answer_that_gave_the_address() -> None:
    """A 403 saying Public Network Access (any case) is disabled: the request left the VNet;
    the finding follows from the resolvers that answered that public address, and the record."""
    public = answer(
        403,
        "Forbidden",
        address="20.1.2.3",
        resolver="",
        body="Public Network Access is disabled for this endpoint.",
    )
    answers = [
        dns_answer(HOST, ("20.1.2.3",), fqdn=SCORING),
        dns_answer(CUSTOM, ("10.0.1.7",), fqdn=SCORING),
        dns_answer(AZURE, ("20.1.2.3",), fqdn=SCORING),
    ]

    finding = judged(public, answers=answers)

    assert Status.FAIL is finding.status
    assert finding.message == (
        f"Scoring endpoint ep-test: the request left the VNet - {SCORING} resolved to 20.1.2.3 "
        "(via no resolver), whose front end answers 403, public network access is disabled. DNS "
        "gave the public address, not the workspace's private endpoint."
    )
    assert (
        frozenset({Link.record(SCORING), Link.answer(SCORING, HOST), Link.answer(SCORING, AZURE)})
        == finding.needs
    )
    assert (f"nslookup {SCORING}", "") == (
        finding.remediation.command,
        finding.evidence.observed["resolver"],
    )


@pytest.mark.parametrize("body", ["", "Key based authentication is not permitted"])
def test_another_403_is_no_public_answer(body: str) -> None:
    """A 403 without the public-access words is the front end's own answer."""
    finding = judged(answer(403, "Forbidden", body=body))

    assert finding.message == (
        f"Scoring endpoint ep-test ({SCORING} at 10.0.1.7) answers 403 Forbidden: an answer the "
        "guide's table does not list."
    )


def test_a_404_follows_from_the_endpoint_without_traffic() -> None:
    """404: no valid deployment with traffic; the traffic check's link, its show command."""
    finding = judged(answer(404, "Not Found"))

    assert finding.message == (
        f"Scoring endpoint ep-test ({SCORING} at 10.0.1.7) answers 404: the endpoint has no "
        "valid deployment with positive traffic."
    )
    assert (SHOW, frozenset({Link.resource(EP_ID)})) == (finding.remediation.command, finding.needs)


@pytest.mark.parametrize(
    ("failure", "code", "detail", "words"),
    [
        (
            HttpFailure.CONNECT,
            0,
            "timed out after 3s",
            "the TCP connection failed at 10.0.1.7: timed out after 3s",
        ),
        (HttpFailure.TLS, 0, "EOF", "the TLS handshake failed at 10.0.1.7: EOF"),
        (
            HttpFailure.TLS,
            20,
            "unable to get local issuer certificate",
            "the TLS handshake failed at 10.0.1.7: unable to get local issuer certificate",
        ),
        (
            HttpFailure.TIMEOUT,
            0,
            "no answer in 10s",
            "the request timed out at 10.0.1.7: no answer in 10s",
        ),
        (
            HttpFailure.MALFORMED,
            0,
            "not HTTP/1.1",
            "the answer is not HTTP at 10.0.1.7: not HTTP/1.1",
        ),
        (
            HttpFailure.TLS,
            62,
            "Hostname mismatch",
            f"TLS name mismatch: the certificate presented at 10.0.1.7 is not valid for {SCORING} (Hostname mismatch)",
        ),
    ],
)
def test_no_answer_says_the_stage_for_both_kinds(
    failure: HttpFailure, code: int, detail: str, words: str
) -> None:
    """No HTTP status: the stage that failed, for a managed endpoint and a Kubernetes router."""
    got = answer(None, failure=failure, detail=detail, verify_code=code, verify_message=detail)

    managed = judged(got)
    router = judged(got, kubernetes=True)

    assert managed.message == f"Scoring endpoint ep-test gets no answer from this VNet: {words}."
    assert router.message == (
        f"Kubernetes endpoint ep-test cannot be scored from this VNet: {words}."
    )
    assert (Status.FAIL, Status.FAIL) == (managed.status, router.status)


def test_an_unresolved_name_follows_from_the_answers_without_an_address() -> None:
    """The host does not resolve: needs the record and each resolver that answered nothing."""
    got = answer(None, address=None, target="", failure=HttpFailure.UNRESOLVED, detail="NXDOMAIN")
    answers = [
        dns_answer(HOST, (), fqdn=SCORING, rcode="NXDOMAIN", chain=()),
        dns_answer(CUSTOM, ("10.0.1.7",), fqdn=SCORING),
    ]

    finding = judged(got, answers=answers)

    assert finding.message == (
        f"Scoring endpoint ep-test gets no answer from this VNet: {SCORING} does not resolve "
        "(NXDOMAIN)."
    )
    assert frozenset({Link.record(SCORING), Link.answer(SCORING, HOST)}) == finding.needs


def test_a_pass_rounds_latency_and_gives_the_bandwidth_delays() -> None:
    """401 with both bandwidth-delay headers: pass, naming the delays; latency to 0.1 ms."""
    headers = {
        "ms-azureml-bandwidth-request-delay-ms": "5",
        "ms-azureml-bandwidth-response-delay-ms": "7",
    }
    finding = judged(answer(401, "Unauthorized", headers=headers, latency_ms=3.46))

    assert (Status.PASS, 3.5, {"request": "5", "response": "7"}) == (
        finding.status,
        finding.evidence.observed["latency_ms"],
        finding.evidence.observed["bandwidth_delay_ms"],
    )
    assert finding.message == (
        f"Scoring endpoint ep-test ({SCORING} at 10.0.1.7) answers a request without a key with "
        "401: the private scoring path works end to end (bandwidth-limit delays, ms: "
        "{'request': '5', 'response': '7'})."
    )


@pytest.mark.parametrize(
    ("status", "reason", "why"),
    [
        (
            404,
            "Not Found",
            "the inference router at 10.0.1.7 answers 404: it knows no endpoint ep-test",
        ),
        (
            405,
            "Method Not Allowed",
            "the inference router at 10.0.1.7 answers 405 Method Not Allowed",
        ),
        (503, "", "the inference router at 10.0.1.7 answers 503"),
    ],
)
def test_a_router_that_does_not_answer_the_swagger_document(
    status: int, reason: str, why: str
) -> None:
    """A Kubernetes router's 404 means it knows no such endpoint; other statuses are named."""
    finding = judged(answer(status, reason), kubernetes=True)

    assert (Status.FAIL, EP_ID) == (finding.status, finding.resource_id)
    assert finding.message == f"Kubernetes endpoint ep-test cannot be scored from this VNet: {why}."


@pytest.mark.parametrize("kubernetes", [False, True], ids=["managed", "kubernetes"])
def test_a_request_not_sent_is_skipped_with_the_full_request_evidence(kubernetes: bool) -> None:
    """The address lies outside the mapped world: nothing was sent, so neither check judges;
    the skip still shows the request as recorded."""
    got = answer(
        None,
        address="10.9.0.4",
        target="",
        failure=HttpFailure.NOT_CONTACTED,
        detail="10.9.0.4 is outside the address map",
        latency_ms=0.04,
    )

    finding = judged(got, kubernetes=kubernetes)

    assert (Status.SKIPPED, EP_ID) == (finding.status, finding.resource_id)
    assert finding.message == (
        "Endpoint ep-test was not requested at 10.9.0.4: 10.9.0.4 is outside the address map."
    )
    assert {
        "url": URL,
        "host": SCORING,
        "address": "10.9.0.4",
        "resolver": HOST,
        "connected_to": "",
        "status": None,
        "reason": "",
        "headers": {},
        "body": "",
        "failure": "not_contacted",
        "detail": "10.9.0.4 is outside the address map",
        "verify_code": 0,
        "verify_message": "",
        "latency_ms": 0.0,
        "bandwidth_delay_ms": {},
    } == finding.evidence.observed
    assert {} == finding.evidence.expected


@pytest.mark.parametrize(
    ("failure", "needs"),
    [
        (
            HttpFailure.CONNECT,
            {Link.transport(SCORING, "10.0.1.7"), Link.address("10.0.1.7")},
        ),
        (HttpFailure.TLS, {Link.transport(SCORING, "10.0.1.7")}),
        (HttpFailure.TIMEOUT, set()),
        (HttpFailure.MALFORMED, set()),
    ],
)
def test_what_a_request_without_an_answer_follows_from(
    failure: HttpFailure, needs: set[str]
) -> None:
    """At the endpoint's own address: a failed TCP connection follows from the transport and
    from Private Link carrying the address; a failed handshake from the transport alone; a
    timeout or garbage after TLS from nothing else (the front end's own)."""
    finding = judged(answer(None, failure=failure, detail="x"))

    assert (Status.FAIL, frozenset(needs)) == (finding.status, finding.needs)
