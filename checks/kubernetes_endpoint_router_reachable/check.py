"""Each Kubernetes online endpoint's host resolves from this VNet, and its inference router
(azureml-fe) serves the endpoint's swagger document."""

from collections.abc import Iterator

from netverify.checklib.catalog import load_meta
from netverify.checklib.scoring import (
    command_names,
    no_answer,
    not_contacted,
    observed,
    probes_of,
)
from netverify.facts import Facts, ScoringProbe
from netverify.model import Evidence, Finding, Status

META = load_meta(__file__)

# The router answered for the endpoint: its document, or a request for a key.
ANSWERED = frozenset({200, 401})


def evaluate(facts: Facts) -> Iterator[Finding]:
    for probe in probes_of(facts.dns, kubernetes=True):
        yield not_contacted(META, probe) or _judge(probe)


def _judge(probe: ScoringProbe) -> Finding:
    answer = probe.answer
    evidence = Evidence(observed(answer), {"status": sorted(ANSWERED)})
    name = probe.endpoint_name
    if answer.status in ANSWERED:
        return Finding(
            META,
            Status.PASS,
            probe.endpoint_id,
            f"Kubernetes endpoint {name}: the inference router at {answer.host} "
            f"({answer.address}) answers its swagger document with {answer.status}.",
            evidence,
        )
    if answer.status is None:
        why = no_answer(answer)
    elif answer.status == 404:
        why = f"the inference router at {answer.address} answers 404: it knows no endpoint {name}"
    else:
        why = f"the inference router at {answer.address} answers {answer.status} {answer.reason}"
    # A Kubernetes host is no private endpoint's name: no DNS check judges it, so its failure
    # is its own root cause.
    return Finding(
        META,
        Status.FAIL,
        probe.endpoint_id,
        f"Kubernetes endpoint {name} cannot be scored from this VNet: {why.rstrip()}.",
        evidence,
        META.remediation(**command_names(probe)),
    )
