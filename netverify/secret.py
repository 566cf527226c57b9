"""Secrets: where systemd hands them over, and keeping them out of everything netverify writes.

``redact`` is the one filter for text that leaves the process — log lines, finding messages,
stderr: it removes token shapes (a bearer token, a JWT, ``Authorization`` values, keys and
passwords in ``name=value`` form), the values of the credential variables azure-identity reads,
and every secret ``remember``-ed when it was read (a sink's token, echoed by a receiver).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from pathlib import Path
from typing import Any

# Environment variables whose values are credentials (azure-identity reads them).
SECRET_ENVIRONMENT = (
    "IDENTITY_HEADER",
    "MSI_SECRET",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_PASSWORD",
)
# Where systemd's LoadCredential= puts the credentials it passes to a unit.
CREDENTIALS_DIRECTORY = "CREDENTIALS_DIRECTORY"
REDACTED = "[redacted]"
_SECRET_SHAPES = (
    re.compile(r"(?i)(bearer\s+)[\w.~+/=-]+"),
    # An Authorization value may hold a space ("Splunk <token>"): up to the end of the value.
    re.compile(r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?)[^\"'\r\n,}]+"),
    re.compile(
        r"(?i)(\b(?:access_token|refresh_token|client_secret|password|x-identity-header"
        r"|api[-_]?key|accountkey|sharedaccesskey|sig)[\"']?\s*[:=]\s*[\"']?)[^\"'\s,&;}]+"
    ),
    # A bare "token" only as a key (token=..., "token": "..."): prose says "token: the ...".
    re.compile(r"(?i)(\btoken=|[\"']token[\"']\s*:\s*[\"'])[^\"'\s,&;}]+"),
    re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*"),  # a JWT
)
_MIN_REMEMBERED = 8  # shorter values would redact ordinary words
_remembered: set[str] = set()
_lock = threading.Lock()


def remember(value: str) -> str:
    """Redact ``value`` wherever it appears from now on; returns it (``token = remember(...)``)."""
    if len(value) >= _MIN_REMEMBERED:
        with _lock:
            _remembered.add(value)
    return value


def redact(text: str) -> str:
    with _lock:
        values = sorted(_remembered, key=len, reverse=True)
    values += [os.environ.get(name, "") for name in SECRET_ENVIRONMENT]
    for value in values:
        if len(value) >= _MIN_REMEMBERED:
            text = text.replace(value, REDACTED)
    for shape in _SECRET_SHAPES:
        text = shape.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
    return text


def redact_all(value: Any) -> Any:
    """``value`` with ``redact`` applied to every string in it (dicts, lists, tuples walked;
    dict keys are field names and kept)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_all(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_all(item) for item in value)
    return value


class RedactedStderr(logging.Handler):
    """What Python's last-resort handler prints (the message, on whatever ``sys.stderr`` is at
    the time), passed through ``redact``."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(redact(self.format(record)) + "\n")
        except Exception:
            self.handleError(record)


class SecretError(Exception):
    """A secret named in the config cannot be read."""


def secret_file(path: Path, what: str) -> Path:
    """Where a secret file is: an absolute path as given; a relative one names a credential
    under ``$CREDENTIALS_DIRECTORY`` (``LoadCredential=siem-token:...`` → ``siem-token``).

    Raises ``SecretError`` for a relative path when that variable is not set (not under
    systemd): it is not looked up in the working directory.
    """
    if path.is_absolute():
        return path
    directory = os.environ.get(CREDENTIALS_DIRECTORY)
    if not directory:
        raise SecretError(
            f"cannot read {what} from {path}: a relative path names a LoadCredential= "
            f"credential, and ${CREDENTIALS_DIRECTORY} is not set"
        )
    return Path(directory) / path
