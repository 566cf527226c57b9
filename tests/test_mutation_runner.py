"""scripts/mutation on a toy project: which mutants it makes, which the toy's tests kill, and that
the mutated file on disk is never written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

RUNNER = Path(__file__).resolve().parent.parent / "scripts" / "mutation"

TOY = '''"""A toy module."""

LIMIT = 10


def grade(score: int) -> str:
    if score >= LIMIT:
        return "high"
    return "low"


def unused(flag: bool) -> bool:
    return not flag
'''

TOY_TESTS = """from toy import grade


def test_grade():
    assert "high" == grade(20)
    assert "low" == grade(0)
"""


def test_the_runner_kills_what_the_tests_see_and_lists_the_rest(tmp_path: Path) -> None:
    """The boundary (>= to >) and the limit (10 to 11) survive a test that never scores 10;
    the returned strings are killed; a function no test runs is reported as uncovered."""
    (tmp_path / "toy.py").write_text(TOY, encoding="utf-8")
    (tmp_path / "test_toy.py").write_text(TOY_TESTS, encoding="utf-8")
    out = tmp_path / "outcomes.json"
    done = subprocess.run(
        [
            sys.executable,
            str(RUNNER),
            "toy.py",
            "--root",
            str(tmp_path),
            "--tests",
            "test_toy.py",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert 0 == done.returncode, done.stderr
    outcomes = [
        (o["mutant"]["first"], o["mutant"]["original"], o["mutant"]["mutated"], o["result"])
        for o in json.loads(out.read_text(encoding="utf-8"))
    ]
    assert [
        (3, "10", "11", "survived"),
        (7, "score >= LIMIT", "score > LIMIT", "survived"),
        (8, "return 'high'", "return None", "killed"),
        (8, "'high'", "'XXhighXX'", "killed"),
        (9, "return 'low'", "return None", "killed"),
        (9, "'low'", "'XXlowXX'", "killed"),
        (13, "return not flag", "return None", "uncovered"),
        (13, "not flag", "flag", "uncovered"),
    ] == outcomes
    table = done.stdout.splitlines()
    assert "toy.py       4/8       50.0 %" == table[1]
    assert "toy.py:7  score >= LIMIT  ->  score > LIMIT" in table
    assert "toy.py:13  not flag  ->  flag  [no test runs this line]" in table
    assert TOY == (tmp_path / "toy.py").read_text(encoding="utf-8")


def test_a_failing_suite_stops_the_run_before_any_mutant(tmp_path: Path) -> None:
    """A score over tests that fail unmutated would mean nothing: exit 2, naming why."""
    (tmp_path / "toy.py").write_text(TOY, encoding="utf-8")
    (tmp_path / "test_toy.py").write_text(TOY_TESTS.replace('"low"', '"mid"'), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(RUNNER), "toy.py", "--root", str(tmp_path), "--tests", "test_toy.py"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert 2 == done.returncode
    assert "the tests fail without any mutant" in done.stderr
