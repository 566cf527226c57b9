"""Holding findings to their check's evidence schema (``checks/<id>/evidence.schema.json``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache
from typing import Any

import jsonschema

from netverify.checklib.catalog import checks_dir, evidence_schema
from netverify.facts import Facts
from netverify.model import Finding


@cache
def _validator(check_id: str) -> jsonschema.Draft202012Validator:
    schema = evidence_schema(checks_dir() / check_id)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def evidence_json(finding: Finding) -> dict[str, Any] | None:
    """The finding's evidence as its event carries it (``sinks.events.to_event``), through JSON."""
    if not finding.evidence:
        return None
    evidence = {
        "observed": dict(finding.evidence.observed),
        "expected": dict(finding.evidence.expected),
    }
    loaded: dict[str, Any] = json.loads(json.dumps(evidence))
    return loaded


def builder_answer(
    addresses: Sequence[str] = (), *, rcode: str = "NOERROR", chain: Sequence[str] = ()
) -> dict[str, Any]:
    """One DNS answer in evidence (``checklib.dns.answer_detail``) as the ``netverify.testing``
    builders record it: from 10.0.0.4:53 over UDP in 1 ms, not authoritative, no SOA zone."""
    return {
        "server": "10.0.0.4:53",
        "rcode": rcode,
        "authoritative": False,
        "soa_zone": None,
        "cname_chain": list(chain),
        "addresses": list(addresses),
        "transport": "udp",
        "latency_ms": 1.0,
    }


def evidence_errors(check_id: str, evidence: object) -> list[str]:
    """Where ``evidence`` (JSON form) breaks ``check_id``'s schema: one line per error, naming
    the path; empty when it fits."""
    return [
        f"{check_id}: evidence{''.join(f'[{p!r}]' for p in e.absolute_path)}: {e.message}"
        for top in _validator(check_id).iter_errors(evidence)
        for e in _leaves(top)
    ]


def _leaves(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """For "not valid under any of the given schemas", the errors of the branch the evidence
    came closest to - whose errors lie deepest, then the fewest - so the message names the key."""
    if not error.context:
        return [error]
    branches: dict[object, list[jsonschema.ValidationError]] = {}
    for e in error.context:
        branches.setdefault(e.relative_schema_path[0], []).append(e)
    closest = max(
        branches.values(), key=lambda es: (min(len(e.absolute_path) for e in es), -len(es))
    )
    return [leaf for e in closest for leaf in _leaves(e)]


def validating(
    check_id: str, evaluate: Callable[[Facts], Iterable[Finding]], violations: list[str]
) -> Callable[[Facts], Iterator[Finding]]:
    """``evaluate`` that also notes in ``violations`` every finding whose evidence breaks the
    schema, and raises (a runner turns that into a crash finding; the note stays)."""

    def checked(facts: Facts) -> Iterator[Finding]:
        for finding in evaluate(facts):
            errors = evidence_errors(check_id, evidence_json(finding))
            if errors:
                violations.extend(f"{e} (finding {finding.resource_id})" for e in errors)
                raise AssertionError("\n".join(errors))
            yield finding

    return checked
