"""When each problem started and resolved: status transitions per finding uid, and where they come from.

The report takes a plain list of ``Transition(uid, status, at)``. It comes from a JSON-lines file
of findings (the ``jsonl_file`` sink appends one run after another, so the file is a history of
runs: ``history_from_runs``), or from the daemon's state database, whose change events (a
finding started failing, was resolved) are transitions already: ``history_from_change_events``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from netverify.report.event_fields import PROBLEM_STATUSES, observed_at


class FindingsFileError(ValueError):
    """A findings file that cannot be read as JSON lines of finding events."""


@dataclass(frozen=True, slots=True)
class Transition:
    """Finding ``uid`` had ``status`` from ``at`` on (until its next transition)."""

    uid: str
    status: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Episode:
    """One stretch of time in which a finding was failing (or could not be observed)."""

    uid: str
    status: str  # the last problem status seen in the episode: fail or error
    started: datetime
    resolved: datetime | None  # None: still open


@dataclass(frozen=True, slots=True)
class ReportInput:
    """What one report shows: the latest run's events, and the history around them.

    ``named`` holds the latest event seen for every uid in the history, so a problem that was
    resolved (or whose resource is gone) still has a name in the timeline.
    """

    events: Sequence[Mapping[str, Any]]
    transitions: Sequence[Transition]
    named: Mapping[str, Mapping[str, Any]]


def episodes(transitions: Iterable[Transition]) -> list[Episode]:
    """Problem episodes, oldest first: a run of fail/error transitions until the next pass/skipped."""
    by_uid: dict[str, list[Transition]] = {}
    for t in sorted(transitions, key=lambda t: t.at):
        by_uid.setdefault(t.uid, []).append(t)
    found: list[Episode] = []
    for uid, changes in by_uid.items():
        start: Transition | None = None
        status = ""
        for change in changes:
            if change.status in PROBLEM_STATUSES:
                start = start or change
                status = change.status
            elif start is not None:
                found.append(Episode(uid, status, start.at, change.at))
                start = None
        if start is not None:
            found.append(Episode(uid, status, start.at, None))
    return sorted(found, key=lambda e: (e.started, e.uid))


def history_from_runs(events: Iterable[Mapping[str, Any]]) -> ReportInput:
    """The last run's events and every status change, from the events of several runs.

    A run is a stretch of events with one ``run_id``. Runs are taken in the order their events
    come, which a ``jsonl_file`` sink makes the order of time, so a file of any length is read
    in one pass, keeping only the last run, the last event of each finding and the changes.
    """
    last_status: dict[str, str] = {}
    named: dict[str, Mapping[str, Any]] = {}
    transitions: list[Transition] = []
    latest: list[Mapping[str, Any]] = []
    for event in events:
        if latest and latest[-1]["run_id"] != event["run_id"]:
            latest = []
        latest.append(event)
        uid, status = event["uid"], event["status"]
        named[uid] = event
        if last_status.get(uid) != status:
            transitions.append(Transition(uid, status, observed_at(event)))
            last_status[uid] = status
    return ReportInput(latest, transitions, named)


# Change events whose finding took a new status (a reminder repeats the status it had).
_STATUS_CHANGES = frozenset({"failing", "resolved"})


def history_from_change_events(
    latest: Sequence[Mapping[str, Any]], changes: Iterable[Mapping[str, Any]]
) -> ReportInput:
    """Where the state database plugs in: its latest run's events and its change events.

    A change event is ``{"kind": "change", "change": "failing" | "resolved" | "still_failing",
    "uid", "status", "observed_at", "finding": {the finding event}}``.
    """
    transitions: list[Transition] = []
    named: dict[str, Mapping[str, Any]] = {}
    for change in changes:
        if change.get("kind") != "change":
            continue
        named[change["uid"]] = change["finding"]
        if change["change"] in _STATUS_CHANGES:
            transitions.append(Transition(change["uid"], change["status"], observed_at(change)))
    named.update({event["uid"]: event for event in latest})
    return ReportInput(latest, transitions, named)


def read_findings_file(path: Path) -> Iterator[dict[str, Any]]:
    """Finding events, one JSON object a line, read as they are consumed (blank lines are
    skipped); errors name the file and line."""
    try:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    yield _finding_event(line, f"{path}:{number}")
    except (OSError, UnicodeDecodeError) as exc:
        raise FindingsFileError(f"{path}: cannot read: {exc}") from exc


def _finding_event(line: str, where: str) -> dict[str, Any]:
    try:
        event = json.loads(line)
    except json.JSONDecodeError as exc:
        raise FindingsFileError(f"{where}: not JSON: {exc.msg}") from exc
    missing = [k for k in _REQUIRED if not isinstance(event, dict) or k not in event]
    if missing:
        raise FindingsFileError(f"{where}: not a finding event (missing {', '.join(missing)})")
    problem = _shape_problem(event)
    if problem:
        raise FindingsFileError(f"{where}: {problem}")
    return event  # type: ignore[no-any-return]


def _shape_problem(event: Mapping[str, Any]) -> str | None:
    """What is wrong with the parts of an event the report reads, or None."""
    try:
        observed_at(event)
    except (TypeError, ValueError) as exc:
        return f"observed_at: {exc}"
    for key in _OPTIONAL_OBJECTS:
        if event.get(key) is not None and not isinstance(event[key], dict):
            return f"{key}: expected an object or null"
    evidence = event.get("evidence") or {}
    for part in ("observed", "expected"):
        if evidence.get(part) is not None and not isinstance(evidence[part], dict):
            return f"evidence.{part}: expected an object"
    if not isinstance(event.get("references", []), list):
        return "references: expected a list"
    return None


# What the report reads from every event; the rest is optional for it.
_REQUIRED = (
    "uid",
    "check_id",
    "title",
    "status",
    "severity",
    "resource_name",
    "message",
    "run_id",
    "observed_at",
)
# Optional parts the report reads: each is an object when present.
_OPTIONAL_OBJECTS = ("evidence", "remediation", "agent")
