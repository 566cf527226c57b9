"""Regenerates tests/data/ecs-<version>/fields.json: every field of the Elastic Common Schema
of the version netverify's ECS events declare (``netverify.sinks.formats.ECS_VERSION``), with
what a document must respect: its type, whether it is an array, and its allowed values (for
``event.category``, the ``event.type`` values each category expects).

Usage, from the repository root, with a clone of github.com/elastic/ecs::

    git -C ecs show v8.11.0:generated/ecs/ecs_flat.yml > ecs_flat.yml
    .venv/bin/python scripts/ecs_fields.py ecs_flat.yml

The input is ECS's own generated field list (``generated/ecs/ecs_flat.yml`` at the release's
tag). Exits 2 with a one-line error when the file is not that list (no ``ecs.version`` field).
Keys are sorted so that regenerating gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from netverify.sinks.formats import ECS_VERSION  # noqa: E402


def fields(flat: dict[str, Any]) -> dict[str, Any]:
    """``{name: {"type", "array", "allowed"?, "expected_event_types"?}}`` of ecs_flat.yml."""
    kept: dict[str, Any] = {}
    for name, field in sorted(flat.items()):
        entry: dict[str, Any] = {
            "type": field["type"],
            "array": "array" in (field.get("normalize") or ()),
        }
        allowed = field.get("allowed_values")
        if allowed:
            entry["allowed"] = sorted(value["name"] for value in allowed)
            expected = {
                v["name"]: v["expected_event_types"] for v in allowed if "expected_event_types" in v
            }
            if expected:
                entry["expected_event_types"] = {k: sorted(v) for k, v in sorted(expected.items())}
        kept[name] = entry
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ecs_flat", type=Path, help="generated/ecs/ecs_flat.yml of elastic/ecs")
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / f"ecs-{ECS_VERSION}")
    args = parser.parse_args(argv)
    flat = yaml.safe_load(args.ecs_flat.read_text(encoding="utf-8"))
    if not isinstance(flat, dict) or "ecs.version" not in flat:
        print(f"ecs_fields: {args.ecs_flat} is not ECS's ecs_flat.yml", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    document = {"version": ECS_VERSION, "fields": fields(flat)}
    text = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    (args.out / "fields.json").write_text(text, encoding="utf-8")
    print(f"{args.out / 'fields.json'}: {len(document['fields'])} fields")
    return 0


if __name__ == "__main__":
    sys.exit(main())
