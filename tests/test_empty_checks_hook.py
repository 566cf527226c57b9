"""scripts/empty_checks empties every check, in the test's interpreter and in subprocesses alike:
``scripts/empty-checks`` relies on it to find tests that pass when the checks yield nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def demo_lines(*, emptied: bool) -> tuple[int, list[dict[str, object]]]:
    env = dict(os.environ, PYTHONPATH=f"{ROOT / 'scripts' / 'empty_checks'}:{ROOT}")
    env["NETVERIFY_EMPTY_CHECKS"] = "1" if emptied else "0"
    done = subprocess.run(
        [sys.executable, "-m", "netverify.cli", "demo", "-o", "jsonl"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()]


def test_the_hook_leaves_the_demo_without_findings_and_only_when_asked() -> None:
    assert demo_lines(emptied=True) == (0, [])
    code, findings = demo_lines(emptied=False)
    assert code == 0
    assert {"workspace_v1_legacy_mode_disabled", "dns_name_resolves_private_endpoint"} <= {
        str(finding["check_id"]) for finding in findings
    }
