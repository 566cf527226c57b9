"""Root causes and symptoms: which fail findings follow from which, and the problems they make.

A fail *needs* links of the chain (``model.Link``: an answer of one resolver, Azure DNS's record
of a name, a resource's state) and may *break* some; the checks fill both in from the evidence
(the resolution path hop by hop, the ARM facts). A fail whose needs another fail breaks is that
one's symptom; following the relation to its end gives the root causes a symptom names in
``Finding.caused_by``. Nothing here looks at check ids: only at links and uids.

A problem is what the on-call engineer fixes once: the root causes that share a fix (same check,
same command - three records one zone-group change restores), with every symptom that follows
from them. A fail that needs links nobody broke stays a problem of its own, marked as having no
identified cause.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import Any, Generic, TypeVar

from netverify.model import SEVERITY_RANK, Finding, Status

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Problem(Generic[T]):
    """One broken link to fix: ``causes`` (root-cause fails sharing one fix, sorted by uid) and
    the ``symptoms`` that follow from them. ``T`` is a ``Finding`` or its event (a dict)."""

    causes: tuple[T, ...]
    symptoms: tuple[T, ...]

    @property
    def lead(self) -> T:
        return self.causes[0]


def fix_key(check_id: str, command: str | None, uid: str) -> tuple[str, str]:
    """Root causes with the same key are one problem: the same check and the same command (a
    cause without a command is a problem of its own)."""
    return (check_id, command) if command else (uid, "")


def group_problems(
    fails: Iterable[T],
    *,
    uid: Callable[[T], str],
    caused_by: Callable[[T], Sequence[str]],
    key: Callable[[T], tuple[str, str]],
    severity: Callable[[T], str],
) -> list[Problem[T]]:
    """Diagnosed fails (findings or events, read through the accessors) as problems, most
    severe first, then by lead uid: root causes grouped by ``key``, each with the fails whose
    ``caused_by`` names one of them."""
    fails = list(fails)
    groups: dict[tuple[str, str], list[T]] = {}
    for root in (f for f in fails if not caused_by(f)):
        groups.setdefault(key(root), []).append(root)
    found = []
    for roots in groups.values():
        uids = {uid(r) for r in roots}
        found.append(
            Problem(
                tuple(sorted(roots, key=uid)),
                tuple(f for f in fails if uids & set(caused_by(f))),
            )
        )
    # A severity this release does not know (a recorded file) sorts last.
    unknown = len(SEVERITY_RANK)
    return sorted(found, key=lambda p: (SEVERITY_RANK.get(severity(p.lead), unknown), uid(p.lead)))


def affected(problem: Problem[Mapping[str, Any]]) -> dict[str, list[str]]:
    """What a problem of events breaks, for the reader, from the resource ids and subjects of
    its causes and symptoms: names (FQDNs), workspaces and deployments (ARM ids as spelled),
    each sorted."""
    ids = {
        i
        for e in (*problem.causes, *problem.symptoms)
        for i in (e["resource_id"], e.get("subject") or "")
    }
    arm = {i for i in ids if i.startswith("/")}
    return {
        "names": sorted(i for i in ids if _is_name(i)),
        "workspaces": sorted({_workspace_of(i) for i in arm if "/workspaces/" in i.lower()}),
        "deployments": sorted(i for i in arm if "/deployments/" in i.lower()),
    }


def affected_summary(problem: Problem[Mapping[str, Any]]) -> str:
    """``affected`` for the reader: "3 name(s), 1 workspace(s)" — only the kinds it breaks,
    empty when the events name none (then nothing is claimed)."""
    return ", ".join(f"{len(v)} {k[:-1]}(s)" for k, v in affected(problem).items() if v)


def cause_identified(needs: Iterable[str], breaks: Iterable[str]) -> bool:
    """False for a symptom by nature (it needs links and breaks none) whose cause was not
    found: it stays a problem of its own, saying so."""
    return not (set(needs) and not set(breaks))


def diagnose(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    """The findings in their order, each fail with ``caused_by`` set to the uids (sorted) of the
    root causes it follows from; other findings unchanged. A cycle of needs (which the checks
    avoid) is cut at its member with the lowest uid, which then counts as a root."""
    fails = {f.uid: f for f in findings if f.status is Status.FAIL}
    causes = _direct_causes(fails.values())
    roots: dict[str, frozenset[str]] = {}
    for uid in _acyclic_order(causes):
        direct = causes[uid]
        roots[uid] = frozenset().union(*(roots[c] or {c} for c in direct))
    return tuple(
        dataclasses.replace(f, caused_by=tuple(sorted(roots[f.uid]))) if roots.get(f.uid) else f
        for f in findings
    )


def problems(findings: Iterable[Finding]) -> list[Problem[Finding]]:
    """The problems of diagnosed findings (``diagnose``): ``group_problems`` on their fails."""
    return group_problems(
        (f for f in findings if f.status is Status.FAIL),
        uid=lambda f: f.uid,
        caused_by=lambda f: f.caused_by,
        key=lambda f: fix_key(f.check.id, f.remediation.command if f.remediation else None, f.uid),
        severity=lambda f: f.check.severity.value,
    )


def event_problems(events: Iterable[Mapping[str, Any]]) -> list[Problem[Mapping[str, Any]]]:
    """``problems`` for finding events (``sinks.events.to_event``) - of this release or of
    recorded files from before ``caused_by`` (every fail of those is its own root)."""
    return group_problems(
        (e for e in events if e["status"] == "fail"),
        uid=lambda e: str(e["uid"]),
        caused_by=lambda e: e.get("caused_by") or (),
        key=lambda e: fix_key(
            e["check_id"], (e.get("remediation") or {}).get("command"), str(e["uid"])
        ),
        severity=lambda e: str(e["severity"]),
    )


def _direct_causes(fails: Iterable[Finding]) -> dict[str, set[str]]:
    """For each fail, the other fails that break a link it needs."""
    fails = list(fails)
    breakers: dict[str, set[str]] = {}
    for finding in fails:
        for link in finding.breaks:
            breakers.setdefault(link, set()).add(finding.uid)
    return {f.uid: {c for link in f.needs for c in breakers.get(link, ())} - {f.uid} for f in fails}


def _acyclic_order(causes: dict[str, set[str]]) -> list[str]:
    """Fails ordered causes first; cuts each cycle (dropping its lowest uid's edge into it)."""
    while True:
        try:
            return list(TopologicalSorter(causes).static_order())
        except CycleError as exc:
            cycle: list[str] = exc.args[1]
            # Each member is a cause of the next; the lowest stops following its own cause.
            lowest = min(cycle[:-1])
            position = cycle.index(lowest)
            causes[lowest].discard(cycle[position - 1] if position else cycle[-2])


def _is_name(resource_id: str) -> bool:
    return "." in resource_id and not resource_id.startswith("/") and ":" not in resource_id


def _workspace_of(resource_id: str) -> str:
    """The workspace id a workspace's (or its child's) id starts with, as ARM spelled it."""
    start = resource_id.lower().index("/workspaces/") + len("/workspaces/")
    end = resource_id.find("/", start)
    return resource_id if end < 0 else resource_id[:end]
