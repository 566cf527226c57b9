"""The DNS resolution matrix: FQDN down the side, resolvers across the top, one answer per cell.

The renderer takes the plain structure below. ``matrices_from_events`` builds it from the DNS
answers finding events carry in their evidence (``dns_evidence``; the shape is in the README,
"HTML report"); the report classifies the raw answers itself, so a probe records rcodes and
addresses and never has to decide what "private" means.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from netverify.report.dns_evidence import MalformedResolution, answers_of
from netverify.report.event_fields import NO_WORKSPACE, PROBLEM_STATUSES

# Columns read left to right the way a query travels: the agent's own resolver, the custom DNS
# servers it forwards to, then Azure DNS, which only answers from inside Azure.
RESOLVER_KINDS = ("host", "custom", "azure")


class Outcome(StrEnum):
    """What a cell says; the rcode and addresses are shown next to it."""

    RIGHT = "right"  # private, and every address is one of the name's private endpoint IPs
    STALE = "stale"  # private, but not the private endpoint's IP (an old record)
    OUTSIDE_VNET = "outside-vnet"  # private, outside the agent VNet's address spaces
    PRIVATE = "private"  # private, with no expected IP or address space to judge it by
    PUBLIC = "public"  # at least one public address: the query bypassed the private zone
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"  # the name exists but has no address
    TIMEOUT = "timeout"
    ERROR = "error"  # SERVFAIL, REFUSED, unreachable, or no usable answer


OUTCOME_LABELS = {
    Outcome.RIGHT: "Right",
    Outcome.STALE: "Stale",
    Outcome.OUTSIDE_VNET: "Outside VNet",
    Outcome.PRIVATE: "Private",
    Outcome.PUBLIC: "Public",
    Outcome.NXDOMAIN: "NXDOMAIN",
    Outcome.NODATA: "No address",
    Outcome.TIMEOUT: "Timeout",
    Outcome.ERROR: "Error",
}


@dataclass(frozen=True, slots=True)
class Resolver:
    """One column. ``kind`` is host, custom or azure; ``name`` is what the header shows."""

    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class FindingRef:
    """A finding that a cell's answer explains, for the link from cell to finding."""

    uid: str
    check_id: str
    status: str


@dataclass(frozen=True, slots=True)
class Cell:
    rcode: str  # NOERROR, NXDOMAIN, SERVFAIL, REFUSED, TIMEOUT ...
    addresses: tuple[str, ...] = ()
    cname_chain: tuple[str, ...] = ()
    detail: str = ""  # why there is no answer, e.g. "no reply in 2 s"
    explains: tuple[FindingRef, ...] = ()
    expected: tuple[str, ...] = ()  # the name's private endpoint IPs, from the evidence
    address_space: tuple[str, ...] = ()  # the agent VNet's prefixes, from the evidence

    @property
    def outcome(self) -> Outcome:
        return classify(self.rcode, self.addresses, self.expected, self.address_space)


@dataclass(frozen=True, slots=True)
class ResolutionMatrix:
    """One workspace's matrix: ``cells[(fqdn, resolver)]``; a missing key is an empty cell."""

    workspace: str
    fqdns: tuple[str, ...]
    resolvers: tuple[Resolver, ...]
    cells: Mapping[tuple[str, Resolver], Cell] = field(default_factory=dict)


def classify(
    rcode: str,
    addresses: Sequence[str],
    expected: Sequence[str] = (),
    address_space: Sequence[str] = (),
) -> Outcome:
    """The cell's verdict. A private answer is judged by the evidence when it has it: outside
    ``address_space`` (CIDR prefixes) first, then against the ``expected`` endpoint IPs."""
    code = rcode.upper()
    if code == "TIMEOUT":
        return Outcome.TIMEOUT
    if code == "NXDOMAIN":
        return Outcome.NXDOMAIN
    if code != "NOERROR":
        return Outcome.ERROR
    if not addresses:
        return Outcome.NODATA
    try:
        ips = [ipaddress.ip_address(a) for a in addresses]
    except ValueError:
        return Outcome.ERROR
    if any(ip.is_global for ip in ips):
        return Outcome.PUBLIC
    try:
        spaces = [ipaddress.ip_network(p, strict=False) for p in address_space]
    except ValueError:
        spaces = []
    if spaces and any(not any(ip in net for net in spaces) for ip in ips):
        return Outcome.OUTSIDE_VNET
    if expected:
        return Outcome.RIGHT if set(addresses) <= set(expected) else Outcome.STALE
    return Outcome.PRIVATE


