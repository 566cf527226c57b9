"""The demo's real events, in every format and through every transport that carries it,
through independent validators: the official OCSF schema of the version the events declare
(tests/sinks/ocsf.py), ECS's field list of its version (tests/sinks/ecs.py; and one JSON type per
field path across every check, no data in key names), netverify's published JSON Schemas, a CEF
parser from PyPI (pycef) and Sentinel's CEF-to-CommonSecurityLog map (tests/sinks/sentinel.py);
and each validator failing a deliberately broken event."""

from __future__ import annotations

import copy
import io
import json
import re
import runpy
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_args

import jsonschema
import pycef
import pytest
from azure.identity import ManagedIdentityCredential
from pydantic import TypeAdapter

from netverify.azure.clouds import CloudName, cloud
from netverify.config import Sink, SyslogSink
from netverify.sinks.delivery import JsonLinesFile, SinkEnvironment, make_transport
from netverify.sinks.events import load_schema
from netverify.sinks.formats import (
    OCSF_PROFILES,
    OCSF_VERSION,
    finding_of,
    is_change,
    to_cef,
    to_ecs,
    to_ocsf,
)
from netverify.sinks.syslog import Syslog
from tests.conftest import TenantFactory
from tests.servers.receivers import LogsIngestionStandIn, SplunkHecStandIn, WebhookStandIn
from tests.sinks import DATA
from tests.sinks.ecs import ecs_errors
from tests.sinks.ocsf import ocsf_errors
from tests.sinks.rfc5424 import parsed
from tests.sinks.sentinel import cef_fields, column_errors, column_map

ROOT = Path(__file__).resolve().parents[2]
RULE = "dcr-0123456789abcdef0123456789abcdef"
STREAM = "Custom-NetverifyFindings_CL"

# An ECS field name: what an index mapping is made of, never an IP, an ARM id or a path.
FIELD_NAME = re.compile(r"^@?[a-z][a-z0-9_]*$", re.IGNORECASE)
FQDN = re.compile(r"^([a-z0-9_-]+\.)+[a-z]{2,63}$", re.IGNORECASE)


