"""Each SIEM format carries the one mapping: ids, severity, outcome, resource, remediation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from netverify.agent.state import Change, change_event
from netverify.config import SyslogSink
from netverify.model import Status
from netverify.sinks.events import event_id
from netverify.sinks.formats import (
    RENDERERS,
    as_text,
    compact_json,
    epoch_ms,
    render_each,
    to_cef,
    to_ecs,
    to_ocsf,
)
from netverify.sinks.spool import Refused
from netverify.sinks.syslog import Syslog
from netverify.testing import finding_event, finding_events
from tests.sinks.ocsf import ocsf_errors


def stamped(**changes: Any) -> dict[str, Any]:
    [vault_event, _workspace_event] = finding_events(1)
    event = {**vault_event, **changes}
    return {**event, "event_id": event_id(event)}


def changed(change: Change) -> dict[str, Any]:
    """A change event of the failing vault finding (resolved: of the same finding, now passing)."""
    [vault_event, _workspace_event] = finding_events(1)
    if change is Change.RESOLVED:
        return change_event(change, {**vault_event, "status": "pass"}, "fail", None)
    since = "2026-11-24T06:00:00Z"
    return change_event(change, vault_event, None if change is Change.FAILING else "fail", since)


def cef_extension(line: str) -> str:
    """The extension of a CEF line: everything after the seventh unescaped '|'."""
    fields, current, escaped = [], "", False
    for char in line:
        if escaped:
            current, escaped = current + char, False
        elif char == "\\":
            current, escaped = current + char, True
        elif char == "|" and len(fields) < 7:
            fields.append(current)
            current = ""
        else:
            current += char
    return current


def test_ocsf_is_a_valid_compliance_finding() -> None:
    """The OCSF rendering validates against the official schema as class 2003."""
    event = stamped()
    ocsf = to_ocsf(event)

    assert [] == ocsf_errors(ocsf)
    assert (2003, 2, 200301, 1) == (
        ocsf["class_uid"],
        ocsf["category_uid"],
        ocsf["type_uid"],
        ocsf["activity_id"],
    )
    assert event["uid"] == ocsf["finding_info"]["uid"]
    assert event["event_id"] == ocsf["metadata"]["uid"]
    assert "keyvault_network_bypass_azure_services" == ocsf["compliance"]["control"]
    assert 3 == ocsf["compliance"]["status_id"]  # Fail
    assert 4 == ocsf["severity_id"]  # High
    assert epoch_ms(event["observed_at"]) == ocsf["time"]
    assert [event["resource_id"]] == [r["uid"] for r in ocsf["resources"]]
    assert ocsf["remediation"]["desc"].endswith("--bypass AzureServices")


def test_ocsf_leaves_out_what_it_does_not_know() -> None:
    """No empty strings, lists or nulls: an unknown field is absent, never blank."""

    def blanks(value: Any, path: str = "") -> list[str]:
        if isinstance(value, dict):
            return [p for k, v in value.items() for p in blanks(v, f"{path}.{k}")]
        if isinstance(value, list):
            return [path] if not value else [p for v in value for p in blanks(v, path)]
        return [path] if value in (None, "") else []

    passing = stamped(status="pass", remediation=None, evidence=None, subject=None)
    assert [] == blanks(to_ocsf(passing))
    assert [] == blanks(to_ecs(passing))
    assert "remediation" not in to_ocsf(passing)


@pytest.mark.parametrize(
    ("status", "severity_id", "compliance_status", "outcome"),
    [
        ("fail", 4, 3, "failure"),
        ("pass", 1, 1, "success"),
        ("error", 4, 0, "unknown"),
        ("skipped", 1, 99, "unknown"),
    ],
)
def test_a_pass_is_informational_whatever_the_check_severity(
    status: str, severity_id: int, compliance_status: int, outcome: str
) -> None:
    """Severity follows the check only when the finding needs action (fail or error)."""
    event = stamped(status=status)

    assert severity_id == to_ocsf(event)["severity_id"]
    assert compliance_status == to_ocsf(event)["compliance"]["status_id"]
    assert outcome == to_ecs(event)["event"]["outcome"]
    assert {4: "8", 1: "1"}[severity_id] == to_cef(event).split("|")[6]


def test_cef_header_escapes_pipe_and_backslash() -> None:
    """A '|' or '\\' in the name is escaped; the seven delimiters are not."""
    line = to_cef(stamped(title="a|b\\c"))

    assert "|a\\|b\\\\c|8|" in line
    assert line.startswith("CEF:0|netverify|netverify|")


def test_cef_extension_escapes_equals_backslash_and_newlines() -> None:
    """'=' and '\\' are escaped, newlines become \\n, and '|' stays as it is in a value."""
    line = to_cef(stamped(message="x=1 \\ y|z\nnext\r\nend"))

    assert "msg=x\\=1 \\\\ y|z\\nnext\\nend dvchost=" in cef_extension(line)


def test_cef_carries_the_event_and_finding_ids_with_labels() -> None:
    """externalId is the event id (de-duplication); cs6 with its label is the finding uid."""
    event = stamped()
    extension = cef_extension(to_cef(event))

    assert f"externalId={event['event_id']}" in extension
    assert f"cs6Label=findingUid cs6={event['uid']}" in extension
    assert f"rt={epoch_ms(event['observed_at'])}" in extension


def test_ecs_names_rule_outcome_and_event_id() -> None:
    """ECS: event.id for de-duplication, rule.id = check id, a state event."""
    event = stamped()
    ecs = to_ecs(event)

    assert event["event_id"] == ecs["event"]["id"]
    assert ("state", ["configuration"]) == (ecs["event"]["kind"], ecs["event"]["category"])
    assert "keyvault_network_bypass_azure_services" == ecs["rule"]["id"]
    assert event["observed_at"] == ecs["@timestamp"]
    assert event["uid"] == ecs["netverify"]["finding_uid"]


def test_every_string_of_an_event_is_redacted() -> None:
    """A token in a finding's message or deep in its evidence never reaches an event; the
    other fields (and the keys) are as the finding had them."""
    token = "eyJ0eXAiOiJKV1QiLCJhbGciOi.eyJhdWQiOiJodHRwczovL21h.c2lnbmF0dXJl"
    event = finding_event(
        "keyvault_network_bypass_azure_services",
        "mlw-a",
        Status.ERROR,
        message=f"ARM answered 502: echoed Bearer {token}",
        observed={"detail": f"echoed Bearer {token}", "answers": [{"body": token}]},
    )

    assert "ARM answered 502: echoed Bearer [redacted]" == event["message"]
    assert {
        "detail": "echoed Bearer [redacted]",
        "answers": [{"body": "[redacted]"}],
    } == event["evidence"]["observed"]
    assert token not in json.dumps(event)
    assert "keyvault_network_bypass_azure_services" == event["check_id"]


def test_event_id_is_stable_per_finding_and_run() -> None:
    """Redelivering the same event gives the same id; another run gives another."""
    [first, *_] = finding_events(1)
    [again, *_] = finding_events(1)

    assert event_id(first) == event_id(dict(first))
    assert first["uid"] == again["uid"]
    assert event_id(first) != event_id(again)


def readme_block(after: str) -> str:
    """The first fenced block after the line starting with ``after`` in README.md."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    rest = text[text.index("\n" + after) :]
    start = rest.index("```")
    body = rest[rest.index("\n", start) + 1 :]
    return body[: body.index("```")].rstrip("\n")


