"""Delivery: every sink behind its own spool; file and stdout sinks; one broken sink stays alone."""

from __future__ import annotations

import errno
import json
import logging
import os
import socket
from pathlib import Path
from typing import Any

import pytest

from netverify.agent.state import Change, change_event, state_directory
from netverify.azure.clouds import cloud
from netverify.cli import main
from netverify.config import Config, parse_config
from netverify.runner import run_once
from netverify.sinks import delivery as delivery_module
from netverify.sinks.delivery import Delivery, SinkEnvironment
from netverify.sinks.events import event_id
from netverify.sinks.spool import Spool, SpoolError, SpoolStats
from netverify.testing import finding_events
from tests.conftest import TenantFactory


def no_credential() -> Any:
    raise AssertionError("no sink here needs an Azure credential")


def delivery(config_text: str) -> Delivery:
    config: Config = parse_config(config_text, "test.toml")
    env = SinkEnvironment("agent-test", cloud(config.cloud), no_credential)
    return Delivery(config, env, state_directory(None, None))


def test_every_sink_gets_every_event_and_counts_it(tmp_path: Path) -> None:
    """Two file sinks in two formats: each has its own spool and its own counters."""
    sinks = delivery(
        f'[[sinks]]\ntype = "jsonl_file"\npath = "{tmp_path}/a.jsonl"\n'
        f'[[sinks]]\ntype = "jsonl_file"\nname = "elastic"\npath = "{tmp_path}/b.jsonl"\n'
        'format = "ecs"\n'
    )
    events = finding_events(3)

    sinks.enqueue(events)
    assert {"jsonl_file-0": True, "elastic": True} == sinks.flush(5)

    native = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    ecs = [json.loads(line) for line in (tmp_path / "b.jsonl").read_text().splitlines()]
    assert [e["uid"] for e in events] == [e["uid"] for e in native]
    assert [e["event_id"] for e in native] == [e["event"]["id"] for e in ecs]
    done = SpoolStats(delivered=6, retried=0, dropped=0, rejected=0, backlog=0)
    assert {"jsonl_file-0": done, "elastic": done} == sinks.stats()


def test_an_event_that_has_an_event_id_keeps_it(tmp_path: Path) -> None:
    """Events that already carry an event_id (e.g. change events) are not given another."""
    sinks = delivery(f'[[sinks]]\ntype = "jsonl_file"\npath = "{tmp_path}/a.jsonl"\n')
    [event, *_] = finding_events(1)

    sinks.enqueue([{**event, "event_id": "given-upstream"}])
    sinks.flush(5)

    assert "given-upstream" == json.loads((tmp_path / "a.jsonl").read_text())["event_id"]


