"""Benchmark: start-up cost of the commands that should do almost nothing, beside a bare interpreter.

    .venv/bin/python bench/startup.py [--repeat 15] [--tree OTHER_CHECKOUT ...]

Each command runs ``--repeat`` times in a fresh child interpreter; the median wall time (seconds)
and the median peak RSS (MiB, the child's VmHWM) are printed, with the heavy modules each command
loaded. ``--tree`` adds another checkout (e.g. a ``git worktree`` of an older commit) measured in
the same run, interleaved with this one, so the ratios compare like with like on a noisy machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
COMMANDS: dict[str, list[str]] = {
    "python -c pass": ["-c", "pass"],
    "netverify --help": ["-m", "netverify.cli", "--help"],
    "netverify checks list": ["-m", "netverify.cli", "checks", "list"],
    "netverify config check": ["-m", "netverify.cli", "config", "check", "{example}"],
    "import sinks, report": ["-c", "import netverify.sinks, netverify.report"],
    "netverify demo": ["-m", "netverify.cli", "demo"],
}
# Issue 17: the demo's peak RSS before its work, and the share of it the demo may use.
DEMO_RSS_BEFORE_MIB = 97.0
DEMO_RSS_TARGET = 0.6
HEAVY_PREFIXES = ("azure.", "apscheduler", "prometheus_client")
PROBE = """
import atexit, runpy, sys
def _report():
    loaded = (m for m in sys.modules if m.startswith(PREFIXES))
    heavy = sorted({".".join(m.split(".")[:2]) if m.startswith("azure.") else m.split(".")[0]
                    for m in loaded})
    sys.__stderr__.write("HEAVY " + ",".join(heavy) + "\\n")
    with open("/proc/self/status") as status:  # the high-water mark of this process's memory
        sys.__stderr__.write("PEAK_KIB " + status.read().split("VmHWM:")[1].split()[0] + "\\n")
atexit.register(_report)
sys.argv = ARGV
BODY
"""


def _example_config(tree: Path) -> str:
    candidates = sorted(tree.glob("netverify/**/config_example.toml"))
    return str(candidates[0])


def _child_argv(tree: Path, args: list[str]) -> list[str]:
    example = _example_config(tree)
    args = [a.replace("{example}", example) for a in args]
    if args[0] == "-m":
        body = f"runpy.run_module({args[1]!r}, run_name='__main__', alter_sys=True)"
        argv = [args[1], *args[2:]]
    else:
        body = args[1]
        argv = ["-c"]
    return [
        sys.executable,
        "-c",
        (
            PROBE.replace("PREFIXES", repr(HEAVY_PREFIXES))
            .replace("ARGV", repr(argv))
            .replace("BODY", body)
        ),
    ]


def _measure(tree: Path, args: list[str]) -> tuple[float, float, str]:
    """One run: (wall seconds, peak RSS MiB, heavy modules loaded)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "NO_COLOR": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen(
        _child_argv(tree, args),
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    _, status, _ = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{args} failed in {tree}: {stderr.strip()[-500:]}")
    wall = time.perf_counter() - start
    proc.returncode = 0  # reaped by wait4; keeps Popen from waiting again
    lines = stderr.splitlines()
    heavy = next((ln[6:] for ln in lines if ln.startswith("HEAVY ")), "?")
    # Not usage.ru_maxrss: a child keeps its parent's RSS in it across the exec (vfork).
    peak_kib = next(int(ln[9:]) for ln in lines if ln.startswith("PEAK_KIB "))
    return wall, peak_kib / 1024, heavy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--tree", type=Path, action="append", default=[])
    options = parser.parse_args()
    trees = [HERE, *[t.resolve() for t in options.tree]]
    walls: dict[tuple[str, Path], list[float]] = {}
    rss: dict[tuple[str, Path], list[float]] = {}
    heavies: dict[tuple[str, Path], str] = {}
    for _ in range(options.repeat):
        for name, args in COMMANDS.items():
            for tree in trees:
                wall, peak, heavy = _measure(tree, args)
                walls.setdefault((name, tree), []).append(wall)
                rss.setdefault((name, tree), []).append(peak)
                heavies[(name, tree)] = heavy
    header = f"{'command':<26}" + "".join(f"{t.name[:18]:>20}" for t in trees)
    print(f"median wall seconds over {options.repeat} runs (this checkout first)")
    print(header)
    for name in COMMANDS:
        row = "".join(f"{statistics.median(walls[(name, t)]):>20.3f}" for t in trees)
        print(f"{name:<26}{row}")
    print("median peak RSS MiB")
    for name in COMMANDS:
        row = "".join(f"{statistics.median(rss[(name, t)]):>20.1f}" for t in trees)
        print(f"{name:<26}{row}")
    for name in COMMANDS:
        for tree in trees:
            print(f"  {name} [{tree.name}] heavy modules: {heavies[(name, tree)] or 'none'}")
    demo = statistics.median(rss[("netverify demo", HERE)])
    share = demo / DEMO_RSS_BEFORE_MIB
    verdict = "met" if share <= DEMO_RSS_TARGET else "NOT met"
    print(
        f"netverify demo peak RSS: {demo:.1f} MiB = {share:.2f} of the {DEMO_RSS_BEFORE_MIB:g} MiB "
        f"before issue 17  <= {DEMO_RSS_TARGET:g}  {verdict}"
    )
    if len(trees) > 1:
        print("ratio other/this (higher = this checkout faster):")
        for name in COMMANDS:
            base = statistics.median(walls[(name, HERE)])
            ratios = [statistics.median(walls[(name, t)]) / base for t in trees[1:]]
            print(f"  {name:<24}" + "".join(f"{r:>8.1f}x" for r in ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