def test_readme_examples_are_what_netverify_renders() -> None:
    """The README's OCSF and CEF examples are the renderings of the same finding, verbatim."""
    [event, _] = finding_events(1, agent="agent-hub-eastus")
    event = {
        **event,
        "observed_at": "2026-11-25T18:00:00.123456Z",
        "run_id": "3f2a6c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
    }
    event["event_id"] = event_id(event)
    syslog = Syslog(
        SyslogSink(type="syslog", host="siem", format="cef", facility=20), "agent-hub-eastus"
    )

    assert json.dumps(to_ocsf(event), indent=2) == readme_block("`ocsf`:")
    assert syslog.message(event).decode() == readme_block("`cef` over syslog")
    ecs = json.loads(readme_block("`ecs`, abridged"))
    assert (to_ecs(event)["event"], to_ecs(event)["cloud"]) == (ecs["event"], ecs["cloud"])


@pytest.mark.parametrize(
    ("change", "activity", "status", "compliance_status", "severity_id"),
    [
        (Change.FAILING, (2, "Update", 200302), (1, "New"), 3, 4),
        (Change.STILL_FAILING, (2, "Update", 200302), (1, "New"), 3, 4),
        (Change.RESOLVED, (3, "Close", 200303), (4, "Resolved"), 1, 1),
    ],
)
def test_ocsf_change_updates_or_closes_the_finding(
    change: Change,
    activity: tuple[int, str, int],
    status: tuple[int, str],
    compliance_status: int,
    severity_id: int,
) -> None:
    """A change is the finding's Update (failing, still failing: New) or Close (Resolved), a valid
    class 2003 under the change's own event id, the change itself in unmapped."""
    event = changed(change)
    ocsf = to_ocsf(event)

    assert [] == ocsf_errors(ocsf)
    assert activity == (ocsf["activity_id"], ocsf["activity_name"], ocsf["type_uid"])
    assert f"Compliance Finding: {activity[1]}" == ocsf["type_name"]
    assert status == (ocsf["status_id"], ocsf["status"])
    assert (compliance_status, severity_id) == (
        ocsf["compliance"]["status_id"],
        ocsf["severity_id"],
    )
    assert (event["event_id"], event["uid"]) == (
        ocsf["metadata"]["uid"],
        ocsf["finding_info"]["uid"],
    )
    assert event["event_id"] != event_id(event["finding"])
    assert change.value == ocsf["unmapped"]["change"]
    assert event["previous_status"] == ocsf["unmapped"].get("previous_status")
    since = event["failing_since"]
    assert (epoch_ms(since) if since else None) == ocsf["finding_info"].get("first_seen_time")
    assert to_ocsf(event["finding"] | {"event_id": "x"})["finding_info"] == {
        k: v for k, v in ocsf["finding_info"].items() if k != "first_seen_time"
    }


