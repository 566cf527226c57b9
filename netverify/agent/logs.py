"""Structured logs: one JSON object per line on stdout (journald keeps them), secrets redacted.

``log.info("run finished", extra=fields(run_id=..., seconds=...))`` puts the fields next to
``ts``, ``level``, ``logger`` and ``message``. Every line passes through ``secret.redact`` last,
so a bearer token or a managed-identity secret in an exception message never reaches the journal.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from netverify.secret import redact


def fields(**values: Any) -> dict[str, Any]:
    """``extra=`` for a log call: these keys appear in the JSON line."""
    return {"fields": values}


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(line, ensure_ascii=False, default=str))


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    if level.upper() != "DEBUG":
        # The SDKs log every request at INFO; the run's own summary says what matters.
        for noisy in ("azure", "apscheduler", "urllib3"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
