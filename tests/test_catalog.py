"""The check registry: one folder per check, metadata written once and used everywhere."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from netverify.checklib.catalog import CatalogError, checks_dir, load_checks, load_meta
from tests.conftest import build_wheel
from tests.test_evidence_schemas import CHECK_IDS

ROOT = Path(__file__).resolve().parent.parent


REMEDIATION_TOOLS = {"az", "Add-DnsServerConditionalForwarderZone", "resolvectl", "dig", "nslookup"}


def test_every_check_loads_with_complete_metadata() -> None:
    """Each check has id == folder, a title, a rationale, remediation text and a command: `az`,
    or for what is fixed outside Azure (a custom DNS server, the host) that tool's command."""
    checks = load_checks()

    # Every check folder shipped is loaded, none twice, none dropped.
    folders = sorted(p.parent.name for p in checks_dir().glob("*/metadata.toml"))
    assert sorted(CHECK_IDS) == folders == sorted(c.meta.id for c in checks)
    for check in checks:
        meta = check.meta
        assert (checks_dir() / meta.id / "check.py").is_file()
        assert meta.title and meta.rationale and meta.remediation_text
        assert meta.remediation_command.split()[0] in REMEDIATION_TOOLS
        assert meta.references


def test_metadata_with_an_unknown_key_is_rejected(tmp_path: Path) -> None:
    """A typo in metadata.toml is an error naming the file."""
    folder = tmp_path / "workspace_thing_ok"
    folder.mkdir()
    (folder / "metadata.toml").write_text(
        'id = "workspace_thing_ok"\ntitle = "t"\nseverity = "high"\nrationale = "r"\n'
        'severty = "x"\n[remediation]\ntext = "t"\n'
    )

    with pytest.raises(CatalogError, match=r"metadata\.toml: severty: unknown key"):
        load_meta(folder)


def test_metadata_id_must_match_its_folder(tmp_path: Path) -> None:
    """A check whose id differs from its folder name is rejected."""
    folder = tmp_path / "workspace_thing_ok"
    folder.mkdir()
    (folder / "metadata.toml").write_text(
        'id = "workspace_other_ok"\ntitle = "t"\nseverity = "high"\nrationale = "r"\n'
        '[remediation]\ntext = "t"\n'
    )

    with pytest.raises(CatalogError, match="differs from its folder name"):
        load_meta(folder)


def test_readme_check_table_is_generated_from_the_metadata() -> None:
    """The README's check table is exactly `netverify checks list --output markdown`."""
    table = subprocess.run(
        [sys.executable, "-m", "netverify.cli", "checks", "list", "--output", "markdown"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout

    assert table.strip() in (ROOT / "README.md").read_text()


def test_checks_ship_inside_the_wheel(tmp_path: Path) -> None:
    """The built wheel carries checks/ as netverify/checks, and an install finds them there."""
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "site")

    for check in load_checks():
        assert f"netverify/checks/{check.meta.id}/metadata.toml" in names
        assert f"netverify/checks/{check.meta.id}/check.py" in names
    listed = subprocess.run(
        [
            sys.executable,
            "-c",
            "from netverify.checklib.catalog import checks_dir, load_checks;"
            "print(checks_dir()); print(len(load_checks()))",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"},
    ).stdout.split()
    assert [str(tmp_path / "site" / "netverify" / "checks"), str(len(load_checks()))] == listed