def test_ocsf_finding_is_a_create_without_change() -> None:
    """A finding event stays activity Create, status New, with no change in unmapped."""
    ocsf = to_ocsf(stamped())

    assert (1, "Create", 200301, 1, "New") == (
        ocsf["activity_id"],
        ocsf["activity_name"],
        ocsf["type_uid"],
        ocsf["status_id"],
        ocsf["status"],
    )
    assert {"agent", "status"} == set(ocsf["unmapped"])
    assert "first_seen_time" not in ocsf["finding_info"]


def test_ecs_change_is_an_event_of_type_change() -> None:
    """ECS: kind event, type change, the change as event.action, failing_since as event.start."""
    event = changed(Change.FAILING)
    ecs = to_ecs(event)

    assert {
        "id": event["event_id"],
        "kind": "event",
        "category": ["configuration"],
        "type": ["change"],
        "action": "failing",
        "start": "2026-11-24T06:00:00Z",
        "outcome": "failure",
        "severity": 8,
        "provider": "netverify",
        "dataset": "netverify.change",
    } == ecs["event"]
    assert {"change": "failing", "failing_since": "2026-11-24T06:00:00Z"} == ecs["netverify"][
        "change"
    ]
    assert event["finding"]["check_id"] == ecs["rule"]["id"]
    resolved = to_ecs(changed(Change.RESOLVED))["event"]
    assert ("resolved", "success", 1) == (
        resolved["action"],
        resolved["outcome"],
        resolved["severity"],
    )
    assert "start" not in resolved
    finding = to_ecs(stamped())
    assert ("state", ["info"], "netverify.finding") == (
        finding["event"]["kind"],
        finding["event"]["type"],
        finding["event"]["dataset"],
    )
    assert "action" not in finding["event"]
    assert "change" not in finding["netverify"]


def test_cef_change_has_its_own_signature_and_name() -> None:
    """CEF: Signature ID <check>:<change>, Name "Now failing: …", act the change, cs3 previous."""
    event = changed(Change.STILL_FAILING)
    line = to_cef(event)
    header = line.split("|")
    extension = cef_extension(line)

    title = event["finding"]["title"]
    assert [
        "keyvault_network_bypass_azure_services:still_failing",
        f"Still failing: {title}",
        "8",
    ] == header[4:7]
    assert f"externalId={event['event_id']}" in extension
    assert "act=still_failing" in extension
    assert "cs3Label=previousStatus cs3=fail" in extension
    assert f"cs6Label=findingUid cs6={event['uid']}" in extension
    resolved = to_cef(changed(Change.RESOLVED)).split("|")
    assert ("keyvault_network_bypass_azure_services:resolved", f"Resolved: {title}", "1") == tuple(
        resolved[4:7]
    )
    assert "Now failing: " in to_cef(changed(Change.FAILING))
    finding = to_cef(stamped())
    assert "keyvault_network_bypass_azure_services" == finding.split("|")[4]
    assert " act=" not in cef_extension(finding)
    assert "cs3" not in cef_extension(finding)


