"""What the report reads from a finding event beyond its plain fields: workspace, time, problem.

A workspace finding names its workspace by its resource id. Findings on a shared resource (a
Key Vault, an FQDN) name theirs in the evidence: ``observed.workspace`` (one) or
``observed.workspaces`` (several, as the Key Vault check does); a zone finding in the rows of
the names it serves, ``observed.names[].workspace``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

WORKSPACE_TYPE = "microsoft.machinelearningservices/workspaces"
NO_WORKSPACE = "(no workspace)"
# A problem: the check failed, or could not observe what it needs.
PROBLEM_STATUSES = frozenset({"fail", "error"})


def workspaces_of(event: Mapping[str, Any]) -> list[str]:
    if (event.get("resource_type") or "").lower() == WORKSPACE_TYPE:
        return [event["resource_name"]]
    observed = (event.get("evidence") or {}).get("observed") or {}
    one = observed.get("workspace")
    if isinstance(one, str) and one:
        return [one]
    several = observed.get("workspaces")
    if isinstance(several, list):
        return [w for w in several if isinstance(w, str) and w]
    # A zone finding names no workspace of its own: its names' rows do (checklib.dns.name_evidence).
    rows = observed.get("names")
    if isinstance(rows, list):
        named = (r.get("workspace") for r in rows if isinstance(r, Mapping))
        return list(dict.fromkeys(w for w in named if isinstance(w, str) and w))
    return []


def observed_at(event: Mapping[str, Any]) -> datetime:
    """When the event's run observed its facts (RFC 3339 with a Z, as ``to_event`` writes it)."""
    return parse_time(str(event["observed_at"]))


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
