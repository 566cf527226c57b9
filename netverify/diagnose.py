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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter

from netverify.model import Finding, Status


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken link to fix: ``causes`` (root-cause fails sharing one fix, sorted by uid) and
    the ``symptoms`` that follow from them (sorted by check, then resource)."""

    causes: tuple[Finding, ...]
    symptoms: tuple[Finding, ...]

    @property
    def lead(self) -> Finding:
        return self.causes[0]

    @property
    def uid(self) -> str:
        """Stable over runs while the problem lasts: its lead cause's finding uid."""
        return self.lead.uid

    @property
    def cause_identified(self) -> bool:
        """False when the lead is a symptom whose cause netverify did not find."""
        return not self.lead.needs

    @property
    def breaks(self) -> dict[str, list[str]]:
        """What it breaks, for the reader: names (FQDNs), workspaces and deployments (ARM ids),
        each sorted, from its causes and symptoms."""
        involved = [*self.causes, *self.symptoms]
        ids = {i for f in involved for i in (f.resource_id, f.subject) if i.startswith("/")}
        return {
            "names": sorted({f.resource_id for f in involved if _is_name(f.resource_id)}),
            "workspaces": sorted({_workspace_of(i) for i in ids if "/workspaces/" in i.lower()}),
            "deployments": sorted({i for i in ids if "/deployments/" in i.lower()}),
        }


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


def problems(findings: Iterable[Finding]) -> list[Problem]:
    """The problems of diagnosed findings (``diagnose``), most severe first, then by lead uid:
    root-cause fails grouped by their fix, each with the symptoms that name one of them."""
    fails = [f for f in findings if f.status is Status.FAIL]
    groups: dict[tuple[str, str], list[Finding]] = {}
    for root in (f for f in fails if not f.caused_by):
        command = root.remediation.command if root.remediation else None
        groups.setdefault(fix_key(root.check.id, command, root.uid), []).append(root)
    found = []
    for roots in groups.values():
        uids = {r.uid for r in roots}
        symptoms = [f for f in fails if uids & set(f.caused_by)]
        found.append(
            Problem(
                tuple(sorted(roots, key=lambda f: f.uid)),
                tuple(sorted(symptoms, key=lambda f: (f.check.id, f.resource_id, f.subject))),
            )
        )
    order = list(_SEVERITY_ORDER)
    return sorted(found, key=lambda p: (order.index(p.lead.check.severity.value), p.uid))


def fix_key(check_id: str, command: str | None, uid: str) -> tuple[str, str]:
    """What root causes sharing one fix have in common: their check and remediation command;
    a root without a command is a fix of its own (its uid). Used for findings and events alike."""
    return (check_id, command) if command else (uid, "")


_SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")


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