def test_syslog_change_has_msgid_change_and_the_finding_severity() -> None:
    """Over syslog a change is MSGID change, PRI from the finding it wraps (local0 + err)."""
    syslog = Syslog(SyslogSink(type="syslog", host="siem", format="cef"), "agent-test")

    change = syslog.message(changed(Change.FAILING)).decode().split(" ")
    finding = syslog.message(stamped()).decode().split(" ")

    assert ("<131>1", "change") == (change[0], change[5])
    assert ("<131>1", "finding") == (finding[0], finding[5])
    assert "<134>1" == syslog.message(changed(Change.RESOLVED)).decode().split(" ")[0]


@pytest.mark.parametrize("fmt", ["ocsf", "ecs", "cef"])
def test_an_event_that_cannot_be_rendered_is_refused_by_its_id(fmt: str) -> None:
    """render_each renders every event; one without the keys its format needs is Refused, the
    reason naming its event id, the format and the error."""
    render = RENDERERS[fmt]  # type: ignore[index]
    good = [stamped(), changed(Change.FAILING)]
    poison = {"kind": "change", "event_id": "poison-1", "change": "failing"}

    assert [render(e) for e in good] == render_each(render, good, fmt)
    with pytest.raises(Refused) as refused:
        render_each(render, [*good, poison], fmt)
    assert f"event poison-1 cannot be rendered as {fmt}: KeyError: 'finding'" == str(refused.value)


CAUSES = ["6c1a9e0e-1111-5222-8333-444455556666", "7d2b0f1f-1111-5222-8333-444455556666"]


def test_a_symptom_names_its_root_causes_in_each_format() -> None:
    """OCSF: finding_info.related_events (uid = the causes' finding_info.uid), valid in the
    official OCSF schema; ECS: netverify.root_cause and netverify.caused_by (ECS has no field for
    related events); CEF: flexString1 with its label."""
    symptom = stamped(root_cause=False, caused_by=CAUSES)

    ocsf = to_ocsf(symptom)
    assert [] == ocsf_errors(ocsf)
    assert CAUSES == [r["uid"] for r in ocsf["finding_info"]["related_events"]]
    ecs = to_ecs(symptom)
    assert (False, CAUSES) == (ecs["netverify"]["root_cause"], ecs["netverify"]["caused_by"])
    assert f"flexString1Label=causedBy flexString1={','.join(CAUSES)}" in cef_extension(
        to_cef(symptom)
    )


def test_a_root_cause_names_no_related_finding() -> None:
    root = stamped(root_cause=True, caused_by=[])

    ocsf = to_ocsf(root)
    assert "related_events" not in ocsf["finding_info"]
    ecs = to_ecs(root)
    assert ecs["netverify"]["root_cause"] is True and "caused_by" not in ecs["netverify"]
    assert "flexString1" not in cef_extension(to_cef(root))


# -- Every field of every format, on events written out here (not built by netverify) ----------

SUBSCRIPTION = "AAAA0000-1111-2222-3333-444444444444"
ENDPOINT = "mlw-a.privatelink.api.azureml.ms"


def written_event(**changes: Any) -> dict[str, Any]:
    """A failing DNS finding event about a host name, every field given a distinct value."""
    event: dict[str, Any] = {
        "schema_version": "1.2",
        "uid": "0a0a0a0a-1111-5222-8333-444455556666",
        "check_id": "dns_name_resolves_private_endpoint",
        "title": "Workspace names resolve to their private endpoint",
        "status": "fail",
        "severity": "critical",
        "resource_id": ENDPOINT,
        "resource_type": None,
        "resource_name": ENDPOINT,
        "subscription_id": SUBSCRIPTION,
        "region": "usgovvirginia",
        "subject": "host resolver",
        "message": "mlw-a resolves to 20.1.2.3, not its private endpoint 10.0.0.5.",
        "evidence": {
            "observed": {"addresses": ["20.1.2.3"], "resolver": "host"},
            "expected": {"addresses": ["10.0.0.5"]},
        },
        "remediation": {"text": "Link the zone to the agent's VNet.", "command": ""},
        "root_cause": False,
        "cause_identified": True,
        "caused_by": ["6c1a9e0e-1111-5222-8333-444455556666"],
        "rationale": "Private workspaces answer only on their private endpoint.",
        "references": ["https://learn.microsoft.com/a", "https://learn.microsoft.com/b"],
        "run_id": "11111111-2222-4333-8444-555555555555",
        "observed_at": "2026-01-01T00:00:00Z",
        "agent": {"name": "agent-spoke", "vnet_id": "/subscriptions/x/vnet"},
        "cloud": "AzureUSGovernment",
        "producer": {"name": "netverify", "version": "1.2.3"},
        "event_id": "22222222-3333-5444-8555-666666666666",
    }
    return {**event, **changes}


