"""The demo's real events through independent validators: ECS (one JSON type per field path
across every check, no data in key names), a CEF parser from PyPI (pycef) and py-ocsf-models
(which models OCSF 1.5, not the 1.9 the events declare)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pycef
from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding

from netverify.sinks.formats import finding_of, to_cef, to_ecs, to_ocsf

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
    types: dict[str, set[str]] = defaultdict(set)
    for event in demo_events:
        for path, kind in paths(to_ecs(event)):
            types[path].add(kind)

    assert {} == {path: kinds for path, kinds in types.items() if len(kinds) > 1}
    keys = {key for path in types for key in path.split(".") if path}
    assert set() == {key for key in keys if not FIELD_NAME.match(key)}


def test_the_type_walk_catches_a_field_of_two_types() -> None:
    """The same path as a string in one event and an object in another is reported."""
    types: dict[str, set[str]] = defaultdict(set)
    for document in ({"a": {"b": "x"}}, {"a": {"b": {"c": 1}}}):
        for path, kind in paths(document):
            types[path].add(kind)

    assert {"a.b": {"string", "object"}} == {p: k for p, k in types.items() if len(k) > 1}


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


def test_every_demo_event_is_an_ocsf_compliance_finding_declaring_its_profile(
    demo_events: list[dict[str, Any]],
) -> None:
    """py-ocsf-models reads each demo event as a Compliance Finding; each declares the cloud
    profile whose attributes it carries, has Prowler's status_code/status_detail/event_code,
    no deprecated compliance.status_detail, and types a non-ARM resource by what it is."""
    kinds = set()
    for event in demo_events:
        ocsf = to_ocsf(event)
        ComplianceFinding.model_validate(ocsf)
        finding = finding_of(event)

        assert ["cloud"] == ocsf["metadata"]["profiles"]
        assert (finding["status"].upper(), finding["message"], finding["check_id"]) == (
            ocsf["status_code"],
            ocsf["status_detail"],
            ocsf["metadata"]["event_code"],
        )
        assert "status_detail" not in ocsf["compliance"]
        [resource] = ocsf["resources"]
        if finding["resource_type"] is None:
            kinds.add(resource["type"])
            if resource["type"] == "FQDN":
                assert FQDN.match(resource["uid"])
    assert {"FQDN", "IP Address"} <= kinds
