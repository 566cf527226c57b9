"""Rendering findings for the command line: a table for people, JSON / JSON lines for machines."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from netverify.contracts import OutputFormat

# The on-call engineer reads what is broken first.
_ORDER = {"fail": 0, "error": 1, "skipped": 2, "pass": 3}


def render(events: Sequence[Mapping[str, Any]], fmt: OutputFormat) -> str:
    if fmt == "jsonl":
        return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events)
    if fmt == "json":
        return json.dumps(list(events), indent=2, ensure_ascii=False) + "\n"
    return table(events)


def table(events: Sequence[Mapping[str, Any]]) -> str:
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
        if event and event["status"] in ("fail", "error") and remedy:
            indent = " " * (widths[0] + 2)
            lines.append(f"{indent}fix: {remedy['text']}")
            if remedy["command"]:
                lines.append(f"{indent}     $ {remedy['command']}")
    counts = Counter(e["status"] for e in events)
    summary = ", ".join(f"{counts.get(s, 0)} {s}" for s in ("fail", "error", "skipped", "pass"))
    run = f" (run {events[0]['run_id']}, agent {events[0]['agent']['name']})" if events else ""
    lines.append("")
    lines.append(f"{len(events)} findings: {summary}{run}")
    return "\n".join(lines) + "\n"