def test_ecs_document_of_a_failing_finding_in_full() -> None:
    """Every ECS field a SIEM reads, with each evidence value as compact JSON by name."""
    assert {
        "@timestamp": "2026-01-01T00:00:00Z",
        "ecs": {"version": "8.11.0"},
        "message": "mlw-a resolves to 20.1.2.3, not its private endpoint 10.0.0.5.",
        "event": {
            "id": "22222222-3333-5444-8555-666666666666",
            "kind": "state",
            "category": ["configuration"],
            "type": ["info"],
            "outcome": "failure",
            "severity": 10,
            "provider": "netverify",
            "dataset": "netverify.finding",
        },
        "rule": {
            "id": "dns_name_resolves_private_endpoint",
            "name": "Workspace names resolve to their private endpoint",
            "description": "Private workspaces answer only on their private endpoint.",
            "ruleset": "netverify Azure ML network isolation",
            "reference": "https://learn.microsoft.com/a",
        },
        "observer": {
            "vendor": "netverify",
            "product": "netverify",
            "version": "1.2.3",
            "hostname": "agent-spoke",
        },
        "cloud": {"provider": "azure", "region": "usgovvirginia", "account": {"id": SUBSCRIPTION}},
        "netverify": {
            "finding_uid": "0a0a0a0a-1111-5222-8333-444455556666",
            "status": "fail",
            "severity": "critical",
            "root_cause": False,
            "caused_by": ["6c1a9e0e-1111-5222-8333-444455556666"],
            "resource": {"id": ENDPOINT, "name": ENDPOINT},
            "subject": "host resolver",
            "evidence": {
                "observed": [
                    {"name": "addresses", "value": '["20.1.2.3"]'},
                    {"name": "resolver", "value": '"host"'},
                ],
                "expected": [{"name": "addresses", "value": '["10.0.0.5"]'}],
            },
            "remediation": {"text": "Link the zone to the agent's VNet.", "command": ""},
            "run_id": "11111111-2222-4333-8444-555555555555",
            "agent": {"name": "agent-spoke", "vnet_id": "/subscriptions/x/vnet"},
            "cloud": "AzureUSGovernment",
        },
    } == to_ecs(written_event())


def test_ecs_change_carries_the_previous_status() -> None:
    """A still-failing change: the change, the status before and since when, in netverify.change."""
    finding = written_event()
    change = {
        "kind": "change",
        "event_id": "33333333-3333-5444-8555-666666666666",
        "change": "still_failing",
        "previous_status": "error",
        "failing_since": "2025-12-31T23:00:00Z",
        "finding": finding,
    }
    ecs = to_ecs(change)

    assert {
        "change": "still_failing",
        "previous_status": "error",
        "failing_since": "2025-12-31T23:00:00Z",
    } == ecs["netverify"]["change"]
    assert ("33333333-3333-5444-8555-666666666666", "still_failing", "2025-12-31T23:00:00Z") == (
        ecs["event"]["id"],
        ecs["event"]["action"],
        ecs["event"]["start"],
    )
    assert "still_failing" == to_ocsf(change)["unmapped"]["change"]
    assert "error" == to_ocsf(change)["unmapped"]["previous_status"]


