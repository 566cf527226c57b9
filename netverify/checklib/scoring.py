"""What the scoring-path checks share: the evidence of one request, and what a request that
got no HTTP answer follows from (``Finding.needs``)."""

from __future__ import annotations

from typing import Any

from netverify.azure.arm_ids import cli_subscription, name_of, resource_group_of
from netverify.checklib.dns import wrong_address_needs, wrong_answer_needs
from netverify.facts import DnsFacts, HttpAnswer, HttpFailure, ScoringProbe
from netverify.model import CheckMeta, Evidence, Finding, Link, Status

BANDWIDTH_HEADERS = {
    "request": "ms-azureml-bandwidth-request-delay-ms",
    "response": "ms-azureml-bandwidth-response-delay-ms",
}
# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH: the certificate is not for the name asked.
HOSTNAME_MISMATCH = 62


def observed(answer: HttpAnswer) -> dict[str, Any]:
    """The request's evidence, as every scoring finding shows it."""
    delays = {k: answer.headers[h] for k, h in BANDWIDTH_HEADERS.items() if h in answer.headers}
    return {
        "url": answer.url,
        "host": answer.host,
        "address": answer.address,
        "resolver": answer.resolver,
        "connected_to": answer.target,
        "status": answer.status,
        "reason": answer.reason,
        "headers": dict(answer.headers),
        "body": answer.body,
        "failure": answer.failure.value if answer.failure else None,
        "detail": answer.detail,
        "verify_code": answer.verify_code,
        "verify_message": answer.verify_message,
        "latency_ms": round(answer.latency_ms, 1),
        "bandwidth_delay_ms": delays,
    }


def probes_of(dns: DnsFacts | None, *, kubernetes: bool) -> list[ScoringProbe]:
    return [p for p in (dns.scoring if dns is not None else ()) if p.kubernetes is kubernetes]


def not_contacted(meta: CheckMeta, probe: ScoringProbe) -> Finding | None:
    """A skip for a request the probe did not send (its address outside the mapped world,
    ``HttpFailure.NOT_CONTACTED``): no pass or fail is known for a path nobody tried."""
    answer = probe.answer
    if answer.failure is not HttpFailure.NOT_CONTACTED:
        return None
    return Finding(
        meta,
        Status.SKIPPED,
        probe.endpoint_id,
        f"Endpoint {probe.endpoint_name} was not requested at {answer.address}: {answer.detail}.",
        Evidence(observed(answer), {}),
    )


def no_answer(answer: HttpAnswer) -> str:
    """Why there was no HTTP status, in words (``answer.failure`` is set)."""
    if answer.failure is HttpFailure.UNRESOLVED:
        return f"{answer.host} does not resolve ({answer.detail})"
    if answer.failure is HttpFailure.TLS and answer.verify_code == HOSTNAME_MISMATCH:
        return (
            f"TLS name mismatch: the certificate presented at {answer.address} is not valid "
            f"for {answer.host} ({answer.verify_message})"
        )
    stage = {
        HttpFailure.CONNECT: "the TCP connection failed",
        HttpFailure.TLS: "the TLS handshake failed",
        HttpFailure.TIMEOUT: "the request timed out",
        HttpFailure.MALFORMED: "the answer is not HTTP",
    }[answer.failure or HttpFailure.MALFORMED]
    return f"{stage} at {answer.address}: {answer.detail}"


def transport_needs(dns: DnsFacts, answer: HttpAnswer) -> frozenset[str]:
    """A request that got no answer because the name did not resolve follows from the answers
    without an address (and the record behind them); one whose TCP or TLS failed, from the
    transport to that address (privateendpoint_tls_reachable breaks it) - and, at an address
    no private endpoint of the name has, from the answer that gave it. A TCP connection that
    failed also follows from Private Link dropping that address's traffic (its endpoint's
    connection not Approved: privateendpoint_connection_approved breaks it). A timeout or
    garbage after TLS is the front end's own."""
    host = answer.host
    if answer.failure is HttpFailure.UNRESOLVED:
        return wrong_answer_needs(dns, host, lambda a: not a.addresses)
    if answer.failure not in (HttpFailure.CONNECT, HttpFailure.TLS) or answer.address is None:
        return frozenset()
    carried = {Link.address(answer.address)} if answer.failure is HttpFailure.CONNECT else set()
    return frozenset({Link.transport(host, answer.address), *carried}) | wrong_address_needs(
        dns, host, answer.address
    )


def command_names(probe: ScoringProbe) -> dict[str, str]:
    """The names the scoring checks' ``az ml`` templates take."""
    return {
        "endpoint_name": probe.endpoint_name,
        "workspace_name": name_of(probe.workspace_id),
        "subscription": cli_subscription(probe.workspace_id),
        "resource_group": resource_group_of(probe.workspace_id) or "<resource-group>",
        "host": probe.answer.host,
    }
