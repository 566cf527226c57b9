"""One finding event (``events.to_event`` plus ``event_id``) in each SIEM's own format.

One mapping for every format (README "Send findings to your SIEM"; sources in
``shared/reference/siem.md``): the event id is what a SIEM de-duplicates on, the finding uid
follows one problem across runs, and a passing or skipped finding is informational whatever the
check's severity, so that no SIEM raises an alert for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from netverify.contracts import Format

OCSF_VERSION = "1.9.0"
ECS_VERSION = "8.11.0"
STANDARD = "netverify Azure ML network isolation"
PRODUCT = "netverify"

# Severity of the event, not of the check: a pass is news, not an alert.
_OCSF_SEVERITY = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
_OCSF_SEVERITY_NAME = {1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
_CEF_SEVERITY = {"info": 1, "low": 3, "medium": 5, "high": 8, "critical": 10}
# OCSF compliance.status_id: 1 Pass, 2 Warning, 3 Fail, 0 Unknown (could not observe), 99 Other.
_OCSF_COMPLIANCE = {"pass": (1, "Pass"), "fail": (3, "Fail"), "error": (0, "Unknown")}
_ECS_OUTCOME = {"pass": "success", "fail": "failure"}


def _alerting(event: Mapping[str, Any]) -> bool:
    return event["status"] in ("fail", "error")


def _event_severity(event: Mapping[str, Any], table: Mapping[str, int]) -> int:
    return table[event["severity"]] if _alerting(event) else table["info"]


def epoch_ms(rfc3339: str) -> int:
    return int(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1000)


def _compact(record: Mapping[str, Any]) -> dict[str, Any]:
    """Drop None and empty containers: OCSF and ECS consumers read "absent", not "empty"."""
    kept = {k: _pruned(v) for k, v in record.items()}
    return {k: v for k, v in kept.items() if v is not None and v != {} and v != []}


def _pruned(value: Any) -> Any:
    if isinstance(value, Mapping):
        return _compact(value)
    return [_pruned(v) for v in value] if isinstance(value, list) else value


def _resource_data(event: Mapping[str, Any]) -> dict[str, Any]:
    return {"subject": event["subject"], "evidence": event["evidence"]}


def to_ocsf(event: Mapping[str, Any]) -> dict[str, Any]:
    """OCSF Compliance Finding (class 2003), activity Create."""
    severity_id = _event_severity(event, _OCSF_SEVERITY)
    compliance_id, compliance = _OCSF_COMPLIANCE.get(event["status"], (99, "Skipped"))
    observed = epoch_ms(event["observed_at"])
    remediation = event["remediation"]
    return _compact(
        {
            "activity_id": 1,
            "activity_name": "Create",
            "category_uid": 2,
            "category_name": "Findings",
            "class_uid": 2003,
            "class_name": "Compliance Finding",
            "type_uid": 200301,
            "type_name": "Compliance Finding: Create",
            "severity_id": severity_id,
            "severity": _OCSF_SEVERITY_NAME[severity_id],
            "status_id": 1,
            "status": "New",
            "time": observed,
            "timezone_offset": 0,
            "message": event["message"],
            "metadata": {
                "version": OCSF_VERSION,
                "uid": event["event_id"],
                "correlation_uid": event["run_id"],
                "product": {
                    "name": PRODUCT,
                    "vendor_name": PRODUCT,
                    "version": event["producer"]["version"],
                },
            },
            "finding_info": {
                "uid": event["uid"],
                "title": event["title"],
                "desc": event["rationale"],
                "types": [f"Network isolation/{event['resource_type'] or 'DNS'}"],
                "src_url": (event["references"] or [None])[0],
                "last_seen_time": observed,
            },
            "compliance": {
                "standards": [STANDARD],
                "control": event["check_id"],
                "status_id": compliance_id,
                "status": compliance,
                "status_detail": event["message"],
            },
            "resources": [
                {
                    "uid": event["resource_id"],
                    "name": event["resource_name"],
                    "type": event["resource_type"] or "FQDN",
                    "cloud_partition": event["cloud"],
                    "data": _resource_data(event),
                }
            ],
            "remediation": (
                {
                    "desc": remediation["text"]
                    + (f" Run: {remediation['command']}" if remediation["command"] else ""),
                    "references": event["references"],
                }
                if remediation
                else None
            ),
            "cloud": {
                "provider": "Azure",
                "account": {"uid": event["subscription_id"]},
            },
            "unmapped": {"agent": event["agent"], "status": event["status"]},
        }
    )


def to_ecs(event: Mapping[str, Any]) -> dict[str, Any]:
    """Elastic Common Schema: a posture snapshot (``event.kind: state``)."""
    return _compact(
        {
            "@timestamp": event["observed_at"],
            "ecs": {"version": ECS_VERSION},
            "message": event["message"],
            "event": {
                "id": event["event_id"],
                "kind": "state",
                "category": ["configuration"],
                "type": ["info"],
                "outcome": _ECS_OUTCOME.get(event["status"], "unknown"),
                "severity": _event_severity(event, _CEF_SEVERITY),
                "provider": PRODUCT,
                "dataset": "netverify.finding",
            },
            "rule": {
                "id": event["check_id"],
                "name": event["title"],
                "description": event["rationale"],
                "ruleset": STANDARD,
                "reference": (event["references"] or [None])[0],
            },
            "observer": {
                "vendor": PRODUCT,
                "product": PRODUCT,
                "version": event["producer"]["version"],
                "hostname": event["agent"]["name"],
            },
            "cloud": {"provider": "azure", "account": {"id": event["subscription_id"]}},
            "netverify": {
                "finding_uid": event["uid"],
                "status": event["status"],
                "severity": event["severity"],
                "resource": {
                    "id": event["resource_id"],
                    "type": event["resource_type"],
                    "name": event["resource_name"],
                },
                **_resource_data(event),
                "remediation": event["remediation"],
                "run_id": event["run_id"],
                "agent": event["agent"],
                "cloud": event["cloud"],
            },
        }
    )


def _cef_header(value: str) -> str:
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _cef_value(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace("=", "\\=")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )


def to_cef(event: Mapping[str, Any]) -> str:
    """ArcSight CEF 0 (what Sentinel's CommonSecurityLog and QRadar parse)."""
    remediation = event["remediation"] or {}
    custom = [
        ("cs1", "resourceId", event["resource_id"]),
        ("cs2", "standard", STANDARD),
        ("cs4", "remediation", remediation.get("command") or remediation.get("text")),
        ("cs5", "subscriptionId", event["subscription_id"]),
        ("cs6", "findingUid", event["uid"]),
    ]
    extension: list[tuple[str, str | None]] = [
        ("rt", str(epoch_ms(event["observed_at"]))),
        ("externalId", event["event_id"]),
        ("outcome", event["status"]),
        ("cat", "network-isolation"),
        ("msg", event["message"]),
        ("dvchost", event["agent"]["name"]),
        ("dhost", event["subject"] if event["resource_type"] is None else None),
    ]
    for key, label, value in custom:
        extension += [(f"{key}Label", label), (key, value)] if value else []
    header = [
        "CEF:0",
        _cef_header(PRODUCT),
        _cef_header(PRODUCT),
        _cef_header(event["producer"]["version"])[:31],
        _cef_header(event["check_id"]),
        _cef_header(event["title"]),
        str(_event_severity(event, _CEF_SEVERITY)),
    ]
    return "|".join(header) + "|" + " ".join(f"{k}={_cef_value(v)}" for k, v in extension if v)


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def as_text(rendered: Any) -> str:
    """A rendering as one line of text: CEF as it is, the JSON formats as compact JSON."""
    return rendered if isinstance(rendered, str) else compact_json(rendered)


RENDERERS: dict[Format, Callable[[Mapping[str, Any]], Any]] = {
    "json": dict,
    "ocsf": to_ocsf,
    "ecs": to_ecs,
    "cef": to_cef,
}
