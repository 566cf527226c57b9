"""The HTML report for people: ``render_html(ReportInput, generated_at)``.

It renders finding events (``netverify.events.to_event`` dicts), never Azure objects, so it
imports no SDK. Inputs come from ``history.history_from_runs`` (events of one or more runs).
"""

from netverify.report.history import (
    FindingsFileError,
    ReportInput,
    Transition,
    history_from_runs,
    read_findings_file,
)
from netverify.report.matrix import MalformedResolution
from netverify.report.page import render_html

__all__ = [
    "FindingsFileError",
    "MalformedResolution",
    "ReportInput",
    "Transition",
    "history_from_runs",
    "read_findings_file",
    "render_html",
]
