"""OCSF events checked against the official OCSF schema of the version they declare.

The JSON Schemas under ``tests/data/ocsf-<version>/`` are made from the official schema by
``scripts/ocsf_schema.py`` (its docstring says how): one per class and profile set, so that an
event is validated with exactly the profiles its ``metadata.profiles`` declares.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from tests.sinks import DATA

CLASSES = {2003: "compliance_finding"}


def schema_file(class_name: str, profiles: tuple[str, ...]) -> str:
    """``<class>[.<profile>...].json``, profiles sorted (one file per profile set)."""
    return ".".join([class_name, *sorted(profiles), "json"])


@cache
def _validator(path: Path) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))


def ocsf_errors(event: Mapping[str, Any]) -> list[str]:
    """Why ``event`` is not a valid OCSF event of the version and profiles it declares, one
    line each (``path: message``); empty when it is valid.

    Checked: the JSON Schema of its class (required attributes, types with their regexes and
    ranges, enums, no attribute outside the class and its declared profiles), no deprecated
    attribute used, ``type_uid`` = ``class_uid`` * 100 + ``activity_id``.
    """
    metadata = event.get("metadata") or {}
    version, profiles = metadata.get("version"), tuple(metadata.get("profiles") or ())
    class_name = CLASSES.get(event.get("class_uid"))  # type: ignore[arg-type]
    if class_name is None:
        return [f"class_uid: {event.get('class_uid')!r} is not a class netverify emits"]
    path = DATA / f"ocsf-{version}" / schema_file(class_name, profiles)
    if not path.exists():
        return [f"metadata: no official OCSF {version} schema of {class_name} with {profiles}"]
    validator = _validator(path)
    errors = [f"{error.json_path}: {error.message[:300]}" for error in validator.iter_errors(event)]
    errors += [f"{where}: deprecated in OCSF {version}" for where in _deprecated(event, validator)]
    if event.get("type_uid") != event.get("class_uid", 0) * 100 + event.get("activity_id", 0):
        errors.append(f"$.type_uid: {event.get('type_uid')} is not class_uid * 100 + activity_id")
    return errors


def _deprecated(event: Mapping[str, Any], validator: jsonschema.Draft202012Validator) -> list[str]:
    definitions = validator.schema["$defs"]

    def walk(value: Any, schema: Mapping[str, Any], where: str) -> Iterator[str]:
        if "$ref" in schema:
            schema = definitions[schema["$ref"].rsplit("/", 1)[1]]
        if not isinstance(value, Mapping):
            return
        for key, item in value.items():
            attribute = schema.get("properties", {}).get(key)
            if attribute is None:
                continue
            if attribute.get("deprecated"):
                yield f"{where}.{key}"
            inner = attribute.get("items", attribute)
            for element in item if isinstance(item, list) else [item]:
                yield from walk(element, inner, f"{where}.{key}")

    return list(walk(event, validator.schema, "$"))
