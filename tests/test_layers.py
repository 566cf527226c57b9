"""Imports point one way: cli → agent/runner → probes, checks, sinks, report → model/facts/azure.

Two views of the same rule. The static one reads every ``import`` in the source, lazy ones
included, and names the file and line of a wrong-way import. The dynamic one imports a layer in
a fresh interpreter and asserts which modules really got loaded, which also catches a heavy
third-party package (an Azure SDK, APScheduler, prometheus-client) pulled in indirectly.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The layer a module belongs to: the first rule (a dotted prefix) that matches wins.
LAYER_OF = (
    ("checks.", "checks"),
    ("netverify.azure", "base"),
    ("netverify.model", "base"),
    ("netverify.facts", "base"),
    ("netverify.contracts", "base"),
    ("netverify.config", "base"),
    ("netverify.schedule", "base"),
    ("netverify.output", "base"),
    ("netverify.checklib", "checklib"),
    ("netverify.probes", "probes"),
    ("netverify.sinks", "sinks"),
    ("netverify.report", "report"),
    ("netverify.runner", "runner"),
    ("netverify.agent", "agent"),
    ("netverify.doctor", "agent"),
    ("netverify.sim", "sim"),
    ("netverify.testing", "testing"),
    ("netverify.cli", "cli"),
    ("netverify", "base"),  # the package itself: __version__
)
# What each layer may import (besides itself).
MAY_IMPORT = {
    "base": {"base"},
    "checklib": {"base"},
    "checks": {"base", "checklib"},
    "probes": {"base"},
    "sinks": {"base"},
    "report": {"base"},
    "runner": {"base", "checklib", "probes"},
    "agent": {"base", "checklib", "probes", "runner", "sinks", "report"},
    "sim": {"base"},
    "testing": {"base", "checklib", "probes", "runner", "sinks", "sim"},
    "cli": {"base", "checklib", "probes", "runner", "sinks", "report", "agent", "sim"},
}
# Checks read only the Azure naming of the base layer, not the configuration.
CHECKS_MAY_NOT = ("netverify.config", "netverify.schedule", "netverify.output")
# Production code reaches the simulator only inside a function (the demo), never at import.
ONLY_LAZILY = {("cli", "sim")}
HEAVY = ("azure.", "apscheduler", "prometheus_client")


def layer_of(module: str) -> str:
    return next(
        layer for prefix, layer in LAYER_OF if module == prefix or module.startswith(prefix)
    )


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _sources() -> list[Path]:
    return sorted([*(ROOT / "netverify").rglob("*.py"), *(ROOT / "checks").rglob("*.py")])


def wrong_way_imports(path: Path, source: str) -> list[str]:
    """Every import in ``source`` (the file at ``path``) that its layer may not make."""
    importer = _module_name(path)
    layer = layer_of(importer)
    tree = ast.parse(source)
    top_level = {id(node) for node in tree.body}
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [node.module]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            continue
        for target in targets:
            if not target.startswith("netverify"):
                continue
            target_layer = layer_of(target)
            # Inside a function or an `if TYPE_CHECKING:` block: not loaded at import time.
            lazily = id(node) not in top_level
            allowed = target_layer == layer or target_layer in MAY_IMPORT[layer]
            if (layer, target_layer) in ONLY_LAZILY and not lazily:
                allowed = False
            if layer == "checks" and target.startswith(CHECKS_MAY_NOT):
                allowed = False
            if not allowed:
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                problems.append(f"{where}: {layer} imports {target} ({target_layer})")
    return problems


def test_the_sources_walked_are_the_package_and_the_checks() -> None:
    """The two tests below walk every module: a walk that found none would pass them."""
    walked = {str(p.relative_to(ROOT)) for p in _sources()}

    assert {
        "netverify/cli.py",
        "netverify/checklib/catalog.py",
        "netverify/report/matrix.py",
        "checks/workspace_v1_legacy_mode_disabled/check.py",
    } <= walked


def test_every_module_has_a_layer() -> None:
    for path in _sources():
        assert layer_of(_module_name(path)) in MAY_IMPORT, path


def test_no_import_points_the_wrong_way() -> None:
    problems = [p for path in _sources() for p in wrong_way_imports(path, path.read_text())]
    assert problems == []


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        (
            "netverify/sinks/formats.py",
            "from netverify.probes.arm import ArmReader\n",
            "sinks imports netverify.probes.arm (probes)",
        ),
        (
            "checks/dns_resolver_answers/check.py",
            "from netverify.config import DnsConfig\n",
            "checks imports netverify.config (base)",
        ),
        (
            "netverify/cli.py",
            "from netverify.sim.tenant import SimulatedTenant\n",
            "cli imports netverify.sim.tenant (sim)",
        ),
        (
            "netverify/report/page.py",
            "def render():\n    from netverify.runner import run_once\n",
            "report imports netverify.runner (runner)",
        ),
    ],
)
def test_a_wrong_way_import_is_named_with_its_line(module: str, source: str, expected: str) -> None:
    [problem] = wrong_way_imports(ROOT / module, source)
    assert problem.endswith(expected)
    assert problem.startswith(f"{module}:")


def _loaded_after(code: str, *argv: str) -> list[str]:
    """The modules a fresh interpreter holds after running ``code`` (with ``sys.argv``)."""
    probe = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: sys.__stderr__.write('\\nLOADED ' + json.dumps(sorted(sys.modules))))\n"
        f"sys.argv = {['netverify', *argv]!r}\n"
        f"{code}\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    marker = done.stderr.rindex("LOADED ")
    loaded: list[str] = json.loads(done.stderr[marker + len("LOADED ") :])
    return loaded


@pytest.mark.parametrize(
    ("code", "argv", "forbidden"),
    [
        (
            "import netverify.sinks.delivery, netverify.sinks.events, netverify.report",
            (),
            (*HEAVY, "netverify.probes", "netverify.runner", "netverify.checklib"),
        ),
        (
            "from netverify.checklib.catalog import load_checks; load_checks()",
            (),
            (*HEAVY, "netverify.probes", "netverify.sinks", "netverify.agent", "netverify.sim"),
        ),
        (
            "import netverify.probes.collect",
            (),
            ("apscheduler", "prometheus_client", "netverify.sinks", "netverify.checklib"),
        ),
        ("from netverify.cli import main; main()", ("--help",), HEAVY),
        ("from netverify.cli import main; main()", ("checks", "list"), HEAVY),
    ],
    ids=["sinks-and-report", "checks", "probes", "netverify --help", "netverify checks list"],
)
def test_a_layer_loads_only_what_it_needs(
    code: str, argv: tuple[str, ...], forbidden: tuple[str, ...]
) -> None:
    loaded = _loaded_after(f"try:\n    {code}\nexcept SystemExit:\n    pass", *argv)
    assert [m for m in loaded if m.startswith(forbidden)] == []
    assert "netverify" in loaded
