"""The command line end to end: demo, run against the simulated tenant, schema, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from netverify.checklib.catalog import checks_dir
from netverify.cli import main
from netverify.sim.scenario import FaultSpec
from netverify.sinks.events import event_id, finding_schema
from tests.conftest import TenantFactory, healthy_only
from tests.test_catalog import REMEDIATION_TOOLS
from tests.test_evidence_schemas import CHECK_IDS

EXPECTED_DEMO = {
    ("workspace_v1_legacy_mode_disabled", "mlw-healthy"): "pass",
    ("workspace_v1_legacy_mode_disabled", "mlw-broken"): "fail",
    ("keyvault_network_bypass_azure_services", "kv-healthy"): "pass",
    ("keyvault_network_bypass_azure_services", "kv-broken"): "fail",
}


def verdicts(events: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    return {(e["check_id"], e["resource_name"]): e["status"] for e in events}


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def validate(events: list[dict[str, Any]]) -> None:
    validator = jsonschema.Draft202012Validator(
        finding_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    for event in events:
        validator.validate(event)


def test_demo_prints_schema_valid_findings(capsys: pytest.CaptureFixture[str]) -> None:
    """`netverify demo --output jsonl`: fail for v1 legacy mode and the vault, pass for the healthy one."""
    assert main(["demo", "--output", "jsonl"]) == 0
    events = jsonl(capsys.readouterr().out)

    validate(events)
    assert {k: v for k, v in verdicts(events).items() if k in EXPECTED_DEMO} == EXPECTED_DEMO
    assert len({e["run_id"] for e in events}) == 1


def test_run_against_the_simulated_tenant_matches_the_demo(
    start_tenant: TenantFactory, tmp_path: Path
) -> None:
    """`netverify run --config FILE` in a separate process gives the demo's verdicts, exit 1."""
    tenant = start_tenant()
    config = tenant.write_config(tmp_path / "config.toml")

    done = subprocess.run(
        [sys.executable, "-m", "netverify.cli", "run", "--config", str(config), "-o", "jsonl"],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=60,
    )

    assert done.returncode == 1, done.stderr
    events = jsonl(done.stdout)
    validate(events)
    assert {k: v for k, v in verdicts(events).items() if k in EXPECTED_DEMO} == EXPECTED_DEMO


def test_uids_are_stable_across_runs(
    start_tenant: TenantFactory, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Two runs give the same uids for the same findings, and different run ids."""
    config = str(start_tenant().write_config(tmp_path / "c.toml"))
    main(["run", "-c", config, "-o", "jsonl"])
    first = jsonl(capsys.readouterr().out)
    main(["run", "-c", config, "-o", "jsonl"])
    second = jsonl(capsys.readouterr().out)

    assert sorted(e["uid"] for e in first) == sorted(e["uid"] for e in second)
    assert first[0]["run_id"] != second[0]["run_id"]


def test_exit_code_0_when_everything_passes(
    start_tenant: TenantFactory,
    demo_scenario,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    """A tenant with only the healthy workspace gives exit 0, having judged it: the workspace,
    vault and DNS checks each printed a pass."""
    healthy = healthy_only(demo_scenario)
    config = start_tenant(healthy).write_config(tmp_path / "c.toml")

    assert main(["run", "-c", str(config), "-o", "jsonl"]) == 0
    events = jsonl(capsys.readouterr().out)
    assert set() == {e["status"] for e in events} - {"pass", "skipped"}
    judged = {e["check_id"] for e in events if e["status"] == "pass"}
    assert {
        "workspace_v1_legacy_mode_disabled",
        "keyvault_network_bypass_azure_services",
        "dns_name_resolves_private_endpoint",
        "privatedns_record_present",
    } <= judged


def test_exit_code_3_when_nothing_fails_but_something_errors(
    start_tenant: TenantFactory,
    demo_scenario,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    """A healthy workspace whose vault cannot be read (403) gives exit 3."""
    healthy = healthy_only(demo_scenario)
    tenant = start_tenant(healthy)
    tenant.arm.inject(FaultSpec(path="/vaults/kv-healthy$", status=403))

    assert main(["run", "-c", str(tenant.write_config(tmp_path / "c.toml"))]) == 3


def test_table_output_leads_with_failures_and_their_fix(capsys: pytest.CaptureFixture[str]) -> None:
    """The human table lists the problems first, each followed by the az command that fixes
    it; the last line counts every finding."""
    main(["demo"])
    lines = capsys.readouterr().out.splitlines()

    assert lines[0].startswith("21 problem(s): ") and lines[2].startswith("1. CRITICAL  ")
    assert any(line.strip().startswith("$ az keyvault update --name kv-broken") for line in lines)
    # The demo scenario's figures, written out (not counted from the code's own jsonl output).
    assert lines[-1].startswith("145 findings: 41 fail, 0 error, 18 skipped, 86 pass")


def test_jsonl_file_sink_receives_every_finding(
    start_tenant: TenantFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A jsonl_file sink appends the events the command prints, each with its event id."""
    out = tmp_path / "findings.jsonl"
    config = start_tenant().write_config(tmp_path / "c.toml")
    config.write_text(config.read_text() + f'\n[[sinks]]\ntype = "jsonl_file"\npath = "{out}"\n')

    main(["run", "-c", str(config), "-o", "jsonl"])

    written = jsonl(out.read_text())
    validate(written)
    assert 145 == len(written)  # every finding of the demo tenant
    assert [{**e, "event_id": event_id(e)} for e in jsonl(capsys.readouterr().out)] == written


def test_checks_list_names_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    """`netverify checks list --output json` carries id, severity and the remediation template."""
    assert main(["checks", "list", "--output", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)

    shipped = sorted(p.parent.name for p in checks_dir().glob("*/metadata.toml"))
    assert sorted(CHECK_IDS) == shipped == sorted(r["id"] for r in rows)
    assert all(r["remediation"]["command"].split()[0] in REMEDIATION_TOOLS for r in rows)