def matrices_from_events(events: Iterable[Mapping[str, Any]]) -> list[ResolutionMatrix]:
    """One matrix per workspace from the DNS answers in the events' evidence.

    Several findings may carry the same answer (one FQDN judged by two checks): the cell keeps
    the first answer and links every failing finding that carries it as a wrong answer. An
    answer whose finding names no workspace (a custom DNS server's, say) joins the matrices of
    the workspaces that need its FQDN; only names no workspace claims go to "(no workspace)".
    """
    answers: list[tuple[str, str, Resolver, Cell, FindingRef, object]] = []
    judged: dict[str, dict[str, set[str]]] = {}  # fqdn -> expected IPs / address spaces
    for event in events:
        ref = FindingRef(event["uid"], event["check_id"], event["status"])
        wanted = (event.get("evidence") or {}).get("expected") or {}
        expected = wanted.get("addresses")
        for workspace, place, answer in answers_of(event):
            fqdn, resolver, cell = _parse(answer, place)
            answers.append((workspace, fqdn, resolver, cell, ref, expected))
            facts = judged.setdefault(fqdn, {"addresses": set(), "address_space": set()})
            for key in facts:
                if isinstance(wanted.get(key), list):
                    facts[key].update(str(v) for v in wanted[key])
    answers = [
        (w, fqdn, r, _judged(cell, judged[fqdn]), ref, e) for w, fqdn, r, cell, ref, e in answers
    ]
    owners: dict[str, dict[str, None]] = {}
    for workspace, fqdn, *_ in answers:
        if workspace != NO_WORKSPACE:
            owners.setdefault(fqdn, {})[workspace] = None
    rows: dict[str, dict[str, None]] = {}
    columns: dict[str, dict[Resolver, None]] = {}
    cells: dict[str, dict[tuple[str, Resolver], Cell]] = {}
    for workspace, fqdn, resolver, cell, ref, expected in answers:
        for owner in owners.get(fqdn, [workspace]) if workspace == NO_WORKSPACE else [workspace]:
            rows.setdefault(owner, {})[fqdn] = None
            columns.setdefault(owner, {})[resolver] = None
            known = cells.setdefault(owner, {})
            kept = known.get((fqdn, resolver), cell)
            if (
                ref.status in PROBLEM_STATUSES
                and ref not in kept.explains
                and _is_wrong_answer(cell, expected)
            ):
                kept = replace(kept, explains=(*kept.explains, ref))
            known[(fqdn, resolver)] = kept
    return [
        ResolutionMatrix(
            workspace,
            tuple(sorted(rows[workspace])),
            tuple(sorted(columns[workspace], key=_column_order(columns[workspace]))),
            cells[workspace],
        )
        for workspace in sorted(rows, key=lambda w: (w == NO_WORKSPACE, w))
    ]


def _judged(cell: Cell, facts: Mapping[str, set[str]]) -> Cell:
    """The cell with what every event's evidence expects of its name."""
    return replace(
        cell,
        expected=tuple(sorted(facts["addresses"])),
        address_space=tuple(sorted(facts["address_space"])),
    )


_HEALTHY = (Outcome.RIGHT, Outcome.PRIVATE)


def _is_wrong_answer(cell: Cell, expected_addresses: object) -> bool:
    """Whether this answer is one the failing finding is about (its other answers were fine).

    The finding's ``evidence.expected.addresses``, when it has them, says what a right answer
    is; otherwise a private answer is the right one (every name here has a private endpoint).
    """
    if isinstance(expected_addresses, list) and expected_addresses:
        return cell.outcome not in _HEALTHY or set(cell.addresses) != set(expected_addresses)
    return cell.outcome not in _HEALTHY


def _column_order(seen: Mapping[Resolver, None]) -> Any:
    first_seen = {resolver: i for i, resolver in enumerate(seen)}

    def key(resolver: Resolver) -> tuple[int, int]:
        kind = RESOLVER_KINDS.index(resolver.kind) if resolver.kind in RESOLVER_KINDS else 1
        return kind, first_seen[resolver]

    return key


def _parse(raw: object, place: str) -> tuple[str, Resolver, Cell]:
    if not isinstance(raw, Mapping):
        raise MalformedResolution(f"{place}: expected an object, got {type(raw).__name__}")
    for key in ("fqdn", "resolver", "resolver_kind", "rcode"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise MalformedResolution(f"{place}.{key}: missing or not a string")
    lists = {}
    for key in ("addresses", "cname_chain"):
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise MalformedResolution(f"{place}.{key}: expected a list of strings")
        lists[key] = tuple(value)
    detail = raw.get("detail") or ""
    if not isinstance(detail, str):
        raise MalformedResolution(f"{place}.detail: expected a string")
    resolver = Resolver(raw["resolver_kind"], raw["resolver"])
    fqdn = raw["fqdn"].rstrip(".").lower()
    cell = Cell(raw["rcode"].upper(), lists["addresses"], lists["cname_chain"], detail)
    return fqdn, resolver, cell
