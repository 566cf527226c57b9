"""The simulated tenant itself: real SDK clients page through it, both token styles work,
and the test suite cannot leave loopback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from azure.identity import ManagedIdentityCredential
from azure.mgmt.privatedns import PrivateDnsManagementClient
from pytest_socket import SocketConnectBlockedError

from netverify.azure.clouds import CLOUDS, CloudName
from netverify.sim.scenario import ScenarioError, load_scenario, parse_scenario
from tests.conftest import NonLoopbackTraffic, TenantFactory


def test_lists_are_paged_with_next_link(start_tenant: TenantFactory, demo_scenario) -> None:  # type: ignore[no-untyped-def]
    """The real privatedns client follows nextLink across pages of two record sets."""
    tenant = start_tenant(demo_scenario.model_copy(update={"page_size": 2}))
    client = PrivateDnsManagementClient(
        ManagedIdentityCredential(),
        demo_scenario.subscriptions[0],
        base_url=tenant.arm.url,
        credential_scopes=[CLOUDS[CloudName.PUBLIC].arm_scope],
        connection_verify=str(tenant.ca_path),
    )

    names = [r.name for r in client.record_sets.list("rg-ml-prod", "privatelink.api.azureml.ms")]

    assert 6 == len(names)
    assert "*.3f2a9c1e-5b7d-4e8f-a1c2-d3e4f5a6b7c8.inference.eastus" in names
    skip_tokens = [r.query.get("$skipToken") for r in tenant.arm.requests]
    assert [None, "2", "4"] == skip_tokens


def test_imds_style_token_endpoint(
    start_tenant: TenantFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ManagedIdentityCredential in IMDS mode gets a token through AZURE_POD_IDENTITY_AUTHORITY_HOST."""
    tenant = start_tenant()
    monkeypatch.delenv("IDENTITY_ENDPOINT")
    monkeypatch.delenv("IDENTITY_HEADER")
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", tenant.identity.url)

    token = ManagedIdentityCredential().get_token("https://management.azure.com/.default")

    assert tenant.arm.tokens.valid(token.token)
    assert "/metadata/identity/oauth2/token" == tenant.identity.requests[-1].path


def test_scenario_errors_name_the_key() -> None:
    """A scenario with a typo is rejected with the key path."""
    with pytest.raises(ScenarioError, match=r"s\.toml: workspaces\[0\]\.legacy: unknown key"):
        parse_scenario(
            {"subscriptions": ["s"], "workspaces": [{"name": "w", "guid": "g", "legacy": True}]},
            "s.toml",
        )


@pytest.mark.parametrize("address", ["168.63.129.16", "169.254.169.254", "10.0.1.5"])
def test_suite_cannot_connect_beyond_loopback(address: str) -> None:
    """Azure DNS, IMDS and VNet addresses are data in tests, never destinations (TCP)."""
    with (
        pytest.warns(UserWarning),
        pytest.raises(SocketConnectBlockedError),
        socket.create_connection((address, 53), timeout=0.1),
    ):
        pass


def test_suite_cannot_send_datagrams_beyond_loopback() -> None:
    """A UDP DNS query to 168.63.129.16 is stopped before it leaves (sendto needs no connect)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(NonLoopbackTraffic):
        udp.sendto(b"\x00", ("168.63.129.16", 53))


def test_local_zones_file_is_read_from_beside_the_scenario(tmp_path: Path) -> None:
    """A custom server's local_zones_file is JSON beside the scenario; a missing or broken one
    is a ScenarioError naming the file, never a traceback."""
    scenario = tmp_path / "case.toml"
    scenario.write_text(
        'subscriptions = ["11111111-1111-4111-8111-111111111111"]\n'
        '[[dns.custom_servers]]\naddress = "10.0.0.4"\nlocal_zones_file = "zones.json"\n'
    )
    (tmp_path / "zones.json").write_text('{"example.internal": {"*": ["10.0.1.7"]}}')

    [server] = load_scenario(scenario).dns.custom_servers

    assert {"example.internal": {"*": ("10.0.1.7",)}} == server.local_zones
    (tmp_path / "zones.json").write_text("{not json")
    with pytest.raises(ScenarioError, match=r"custom_servers\[0\].local_zones_file .*zones.json"):
        load_scenario(scenario)
    (tmp_path / "zones.json").unlink()
    with pytest.raises(ScenarioError, match="No such file"):
        load_scenario(scenario)
