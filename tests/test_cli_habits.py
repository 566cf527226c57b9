"""The command-line habits operators expect: --version, a closed pipe, AZURE_CLIENT_ID, progress
on a terminal, and a demo that works from a plain install."""

from __future__ import annotations

import ast
import importlib.metadata
import io
import os
import subprocess
import sys
import zipfile
from email.parser import Parser
from importlib import resources
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from netverify.azure.clouds import CloudName, cloud
from netverify.cli import EXIT_CLOSED_PIPE, main
from netverify.config import CredentialConfig
from netverify.probes.credentials import make_credential, token_claims
from netverify.sim.servers import SIM_CLIENT_ID, TokenBook, TokenEndpoint
from tests.conftest import TenantFactory, build_wheel

ROOT = Path(__file__).resolve().parent.parent
AZURE = cloud(CloudName.PUBLIC)


def cli(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netverify.cli", *args],
        text=True,
        env={**os.environ},
        timeout=60,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )


def test_version_comes_from_the_package_metadata() -> None:
    """`netverify --version` prints the installed distribution's version and exits 0."""
    done = cli("--version", capture_output=True)

    assert (0, f"netverify {importlib.metadata.version('netverify')}\n", "") == (
        done.returncode,
        done.stdout,
        done.stderr,
    )


@pytest.mark.parametrize("args", [("checks", "list"), ("config", "example"), ("--version",)])
def test_closed_pipe_exits_quietly(args: tuple[str, ...]) -> None:
    """Output into a pipe whose reader is gone (`| head -1` done) ends with 141, nothing on stderr."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write now fails with EPIPE, deterministically
    try:
        done = cli(*args, stdout=write_end, stderr=subprocess.PIPE)
    finally:
        os.close(write_end)

    assert (EXIT_CLOSED_PIPE, "") == (done.returncode, done.stderr)


def test_demo_into_a_closed_pipe_stops_without_a_traceback() -> None:
    """`netverify demo | head -1`: the tenant is torn down, exit 141, no BrokenPipeError."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = cli("demo", "--custom-dns", "standin", stdout=write_end, stderr=subprocess.PIPE)
    finally:
        os.close(write_end)

    assert EXIT_CLOSED_PIPE == done.returncode, done.stderr
    assert "BrokenPipe" not in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("netverify demo: ")


@pytest.fixture
def identity(monkeypatch: pytest.MonkeyPatch) -> TokenEndpoint:
    """The loopback managed-identity stand-in (App Service style), in the environment."""
    endpoint = TokenEndpoint(TokenBook(), [AZURE.arm_audience])
    endpoint.start()
    for name, value in endpoint.environment().items():
        monkeypatch.setenv(name, value)
    yield endpoint  # type: ignore[misc]
    endpoint.stop()


def issued_to(config: CredentialConfig) -> str:
    """The client id the token endpoint issued the ARM token for (its ``appid`` claim)."""
    token = make_credential(config, AZURE).get_token(AZURE.arm_scope).token
    appid: str = token_claims(token)["appid"]
    return appid


@pytest.mark.parametrize("kind", ["managed_identity", "default"])
@pytest.mark.parametrize(
    ("configured", "environment", "expected"),
    [
        (None, "11111111-0000-0000-0000-00000000e1e1", "11111111-0000-0000-0000-00000000e1e1"),
        (
            "22222222-0000-0000-0000-00000000c0f1",
            "11111111-0000-0000-0000-00000000e1e1",
            "22222222-0000-0000-0000-00000000c0f1",
        ),
        (None, None, SIM_CLIENT_ID),  # no client id asked for: the system-assigned identity
    ],
)
def test_client_id_from_config_else_azure_client_id(
    identity: TokenEndpoint,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    configured: str | None,
    environment: str | None,
    expected: str,
) -> None:
    """credential.client_id wins; without it AZURE_CLIENT_ID picks the user-assigned identity."""
    if environment:
        monkeypatch.setenv("AZURE_CLIENT_ID", environment)
    config = CredentialConfig.model_validate({"kind": kind, "client_id": configured})

    assert expected == issued_to(config)


class Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("tty", [True, False])
def test_progress_only_on_a_terminal(
    start_tenant: TenantFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tty: bool,
) -> None:
    """On a terminal, stderr counts the workspaces read and is erased before the results; in a
    pipe or a log it stays silent."""
    tenant = start_tenant()
    config = tenant.write_config(tmp_path / "config.toml")
    stderr = Terminal() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)

    assert 1 == main(["run", "--config", str(config), "-o", "jsonl"])

    count = len(tenant.scenario.workspaces)
    if tty:
        text = stderr.getvalue()
        assert f"\rreading 0/{count} workspaces\u2026\x1b[K" in text
        assert f"\rreading {count - 1}/{count} workspaces\u2026\x1b[K" in text
        assert text.endswith("\r\x1b[K")
    else:
        assert "" == stderr.getvalue()
    assert capsys.readouterr().out.startswith("{")


def _third_party_imports(folder: Path) -> set[str]:
    """Top-level modules the code in ``folder`` imports that are neither stdlib nor netverify."""
    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"netverify", "__future__"}


def test_wheel_requires_what_the_demo_imports(tmp_path: Path) -> None:
    """The built wheel's Requires-Dist (no extra) names every distribution netverify imports
    (the simulator and the code the demo runs through), so `pip install netverify && netverify
    demo` works; the ``azure`` namespace is shared by many distributions, each listed by name."""
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        [metadata] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        message = Parser().parsestr(archive.read(metadata).decode())
    required = {
        canonicalize_name(r.name)
        for r in map(Requirement, message.get_all("Requires-Dist") or [])
        if r.marker is None  # extras carry a marker: `extra == "test"`
    }
    providers = importlib.metadata.packages_distributions()
    imported = {
        canonicalize_name(providers[module][0])
        for module in _third_party_imports(ROOT / "netverify") - {"azure"}
    }

    assert {"trustme", "dnspython", "pydantic", "requests"} <= imported
    assert set() == imported - required


WORKSPACE = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg"
    "/providers/Microsoft.MachineLearningServices/workspaces/mlw"
)


def test_config_init_without_a_workspace_says_which_option_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert 2 == main(["config", "init"])
    assert (
        "netverify: config init: nothing to verify (expected at least one --workspace)\n"
        == capsys.readouterr().err
    )


def test_config_init_into_a_directory_names_the_option_and_the_reason(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert 2 == main(["config", "init", "--workspace", WORKSPACE, "--output", str(tmp_path)])
    assert (
        f"netverify: config init: --output {tmp_path}: Is a directory\n" == capsys.readouterr().err
    )


def test_config_init_writes_a_file_that_config_check_passes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "etc" / "config.toml"

    assert 0 == main(["config", "init", "--workspace", WORKSPACE, "--output", str(path)])
    assert 0 == main(["config", "check", str(path)])
    captured = capsys.readouterr()
    assert (
        "",
        f"{path}: valid (AzureCloud); nothing in Azure was read\n  scope: 1 workspace named\n",
    ) == (
        captured.err,
        captured.out,
    )


def test_demo_scenario_that_is_a_directory_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert 2 == main(["demo", "--scenario", str(tmp_path)])
    assert (
        f"netverify: --scenario {tmp_path}: is a directory (expected a scenario TOML file)\n"
        == capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("shipped_line", "bad_line", "key", "value"),
    [
        ('ip = "10.0.1.10"', 'ip = "10.0.1.300"', "private_endpoints[0].ip", "10.0.1.300"),
        (
            'dns_servers = ["10.0.0.4", "10.0.0.5", "10.0.0.6"]',
            'dns_servers = ["10.0.0.4", "10.0.0.five", "10.0.0.6"]',
            "vnets[0].dns_servers[1]",
            "10.0.0.five",
        ),
    ],
)
def test_a_bad_address_in_a_scenario_names_the_file_and_the_key(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    shipped_line: str,
    bad_line: str,
    key: str,
    value: str,
) -> None:
    """Refused when the file is read, not by dnspython's "Text input is malformed" later."""
    shipped = (resources.files("netverify.sim") / "scenarios" / "demo.toml").read_text("utf-8")
    scenario = tmp_path / "bad.toml"
    scenario.write_text(shipped.replace(shipped_line, bad_line, 1))

    assert 2 == main(["demo", "--scenario", str(scenario)])
    assert f"netverify: {scenario}: {key}: {value!r} is not an IP address\n" == (
        capsys.readouterr().err
    )


def test_doctor_state_dir_help_says_it_overrides_the_config(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["doctor", "--help"])
    assert "overriding the config's state.directory" in " ".join(capsys.readouterr().out.split())