def paths(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(dotted path, JSON type) of every leaf and container; list items share their list's path."""
    if isinstance(value, dict):
        yield prefix, "object"
        for key, item in value.items():
            yield from paths(item, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list):
        for item in value:
            yield from paths(item, prefix)
    else:
        kind = {bool: "boolean", int: "number", float: "number", str: "string"}
        yield prefix, "null" if value is None else kind[type(value)]


def test_every_ecs_field_has_one_type_across_all_demo_events(
    demo_events: list[dict[str, Any]],
) -> None:
    """Walking every demo finding and change event in ECS: each field path has one JSON type,
    and every key is a field name (no IPs, ARM ids or FQDNs as keys)."""
    documents = [to_ecs(event) for event in demo_events]

    assert {} == ecs_type_clashes(documents)
    keys = {key for d in documents for path, _ in paths(d) if path for key in path.split(".")}
    assert set() == {key for key in keys if not FIELD_NAME.match(key)}


def test_the_type_walk_catches_a_field_of_two_types() -> None:
    """The same path as a string in one event and an object in another is reported."""
    documents = [{"a": {"b": "x"}}, {"a": {"b": {"c": 1}}}]

    assert {"a.b": {"string", "object"}} == ecs_type_clashes(documents)


def test_pycef_reads_every_demo_event_back(demo_events: list[dict[str, Any]]) -> None:
    """pycef parses each CEF record to the event's ids and message; dhost is the resource when
    it is a host name (Sentinel's DestinationHostName), dst when an IPv4 address, else absent."""
    host_names = 0
    for event in demo_events:
        finding = finding_of(event)
        parsed = pycef.parse(to_cef(event))

        assert ("netverify", "netverify") == (parsed["DeviceVendor"], parsed["DeviceProduct"])
        assert event["event_id"] == parsed["externalId"]
        assert finding["uid"] == parsed["findingUid"]  # pycef names csN by its csNLabel
        assert finding["message"] == parsed["msg"].replace("\\=", "=").replace("\\\\", "\\")
        resource = finding["resource_id"]
        if "dhost" in parsed:
            host_names += 1
            assert (resource, True) == (parsed["dhost"], bool(FQDN.match(parsed["dhost"])))
        elif "dst" in parsed:
            assert resource == parsed["dst"]
        else:
            assert not FQDN.match(resource)
    assert host_names > 0


def test_an_unescaped_equals_sign_breaks_the_cef_record(demo_events: list[dict[str, Any]]) -> None:
    """The same record with msg's '=' left unescaped no longer parses to its message."""
    event = {**demo_events[0], "message": "bypass=None is wrong"}
    record = to_cef(event)
    broken = record.replace("bypass\\=None", "bypass=None")

    assert "bypass\\=None is wrong" == pycef.parse(record)["msg"]
    assert "msg" not in pycef.parse(broken) or "bypass" not in pycef.parse(broken)["msg"]


def test_every_demo_event_is_a_valid_ocsf_event_of_its_declared_version(
    demo_events: list[dict[str, Any]],
) -> None:
    """Every demo finding and change event, rendered as OCSF, validates against the official
    schema of the version and profiles it declares (no deprecated attribute; the cloud profile
    declared for its cloud attributes), and carries what Prowler fills: status_code,
    status_detail, metadata.event_code; a resource that is a host name or an address has it as
    resources[].hostname or .ip."""
    kinds, activities = set(), set()
    for event in demo_events:
        ocsf = to_ocsf(event)
        finding = finding_of(event)

        assert [] == ocsf_errors(ocsf), event["event_id"]
        assert (OCSF_VERSION, list(OCSF_PROFILES)) == (
            ocsf["metadata"]["version"],
            ocsf["metadata"]["profiles"],
        )
        assert (finding["status"].upper(), finding["message"], finding["check_id"]) == (
            ocsf["status_code"],
            ocsf["status_detail"],
            ocsf["metadata"]["event_code"],
        )
        [resource] = ocsf["resources"]
        if finding["resource_type"] is None:
            kinds.add(resource["type"])
            field = {"FQDN": "hostname", "IP Address": "ip"}.get(resource["type"])
            assert field is None or resource[field] == resource["uid"]
        activities.add(ocsf["activity_name"])
    assert {"FQDN", "IP Address"} <= kinds
    assert {"Create", "Update", "Close"} == activities  # findings and both kinds of change


def test_the_vendored_ocsf_schemas_are_what_the_script_makes(tmp_path: Path) -> None:
    """tests/data/ocsf-<version> is scripts/ocsf_schema.py's output for the declared version."""
    script = runpy.run_path(str(ROOT / "scripts" / "ocsf_schema.py"), run_name="ocsf_schema")

    assert 0 == script["main"](["--out", str(tmp_path)])
    vendored = DATA / f"ocsf-{OCSF_VERSION}"
    assert sorted(p.name for p in vendored.iterdir()) == sorted(p.name for p in tmp_path.iterdir())
    for made in tmp_path.iterdir():
        assert made.read_bytes() == (vendored / made.name).read_bytes(), made.name


def _broken(ocsf: dict[str, Any], how: str) -> dict[str, Any]:
    broken = copy.deepcopy(ocsf)
    if how == "wrong type":
        broken["severity_id"] = "4"
    elif how == "missing required":
        del broken["finding_info"]["uid"]
    elif how == "undeclared profile attribute":
        broken["metadata"]["profiles"] = []
    elif how == "unknown attribute":
        broken["compliance"]["state"] = "bad"
    elif how == "out of its enum":
        broken["compliance"]["status_id"] = 7
    elif how == "bad ip":
        broken["resources"][0]["ip"] = "10.0.0.300"
    elif how == "deprecated attribute":
        broken["compliance"]["status_detail"] = broken["message"]
    else:
        broken["type_uid"] = 200399
    return broken


@pytest.mark.parametrize(
    "how",
    [
        "wrong type",
        "missing required",
        "undeclared profile attribute",
        "unknown attribute",
        "out of its enum",
        "bad ip",
        "deprecated attribute",
        "type_uid",
    ],
)
def test_the_ocsf_validator_rejects_a_broken_event(
    demo_events: list[dict[str, Any]], how: str
) -> None:
    """A demo event (an IP-address resource, so that .ip exists) broken one way fails, naming
    where; the same event unbroken passes."""
    ocsf = next(
        to_ocsf(e) for e in demo_events if "ip" in to_ocsf(e)["resources"][0] and not is_change(e)
    )
    expected = {
        "wrong type": "$.severity_id",
        "missing required": "$.finding_info",
        # cloud and resources[].cloud_partition are the cloud profile's
        "undeclared profile attribute": "$ $.resources[0]",
        "unknown attribute": "$.compliance",
        "out of its enum": "$.compliance.status_id",
        "bad ip": "$.resources[0].ip",
        "deprecated attribute": "$.compliance.status_detail",
        "type_uid": "$.type_uid",
    }[how]

    assert [] == ocsf_errors(ocsf)
    errors = ocsf_errors(_broken(ocsf, how))
    assert expected.split() == sorted({e.split(": ")[0] for e in errors}), errors


def syslog_sink(protocol: str, fmt: str = "cef") -> Syslog:
    config = SyslogSink.model_validate(
        {"type": "syslog", "host": "127.0.0.1", "protocol": protocol, "format": fmt}
    )
    return Syslog(config, "agent-test")


def carriers(fmt: str) -> set[str]:
    """The sink types whose ``format`` may be ``fmt`` (from the config's own schema)."""
    types = set()
    for section in get_args(get_args(Sink)[0]):
        schema = section.model_json_schema()["properties"]["format"]
        allowed = [
            v for s in schema.get("anyOf", [schema]) for v in s.get("enum", [s.get("const")])
        ]
        if fmt in allowed:
            types.add(get_args(section.model_fields["type"].annotation)[0])
    return types


def delivered(
    fmt: str,
    events: list[dict[str, Any]],
    start_tenant: TenantFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> dict[str, list[Any]]:
    """What arrives of ``events`` sent as ``fmt`` through every transport that carries it: the
    real transports to loopback receivers (stdout, a JSON lines file, a webhook, Splunk HEC,
    Logs Ingestion through the SDK and managed identity), each document as its receiver stores
    it (HEC's ``event``, a Logs Ingestion row without its TimeGenerated column); syslog as
    each message's MSG (UDP and TCP sizes, trimmed as the sink trims), JSON parsed, CEF as text.
    """
    tenant = start_tenant()
    (tmp_path / "hec-token").write_text("hec-token")
    hook = WebhookStandIn(tmp_path / "webhook")
    hec = SplunkHecStandIn(tmp_path / "hec", "hec-token", ack_delay_seconds=0)
    ingestion = LogsIngestionStandIn(tmp_path / "li", tenant.arm.tokens, RULE, STREAM)
    receivers = (hook, hec, ingestion)
    for server in receivers:
        server.start()  # its url has its port from here on
    sections: dict[str, dict[str, Any]] = {
        "stdout": {},
        "jsonl_file": {"path": str(tmp_path / "out.jsonl")},
        "webhook": {"url": hook.url, "ca_file": str(hook.ca_pem)},
        "splunk_hec": {
            "url": hec.url,
            "token_file": str(tmp_path / "hec-token"),
            "ca_file": str(hec.ca_pem),
        },
        "azure_monitor": {
            "endpoint": ingestion.url,
            "rule_id": RULE,
            "stream": STREAM,
            "ca_file": str(ingestion.ca_pem),
        },
    }
    kinds = carriers(fmt)
    env = SinkEnvironment("agent-test", cloud(CloudName.PUBLIC), ManagedIdentityCredential)
    try:
        for kind in kinds - {"syslog"}:
            options = {"type": kind, "format": fmt, **sections[kind]}
            transport = make_transport(TypeAdapter(Sink).validate_python(options), kind, env)
            transport.send(events)
            transport.close()
    finally:
        for server in receivers:
            server.stop()
    text = fmt == "cef"
    files = {"stdout": capsys.readouterr().out, "jsonl_file": ""}
    if "jsonl_file" in kinds:
        files["jsonl_file"] = (tmp_path / "out.jsonl").read_text()
    stored = {
        "webhook": list(hook.received),
        "splunk_hec": [envelope["event"] for envelope in hec.indexed],
        "azure_monitor": [
            {k: v for k, v in row.items() if k != "TimeGenerated"} for row in ingestion.rows
        ],
        **{
            kind: [line if text else json.loads(line) for line in body.splitlines()]
            for kind, body in files.items()
        },
    }
    arrived = {kind: documents for kind, documents in stored.items() if kind in kinds}
    if "syslog" in kinds:
        for protocol in ("udp", "tcp"):
            sink = syslog_sink(protocol, fmt)
            messages = [str(parsed(sink.message(event)).msg) for event in events]
            arrived[f"syslog {protocol}"] = messages if text else [json.loads(m) for m in messages]
    return arrived


def ecs_type_clashes(documents: list[dict[str, Any]]) -> dict[str, set[str]]:
    """The field paths that have more than one JSON type across ``documents``."""
    types: dict[str, set[str]] = defaultdict(set)
    for document in documents:
        for path, kind in paths(document):
            types[path].add(kind)
    return {path: kinds for path, kinds in types.items() if len(kinds) > 1}


SCHEMAS = {
    kind: jsonschema.Draft202012Validator(load_schema(kind)) for kind in ("finding", "change")
}
VALIDATORS: dict[str, tuple[Callable[[Any], str], Callable[[Any], list[str]]]] = {
    # format: (the event id a document carries, why the document is invalid)
    "ocsf": (lambda d: d["metadata"]["uid"], ocsf_errors),
    "ecs": (lambda d: d["event"]["id"], ecs_errors),
    "json": (
        lambda d: d["event_id"],
        lambda d: [
            e.message for e in SCHEMAS["change" if is_change(d) else "finding"].iter_errors(d)
        ],
    ),
    "cef": (lambda r: cef_fields(r)["externalId"], lambda r: [] if pycef.parse(r) else ["pycef"]),
}


@pytest.mark.parametrize("fmt", ["ocsf", "ecs", "json", "cef"])
def test_every_format_arrives_valid_through_every_transport_that_carries_it(
    demo_events: list[dict[str, Any]],
    start_tenant: TenantFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fmt: str,
) -> None:
    """Every demo finding and change event sent in ``fmt`` through each transport that carries
    it arrives once, and every arrived document passes the format's independent validator: the
    official OCSF 1.8.0 schema, ECS 8.11's field list (plus one JSON type per field path across
    the documents), netverify's published finding and change JSON Schemas, pycef."""
    event_id_of, errors_of = VALIDATORS[fmt]

    arrived = delivered(fmt, demo_events, start_tenant, tmp_path, capsys)

    assert carriers(fmt) == {kind.split()[0] for kind in arrived}
    sent = sorted(e["event_id"] for e in demo_events)
    for kind, documents in arrived.items():
        assert sent == sorted(map(event_id_of, documents)), kind
        assert [] == [(event_id_of(d), errors_of(d)) for d in documents if errors_of(d)], kind
        if fmt == "ecs":
            assert {} == ecs_type_clashes(documents), kind


@pytest.mark.parametrize(
    ("broken", "error"),
    [
        (
            {"event": {"kind": "finding"}},
            "event.kind: 'finding' is not one of ECS's allowed values",
        ),
        ({"event": {"severity": "high"}}, "event.severity: 'high' is not of ECS type long"),
        ({"event": {"type": "change"}}, "event.type: ECS expects an array"),
        ({"event": {"type": ["connection"]}}, "event.type: 'connection' is not expected"),
        ({"@timestamp": "yesterday"}, "@timestamp: 'yesterday' is not an RFC 3339 date"),
        ({"rule": {"check": "x"}}, "rule.check: not an ECS 8.11.0 field"),
    ],
    ids=["kind", "severity", "type-array", "type-category", "timestamp", "unknown-field"],
)
def test_the_ecs_validator_rejects_a_broken_document(
    demo_events: list[dict[str, Any]], broken: dict[str, Any], error: str
) -> None:
    """A demo ECS document with one field broken (a value outside ECS's allowed values, a wrong
    type, one value where ECS expects an array, an event.type its category does not expect, a
    date that is no date, a field ECS does not define) fails naming it; unbroken it passes."""
    document = to_ecs(demo_events[0])
    changed = copy.deepcopy(document)
    for key, value in broken.items():
        changed[key] = {**changed[key], **value} if isinstance(value, dict) else value

    assert [] == ecs_errors(document)
    assert [e for e in ecs_errors(changed) if e.startswith(error)], ecs_errors(changed)


def test_a_change_event_missing_its_change_fails_the_change_schema(
    demo_events: list[dict[str, Any]],
) -> None:
    """netverify's change JSON Schema rejects a demo change event without its change."""
    change = next(e for e in demo_events if is_change(e))
    broken = {k: v for k, v in change.items() if k != "change"}

    assert [] == VALIDATORS["json"][1](change)
    assert ["'change' is a required property"] == VALIDATORS["json"][1](broken)


def test_every_cef_key_of_every_demo_event_lands_in_a_sentinel_column_of_its_type(
    demo_events: list[dict[str, Any]],
) -> None:
    """Each demo finding and change event as CEF, over stdout and syslog (UDP and TCP, trimmed
    as they send it): every key lands in a CommonSecurityLog column whose type holds its value
    (dhost a host name in DestinationHostName, dst an IPv4 address in DestinationIP), every
    custom key has its label; the event id, which ExternalID (an int) cannot hold, is also in
    FlexString2."""
    assert {"stdout", "syslog"} == carriers("cef")
    stdout = JsonLinesFile(None, "cef", io.StringIO())
    udp, tcp = syslog_sink("udp"), syslog_sink("tcp")
    senders: dict[str, Callable[[dict[str, Any]], str]] = {
        "stdout": lambda e: stdout.line(e).rstrip("\n"),
        "syslog udp": lambda e: str(parsed(udp.message(e)).msg),
        "syslog tcp": lambda e: str(parsed(tcp.message(e)).msg),
    }
    keys: set[str] = set()
    for transport, render in senders.items():
        for event in demo_events:
            record = render(event)
            fields = cef_fields(record)
            errors = column_errors(record)

            assert ["externalId"] == [e.split("=")[0] for e in errors], (transport, errors)
            assert (event["event_id"], "eventId") == (
                fields["flexString2"],
                fields["flexString2Label"],
            )
            keys |= set(fields)
    columns = column_map()["columns"]
    assert {"DestinationHostName", "DestinationIP", "DeviceAction", "FlexString1"} <= {
        columns[key][0] for key in keys if key in columns
    }


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ("cn1Label=count cn1=many", "cn1='many': does not fit DeviceCustomNumber1 (int)"),
        ("cn2Label=big cn2=4294967296", "cn2='4294967296': does not fit DeviceCustomNumber2 (int)"),
        (
            "dhost=/subscriptions/s/resourceGroups/r",
            "dhost='/subscriptions/s/resourceGroups/r': does not fit DestinationHostName (string)",
        ),
        ("dst=10.0.0.4:53", "dst='10.0.0.4:53': does not fit DestinationIP (string)"),
        ("cs3=left", "cs3: cs3Label missing (DeviceCustomString3Label)"),
        ("resourceUid=x", "resourceUid: no CommonSecurityLog column"),
    ],
)
def test_a_broken_cef_record_does_not_land_in_sentinels_columns(
    demo_events: list[dict[str, Any]], change: str, error: str
) -> None:
    """A demo record with one key broken (a number column given text or an int out of range, a
    host-name column an ARM id, an IPv4 column ip:port, a custom key without label, a key
    Sentinel has no column for) is reported; the record as rendered has no such error."""
    record = to_cef(demo_events[0])

    assert error not in column_errors(record)
    assert error in column_errors(f"{record} {change}")
