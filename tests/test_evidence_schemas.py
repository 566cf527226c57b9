"""Every check declares the shape of its evidence (``checks/<id>/evidence.schema.json``), and
what the checks emit - in the tests and in every built-in scenario - keeps to it.

The suite-wide half is ``tests/conftest.py``'s autouse fixture, which holds every finding any
test makes a shipped check yield to its schema; this file checks the schemas themselves, the
events of the built-in scenarios, and that a drifted evidence is caught.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from netverify.checklib.catalog import CatalogError, checks_dir, evidence_schema, load_checks
from netverify.model import Evidence, Finding, Status
from netverify.sim.scenario import builtin_names
from netverify.testing import facts, key_vault, workspace
from tests.conftest import scenario_events
from tests.evidence import evidence_errors, evidence_json, validating

# Every shipped check, written out so that a check added without a schema (or a schema left
# behind by a removed check) shows here.
CHECK_IDS = {
    "dns_answer_inside_vnet",
    "dns_custom_server_forwards_zones",
    "dns_forwarding_rule_targets_answer_privately",
    "dns_forwarding_ruleset_no_loop",
    "dns_host_resolver_matches_vnet",
    "dns_name_resolves_private_endpoint",
    "dns_resolver_answers",
    "keyvault_network_bypass_azure_services",
    "kubernetes_endpoint_router_reachable",
    "online_deployment_provisioning_succeeded",
    "online_endpoint_scoring_path_reachable",
    "online_endpoint_traffic_to_succeeded_deployment",
    "privatedns_record_matches_endpoint",
    "privatedns_record_present",
    "privatedns_zone_exists",
    "privatedns_zone_linked_agent_vnet",
    "privateendpoint_connection_approved",
    "privateendpoint_tls_reachable",
    "registry_egress_connection_approved",
    "workspace_image_build_compute_set",
    "workspace_managed_network_outbound_rules_active",
    "workspace_managed_network_provisioned",
    "workspace_policy_v1_legacy_mode_absent",
    "workspace_v1_legacy_mode_disabled",
}


def test_every_check_has_a_valid_closed_schema() -> None:
    """Each shipped check folder has an evidence schema that is valid draft 2020-12 and closes
    its objects (no key may appear that the schema does not name)."""
    with_schema = {p.parent.name for p in checks_dir().glob("*/evidence.schema.json")}

    assert CHECK_IDS == {c.meta.id for c in load_checks()} == with_schema
    for check_id in sorted(CHECK_IDS):
        schema = evidence_schema(checks_dir() / check_id)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert {"resolution", "dns_answer", "name", "read_failure"} <= set(schema["$defs"])
        assert '"additionalProperties": false' in json.dumps(schema), check_id


@pytest.fixture(scope="module")
def builtin_events() -> dict[str, list[dict[str, Any]]]:
    return {name: scenario_events(name) for name in builtin_names()}


def test_every_builtin_scenario_emits_evidence_that_fits(
    builtin_events: dict[str, list[dict[str, Any]]],
) -> None:
    """The events of every built-in scenario (after redaction, as sinks send them) fit their
    check's schema, and between them the scenarios run every check with evidence."""
    assert {"chain", "demo"} <= set(builtin_events)
    errors = [
        error
        for events in builtin_events.values()
        for event in events
        for error in evidence_errors(event["check_id"], event["evidence"])
    ]
    with_evidence = {
        e["check_id"] for events in builtin_events.values() for e in events if e["evidence"]
    }

    assert [] == errors
    assert CHECK_IDS == with_evidence


def _demo_event(
    events: dict[str, list[dict[str, Any]]], check_id: str, status: str
) -> dict[str, Any]:
    return next(e for e in events["demo"] if e["check_id"] == check_id and e["status"] == status)


def test_a_renamed_key_in_real_evidence_is_caught(
    builtin_events: dict[str, list[dict[str, Any]]],
) -> None:
    """The drift the report once missed: a zone finding's ``names[].resolutions`` written as
    ``resolution`` breaks the schema, and the error names the path and the key."""
    evidence = copy.deepcopy(
        _demo_event(builtin_events, "privatedns_zone_exists", "fail")["evidence"]
    )
    name = evidence["observed"]["names"][0]
    name["resolution"] = name.pop("resolutions")

    errors = evidence_errors("privatedns_zone_exists", evidence)

    assert any(
        e.startswith("privatedns_zone_exists: evidence['observed']['names'][0]:")
        and "'resolutions' is a required property" in e
        for e in errors
    ), errors
    assert any("'resolution' was unexpected" in e for e in errors), errors


