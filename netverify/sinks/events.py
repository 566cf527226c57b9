"""Finding -> the JSON event every output and sink shares (schema: schema/finding.schema.json)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from importlib import resources
from typing import Any

from netverify import __version__
from netverify.azure.arm_ids import ResourceId, ResourceIdError
from netverify.diagnose import cause_identified
from netverify.model import Finding, RunContext, Status
from netverify.secret import redact_all

SCHEMA_VERSION = "1.2"
# uuid5 namespace for event ids: one finding (uid) in one run has one event id, however many
# times a sink redelivers it, so a SIEM can drop the duplicates at-least-once delivery makes.
EVENT_NAMESPACE = uuid.UUID("0c7f4a2e-93b1-5c6d-8e2f-6a1b3c5d7e90")


def finding_schema() -> dict[str, Any]:
    return load_schema("finding")


def load_schema(name: str) -> dict[str, Any]:
    """``netverify/schema/<name>.schema.json``."""
    text = (resources.files("netverify") / "schema" / f"{name}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def to_event(finding: Finding, run: RunContext) -> dict[str, Any]:
    """The event of a finding, every string in it redacted (``secret.redact_all``): whatever a
    probe or check put into a message or evidence, no token leaves in an event."""
    try:
        rid: ResourceId | None = ResourceId.parse(finding.resource_id)
    except ResourceIdError:
        rid = None  # an FQDN, or the agent itself
    failed = finding.status is Status.FAIL
    event: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "uid": finding.uid,
        "check_id": finding.check.id,
        "title": finding.check.title,
        "status": finding.status.value,
        "severity": finding.check.severity.value,
        "resource_id": finding.resource_id,
        "resource_type": rid.type if rid else None,
        "resource_name": rid.name if rid else finding.resource_id,
        "subscription_id": rid.subscription if rid else None,
        "region": finding.region,
        "subject": finding.subject or None,
        "message": finding.message,
        "evidence": (
            {
                "observed": dict(finding.evidence.observed),
                "expected": dict(finding.evidence.expected),
            }
            if finding.evidence
            else None
        ),
        "remediation": (
            {"text": finding.remediation.text, "command": finding.remediation.command}
            if finding.remediation
            else None
        ),
        "root_cause": not finding.caused_by if failed else None,
        "cause_identified": (
            cause_identified(finding.needs, finding.breaks)
            if failed and not finding.caused_by
            else None
        ),
        "caused_by": list(finding.caused_by),
        "rationale": finding.check.rationale,
        "references": list(finding.check.references),
        "run_id": run.run_id,
        "observed_at": run.observed_at.isoformat().replace("+00:00", "Z"),
        "agent": {"name": run.agent.name, "vnet_id": run.agent.vnet_id},
        "cloud": run.cloud,
        "producer": {"name": "netverify", "version": __version__},
    }
    redacted: dict[str, Any] = redact_all(event)
    return redacted


def event_id(event: Mapping[str, Any]) -> str:
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{event['uid']}|{event['run_id']}"))
