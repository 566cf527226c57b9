"""How `netverify report --from` scales with the length of a findings file.

Writes a JSON-lines file of RUNS runs x FINDINGS findings (as a jsonl_file sink would after
RUNS scheduled runs), then renders the report from it twice, each in its own process so that
peak RSS is its own: streaming (what `netverify report` does) and, as the baseline, with the
whole file loaded into a list first. Prints time, peak RSS and the ratios, measured in one run.

    .venv/bin/python bench/report_history.py [--runs 1000] [--findings 100]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from netverify.model import Status
from netverify.report import history_from_runs, read_findings_file, render_html
from netverify.testing import finding_event

START = datetime(2026, 1, 1, tzinfo=UTC)


def write_findings(path: Path, runs: int, findings: int) -> None:
    base = [
        finding_event("workspace_v1_legacy_mode_disabled", f"mlw-{i}", Status.PASS)
        for i in range(findings)
    ]
    with path.open("w", encoding="utf-8") as out:
        for run in range(runs):
            at = (START + timedelta(minutes=15 * run)).isoformat().replace("+00:00", "Z")
            for i, event in enumerate(base):
                # Each finding fails for a while now and then, so the timeline has episodes.
                status = "fail" if (run // 50 + i) % 7 == 0 else "pass"
                line = {**event, "run_id": f"run-{run}", "observed_at": at, "status": status}
                out.write(json.dumps(line) + "\n")


def render(path: Path, variant: str) -> None:
    """In a child process: render once, print seconds and peak RSS (KiB) as JSON."""
    started = time.perf_counter()
    events = read_findings_file(path)
    page = render_html(
        history_from_runs(list(events) if variant == "whole" else events), datetime.now(UTC)
    )
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "peak_kib": peak, "html_bytes": len(page)}))


def measure(path: Path, variant: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--render", str(path), "--variant", variant],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--findings", type=int, default=100)
    parser.add_argument("--render", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--variant", choices=("streaming", "whole"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.render:
        render(args.render, args.variant)
        return
    with tempfile.TemporaryDirectory(prefix="netverify-bench-") as tmp:
        path = Path(tmp) / "findings.jsonl"
        write_findings(path, args.runs, args.findings)
        size = path.stat().st_size
        streaming = measure(path, "streaming")
        whole = measure(path, "whole")
    print(f"findings file: {args.runs} runs x {args.findings} findings, {size / 1e6:.1f} MB")
    for name, result in (("streaming", streaming), ("whole file (baseline)", whole)):
        print(
            f"  {name:<22} {result['seconds']:6.2f} s  peak RSS {result['peak_kib'] / 1024:7.1f} MiB"
        )
    print(
        f"streaming vs baseline: {whole['seconds'] / streaming['seconds']:.1f}x faster, "
        f"{whole['peak_kib'] / streaming['peak_kib']:.1f}x less memory"
    )


if __name__ == "__main__":
    main()