@pytest.mark.parametrize("fmt", ["json", "ocsf", "ecs", "cef"])
def test_a_poison_event_is_rejected_and_the_others_arrive(
    tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Findings, a change event and, among them, one that cannot be rendered: that one moves to
    rejected with its reason, everything else arrives in order, nothing is left spooled."""
    where = "stdout" if fmt == "cef" else f'jsonl_file"\npath = "{tmp_path}/f'
    sinks = delivery(f'[[sinks]]\ntype = "{where}"\nname = "f"\nformat = "{fmt}"\n')
    findings = finding_events(2)
    change = change_event(Change.FAILING, findings[0], None, findings[0]["observed_at"])
    poison: dict[str, Any] = {"kind": "change", "event_id": "poison-1", "change": "failing"}
    if fmt == "json":  # netverify's own JSON renders any object, but not NaN (not JSON)
        poison["bad"] = float("nan")
    events = [*findings[:2], poison, change, *findings[2:]]

    sinks.enqueue(events)
    assert {"f": True} == sinks.flush(5)

    out = capsys.readouterr().out if fmt == "cef" else (tmp_path / "f").read_text()
    ids = [e.get("event_id") or event_id(e) for e in events if e is not poison]
    assert len(ids) == len(out.splitlines())
    assert [] == [i for i in ids if i not in out]
    [(rejected, reason)] = sinks.spools()["f"].rejected()
    assert "poison-1" == rejected["event_id"]
    error = "ValueError: Out of range float values" if fmt == "json" else "KeyError: 'finding'"
    assert reason.startswith(f"event poison-1 cannot be rendered as {fmt}: {error}")
    assert (
        SpoolStats(delivered=5, retried=0, dropped=0, rejected=1, backlog=0) == sinks.stats()["f"]
    )


def test_the_file_is_reopened_per_batch_so_rotation_loses_nothing(tmp_path: Path) -> None:
    """After logrotate renames the file, the next batch creates a new one; no line is lost."""
    path = tmp_path / "findings.jsonl"
    sinks = delivery(f'[[sinks]]\ntype = "jsonl_file"\npath = "{path}"\n')

    sinks.enqueue(finding_events(1))
    sinks.flush(5)
    path.rename(tmp_path / "findings.jsonl.1")
    sinks.enqueue(finding_events(1))
    sinks.flush(5)

    assert 2 == len((tmp_path / "findings.jsonl.1").read_text().splitlines())
    assert 2 == len(path.read_text().splitlines())


def test_stdout_sink_writes_cef_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """type = stdout, format = cef: one CEF record per line, for a container's log collector."""
    sinks = delivery('[[sinks]]\ntype = "stdout"\nformat = "cef"\n')

    sinks.enqueue(finding_events(1))
    sinks.flush(5)

    lines = capsys.readouterr().out.splitlines()
    assert 2 == len(lines)
    assert all(line.startswith("CEF:0|netverify|netverify|") for line in lines)


def test_a_sink_that_cannot_start_keeps_its_events_and_spares_the_others(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A HEC token variable that is not set: logged, its events spooled; the file sink delivers."""
    monkeypatch.delenv("NETVERIFY_TEST_HEC_TOKEN", raising=False)
    sinks = delivery(
        '[[sinks]]\ntype = "splunk_hec"\nurl = "https://127.0.0.1:9"\n'
        'token_env = "NETVERIFY_TEST_HEC_TOKEN"\n'
        f'[[sinks]]\ntype = "jsonl_file"\npath = "{tmp_path}/a.jsonl"\n'
    )
    sinks.enqueue(finding_events(1))

    with caplog.at_level(logging.ERROR):
        assert {"splunk_hec-0": False, "jsonl_file-1": True} == sinks.flush(5)

    assert 2 == sinks.stats()["splunk_hec-0"].backlog
    assert "environment variable NETVERIFY_TEST_HEC_TOKEN is not set" in caplog.text


def test_unusable_state_directory_is_a_clear_error(
    start_tenant: TenantFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A state directory that cannot hold a spool: exit 2 naming the sink, the file and the fix."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    tenant = start_tenant()
    # Under a file: config check cannot see it (nothing is there yet), opening the spool fails.
    state = blocker / "state"
    config = tenant.write_config(tmp_path / "c.toml", state={"directory": str(state)})
    config.write_text(
        config.read_text() + "\n" + f'[[sinks]]\ntype = "jsonl_file"\npath = "{tmp_path}/f.jsonl"\n'
    )

    assert 2 == main(["run", "-c", str(config), "-o", "jsonl"])

    captured = capsys.readouterr()
    # The findings were printed all the same.
    printed = [json.loads(line) for line in captured.out.splitlines()]
    assert "workspace_v1_legacy_mode_disabled" in {event["check_id"] for event in printed}
    assert len(run_once(tenant.config()).findings) == len(printed)
    assert f"cannot open the spool of sink jsonl_file-0 at {state}/spool/" in captured.err
    assert "set state.directory" in captured.err


def test_every_sink_example_in_the_readme_is_a_valid_config() -> None:
    """The README's TOML snippets parse as they are, so a copied example works."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    snippets = [block.split("```")[0] for block in readme.split("```toml\n")[1:]]

    configs = [parse_config(snippet, "README.md") for snippet in snippets]

    assert {"azure_monitor", "splunk_hec", "jsonl_file", "syslog"} <= {
        sink.type for config in configs for sink in config.sinks
    }


def test_a_full_disk_under_the_file_sink_leaves_no_half_line_and_no_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """ENOSPC half-way through a batch: the file is cut back to where it was, the warning names
    the file and the full disk, and the retry writes every line once."""
    path = tmp_path / "findings.jsonl"
    sinks = delivery(
        f'[[sinks]]\ntype = "jsonl_file"\nname = "f"\npath = "{path}"\n'
        "[delivery]\nretry_initial_seconds = 0.01\nretry_max_seconds = 0.02\n"
    )
    events = finding_events(2)
    real_write = os.write
    failures = [OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))]

    def fill_up(fd: int, data: bytes) -> int:
        if failures and data:
            real_write(fd, data[: len(data) // 2])  # part of the batch went, then the disk is full
            raise failures.pop()
        return real_write(fd, data)

    monkeypatch.setattr(delivery_module.os, "write", fill_up)
    sinks.enqueue(events)
    with caplog.at_level(logging.WARNING, logger="netverify.sinks.spool"):
        assert {"f": True} == sinks.flush(5)

    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [event_id(e) for e in events] == [line["event_id"] for line in lines]
    assert f"(cannot write {path}: the disk is full (No space left on device)); retry 1" in (
        caplog.text
    )
    assert (4, 4, 0) == (
        sinks.stats()["f"].delivered,
        sinks.stats()["f"].retried,
        sinks.stats()["f"].backlog,
    )


def test_one_spool_that_cannot_take_events_spares_the_others(tmp_path: Path) -> None:
    """enqueue tries every spool: the one on a full disk is named in the error, the other has
    the events and delivers them."""
    sinks = delivery(
        f'[[sinks]]\ntype = "jsonl_file"\nname = "full"\npath = "{tmp_path}/a"\n'
        f'[[sinks]]\ntype = "jsonl_file"\nname = "fine"\npath = "{tmp_path}/b"\n'
    )
    full = sinks.spools()["full"]

    def no_room(events: Any) -> int:
        raise SpoolError(
            f"spool of sink full at {full.path}: the disk is full (database or disk is full)"
        )

    full.put = no_room  # type: ignore[method-assign]
    with pytest.raises(SpoolError) as error:
        sinks.enqueue(finding_events(1))

    assert f"spool of sink full at {full.path}: the disk is full" in str(error.value)
    assert {"full": True, "fine": True} == sinks.flush(5)
    assert 2 == len((tmp_path / "b").read_text().splitlines())
    assert not (tmp_path / "a").exists()


def test_run_delivers_to_the_sinks_whose_spool_took_the_events(
    start_tenant: TenantFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`netverify run` with one spool on a full disk: exit 2 with the error naming that spool
    and the full disk, and the other sink still gets every finding of the run."""
    tenant = start_tenant()
    config = tenant.write_config(tmp_path / "c.toml")
    config.write_text(
        config.read_text()
        + f'\n[[sinks]]\ntype = "jsonl_file"\nname = "full"\npath = "{tmp_path}/a"\n'
        + f'[[sinks]]\ntype = "jsonl_file"\nname = "fine"\npath = "{tmp_path}/b"\n'
    )
    put = Spool.put

    def full_disk(spool: Spool, events: Any) -> int:
        if spool.name == "full":
            raise SpoolError(f"spool of sink full at {spool.path}: the disk is full (test)")
        return put(spool, events)

    monkeypatch.setattr(Spool, "put", full_disk)

    assert 2 == main(["run", "-c", str(config), "-o", "jsonl"])

    captured = capsys.readouterr()
    full = Spool.in_directory(state_directory(None, None), "full", 10).path
    assert f"spool of sink full at {full}: the disk is full (test)" in captured.err
    printed = [json.loads(line)["uid"] for line in captured.out.splitlines()]
    delivered = [json.loads(line)["uid"] for line in (tmp_path / "b").read_text().splitlines()]
    assert printed == delivered


def test_a_receiver_that_never_answers_cannot_hold_a_flush_past_its_deadline(
    tmp_path: Path,
) -> None:
    """A webhook whose receiver takes the connection and never answers (timeout_seconds = 300,
    the most, as long as the test timeout): the flush returns at its deadline with the batch
    still spooled and the file sink beside it delivered; close aborts the send, which counts as
    a retry, and the batch stays spooled for the next start."""
    with socket.create_server(("127.0.0.1", 0)) as silent:  # the kernel accepts; nobody answers
        port = silent.getsockname()[1]
        sinks = delivery(
            f'[[sinks]]\ntype = "webhook"\nname = "hook"\nurl = "https://127.0.0.1:{port}/"\n'
            "timeout_seconds = 300\n"
            f'[[sinks]]\ntype = "jsonl_file"\npath = "{tmp_path}/a.jsonl"\n'
        )
        events = finding_events(3)
        sinks.enqueue(events)

        assert {"hook": False, "jsonl_file-1": True} == sinks.flush(0.5)
        assert (0, len(events)) == (sinks.stats()["hook"].delivered, sinks.stats()["hook"].backlog)
        sinks.close()

    spool = Spool.in_directory(state_directory(None, None), "hook", 1000)
    kept = SpoolStats(delivered=0, retried=len(events), dropped=0, rejected=0, backlog=len(events))
    assert kept == spool.stats()
    spool.close()
    assert len(events) == len((tmp_path / "a.jsonl").read_text().splitlines())
