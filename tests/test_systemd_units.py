"""Static checks of the systemd units in systemd/.

* ``systemd-analyze verify`` must accept all three units without a single
  warning (systemd prints parse errors on stderr but still exits 0, so stderr
  is what is checked).
* ``systemd-analyze security --offline=yes`` must rate both services at an
  overall exposure level of at most 1.5.

``verify`` insists that every Exec*= binary exists and is executable.  The
netverify console script (/opt/netverify/venv/bin/netverify) is not installed
on a development or CI machine, so verify runs against a throwaway root
(``--root=``) holding: a copy of the host's /usr/lib/systemd/system (so
dependencies such as network-online.target and sysinit.target resolve), the
three unit files under /etc/systemd/system, a stub executable for the
netverify console script, and copies of the host's other Exec*= binaries
(/bin/kill), so that a typo there is still caught.  With ``--root=`` the unit
files have to live inside the root and are named by their path in it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
UNIT_DIR = REPO / "systemd"
UNITS = ("netverify.service", "netverify-run.service", "netverify.timer")
SERVICES = ("netverify.service", "netverify-run.service")
MAX_EXPOSURE = 1.5
# Binaries that belong to the netverify package itself and are therefore
# stubbed in the throwaway root instead of being copied from the host.
PACKAGE_PREFIX = "/opt/netverify/"

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
pytestmark = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None,
    reason="systemd-analyze not installed (package 'systemd'); cannot check units",
)

EXEC_RE = re.compile(r"^Exec\w+=[-@:+!]*(/\S+)", re.MULTILINE)
EXPOSURE_RE = re.compile(r"Overall exposure level for (\S+): (\d+(?:\.\d+)?)")


def _env() -> dict[str, str]:
    # Fixed, UTF-8 locale: stable messages, and no pager.
    env = dict(os.environ)
    env.update(LC_ALL="C.UTF-8", SYSTEMD_PAGER="", SYSTEMD_COLORS="0")
    return env


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    assert SYSTEMD_ANALYZE is not None
    return subprocess.run(
        [SYSTEMD_ANALYZE, "--no-pager", *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )


def _exec_paths(unit_text: str) -> set[str]:
    return set(EXEC_RE.findall(unit_text))


@pytest.fixture(scope="module")
def verify_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("verify-root")
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    etc = root / "etc/systemd/system"
    etc.mkdir(parents=True)
    for unit in UNITS:
        shutil.copy2(UNIT_DIR / unit, etc / unit)

    for path in sorted(set().union(*(_exec_paths((UNIT_DIR / u).read_text()) for u in UNITS))):
        dest = root / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if path.startswith(PACKAGE_PREFIX):
            dest.write_text("#!/bin/sh\nexit 0\n")
            dest.chmod(0o755)
        else:
            host = Path(path)
            assert host.is_file() and os.access(host, os.X_OK), (
                f"{path} (used by an Exec*= line) is not an executable on this host"
            )
            shutil.copy2(host.resolve(), dest)
    return root


def test_unit_files_present() -> None:
    for unit in UNITS:
        assert (UNIT_DIR / unit).is_file(), f"missing systemd/{unit}"


def test_exec_paths_found() -> None:
    # Guards the stub logic above: verify must really see the console script.
    paths = _exec_paths((UNIT_DIR / "netverify.service").read_text())
    assert "/opt/netverify/venv/bin/netverify" in paths
    assert "/bin/kill" in paths


@pytest.mark.parametrize("unit", UNITS)
def test_verify_clean(verify_root: Path, unit: str) -> None:
    res = _run("verify", f"--root={verify_root}", f"/etc/systemd/system/{unit}")
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stderr.strip() == "", res.stderr
    assert res.stdout.strip() == "", res.stdout


def test_verify_all_together(verify_root: Path) -> None:
    # The timer refers to netverify-run.service; load them in one manager.
    res = _run(
        "verify",
        f"--root={verify_root}",
        *(f"/etc/systemd/system/{unit}" for unit in UNITS),
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stderr.strip() == "", res.stderr


def test_verify_root_catches_problems(verify_root: Path) -> None:
    # Negative control: the throwaway root must not hide real problems.
    broken = verify_root / "etc/systemd/system/netverify-broken.service"
    text = (UNIT_DIR / "netverify.service").read_text()
    broken.write_text(
        text.replace("Restart=on-failure", "Restart=sometimes").replace(
            "/opt/netverify/venv/bin/netverify", "/opt/netverify/venv/bin/missing"
        )
    )
    try:
        res = _run("verify", f"--root={verify_root}", f"/etc/systemd/system/{broken.name}")
    finally:
        broken.unlink()
    assert "Restart" in res.stderr or "restart specifier" in res.stderr, res.stderr
    assert "is not executable" in res.stderr, res.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_security_exposure(service: str) -> None:
    res = _run("security", "--offline=yes", str(UNIT_DIR / service))
    assert res.returncode == 0, res.stdout + res.stderr
    match = EXPOSURE_RE.search(res.stdout)
    assert match, f"no 'Overall exposure level' line in:\n{res.stdout}\n{res.stderr}"
    assert match.group(1) == service
    exposure = float(match.group(2))
    assert exposure <= MAX_EXPOSURE, (
        f"{service}: exposure {exposure} > {MAX_EXPOSURE}\n{res.stdout}"
    )


@pytest.mark.parametrize("service", SERVICES)
def test_services_read_priority_prefixes(service: str) -> None:
    """Each service states SyslogLevelPrefix=yes, which netverify's `<N>` journal lines rely on."""
    text = (UNIT_DIR / service).read_text()
    service_section = text.split("[Service]", 1)[1].split("\n[", 1)[0]

    assert ["SyslogLevelPrefix=yes"] == re.findall(r"^SyslogLevelPrefix=.*$", service_section, re.M)
