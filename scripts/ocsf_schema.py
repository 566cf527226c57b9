"""Regenerates tests/data/ocsf-<version>/: the JSON Schema (draft 2020-12) of the OCSF class
netverify emits (Compliance Finding, 2003), once without profiles and once with the profiles
its events declare, in the official OCSF schema of the version they declare
(``netverify.sinks.formats.OCSF_VERSION`` and ``OCSF_PROFILES``).

Usage, from the repository root::

    .venv/bin/pip install 'ocsf-json-schema==1.2.0'
    .venv/bin/python scripts/ocsf_schema.py [--compiled SCHEMA.json]

``--compiled`` takes the compiled schema of the ocsf-schema repository at the release's tag::

    git clone --branch 1.8.0 https://github.com/ocsf/ocsf-schema
    ocsf-schema-compiler ocsf-schema > SCHEMA.json     # ocsf-schema-compiler 1.1.1, Python >= 3.14

Without it the script takes the compiled schema that ocsf-json-schema ships for the version (the
same thing: for 1.8.0 the two give identical JSON Schemas, checked when these files were made).
ocsf-json-schema turns the compiled class into JSON Schema: every attribute typed (its OCSF
type's regex, range and enum), required attributes required, no attribute beyond the class's and
its selected profiles' (``additionalProperties: false``), deprecated ones marked
``deprecated: true``, objects inlined under ``$defs``. Keys and enums are sorted so that
regenerating gives the same bytes.

Writes ``compliance_finding.json`` and ``compliance_finding.<profile,...>.json``; exits 2 with a
one-line error when the compiled schema is of another version or ocsf-json-schema is missing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from netverify.sinks.formats import OCSF_PROFILES, OCSF_VERSION  # noqa: E402
from tests.sinks.ocsf import schema_file  # noqa: E402

CLASS = "compliance_finding"


def _stable(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _stable(v, k) for k, v in sorted(value.items())}
    if isinstance(value, list):
        items = [_stable(v) for v in value]
        return sorted(items, key=json.dumps) if key in ("enum", "required") else items
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compiled", type=Path, help="ocsf-schema-compiler's output")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "tests" / "data" / f"ocsf-{OCSF_VERSION}"
    )
    args = parser.parse_args(argv)
    try:
        from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema
    except ImportError:
        print("ocsf_schema: pip install 'ocsf-json-schema==1.2.0' first", file=sys.stderr)
        return 2
    if args.compiled:
        compiled = json.loads(args.compiled.read_text(encoding="utf-8"))
    else:
        compiled = get_ocsf_schema(OCSF_VERSION)
    if compiled.get("version") != OCSF_VERSION:
        print(
            f"ocsf_schema: {args.compiled or 'the packaged schema'} is OCSF "
            f"{compiled.get('version')}, the events declare {OCSF_VERSION}",
            file=sys.stderr,
        )
        return 2
    generator = OcsfJsonSchemaEmbedded(compiled)
    args.out.mkdir(parents=True, exist_ok=True)
    for profiles in ((), OCSF_PROFILES):
        schema = _stable(generator.get_class_schema(CLASS, list(profiles)))
        text = json.dumps(schema, indent=1, ensure_ascii=False) + "\n"
        (args.out / schema_file(CLASS, profiles)).write_text(text, encoding="utf-8")
        print(f"{args.out / schema_file(CLASS, profiles)}: {len(schema['$defs'])} objects")
    return 0


if __name__ == "__main__":
    sys.exit(main())
