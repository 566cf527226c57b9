"""Rendering findings for the command line: a table for people, JSON / JSON lines for machines."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from netverify.contracts import OutputFormat
from netverify.diagnose import Problem, affected_summary, event_problems

# Below the problems: what could not be judged before what passed.
_ORDER = {"fail": 0, "error": 1, "skipped": 2, "pass": 3}


def render(
    events: Sequence[Mapping[str, Any]], fmt: OutputFormat, *, show_all: bool = False
) -> str:
    """``events`` in ``fmt``; the table shows passes only with ``show_all`` (JSON always has all)."""
    if fmt == "jsonl":
        return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events)
    if fmt == "json":
        return json.dumps(list(events), indent=2, ensure_ascii=False) + "\n"
    return table(events, show_all=show_all)


def table(events: Sequence[Mapping[str, Any]], *, show_all: bool = False) -> str:
    """Problems first (one block per root cause with its fix and what follows from it), then
    what could not be judged (errors, skipped), then passes when ``show_all``; a summary last."""
    blocks = event_problems(events)
    counts = Counter(e["status"] for e in events)
    roots = sum(1 for e in events if e["root_cause"])
    lines = [
        f"{len(blocks)} problem(s): {roots} root-cause finding(s), "
        f"{counts.get('fail', 0) - roots} finding(s) that follow from them"
    ]
    for number, problem in enumerate(blocks, 1):
        lines += ["", *_block(number, problem)]
    shown = ("error", "skipped", "pass") if show_all else ("error", "skipped")
    rest = [e for e in events if e["status"] in shown]
    if rest:
        lines += ["", *_rows(rest)]
    hidden = "" if show_all or not counts.get("pass") else " (passes hidden: --all shows them)"
    summary = ", ".join(f"{counts.get(s, 0)} {s}" for s in ("fail", "error", "skipped", "pass"))
    run = f" (run {events[0]['run_id']}, agent {events[0]['agent']['name']})" if events else ""
    lines += ["", f"{len(events)} findings: {summary}{run}{hidden}"]
    return "\n".join(lines) + "\n"


def _block(number: int, problem: Problem[Mapping[str, Any]]) -> list[str]:
    lead = problem.lead
    pad = " " * (len(str(number)) + 2)
    lines = [f"{number}. {lead['severity'].upper()}  {lead['check_id']}  {lead['resource_name']}"]
    lines.append(f"{pad}{lead['message']}")
    if lead["cause_identified"] is False:
        lines.append(f"{pad}cause: not identified (no other finding of this run explains it)")
    if problem.causes[1:]:
        also = ", ".join(e["resource_name"] for e in problem.causes[1:])
        lines.append(f"{pad}the same fix also repairs: {also}")
    remedy = lead["remediation"]
    if remedy:
        lines.append(f"{pad}fix: {remedy['text']}")
        if remedy["command"]:
            lines.append(f"{pad}     $ {remedy['command']}")
    reach = affected_summary(problem)
    if reach:
        lines.append(f"{pad}breaks: {reach}")
    if problem.symptoms:
        lines.append(f"{pad}follows from it ({len(problem.symptoms)}):")
        lines += [
            f"{pad}  - {e['check_id']}  {e['resource_name']}: {_short(e['message'])}"
            for e in problem.symptoms
        ]
    return lines


def _short(message: str, width: int = 140) -> str:
    return message if len(message) <= width else message[: width - 1] + "\u2026"


def _rows(events: Sequence[Mapping[str, Any]]) -> list[str]:
    """The status table of findings that are not problems, errors first."""
    rows = sorted(events, key=lambda e: (_ORDER[e["status"]], e["check_id"], e["resource_name"]))
    header = ("STATUS", "SEVERITY", "CHECK", "RESOURCE", "MESSAGE")
    cells = [
        (e["status"].upper(), e["severity"], e["check_id"], e["resource_name"], e["message"])
        for e in rows
    ]
    widths = [max(len(str(c[i])) for c in [header, *cells]) for i in range(4)]
    lines = []
    for event, row in zip([None, *rows], [header, *cells], strict=True):
        lines.append(
            "  ".join(str(v).ljust(w) for v, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
        )
        remedy = (event or {}).get("remediation")
        if event and event["status"] == "error" and remedy:
            indent = " " * (widths[0] + 2)
            lines.append(f"{indent}fix: {remedy['text']}")
            if remedy["command"]:
                lines.append(f"{indent}     $ {remedy['command']}")
    return lines
