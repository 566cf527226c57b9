"""Under scripts/test (NETVERIFY_REQUIRE_TOOLS=1) a test skipped for a missing server fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPPING = """
import pytest

@pytest.mark.skipif(True, reason="/usr/sbin/nothing missing")
def test_needs_a_server():
    pass

@pytest.mark.skipif(True, reason="only on Tuesdays")
def test_skips_for_another_reason():
    pass
"""


def _pytest(tmp_path: Path, require: bool) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_skipping.py").write_text(SKIPPING, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "NETVERIFY_REQUIRE_TOOLS"}
    if require:
        env["NETVERIFY_REQUIRE_TOOLS"] = "1"
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.conftest",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


def test_a_missing_server_fails_when_required(tmp_path: Path) -> None:
    ran = _pytest(tmp_path, require=True)

    assert 1 == ran.returncode, ran.stdout
    assert "1 skipped, 1 error" in ran.stdout  # the other skip reason still skips
    assert "required (NETVERIFY_REQUIRE_TOOLS=1): /usr/sbin/nothing missing" in ran.stdout


def test_a_missing_server_skips_when_run_by_hand(tmp_path: Path) -> None:
    ran = _pytest(tmp_path, require=False)

    assert 0 == ran.returncode, ran.stdout
    assert "2 skipped" in ran.stdout
