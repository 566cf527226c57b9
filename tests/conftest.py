"""Shared fixtures: the simulated tenant, started per test on loopback with the real SDK clients."""

from __future__ import annotations

import io
import ipaddress
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from netverify.sim.scenario import (
    CustomDnsServerSpec,
    DnsWorldSpec,
    Scenario,
    builtin_scenario,
    parse_scenario,
)
from netverify.sim.tenant import CustomDnsKind, SimulatedTenant
from tests.servers.proxy import ConnectProxy

TenantFactory = Callable[..., SimulatedTenant]

IDENTITY_VARIABLES = (
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "NETVERIFY_CONFIG",
)


class NonLoopbackTraffic(AssertionError):
    """A test tried to send a datagram beyond loopback."""


def _is_loopback(address: object) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    try:
        return ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        return host == "localhost" or not isinstance(address, tuple)  # AF_UNIX paths


@pytest.fixture(autouse=True, scope="session")
def _datagrams_stay_on_loopback() -> Iterator[None]:
    """pytest-socket guards connect(); a UDP sendto() needs no connect, so guard it too."""
    original_sendto = socket.socket.sendto

    def sendto(self: socket.socket, data: bytes, *args: object) -> int:
        address = args[-1]
        if not _is_loopback(address):
            raise NonLoopbackTraffic(
                f"test sent a datagram to {address!r}; only loopback is allowed"
            )
        return original_sendto(self, data, *args)  # type: ignore[arg-type]

    socket.socket.sendto = sendto  # type: ignore[assignment,method-assign]
    yield
    socket.socket.sendto = original_sendto  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _clean_identity_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may pick up a real identity (or IMDS at 169.254.169.254) from the machine."""
    for name in IDENTITY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _state_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Spools and other state go to the test's own directory, never /var/lib/netverify."""
    state = tmp_path / "state"
    monkeypatch.setenv("STATE_DIRECTORY", str(state))
    return state


def build_wheel(out: Path) -> Path:
    """netverify built from this checkout as the wheel pip would install, into ``out``."""
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"),
            *("-w", str(out), str(root)),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    [built] = out.glob("netverify-*.whl")
    return built


def healthy_only(scenario: Scenario) -> Scenario:
    """The demo with only its healthy workspace, in a VNet whose one DNS server forwards right."""
    hub = scenario.vnets[0].model_copy(update={"dns_servers": ("10.0.0.4",)})
    return scenario.model_copy(
        update={
            "workspaces": [w for w in scenario.workspaces if w.name == "mlw-healthy"],
            "vnets": (hub, *scenario.vnets[1:]),
            "dns": DnsWorldSpec(
                agent_vnet=hub.name, custom_servers=(CustomDnsServerSpec(address="10.0.0.4"),)
            ),
        }
    )


@pytest.fixture
def demo_scenario() -> Scenario:
    return builtin_scenario()


@pytest.fixture
def start_tenant(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TenantFactory]:
    """Start a simulated tenant from a Scenario or a dict; its token endpoint is in the env."""
    started: list[SimulatedTenant] = []

    def start(
        scenario: Scenario | dict[str, object] | None = None,
        custom_dns: CustomDnsKind | None = None,
    ) -> SimulatedTenant:
        if isinstance(scenario, dict):
            scenario = parse_scenario(scenario, "test scenario")
        tenant = SimulatedTenant(
            scenario or builtin_scenario(),
            tmp_path / f"tenant{len(started)}",
            custom_dns=custom_dns,
        )
        tenant.__enter__()
        started.append(tenant)
        for key, value in tenant.credential_environment.items():
            monkeypatch.setenv(key, value)
        return tenant

    yield start
    for tenant in started:
        tenant.__exit__(None, None, None)


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[ConnectProxy]:
    """A CONNECT proxy on loopback recording its tunnels, with no proxy variable set yet: the
    test sets HTTPS_PROXY or NO_PROXY itself."""
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with ConnectProxy() as server:
        yield server


# scripts/test installs every real server the tests start (BIND, dnsmasq, Unbound, rsyslog,
# systemd-analyze), so there a test skipped for a missing one is a failure, not a pass: CI must
# never go green having run none of them. Run pytest by hand to let them skip.
REQUIRE_TOOLS = "NETVERIFY_REQUIRE_TOOLS"
MISSING_TOOL = ("missing", "not installed")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and os.environ.get(REQUIRE_TOOLS) == "1"):
        return
    reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
    if any(word in reason for word in MISSING_TOOL):
        report.outcome = "failed"
        report.longrepr = f"required ({REQUIRE_TOOLS}=1): {reason.removeprefix('Skipped: ')}"


def scenario_events(scenario: str) -> list[dict[str, Any]]:
    """The JSONL events of ``netverify demo --scenario <scenario>`` (a built-in name or file)."""
    from netverify.cli import main

    capture = pytest.MonkeyPatch()
    out = io.StringIO()
    capture.setattr(sys, "stdout", out)
    try:
        assert main(["demo", "--scenario", scenario, "--output", "jsonl"]) in (0, 1)
    finally:
        capture.undo()
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.fixture(autouse=True)
def _evidence_fits_its_schema(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every finding a shipped check yields in any test - hand-built facts or a simulated run -
    is held to the check's evidence schema; the test fails naming the key that drifted."""
    from netverify.checklib.catalog import load_checks
    from tests.evidence import validating

    violations: list[str] = []
    for check in load_checks():
        monkeypatch.setattr(
            check.module, "evaluate", validating(check.meta.id, check.module.evaluate, violations)
        )
    yield
    assert not violations, "evidence breaks its schema:\n" + "\n".join(violations[:20])
