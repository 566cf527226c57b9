"""Every event a sink gets, in each SIEM's own format: a finding event (``events.to_event`` plus
``event_id``) and a change event (``agent.state.change_event``: a change around a finding).

One mapping for every format (README "Send findings to your SIEM"; sources in
``shared/reference/siem.md``): the event id is what a SIEM de-duplicates on, the finding uid
follows one problem across runs, and a passing or skipped finding is informational whatever the
check's severity, so that no SIEM raises an alert for it. A change event is rendered as the
finding it wraps, marked as that format's own state change: OCSF activity Update or Close (with
the finding's status), ECS ``event.type: change``, CEF a signature id and name of its own.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from netverify.contracts import Format
from netverify.sinks.spool import Refused

# The newest released OCSF (1.9.0 is not released): tests validate every event against its
# official schema with the profiles below (tests/data/ocsf-1.8.0, scripts/ocsf_schema.py).
OCSF_VERSION = "1.8.0"
# cloud and resources[].cloud_partition are the cloud profile's attributes.
OCSF_PROFILES = ("cloud",)
# OCSF account.type_id 13: an Azure subscription, what cloud.account.uid holds.
_OCSF_AZURE_SUBSCRIPTION = (13, "Azure Subscription")
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
# A change to a finding is an OCSF Update (it fails, or still fails: status New) or a Close
# (resolved: status Resolved); a finding event itself is a Create.
_OCSF_CHANGE = {"failing": (2, 1), "still_failing": (2, 1), "resolved": (3, 4)}
_OCSF_ACTIVITY_NAME = {1: "Create", 2: "Update", 3: "Close"}
_OCSF_STATUS_NAME = {1: "New", 4: "Resolved"}
_CEF_CHANGE_NAME = {
    "failing": "Now failing",
    "still_failing": "Still failing",
    "resolved": "Resolved",
}
Rendered = TypeVar("Rendered")


def is_change(event: Mapping[str, Any]) -> bool:
    return event.get("kind") == "change"


def finding_of(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """The finding event an event is about: itself, or the one a change event wraps (under the
    change's own ``event_id``, which is what a SIEM de-duplicates the change on)."""
    if is_change(event):
        return {**event["finding"], "event_id": event["event_id"]}
    return event


def render_each(
    render: Callable[[Mapping[str, Any]], Rendered], events: Sequence[Any], fmt: str
) -> list[Rendered]:
    """``render`` of every event, in order.

    Raises ``Refused`` naming the first event that cannot be rendered (its event id, ``fmt`` and
    the error): the courier then sets that one event aside and the others keep flowing.
    """
    rendered = []
    for event in events:
        try:
            rendered.append(render(event))
        except Exception as exc:  # one malformed event must never hold back the queue
            which = event.get("event_id") if isinstance(event, Mapping) else None
            raise Refused(
                f"event {which} cannot be rendered as {fmt}: {type(exc).__name__}: {exc}"
            ) from exc
    return rendered


def _alerting(event: Mapping[str, Any]) -> bool:
    return event["status"] in ("fail", "error")


def _event_severity(event: Mapping[str, Any], table: Mapping[str, int]) -> int:
    return table[event["severity"]] if _alerting(event) else table["info"]


def epoch_ms(rfc3339: str) -> int:
    return int(datetime.fromisoformat(rfc3339).timestamp() * 1000)  # reads "Z" (Python 3.11+)


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


def _ocsf_resource_type(resource: str) -> str:
    """What a resource that is not an ARM id is: a DNS name, an address, or a file."""
    if _is_host_name(resource):
        return "FQDN"
    if _is_ip(resource) or ":" in resource:
        return "IP Address"
    return "File" if resource.startswith("/") else "Other"


def to_ocsf(change_or_finding: Mapping[str, Any]) -> dict[str, Any]:
    """OCSF Compliance Finding (class 2003): a finding is activity Create, status New; a change
    is activity Update (failing, still_failing; status New) or Close (resolved; status Resolved),
    with ``failing_since`` as ``finding_info.first_seen_time``."""
    event = finding_of(change_or_finding)
    change = change_or_finding if is_change(change_or_finding) else None
    activity_id, status_id = _OCSF_CHANGE[change["change"]] if change else (1, 1)
    activity = _OCSF_ACTIVITY_NAME[activity_id]
    failing_since = change["failing_since"] if change else None
    severity_id = _event_severity(event, _OCSF_SEVERITY)
    compliance_id, compliance = _OCSF_COMPLIANCE.get(event["status"], (99, "Skipped"))
    observed = epoch_ms(event["observed_at"])
    remediation = event["remediation"]
    return _compact(
        {
            "activity_id": activity_id,
            "activity_name": activity,
            "category_uid": 2,
            "category_name": "Findings",
            "class_uid": 2003,
            "class_name": "Compliance Finding",
            "type_uid": 200300 + activity_id,
            "type_name": f"Compliance Finding: {activity}",
            "severity_id": severity_id,
            "severity": _OCSF_SEVERITY_NAME[severity_id],
            "status_id": status_id,
            "status": _OCSF_STATUS_NAME[status_id],
            "time": observed,
            "timezone_offset": 0,
            "message": event["message"],
            # What Prowler (the OCSF compliance producer to match) fills: its status_extended
            # as status_detail, PASS/FAIL as status_code, the check id as event_code.
            "status_code": event["status"].upper(),
            "status_detail": event["message"],
            "metadata": {
                "version": OCSF_VERSION,
                "profiles": list(OCSF_PROFILES),
                "event_code": event["check_id"],
                "uid": event["event_id"],
                "correlation_uid": event["run_id"],
                "product": {
                    "name": PRODUCT,
                    "uid": PRODUCT,
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
                "first_seen_time": epoch_ms(failing_since) if failing_since else None,
                "last_seen_time": observed,
                # The root-cause findings this one follows from (their finding_info.uid).
                "related_events": [
                    {"uid": uid, "type": "Compliance Finding"}
                    for uid in event.get("caused_by") or ()
                ]
                or None,
            },
            "compliance": {
                "standards": [STANDARD],
                "control": event["check_id"],
                "status_id": compliance_id,
                "status": compliance,
            },
            "resources": [
                {
                    "uid": event["resource_id"],
                    "name": event["resource_name"],
                    "type": event["resource_type"] or _ocsf_resource_type(event["resource_id"]),
                    # What OCSF recommends for a resource that is a host or an address.
                    "hostname": event["resource_id"]
                    if _is_host_name(event["resource_id"])
                    else None,
                    "ip": event["resource_id"] if _is_ip(event["resource_id"]) else None,
                    "cloud_partition": event["cloud"],
                    "region": event.get("region"),
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
                # Absent when netverify read no region (and in events spooled before 1.2).
                "region": event.get("region"),
                "account": (
                    {
                        "uid": event["subscription_id"],
                        "type_id": _OCSF_AZURE_SUBSCRIPTION[0],
                        "type": _OCSF_AZURE_SUBSCRIPTION[1],
                    }
                    if event["subscription_id"]
                    else None
                ),
            },
            "unmapped": {
                "agent": event["agent"],
                "status": event["status"],
                "change": change["change"] if change else None,
                "previous_status": change["previous_status"] if change else None,
            },
        }
    )


def _ecs_evidence(evidence: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``{"observed": [{"name", "value"}], "expected": [...]}``, each value its compact JSON.

    One shape for every check: Elasticsearch maps a field by the first type it sees and rejects
    a document where it has another (one check's string is another's object), and evidence keys
    that are data (IPs, ARM ids) would grow the mapping without bound.
    """
    if evidence is None:
        return None
    return {
        side: [{"name": k, "value": compact_json(v)} for k, v in evidence[side].items()]
        for side in ("observed", "expected")
    }


def to_ecs(change_or_finding: Mapping[str, Any]) -> dict[str, Any]:
    """Elastic Common Schema: a finding is a posture snapshot (``event.kind: state``, type info);
    a change is ``event.kind: event``, type change, ``event.action`` the change and
    ``event.start`` the time it started failing."""
    event = finding_of(change_or_finding)
    change = change_or_finding if is_change(change_or_finding) else None
    return _compact(
        {
            "@timestamp": event["observed_at"],
            "ecs": {"version": ECS_VERSION},
            "message": event["message"],
            "event": {
                "id": event["event_id"],
                "kind": "event" if change else "state",
                "category": ["configuration"],
                "type": ["change" if change else "info"],
                "action": change["change"] if change else None,
                "start": change["failing_since"] if change else None,
                "outcome": _ECS_OUTCOME.get(event["status"], "unknown"),
                "severity": _event_severity(event, _CEF_SEVERITY),
                "provider": PRODUCT,
                "dataset": "netverify.change" if change else "netverify.finding",
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
            "cloud": {
                "provider": "azure",
                "region": event.get("region"),
                "account": {"id": event["subscription_id"]},
            },
            "netverify": {
                "finding_uid": event["uid"],
                "status": event["status"],
                "severity": event["severity"],
                "root_cause": event.get("root_cause"),
                "caused_by": event.get("caused_by") or None,
                "resource": {
                    "id": event["resource_id"],
                    "type": event["resource_type"],
                    "name": event["resource_name"],
                },
                "subject": event["subject"],
                "evidence": _ecs_evidence(event["evidence"]),
                "remediation": event["remediation"],
                "run_id": event["run_id"],
                "agent": event["agent"],
                "cloud": event["cloud"],
                "change": (
                    {
                        "change": change["change"],
                        "previous_status": change["previous_status"],
                        "failing_since": change["failing_since"],
                    }
                    if change
                    else None
                ),
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


_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


def _is_host_name(value: str) -> bool:
    """A fully qualified DNS name (dotted labels ending in an alphabetic TLD), not an address."""
    return bool(_HOST_NAME.match(value.rstrip(".")))


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _is_ip(value: str) -> bool:
    return _address(value) is not None


def _is_ipv4(value: str) -> bool:
    return isinstance(_address(value), ipaddress.IPv4Address)


def to_cef(change_or_finding: Mapping[str, Any]) -> str:
    """ArcSight CEF 0 (what Sentinel's CommonSecurityLog and QRadar parse).

    No region: CEF has no key for one (Sentinel's column map has none) and its six custom
    strings are taken.

    A change has a signature id and name of its own (``<check id>:<change>``, "Now failing: …"),
    the change as ``act`` (DeviceAction) and the previous status as ``cs3``.
    """
    event = finding_of(change_or_finding)
    change = change_or_finding if is_change(change_or_finding) else None
    remediation = event["remediation"] or {}
    custom = [
        ("cs1", "resourceId", event["resource_id"]),
        ("cs2", "standard", STANDARD),
        ("cs3", "previousStatus", change["previous_status"] if change else None),
        ("cs4", "remediation", remediation.get("command") or remediation.get("text")),
        ("cs5", "subscriptionId", event["subscription_id"]),
        ("cs6", "findingUid", event["uid"]),
        # CEF has no key for related events: the root causes' finding uids, comma-separated.
        ("flexString1", "causedBy", ",".join(event.get("caused_by") or ()) or None),
        # Sentinel's column for externalId (ExternalID) is an int: the event id, a UUID, lands
        # in a string column there only as FlexString2.
        ("flexString2", "eventId", event["event_id"]),
    ]
    extension: list[tuple[str, str | None]] = [
        ("rt", str(epoch_ms(event["observed_at"]))),
        ("externalId", event["event_id"]),
        ("outcome", event["status"]),
        ("act", change["change"] if change else None),
        ("cat", "network-isolation"),
        ("msg", event["message"]),
        ("dvchost", event["agent"]["name"]),
        # Sentinel maps dhost to DestinationHostName and dst to DestinationIP: only a resource
        # that is a host name or an IPv4 address goes there (never an ARM id, path or label).
        ("dhost", event["resource_id"] if _is_host_name(event["resource_id"]) else None),
        ("dst", event["resource_id"] if _is_ipv4(event["resource_id"]) else None),
    ]
    for key, label, value in custom:
        extension += [(f"{key}Label", label), (key, value)] if value else []
    header = [
        "CEF:0",
        _cef_header(PRODUCT),
        _cef_header(PRODUCT),
        _cef_header(event["producer"]["version"])[:31],
        _cef_header(f"{event['check_id']}:{change['change']}" if change else event["check_id"]),
        _cef_header(
            f"{_CEF_CHANGE_NAME[change['change']]}: {event['title']}" if change else event["title"]
        ),
        str(_event_severity(event, _CEF_SEVERITY)),
    ]
    return "|".join(header) + "|" + " ".join(f"{k}={_cef_value(v)}" for k, v in extension if v)


def compact_json(value: Any) -> str:
    """Strict JSON (``ValueError`` for NaN or infinity, which no SIEM parses)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def as_text(rendered: Any) -> str:
    """A rendering as one line of text: CEF as it is, the JSON formats as compact JSON."""
    return rendered if isinstance(rendered, str) else compact_json(rendered)


RENDERERS: dict[Format, Callable[[Mapping[str, Any]], Any]] = {
    "json": dict,
    "ocsf": to_ocsf,
    "ecs": to_ecs,
    "cef": to_cef,
}
