"""deploy/azure/netverify-dcr.json: generated from the event schemas, its columns the sink's
fields, valid against the official ARM template schemas."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from azure.identity import ManagedIdentityCredential
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from netverify.azure.clouds import CloudName, cloud
from netverify.config import AzureMonitorSink
from netverify.sinks.azure_monitor import AzureMonitorLogs
from netverify.sinks.dcr import (
    CHANGES_TABLE,
    FINDINGS_TABLE,
    INPUT_STREAM,
    arm_template,
    columns,
    template_text,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "azure" / "netverify-dcr.json"
SCHEMAS = ROOT / "tests" / "data" / "arm-schemas"
SCHEMA_URL = "https://schema.management.azure.com/schemas/"
CUSTOM_STREAM = "^Custom-[A-Za-z0-9_]+$"
# Column type -> the JSON types a value in it may have (null: the column left empty).
ACCEPTS = {
    "string": (str,),
    "datetime": (str,),
    "boolean": (bool,),
    "long": (int,),
    "real": (int, float),
    "dynamic": (dict, list),
}


def test_the_committed_template_is_what_the_generator_makes() -> None:
    """Regenerating deploy/azure/netverify-dcr.json changes nothing."""
    assert template_text() == TEMPLATE.read_text(encoding="utf-8")


def test_every_row_the_sink_sends_has_exactly_its_tables_columns(
    demo_events: list[dict[str, Any]],
) -> None:
    """Each demo finding's row has the findings table's columns, each change event's the
    change table's, with values of the column's type."""
    sink = AzureMonitorSink.model_validate(
        {
            "type": "azure_monitor",
            "endpoint": "https://dce.example",
            "rule_id": "dcr-0123456789abcdef0123456789abcdef",
            "stream": INPUT_STREAM,
        }
    )
    # Nothing is sent: only the rows are made, so the credential is never asked for a token.
    logs = AzureMonitorLogs(sink, cloud(CloudName.PUBLIC), ManagedIdentityCredential())
    table = {FINDINGS_TABLE: columns("finding"), CHANGES_TABLE: columns("change")}

    tables = [CHANGES_TABLE if e.get("kind") == "change" else FINDINGS_TABLE for e in demo_events]

    # Both kinds of row are made (a loop over no events would prove nothing).
    assert {FINDINGS_TABLE, CHANGES_TABLE} == set(tables)
    for event, name in zip(demo_events, tables, strict=True):
        sent = logs.row(event)
        expected = table[name]
        assert {c["name"] for c in expected} == set(sent)
        for column in expected:
            value = sent[column["name"]]
            assert value is None or isinstance(value, ACCEPTS[column["type"]]), column


def test_the_dcr_declares_the_tables_columns_and_routes_by_kind() -> None:
    """The tables, the stream declaration and the data flows all use the generated columns."""
    template = arm_template()
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in template["resources"]:
        by_type.setdefault(resource["type"], []).append(resource)
    [dcr] = by_type["Microsoft.Insights/dataCollectionRules"]
    tables = {
        t["properties"]["schema"]["name"]: [c["name"] for c in t["properties"]["schema"]["columns"]]
        for t in by_type["Microsoft.OperationalInsights/workspaces/tables"]
    }
    declared = [c["name"] for c in dcr["properties"]["streamDeclarations"][INPUT_STREAM]["columns"]]
    flows = {f["outputStream"]: f for f in dcr["properties"]["dataFlows"]}

    assert {
        FINDINGS_TABLE: [c["name"] for c in columns("finding")],
        CHANGES_TABLE: [c["name"] for c in columns("change")],
    } == tables
    assert set(declared) == set(tables[FINDINGS_TABLE]) | set(tables[CHANGES_TABLE])
    for name, names in tables.items():
        projected = flows[f"Custom-{name}"]["transformKql"].split("| project ")[1]
        assert [f"['{n}']" for n in names] == projected.split(", ")


def _registry(template_schema: str) -> Registry[Any]:
    """The vendored schemas by their published URLs; every other provider schema the template
    schema names (a resource type the template does not deploy) stands in as "matches
    nothing", which is what it is for these resources: each names its own type."""
    vendored = {
        SCHEMA_URL + path.relative_to(SCHEMAS).as_posix(): json.loads(path.read_text("utf-8"))
        for path in SCHEMAS.rglob("*.json")
    }
    # The one place the generated schema is narrower than the API: a data flow's streams are an
    # extensible enum in the REST spec (x-ms-enum modelAsString), and every Logs Ingestion DCR
    # names a Custom- stream there, but the schema lists only the Microsoft- ones.
    streams = vendored[SCHEMA_URL + "2022-06-01/Microsoft.Insights.json"]["definitions"][
        "DataFlow"
    ]["properties"]["streams"]["oneOf"][0]
    streams["items"] = {"anyOf": [streams["items"], {"type": "string", "pattern": CUSTOM_STREAM}]}
    others: dict[str, dict[str, Any]] = {}
    for ref in re.findall(r'"\$ref": "(https://[^"#]+)#/([^"]+)"', template_schema):
        url, pointer = ref
        if url not in vendored:
            section, name = pointer.split("/")
            others.setdefault(url, {}).setdefault(section, {})[name] = {"not": {}}
    return Registry().with_resources(
        (url, Resource.from_contents(contents, DRAFT4))
        for url, contents in {**vendored, **others}.items()
    )


def _arm_validator() -> jsonschema.Draft4Validator:
    text = (SCHEMAS / "2019-04-01" / "deploymentTemplate.json").read_text("utf-8")
    return jsonschema.Draft4Validator(json.loads(text), registry=_registry(text))


def test_the_template_is_valid_against_the_arm_template_schema() -> None:
    """The official deploymentTemplate.json (2019-04-01) with the provider schemas of the four
    resource types finds no error."""
    errors = [e.message for e in _arm_validator().iter_errors(arm_template())]

    assert [] == errors


@pytest.mark.parametrize(
    ("resource_type", "path", "column"),
    [
        (
            "Microsoft.Insights/dataCollectionRules",
            ("streamDeclarations", INPUT_STREAM),
            {"name": "x", "type": "text"},
        ),
        # The tables API spells it dateTime where the DCR's says datetime.
        (
            "Microsoft.OperationalInsights/workspaces/tables",
            ("schema",),
            {"name": "x", "type": "datetime"},
        ),
    ],
)
def test_a_column_of_a_type_the_api_does_not_know_is_rejected(
    resource_type: str, path: tuple[str, ...], column: dict[str, str]
) -> None:
    """The schema check is real: one column of a type the resource's API does not take fails it."""
    template = arm_template()
    resource = next(r for r in template["resources"] if r["type"] == resource_type)
    holder = resource["properties"]
    for key in path:
        holder = holder[key]
    holder["columns"].append(column)

    assert not _arm_validator().is_valid(template)
