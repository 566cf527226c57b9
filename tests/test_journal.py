"""Logs and findings as journald wants them when stdout is the journal ($JOURNAL_STREAM)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from netverify.agent.logs import (
    SUMMARY_MESSAGE_CHARS,
    JsonLines,
    journal_lines,
    journal_stream,
)
from netverify.testing import finding_events
from tests.conftest import TenantFactory


def record(level: int, message: str) -> logging.LogRecord:
    entry = logging.LogRecord("netverify.agent", level, __file__, 1, message, None, None)
    entry.fields = {"run_id": "r1"}
    return entry


def stream_of(path: Path) -> str:
    """The JOURNAL_STREAM value systemd would set for a stream connected to ``path``."""
    status = os.stat(path)
    return f"{status.st_dev}:{status.st_ino}"


def test_log_line_outside_the_journal_keeps_its_timestamp() -> None:
    """Without the journal a line is plain JSON with ts, level, logger, message and fields."""
    line = json.loads(JsonLines().format(record(logging.WARNING, "sink slow")))

    assert ["ts", "level", "logger", "message", "run_id"] == list(line)
    assert ("warning", "sink slow") == (line["level"], line["message"])


@pytest.mark.parametrize(
    ("level", "prefix"),
    [
        (logging.DEBUG, "<7>"),
        (logging.INFO, "<6>"),
        (logging.WARNING, "<4>"),
        (logging.ERROR, "<3>"),
        (logging.CRITICAL, "<2>"),
    ],
)
def test_journal_log_line_has_priority_and_no_timestamp(level: int, prefix: str) -> None:
    """In the journal a line starts with its syslog priority and leaves the time to journald."""
    text = JsonLines(journal=True).format(record(level, "run finished"))

    assert text.startswith(prefix)
    assert {
        "level": logging.getLevelName(level).lower(),
        "logger": "netverify.agent",
        "message": "run finished",
        "run_id": "r1",
    } == json.loads(text.removeprefix(prefix))


def test_journal_stream_matches_only_the_stream_systemd_connected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JOURNAL_STREAM names the device:inode of the journal's stream; another file is not it."""
    journal, other = tmp_path / "journal", tmp_path / "other"
    journal.touch()
    other.touch()
    monkeypatch.setenv("JOURNAL_STREAM", stream_of(journal))

    with journal.open("w") as into_journal, other.open("w") as elsewhere:
        assert (True, False) == (journal_stream(into_journal), journal_stream(elsewhere))
    monkeypatch.setenv("JOURNAL_STREAM", "not:set")
    with journal.open("w") as into_journal:
        assert not journal_stream(into_journal)


def test_findings_become_one_line_summaries() -> None:
    """A finding with a long message and large evidence is one short line, at warning if it
    failed; a change event keeps its change and previous status."""
    [failed, passed] = [dict(e) for e in finding_events(1)]
    failed.update(status="fail", message="x" * 5000, evidence={"answers": ["10.0.0.4"] * 2000})
    passed["status"] = "pass"
    change = {"kind": "change", "change": "resolved", "previous_status": "fail", "status": "pass"}
    change |= {"uid": passed["uid"], "event_id": "e1", "finding": passed}

    lines = journal_lines([failed, passed, change]).splitlines()

    assert ["<4>", "<6>", "<5>"] == [line[:3] for line in lines]
    summaries = [json.loads(line[3:]) for line in lines]
    assert SUMMARY_MESSAGE_CHARS == len(summaries[0]["message"])
    assert "evidence" not in summaries[0]
    assert all(len(line) < 1024 for line in lines)
    assert {
        "check_id": passed["check_id"],
        "change": "resolved",
        "previous_status": "fail",
    }.items() <= summaries[2].items()


def test_run_writes_summaries_when_stdout_is_the_journal(
    start_tenant: TenantFactory, tmp_path: Path
) -> None:
    """`netverify run -o jsonl` as netverify-run.service runs it: one `<N>` summary per finding."""
    config = start_tenant().write_config(tmp_path / "config.toml")
    journal = tmp_path / "journal"
    journal.touch()
    with journal.open("w") as stdout:
        done = subprocess.run(
            [sys.executable, "-m", "netverify.cli", "run", "-c", str(config), "-o", "jsonl"],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "JOURNAL_STREAM": stream_of(journal)},
            timeout=60,
            check=False,
        )

    assert 1 == done.returncode, done.stderr
    lines = journal.read_text().splitlines()
    summaries: list[dict[str, Any]] = [json.loads(line[3:]) for line in lines]
    assert {"<4>", "<6>"} <= {line[:3] for line in lines}
    assert all(
        ("fail" == s["status"]) == line.startswith("<4>")
        for s, line in zip(summaries, lines, strict=True)
        if s["status"] != "error"
    )
    assert all("evidence" not in s and "remediation" not in s for s in summaries)
