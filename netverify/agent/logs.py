"""Structured logs: one JSON object per line on stdout (journald keeps them), secrets redacted.

``log.info("run finished", extra=fields(run_id=..., seconds=...))`` puts the fields next to
``ts``, ``level``, ``logger`` and ``message``. Every line passes through ``secret.redact`` last,
so a bearer token or a managed-identity secret in an exception message never reaches the journal.

When stdout *is* the journal (``journal_stream``), each line starts with its syslog priority as
``<N>``, which journald turns into the entry's PRIORITY (the units set ``SyslogLevelPrefix=yes``)
and strips; ``ts`` is left out, as the journal stamps every entry itself; and findings are
written as one-line summaries (``journal_lines``), the whole events going to the sinks.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import IO, Any

from netverify.secret import redact

# syslog(3) priorities: what journalctl -p filters on.
_PRIORITY = {"CRITICAL": 2, "ERROR": 3, "WARNING": 4, "INFO": 6, "DEBUG": 7}
# A finding that needs someone is a warning; a resolved one is a notice; the rest is info.
_EVENT_PRIORITY = {"fail": 4, "error": 4, "failing": 4, "still_failing": 4, "resolved": 5}
_SUMMARY_KEYS = (
    "kind",
    "change",
    "check_id",
    "status",
    "previous_status",
    "severity",
    "resource_name",
    "uid",
    "event_id",
    "run_id",
)
SUMMARY_MESSAGE_CHARS = 200


def journal_stream(stream: IO[str]) -> bool:
    """True when ``stream`` is connected to journald: systemd sets ``JOURNAL_STREAM`` to the
    ``device:inode`` of the stream it connects stdout/stderr to (systemd.exec(5)); a stream
    redirected elsewhere by the service itself has another inode."""
    device, _, inode = os.environ.get("JOURNAL_STREAM", "").partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):  # closed, or not a file (a test's StringIO)
        return False
    return (status.st_dev, status.st_ino) == (int(device), int(inode))


def journal_lines(events: Sequence[Mapping[str, Any]]) -> str:
    """Finding or change events as journal lines: ``<N>`` (warning for fail/error, notice for
    resolved, else info) and a one-line JSON summary (ids, status, severity, the resource's
    name, the message cut to ``SUMMARY_MESSAGE_CHARS``), whatever the size of the evidence."""
    lines = []
    for event in events:
        finding: Mapping[str, Any] = event.get("finding") or event  # a change wraps its finding
        summary = {k: event.get(k, finding.get(k)) for k in _SUMMARY_KEYS}
        message = str(finding.get("message", ""))
        if len(message) > SUMMARY_MESSAGE_CHARS:
            message = message[: SUMMARY_MESSAGE_CHARS - 1] + "\u2026"
        summary["message"] = message
        priority = _EVENT_PRIORITY.get(event.get("change") or event.get("status") or "", 6)
        line = json.dumps({k: v for k, v in summary.items() if v is not None}, ensure_ascii=False)
        lines.append(f"<{priority}>{line}\n")
    return "".join(lines)


def fields(**values: Any) -> dict[str, Any]:
    """``extra=`` for a log call: these keys appear in the JSON line."""
    return {"fields": values}


class JsonLines(logging.Formatter):
    """One JSON object per record; ``journal``: ``<N>``-prefixed and without ``ts``."""

    def __init__(self, journal: bool = False) -> None:
        super().__init__()
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {} if self.journal else {"ts": _timestamp(record.created)}
        line.update(level=record.levelname.lower(), logger=record.name, message=record.getMessage())
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        text = redact(json.dumps(line, ensure_ascii=False, default=str))
        return f"<{_PRIORITY.get(record.levelname, 6)}>{text}" if self.journal else text


def _timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat().replace("+00:00", "Z")


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonLines(journal=journal_stream(sys.stdout)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    if level.upper() != "DEBUG":
        # The SDKs log every request at INFO; the run's own summary says what matters.
        for noisy in ("azure", "apscheduler", "urllib3"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