@pytest.mark.parametrize(
    ("severity", "ocsf", "cef"),
    [
        ("low", (2, "Low"), 3),
        ("medium", (3, "Medium"), 5),
        ("high", (4, "High"), 8),
        ("critical", (5, "Critical"), 10),
    ],
)
def test_every_check_severity_maps_in_each_format(
    severity: str, ocsf: tuple[int, str], cef: int
) -> None:
    """A failing finding's severity: OCSF id and name, CEF header (0-10), ECS event.severity;
    the same finding passing is Informational (1) everywhere."""
    failing = written_event(severity=severity)
    passing = written_event(severity=severity, status="pass")

    assert ocsf == (to_ocsf(failing)["severity_id"], to_ocsf(failing)["severity"])
    assert str(cef) == to_cef(failing).split("|")[6]
    assert cef == to_ecs(failing)["event"]["severity"]
    assert (1, "Informational") == (to_ocsf(passing)["severity_id"], to_ocsf(passing)["severity"])
    assert "1" == to_cef(passing).split("|")[6]
    assert 1 == to_ecs(passing)["event"]["severity"]


@pytest.mark.parametrize(
    ("status", "compliance", "code"),
    [
        ("pass", {"status_id": 1, "status": "Pass"}, "PASS"),
        ("fail", {"status_id": 3, "status": "Fail"}, "FAIL"),
        ("error", {"status_id": 0, "status": "Unknown"}, "ERROR"),
        ("skipped", {"status_id": 99, "status": "Skipped"}, "SKIPPED"),
    ],
)
def test_ocsf_compliance_status_by_name(status: str, compliance: dict[str, Any], code: str) -> None:
    ocsf = to_ocsf(written_event(status=status))

    assert {
        "standards": ["netverify Azure ML network isolation"],
        "control": "dns_name_resolves_private_endpoint",
        **compliance,
    } == ocsf["compliance"]
    assert code == ocsf["status_code"]


@pytest.mark.parametrize(
    ("resource", "ocsf_type", "cef_host", "addressed"),
    [
        (ENDPOINT, "FQDN", f"dhost={ENDPOINT}", {"hostname": ENDPOINT}),
        (ENDPOINT + ".", "FQDN", f"dhost={ENDPOINT}.", {"hostname": ENDPOINT + "."}),
        ("10.0.0.5", "IP Address", "dst=10.0.0.5", {"ip": "10.0.0.5"}),
        ("fd00::5", "IP Address", None, {"ip": "fd00::5"}),
        ("10.0.1.5:443", "IP Address", None, {}),
        ("[fd00::5]:443", "IP Address", None, {}),
        ("/etc/resolv.conf", "File", None, {}),
        ("agent resolver list", "Other", None, {}),
    ],
)
def test_a_resource_that_is_no_arm_id_is_typed_by_its_shape(
    resource: str, ocsf_type: str, cef_host: str | None, addressed: dict[str, str]
) -> None:
    """OCSF resources[].type: a host name (even with the root dot), an IPv4 or IPv6 address (with
    a port too, the TLS check's subjects, but then no ``ip``), a file or other; CEF dhost only for a host name, dst only for an IPv4 address."""
    event = written_event(resource_id=resource, resource_name=resource, region=None)
    [ocsf_resource] = to_ocsf(event)["resources"]
    extension = cef_extension(to_cef(event)).split(" ")

    assert {
        "uid": resource,
        "name": resource,
        "type": ocsf_type,
        "cloud_partition": "AzureUSGovernment",
        "data": {"subject": "host resolver", "evidence": written_event()["evidence"]},
        **addressed,  # OCSF's recommended hostname / ip, where the resource is one
    } == ocsf_resource
    hosts = [f for f in extension if f.startswith(("dhost=", "dst="))]
    assert ([cef_host] if cef_host else []) == hosts


