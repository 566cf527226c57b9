"""The check registry: every ``checks/<id>/`` folder holds ``metadata.toml`` and ``check.py``.

The metadata is written once and used by the code, by ``netverify checks list`` and by the
README's check table. A check module exposes ``META`` (its metadata) and ``evaluate(facts)``.
Beside them ``evidence.schema.json`` declares the shape of the evidence its findings carry
(``evidence_schema``); the tests hold every finding to it, so a renamed key cannot drift
unnoticed from the report and the SIEM that read it.
"""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from netverify.contracts import Check
from netverify.model import CannotRun, CheckMeta, Severity

CHECK_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")
EVIDENCE_SCHEMA = "evidence.schema.json"
# Shapes several checks' evidence shares (a DNS answer, a name's row, a failed read), beside the
# check folders.
SHARED_EVIDENCE = "evidence.defs.json"


class CatalogError(CannotRun):
    """A check folder that does not hold a valid check."""


@dataclass(frozen=True, slots=True)
class LoadedCheck:
    meta: CheckMeta
    module: Check


class _Remediation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    text: str
    command: str = ""


class _Metadata(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    title: str
    severity: Severity
    rationale: str
    remediation: _Remediation
    references: tuple[str, ...] = ()


def checks_dir() -> Path:
    """Inside the wheel the checks sit in ``netverify/checks``; in a source tree beside the package."""
    package = Path(__file__).parent.parent
    packaged = package / "checks"
    return packaged if packaged.is_dir() else package.parent / "checks"


def load_meta(path: str | Path) -> CheckMeta:
    """Read ``metadata.toml`` next to ``path`` (a check's ``__file__`` or its folder)."""
    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    source = folder / "metadata.toml"
    try:
        raw = _Metadata.model_validate(tomllib.loads(source.read_text(encoding="utf-8")))
    except ValidationError as exc:
        from netverify.config import describe_errors  # pydantic's messages, as config says them

        raise CatalogError(describe_errors(str(source), exc, _Metadata)) from exc
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"{source}: {exc}") from exc
    if raw.id != folder.name:
        raise CatalogError(f"{source}: id {raw.id!r} differs from its folder name {folder.name!r}")
    if not CHECK_ID.match(raw.id):
        raise CatalogError(f"{source}: id {raw.id!r} is not <service>_<property>_<expected>")
    return CheckMeta(
        id=raw.id,
        title=raw.title.strip(),
        severity=raw.severity,
        rationale=" ".join(raw.rationale.split()),
        remediation_text=" ".join(raw.remediation.text.split()),
        remediation_command=raw.remediation.command.strip(),
        references=raw.references,
    )


def evidence_schema(path: str | Path) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the evidence of the check at ``path`` (its folder or a
    file in it), as a finding event holds it: ``{"observed": {...}, "expected": {...}}``, or
    null for a finding without evidence. It is ``<folder>/evidence.schema.json`` with the
    ``$defs`` of ``evidence.defs.json`` in the folder above; CatalogError naming the file when
    either is missing, not JSON, not an object, or redefines a shared name."""
    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    schema = _json_object(folder / EVIDENCE_SCHEMA)
    shared = _json_object(folder.parent / SHARED_EVIDENCE).get("$defs", {})
    own = schema.get("$defs", {})
    if not isinstance(shared, dict) or not isinstance(own, dict):
        raise CatalogError(f"{folder / EVIDENCE_SCHEMA}: $defs is not an object")
    clash = sorted(set(own) & set(shared))
    if clash:
        raise CatalogError(
            f"{folder / EVIDENCE_SCHEMA}: $defs {', '.join(clash)} already in {SHARED_EVIDENCE}"
        )
    return {**schema, "$defs": {**shared, **own}}


def _json_object(source: Path) -> dict[str, Any]:
    try:
        value = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogError(f"{source}: {exc}") from exc
    if not isinstance(value, dict):
        raise CatalogError(f"{source}: expected a JSON object, got {type(value).__name__}")
    return value


def list_checks(root: Path | None = None) -> tuple[CheckMeta, ...]:
    """Every check's metadata under ``root`` (default: the shipped checks), sorted by id, without
    importing the checks' code (what `netverify checks list` shows)."""
    folder = root or checks_dir()
    metas = tuple(load_meta(source.parent) for source in sorted(folder.glob("*/check.py")))
    if not metas:
        raise CatalogError(f"no checks found under {folder}")
    return metas


@cache
def load_checks(root: Path | None = None) -> tuple[LoadedCheck, ...]:
    """Import every check under ``root`` (default: the shipped checks), sorted by id."""
    folder = root or checks_dir()
    loaded = []
    for source in sorted(folder.glob("*/check.py")):
        check_id = source.parent.name
        spec = importlib.util.spec_from_file_location(f"netverify.checks.{check_id}", source)
        if spec is None or spec.loader is None:
            raise CatalogError(f"{source}: cannot be imported")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        meta = getattr(module, "META", None)
        if not isinstance(meta, CheckMeta) or not callable(getattr(module, "evaluate", None)):
            raise CatalogError(
                f"{source}: a check defines META = load_meta(__file__) and evaluate()"
            )
        if meta.id != check_id:
            raise CatalogError(f"{source}: META.id {meta.id!r} differs from folder {check_id!r}")
        loaded.append(LoadedCheck(meta, module))
    if not loaded:
        raise CatalogError(f"no checks found under {folder}")
    return tuple(loaded)
