"""A real full filesystem under the spools: a small tmpfs in a private mount namespace (root only).

The scenario runs in a child process inside ``unshare -m``, so the mount is never visible to the
rest of the machine and disappears with the process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCENARIO = r"""
import json, sys
from pathlib import Path
from netverify.azure.clouds import cloud
from netverify.config import parse_config
from netverify.sinks.delivery import Delivery, SinkEnvironment
from netverify.sinks.events import event_id
from netverify.sinks.spool import Spool, SpoolError
from netverify.testing import finding_events

mount, out = Path(sys.argv[1]), Path(sys.argv[2])
config = parse_config(f'[[sinks]]\ntype = "jsonl_file"\nname = "f"\npath = "{out}"\n', "t.toml")
sinks = Delivery(config, SinkEnvironment("agent", cloud(config.cloud), lambda: None), mount)
report = {"spool": str(mount / "spool" / "f.sqlite"), "errors": []}
first, second, third = finding_events(2), finding_events(2), finding_events(2)
sinks.enqueue(first)
report["first_flushed"] = sinks.flush(5)["f"]
sinks.enqueue(third)
filler = (mount / "filler").open("wb")
try:
    while True:
        filler.write(b"\0" * 65536)
        filler.flush()
except OSError as exc:
    report["filled"] = exc.strerror
try:
    sinks.enqueue(second)
except SpoolError as exc:
    report["errors"].append(str(exc))
report["flushed_on_full_disk"] = sinks.flush(1)["f"]
try:
    Spool.in_directory(mount, "new", 10)
except SpoolError as exc:
    report["errors"].append(str(exc))
filler.close()
(mount / "filler").unlink()
report["flushed_after"] = sinks.flush(5)["f"]
report["expected"] = [event_id(e) for e in first + third]
report["not_spooled"] = [event_id(e) for e in second]
report["backlog"] = sinks.stats()["f"].backlog
sinks.close()
print(json.dumps(report))
"""


# A missing unshare is a missing tool (fails under NETVERIFY_REQUIRE_TOOLS=1, as CI sets it);
# not being root is how the suite is run, and skips.
@pytest.mark.skipif(not shutil.which("unshare"), reason="unshare missing (package util-linux)")
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a tmpfs")
def test_a_full_tmpfs_under_the_spool_is_named_and_loses_no_spooled_event(tmp_path: Path) -> None:
    """Spool on a 512 KiB tmpfs that fills up: putting events, and opening a new spool, fail
    with an error naming the spool and the full disk (no hint to set state.directory); what was
    spooled before is delivered, each event once, also the batch the receiver took while the
    spool could not record it."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    out = tmp_path / "out.jsonl"
    script = tmp_path / "scenario.py"
    script.write_text(SCENARIO)
    shell = f'mount -t tmpfs -o size=512k tmpfs "{mount}" || exit 77; exec "$0" "$@"'
    namespace = ["unshare", "-m", "--propagation", "private", "sh", "-c", shell]
    ran = subprocess.run(
        [*namespace, sys.executable, str(script), str(mount), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    if ran.returncode == 77 or "unshare failed" in ran.stderr:
        pytest.skip(f"cannot mount a tmpfs in a private namespace: {ran.stderr.strip()}")
    assert 0 == ran.returncode, ran.stderr
    report = json.loads(ran.stdout.splitlines()[-1])

    assert "No space left on device" == report["filled"]
    new = report["spool"].replace("f.sqlite", "new.sqlite")
    assert [
        f"spool of sink f at {report['spool']}: the disk is full (database or disk is full)",
        f"cannot open the spool of sink new at {new}: the disk is full (database or disk is full)",
    ] == report["errors"]
    # On the full disk the receiver took the third batch, but the spool could not forget it:
    # it is kept back, not sent again, and forgotten once there is room.
    assert (True, False, True, 0) == (
        report["first_flushed"],
        report["flushed_on_full_disk"],
        report["flushed_after"],
        report["backlog"],
    )
    assert "sink f: 4 events were delivered but are still in the spool (spool of sink f" in (
        ran.stderr
    )
    written = [json.loads(line)["event_id"] for line in out.read_text().splitlines()]
    assert report["expected"] == written
    assert not set(report["not_spooled"]) & set(written)
