"""The finding's region in every format, through each format's independent validator: OCSF
``cloud.region`` and ``resources[].region``, ECS ``cloud.region``, the JSON finding's ``region``, syslog's ``region`` SD-PARAM; CEF has no
key for it. And the demo's findings are each in the region of their resource."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pycef
import pytest

from netverify.azure.arm_ids import ResourceId, ResourceIdError
from netverify.config import SyslogSink
from netverify.facts import region_name
from netverify.sim.arm_state import build_arm_state
from netverify.sim.scenario import builtin_scenario
from netverify.sinks.events import event_id, load_schema
from netverify.sinks.formats import finding_of, is_change, to_cef, to_ecs, to_ocsf
from netverify.sinks.syslog import Syslog
from netverify.testing import finding_events
from tests.sinks.ecs import ecs_errors
from tests.sinks.ocsf import ocsf_errors
from tests.sinks.rfc5424 import SD_ID, parsed
from tests.sinks.sentinel import cef_fields, column_errors
from tests.sinks.test_siem_validators import FQDN


def vault_event(region: str | None) -> dict[str, Any]:
    [event, _workspace] = finding_events(1)
    event = {**event, "region": region}
    return {**event, "event_id": event_id(event)}


@pytest.mark.parametrize("region", ["usgovvirginia", None])
def test_a_region_or_none_in_every_format(region: str | None) -> None:
    """With a region: OCSF and ECS cloud.region hold it, the JSON finding and the syslog SD
    too; without: each leaves it out (the JSON finding says null). Every rendering passes its
    validator; CEF carries it nowhere (no CEF key, no Sentinel column is a region)."""
    event = vault_event(region)
    ocsf, ecs, cef = to_ocsf(event), to_ecs(event), to_cef(event)
    syslog = Syslog(SyslogSink.model_validate({"type": "syslog", "host": "127.0.0.1"}), "agent")
    message = parsed(syslog.message(event))

    assert [] == ocsf_errors(ocsf)
    assert [] == ecs_errors(ecs)
    assert [] == list(jsonschema.Draft202012Validator(load_schema("finding")).iter_errors(event))
    assert ["externalId"] == [e.split("=")[0] for e in column_errors(cef)]
    assert pycef.parse(cef)
    assert {"provider": "Azure", "region": region} == {
        k: v for k, v in ocsf["cloud"].items() if k != "account"
    } | ({} if region else {"region": None})
    assert (region, region, region) == (
        ocsf["cloud"].get("region"),
        ocsf["resources"][0].get("region"),
        ecs["cloud"].get("region"),
    )
    assert region == json.loads(json.dumps(event))["region"]
    assert region == message.sd[SD_ID].get("region")
    assert ("usgovvirginia" not in cef) and "region" not in cef_fields(cef)
    if region is None:
        assert "region" not in ocsf["cloud"] and "region" not in ecs["cloud"]


def test_an_event_spooled_before_regions_still_renders() -> None:
    """A 1.1 event (no region key) left in a spool across an upgrade renders without one."""
    event = vault_event(None)
    del event["region"]

    assert "region" not in to_ocsf(event)["cloud"]
    assert "region" not in to_ocsf(event)["resources"][0]
    assert "region" not in to_ecs(event)["cloud"]
    assert to_cef(event).startswith("CEF:0|")


def owner_region(fqdn: str, bodies: dict[str, dict[str, Any]]) -> str | None:
    """The region of the resource a name belongs to, from the simulated ARM bodies alone: a
    workspace by the workspaceId in the name's first label, an online endpoint, vault, registry
    or storage account by its name as the first label."""
    first = fqdn.lower().split(".")[0]
    for rid, body in bodies.items():
        guid = str((body.get("properties") or {}).get("workspaceId") or "").lower()
        named = body.get("name", "").lower() == first and (
            rid.count("/") == 8 or "/onlineendpoints/" in rid
        )
        if "location" in body and (named or (guid and guid in first)):
            return region_name(body["location"])
    return None


def test_every_demo_finding_is_in_the_region_of_its_resource(
    demo_events: list[dict[str, Any]],
) -> None:
    """An ARM resource's finding has the location the simulated ARM serves for it (None where
    it serves none: a private endpoint in Microsoft's subscription, a missing zone); a name's,
    its owner's (workspace, online endpoint, vault, registry, storage account); a resolver's or
    resolv.conf's, none. The demo's workspaces are in eastus and westus, its zones global."""
    bodies = build_arm_state(builtin_scenario()).resources
    seen: dict[str | None, int] = {}
    for event in demo_events:
        finding = finding_of(event)
        resource = finding["resource_id"]
        try:
            ResourceId.parse(resource)
            body = bodies.get(resource.lower(), {})
            expected = region_name(body["location"]) if "location" in body else None
        except ResourceIdError:  # a name, a resolver's address, resolv.conf
            expected = owner_region(resource, bodies) if FQDN.match(resource) else None
        assert (resource, expected) == (resource, finding["region"]), event["check_id"]
        if not is_change(event):
            seen[finding["region"]] = seen.get(finding["region"], 0) + 1
    assert {"eastus", "westus", "global", None} == set(seen)
    assert seen["eastus"] > seen["westus"] > 0
