"""Where Microsoft Sentinel puts each key of a CEF record: the CommonSecurityLog column and its
type, from Microsoft's "CEF and CommonSecurityLog field mapping" and the table's reference
(tests/data/sentinel-cef-columns.json names both pages)."""

from __future__ import annotations

import ipaddress
import json
import re
from functools import cache
from typing import Any

from tests.sinks import DATA

COLUMNS = DATA / "sentinel-cef-columns.json"
# CommonSecurityLog's integer columns and their ranges (Kusto int and long).
_RANGES = {"int": 2**31, "long": 2**63}
# Columns whose content the table reference describes: a host name, or an IPv4 address.
HOST_COLUMNS = {"DestinationHostName", "SourceHostName", "DeviceName"}
IPV4_COLUMNS = {
    "DestinationIP",
    "SourceIP",
    "DeviceAddress",
    "DestinationTranslatedAddress",
    "SourceTranslatedAddress",
    "DeviceTranslatedAddress",
}
_HOST = re.compile(
    r"^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9])?)*\.?$"
)
_PAIR = re.compile(r"([A-Za-z0-9_]+)=((?:\\.|[^\\])*?)(?=\s+[A-Za-z0-9_]+=|$)")


@cache
def column_map() -> dict[str, Any]:
    return dict(json.loads(COLUMNS.read_text(encoding="utf-8")))


def cef_fields(record: str) -> dict[str, str]:
    """A CEF record's header fields (by their CEF names) and extension keys, values unescaped.

    Raises ``ValueError`` for a record without the seven header fields.
    """
    parts = re.split(r"(?<!\\)\|", record, maxsplit=7)
    if len(parts) != 8 or not parts[0].endswith("CEF:0"):
        raise ValueError(f"not a CEF:0 record: {record[:80]!r}")
    unescape = {"\\|": "|", "\\\\": "\\", "\\=": "=", "\\n": "\n", "\\r": "\r"}
    fields = {
        name: re.sub(r"\\[|\\]", lambda m: unescape[m.group()], value)
        for name, value in zip(column_map()["header"], parts[1:7], strict=True)
    }
    for match in _PAIR.finditer(parts[7]):
        fields[match.group(1)] = re.sub(r"\\[\\=nr]", lambda m: unescape[m.group()], match.group(2))
    return fields


def column_errors(record: str) -> list[str]:
    """Why a CEF record does not land whole in Sentinel's CommonSecurityLog, one line each:
    a key with no column (it would go to AdditionalExtensions), a value its column's type cannot
    hold (a number column, an IPv4 or host-name column), a custom key without its label."""
    columns = column_map()["columns"]
    fields = cef_fields(record)
    errors = []
    for key, value in fields.items():
        if key not in columns:
            errors.append(f"{key}: no CommonSecurityLog column")
            continue
        column, kind = columns[key]
        if not _fits(value, kind, column):
            errors.append(f"{key}={value[:60]!r}: does not fit {column} ({kind})")
        label = f"{key}Label"
        if label in columns and label not in fields:
            errors.append(f"{key}: {label} missing ({columns[label][0]})")
    return errors


def _fits(value: str, kind: str, column: str) -> bool:
    if kind in _RANGES:
        bound = _RANGES[kind]
        return bool(re.fullmatch(r"-?[0-9]+", value)) and -bound <= int(value) < bound
    if kind == "real":
        try:
            float(value)
        except ValueError:
            return False
        return True
    if column in IPV4_COLUMNS:
        try:
            return isinstance(ipaddress.ip_address(value), ipaddress.IPv4Address)
        except ValueError:
            return False
    return bool(_HOST.match(value)) if column in HOST_COLUMNS else True