def test_ocsf_finding_info_types_links_and_remediation() -> None:
    """Type from the resource type (DNS for a name), the first reference as src_url, the root
    causes as related events, the remediation text with its command appended when it has one."""
    event = written_event()
    ocsf = to_ocsf(event)

    assert {
        "uid": "0a0a0a0a-1111-5222-8333-444455556666",
        "title": "Workspace names resolve to their private endpoint",
        "desc": "Private workspaces answer only on their private endpoint.",
        "types": ["Network isolation/DNS"],
        "src_url": "https://learn.microsoft.com/a",
        "last_seen_time": 1767225600000,
        "related_events": [
            {"uid": "6c1a9e0e-1111-5222-8333-444455556666", "type": "Compliance Finding"}
        ],
    } == ocsf["finding_info"]
    assert {
        "desc": "Link the zone to the agent's VNet.",
        "references": ["https://learn.microsoft.com/a", "https://learn.microsoft.com/b"],
    } == ocsf["remediation"]
    assert {
        "version": "1.8.0",
        "profiles": ["cloud"],
        "event_code": "dns_name_resolves_private_endpoint",
        "uid": "22222222-3333-5444-8555-666666666666",
        "correlation_uid": "11111111-2222-4333-8444-555555555555",
        "product": {
            "name": "netverify",
            "uid": "netverify",
            "vendor_name": "netverify",
            "version": "1.2.3",
        },
    } == ocsf["metadata"]
    assert {
        "provider": "Azure",
        "region": "usgovvirginia",
        "account": {"uid": SUBSCRIPTION, "type_id": 13, "type": "Azure Subscription"},
    } == ocsf["cloud"]
    assert {"agent": event["agent"], "status": "fail"} == ocsf["unmapped"]
    typed = to_ocsf(written_event(resource_type="Microsoft.Network/privateEndpoints"))
    assert ["Network isolation/Microsoft.Network/privateEndpoints"] == typed["finding_info"][
        "types"
    ]
    assert "Microsoft.Network/privateEndpoints" == typed["resources"][0]["type"]
    assert {
        "id": ENDPOINT,
        "type": "Microsoft.Network/privateEndpoints",
        "name": ENDPOINT,
    } == to_ecs(written_event(resource_type="Microsoft.Network/privateEndpoints"))["netverify"][
        "resource"
    ]
    unlinked = to_ocsf(written_event(references=[]))
    assert "src_url" not in unlinked["finding_info"]
    assert "reference" not in to_ecs(written_event(references=[]))["rule"]
    commanded = written_event(remediation={"text": "Link it.", "command": "az network x"})
    assert "Link it. Run: az network x" == to_ocsf(commanded)["remediation"]["desc"]


def test_cef_line_of_a_finding_in_full() -> None:
    """The whole CEF line: header, then each extension key once, labels before custom values."""
    assert (
        "CEF:0|netverify|netverify|1.2.3|dns_name_resolves_private_endpoint"
        "|Workspace names resolve to their private endpoint|10|"
        "rt=1767225600000 externalId=22222222-3333-5444-8555-666666666666 outcome=fail"
        " cat=network-isolation msg=mlw-a resolves to 20.1.2.3, not its private endpoint 10.0.0.5."
        f" dvchost=agent-spoke dhost={ENDPOINT}"
        f" cs1Label=resourceId cs1={ENDPOINT}"
        " cs2Label=standard cs2=netverify Azure ML network isolation"
        " cs4Label=remediation cs4=Link the zone to the agent's VNet."
        f" cs5Label=subscriptionId cs5={SUBSCRIPTION}"
        " cs6Label=findingUid cs6=0a0a0a0a-1111-5222-8333-444455556666"
        " flexString1Label=causedBy flexString1=6c1a9e0e-1111-5222-8333-444455556666"
        # Sentinel's ExternalID column is an int: the event id again, as a string column.
        " flexString2Label=eventId flexString2=22222222-3333-5444-8555-666666666666"
    ) == to_cef(written_event())


def test_cef_header_and_extension_keep_one_line() -> None:
    """CR and LF: spaces in the header; in the extension CRLF and LF are \\n, a lone CR \\r; the
    version field is cut at 31 characters."""
    line = to_cef(
        written_event(
            title="two\r\nlines\nthree\rfour",
            message="a\r\nb\nc\rd",
            producer={"name": "netverify", "version": "1" * 40},
        )
    )

    header = line.split("|")
    assert "1" * 31 == header[3]
    assert "two  lines three four" == header[5]
    assert "msg=a\\nb\\nc\\rd" in cef_extension(line)
    assert "\r" not in line and "\n" not in line


def test_compact_json_and_text_renderings() -> None:
    """Compact, strict, UTF-8 JSON (no NaN, which no SIEM parses); CEF text stays as it is; the
    json format is the event itself."""
    assert '{"name":"zoné","n":[1,2]}' == compact_json({"name": "zoné", "n": [1, 2]})
    with pytest.raises(ValueError):
        compact_json({"latency_ms": float("nan")})
    assert '{"a":"é"}' == as_text({"a": "é"})
    assert "CEF:0|x" == as_text("CEF:0|x")
    event = written_event()
    assert event == RENDERERS["json"](event)
    assert RENDERERS["json"](event) is not event
    assert 1767225600123 == epoch_ms("2026-01-01T00:00:00.123Z")
    assert epoch_ms("2026-01-01T00:00:00+00:00") == epoch_ms("2026-01-01T00:00:00Z")