@pytest.mark.parametrize(
    ("check_id", "path", "value", "message"),
    [
        ("keyvault_network_bypass_azure_services", ("observed", "bypass"), 1, "1 is not of type"),
        (
            "dns_name_resolves_private_endpoint",
            ("expected", "addresses"),
            "10.0.1.5",
            "is not of type 'array'",
        ),
        (
            "workspace_v1_legacy_mode_disabled",
            ("observed", "v1LegacyMode"),
            "true",
            "is not of type 'boolean'",
        ),
        ("privateendpoint_tls_reachable", ("observed", "port"), 0, "less than the minimum of 1"),
    ],
)
def test_a_wrong_type_in_real_evidence_is_caught(
    builtin_events: dict[str, list[dict[str, Any]]],
    check_id: str,
    path: tuple[str, str],
    value: object,
    message: str,
) -> None:
    """A value of the wrong type (or out of range) in a real fail's evidence breaks its schema."""
    evidence = copy.deepcopy(_demo_event(builtin_events, check_id, "fail")["evidence"])
    assert [] == evidence_errors(check_id, evidence)
    evidence[path[0]][path[1]] = value

    assert any(message in e for e in evidence_errors(check_id, evidence))


def test_an_unknown_key_in_a_failed_read_is_caught() -> None:
    """The shared read-failure shape is closed: a 403 must name the permission it lacks."""
    evidence = {
        "observed": {"problem": "forbidden", "detail": "403", "http_status": 403},
        "expected": {},
    }

    assert evidence_errors("workspace_v1_legacy_mode_disabled", evidence)
    evidence["observed"]["missing_permission"] = "Microsoft.MachineLearningServices/workspaces/read"
    assert [] == evidence_errors("workspace_v1_legacy_mode_disabled", evidence)


def test_a_check_yielding_drifted_evidence_fails_the_test_that_ran_it() -> None:
    """The conftest wrapper notes a finding that breaks its schema and raises, so a runner's
    crash finding cannot hide it; a finding that fits passes through unchanged."""
    [vault_check] = [
        c for c in load_checks() if c.meta.id == "keyvault_network_bypass_azure_services"
    ]
    good = list(vault_check.module.evaluate(facts([workspace()], [key_vault(bypass="None")])))
    observed = {k: v for k, v in good[0].evidence.observed.items() if k != "defaultAction"}
    drifted = Finding(
        vault_check.meta,
        Status.FAIL,
        good[0].resource_id,
        "m",
        Evidence(observed, {"bypass": "AzureServices"}),
    )
    violations: list[str] = []

    assert good == list(validating(vault_check.meta.id, lambda _: iter(good), violations)(facts()))
    with pytest.raises(AssertionError, match=re.escape("'defaultAction' is a required property")):
        list(validating(vault_check.meta.id, lambda _: iter([drifted]), violations)(facts()))
    assert 1 <= len(violations) and all(
        v.endswith(f"(finding {good[0].resource_id})") for v in violations
    )
    assert {
        "observed": {
            "bypass": "None",
            "ipRules": [],
            "virtualNetworkRules": [],
            "publicNetworkAccess": "Disabled",
            "workspaces": ["mlw-test"],
        },
        "expected": {"bypass": "AzureServices"},
    } == evidence_json(drifted)


def test_a_missing_or_broken_schema_names_its_file(tmp_path: Path) -> None:
    """No schema, a schema that is not JSON, and one that redefines a shared shape are errors
    naming the file."""
    folder = tmp_path / "workspace_thing_ok"
    folder.mkdir()
    (tmp_path / "evidence.defs.json").write_text('{"$defs": {"name": {}}}')
    with pytest.raises(CatalogError, match=re.escape(str(folder / "evidence.schema.json"))):
        evidence_schema(folder)

    (folder / "evidence.schema.json").write_text("{not json")
    with pytest.raises(CatalogError, match=re.escape(str(folder / "evidence.schema.json"))):
        evidence_schema(folder)

    (folder / "evidence.schema.json").write_text('{"$defs": {"name": {}}}')
    with pytest.raises(CatalogError, match=re.escape("$defs name already in evidence.defs.json")):
        evidence_schema(folder)
