"""ECS documents checked against the Elastic Common Schema field list of the version they
declare (tests/data/ecs-<version>/fields.json, made by scripts/ecs_fields.py from ECS's own
generated list)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import cache
from typing import Any

from tests.sinks import DATA

# netverify's own fields, under a name that is no ECS field set (ECS's advice for custom ones).
CUSTOM = "netverify"
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "keyword": (str,),
    "constant_keyword": (str,),
    "wildcard": (str,),
    "match_only_text": (str,),
    "text": (str,),
    "ip": (str,),
    "date": (str,),
    "long": (int,),
    "integer": (int,),
    "short": (int,),
    "byte": (int,),
    "unsigned_long": (int,),
    "float": (int, float),
    "double": (int, float),
    "scaled_float": (int, float),
    "half_float": (int, float),
    "boolean": (bool,),
}


@cache
def ecs_fields(version: str) -> dict[str, Any]:
    path = DATA / f"ecs-{version}" / "fields.json"
    return dict(json.loads(path.read_text(encoding="utf-8"))["fields"])


def _leaves(document: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in document.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping) and path != CUSTOM:
            yield from _leaves(value, path)
        else:
            yield path, value


def ecs_errors(document: Mapping[str, Any]) -> list[str]:
    """Why ``document`` is not an ECS document of the ``ecs.version`` it declares, one line each:
    a field ECS does not define (outside the ``netverify`` custom namespace), a value of the
    wrong JSON type for the field's ECS type (a date that is not RFC 3339, a list where ECS
    expects one value or the reverse), a value outside the field's allowed values, an
    ``event.type`` its ``event.category`` does not expect."""
    version = (document.get("ecs") or {}).get("version")
    try:
        fields = ecs_fields(str(version))
    except FileNotFoundError:
        return [f"ecs.version: no ECS {version} field list in tests/data"]
    if CUSTOM in {name.split(".")[0] for name in fields}:
        return [f"{CUSTOM}: is an ECS field set, not a custom namespace"]
    errors = []
    for path, value in _leaves(document):
        if path == CUSTOM:
            continue
        field = fields.get(path)
        if field is None:
            errors.append(f"{path}: not an ECS {version} field")
            continue
        if field["array"] != isinstance(value, list):
            errors.append(f"{path}: ECS expects {'an array' if field['array'] else 'one value'}")
        for item in value if isinstance(value, list) else [value]:
            errors += [f"{path}: {problem}" for problem in _value_problems(item, field)]
    categories = (document.get("event") or {}).get("category") or []
    expected = fields["event.category"].get("expected_event_types", {})
    for kind in (document.get("event") or {}).get("type") or []:
        if not any(kind in expected.get(category, ()) for category in categories):
            errors.append(f"event.type: {kind!r} is not expected for event.category {categories}")
    return errors


def _value_problems(value: Any, field: Mapping[str, Any]) -> list[str]:
    accepted = _JSON_TYPES.get(field["type"], (object,))
    if isinstance(value, bool) and bool not in accepted:
        return [f"{value!r} is a boolean, ECS type {field['type']}"]
    if not isinstance(value, accepted):
        return [f"{value!r} is not of ECS type {field['type']}"]
    if field["type"] == "date":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return [f"{value!r} is not an RFC 3339 date"]
    if "allowed" in field and value not in field["allowed"]:
        return [f"{value!r} is not one of ECS's allowed values"]
    return []
