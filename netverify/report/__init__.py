"""The HTML report for people: ``render_html(ReportInput, generated_at)``.

It renders finding events (``netverify.sinks.events.to_event`` dicts), never Azure objects, so it
imports no SDK. Its input comes from ``history_from_runs`` (the events of one or more runs, e.g.
a JSON-lines file) or ``history_from_change_events`` (the state database's change events).
"""

from netverify.report.dns_evidence import MalformedResolution
from netverify.report.history import (
    FindingsFileError,
    ReportInput,
    Transition,
    history_from_change_events,
    history_from_runs,
    read_findings_file,
)
from netverify.report.page import render_html, write_report

__all__ = [
    "FindingsFileError",
    "MalformedResolution",
    "ReportInput",
    "Transition",
    "history_from_change_events",
    "history_from_runs",
    "read_findings_file",
    "render_html",
    "write_report",
]
