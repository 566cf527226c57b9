"""ARM reads honour the proxy variables as requests and azure-identity read them: HTTPS_PROXY
(credentials included) carries each read in a CONNECT tunnel with TLS verified end to end, and
NO_PROXY naming ARM's host sends the reads direct."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from netverify.model import Status
from netverify.runner import run_once
from netverify.sim.scenario import Scenario
from tests.conftest import TenantFactory, healthy_only
from tests.servers.proxy import ConnectProxy


def test_arm_reads_go_through_https_proxy_with_its_credentials(
    start_tenant: TenantFactory,
    demo_scenario: Scenario,
    proxy: ConnectProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant = start_tenant(healthy_only(demo_scenario))
    monkeypatch.setenv("HTTPS_PROXY", proxy.url.replace("http://", "http://ops:p%40ss@"))

    result = run_once(tenant.config())

    arm = urlsplit(tenant.arm.url).netloc
    tunnels = [auth for target, auth in proxy.tunnels if target == arm]
    assert tunnels and {"Basic b3BzOnBAc3M="} == set(tunnels)
    assert [] == [f.message for f in result.findings if f.status in (Status.FAIL, Status.ERROR)]
    assert "workspace_v1_legacy_mode_disabled" in {
        f.check.id for f in result.findings if f.status is Status.PASS
    }


def test_no_proxy_naming_arm_sends_its_reads_direct(
    start_tenant: TenantFactory,
    demo_scenario: Scenario,
    proxy: ConnectProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant = start_tenant(healthy_only(demo_scenario))
    monkeypatch.setenv("https_proxy", proxy.url)
    monkeypatch.setenv("NO_PROXY", "example.org,127.0.0.1")

    result = run_once(tenant.config())

    assert [] == proxy.tunnels
    assert "workspace_v1_legacy_mode_disabled" in {
        f.check.id for f in result.findings if f.status is Status.PASS
    }
