"""Reading DNS answers out of a finding's evidence, in the shapes DNS findings carry them.

Two shapes are read, both under ``evidence.observed``:

- ``resolutions``: a list of answers, one object per FQDN x resolver, with the raw rcode,
  addresses and CNAME chain (README, "HTML report"), also inside each of ``names: [...]`` (the
  zone and record checks' rows, ``checklib.dns.name_evidence``). Nothing is lost; this is the
  one to emit. A row with rcode ``NOT_ASKED`` is a resolver the agent did not ask: no answer.
- ``resolution``: the DNS checks' one-line summaries, ``{resolver: summary}`` beside an ``fqdn``
  (one row) or ``{fqdn: {resolver: summary}}`` (several rows), also inside each of
  ``names: [...]``. A summary is ``"cname -> cname -> 10.0.1.8,10.0.1.9"``, ``"... -> (no
  address)"``, ``"NXDOMAIN"``, ``"TIMEOUT: why"`` or ``"not asked"``; the resolver's kind is the
  first word of its name (``host``, ``custom 10.0.0.4``, ``azure 168.63.129.16``).

Either way the answers come out as ``resolutions`` objects, each with the workspace it belongs
to (a row's own ``workspace``, else the finding's).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from typing import Any

from netverify.report.event_fields import NO_WORKSPACE, workspaces_of

# The evidence keys that hold DNS answers (shown in the matrix rather than as evidence values).
DNS_ANSWER_KEYS = ("resolutions", "resolution")
NOT_ASKED = "not asked"
UNASKED_RCODE = "NOT_ASKED"  # a ``resolutions`` row of a resolver the agent did not ask
NO_ADDRESS = "(no address)"
_UNANSWERED = re.compile(r"(?P<rcode>[A-Z][A-Z_]*)(?::\s*(?P<detail>.*))?", re.S)


class MalformedResolution(ValueError):
    """DNS answers in a finding's evidence that the matrix cannot read; names where."""


def answers_of(event: Mapping[str, Any]) -> Iterator[tuple[str, str, object]]:
    """``(workspace, where, answer)`` for every DNS answer the event's evidence carries."""
    observed = (event.get("evidence") or {}).get("observed") or {}
    workspaces = workspaces_of(event) or [NO_WORKSPACE]
    where = f"finding {event['check_id']} {event['uid']}: evidence.observed"
    rows = [(observed, where)]
    names = observed.get("names")
    if isinstance(names, list):
        rows += [(n, f"{where}.names[{i}]") for i, n in enumerate(names) if isinstance(n, Mapping)]
    for row, place in rows:
        own = row.get("workspace") if row is not observed else None
        owners = [own] if isinstance(own, str) and own else workspaces
        structured = row.get("resolutions")
        if structured is not None:
            if not isinstance(structured, list):
                raise MalformedResolution(f"{place}.resolutions: expected a list")
            for index, answer in enumerate(structured):
                if isinstance(answer, Mapping) and answer.get("rcode") == UNASKED_RCODE:
                    continue  # an empty cell, as a "not asked" summary is
                for workspace in owners:
                    yield workspace, f"{place}.resolutions[{index}]", answer
        summaries = row.get("resolution")
        if summaries is not None:
            for answer in _from_summaries(row.get("fqdn"), summaries, f"{place}.resolution"):
                for workspace in owners:
                    yield workspace, f"{place}.resolution", answer


def _from_summaries(fqdn: object, summaries: object, place: str) -> Iterator[dict[str, Any]]:
    if not isinstance(summaries, Mapping):
        raise MalformedResolution(f"{place}: expected an object")
    if isinstance(fqdn, str):  # one row: {resolver: summary}
        by_fqdn: Mapping[object, object] = {fqdn: summaries}
    else:  # several rows: {fqdn: {resolver: summary}}
        by_fqdn = summaries
    for name, row in by_fqdn.items():
        if not isinstance(row, Mapping):
            raise MalformedResolution(f"{place}.{name}: expected an object of resolver summaries")
        for resolver, summary in row.items():
            if not isinstance(summary, str):
                raise MalformedResolution(f"{place}.{name}.{resolver}: expected a string")
            if summary != NOT_ASKED:
                yield {"fqdn": name, "resolver": resolver, **parse_summary(str(resolver), summary)}


def parse_summary(resolver: str, summary: str) -> dict[str, Any]:
    """One summary line as a ``resolutions`` answer, without its fqdn."""
    kind = resolver.split(" ", 1)[0]
    *chain, last = summary.split(" -> ")
    if last == NO_ADDRESS or _addresses(last):
        addresses = [] if last == NO_ADDRESS else last.split(",")
        return {
            "resolver_kind": kind,
            "rcode": "NOERROR",
            "addresses": addresses,
            "cname_chain": chain,
        }
    unanswered = _UNANSWERED.fullmatch(summary)
    if chain or unanswered is None:
        raise MalformedResolution(f"{resolver}: cannot read the DNS answer summary {summary!r}")
    return {
        "resolver_kind": kind,
        "rcode": unanswered["rcode"],
        "detail": unanswered["detail"] or "",
    }


def _addresses(text: str) -> bool:
    try:
        return all(ipaddress.ip_address(a) for a in text.split(","))
    except ValueError:
        return False
