"""The three clouds: the one table says what shared/reference/azure-clouds.md says, and the
simulated tenant, the demo and a run work in each cloud's naming."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import pytest
import tomli_w

from netverify.azure.clouds import AZURE_DNS_ADDRESS, CLOUDS, CloudName, StorageZone, cloud
from netverify.cli import main
from netverify.config import parse_config
from netverify.runner import run_once
from netverify.sim.cloud_naming import REGIONS, in_cloud
from netverify.sim.dns_world import custom_dns_configs
from netverify.sim.scenario import Scenario
from tests.conftest import TenantFactory

ALL_CLOUDS = list(CloudName)

# Values as azure-clouds.md gives them, with its sources: [MGMTCORE] get_arm_endpoints,
# [IDENTITY] AzureAuthorityHosts, [LOGSING], [AMLDNS] how-to-custom-dns, [PEDNS] private-endpoint-dns.
REFERENCE: dict[CloudName, dict[str, Any]] = {
    CloudName.PUBLIC: {
        "arm_endpoint": "https://management.azure.com/",
        "arm_scope": "https://management.azure.com/.default",
        "authority_host": "login.microsoftonline.com",
        "monitor_audience": "https://monitor.azure.com",
        "aml_api_zone": "privatelink.api.azureml.ms",
        "aml_notebooks_zone": "privatelink.notebooks.azure.net",
        "inference_suffix": "inference.ml.azure.com",
        "keyvault_zone": "privatelink.vaultcore.azure.net",
        "acr_zone": "privatelink.azurecr.io",
        # [PEDNS] Storage: one zone per sub-resource (group id).
        "storage_zones": tuple(
            StorageZone(g, f"privatelink.{g}.core.windows.net")
            for g in ("blob", "file", "queue", "table", "dfs")
        ),
        "conditional_forwarder_zones": (
            "api.azureml.ms",
            "notebooks.azure.net",
            "instances.ml.azure.ms",
            "aznbcontent.net",
            "inference.ml.azure.com",
        ),
    },
    CloudName.CHINA: {
        "arm_endpoint": "https://management.chinacloudapi.cn/",
        "arm_scope": "https://management.chinacloudapi.cn/.default",
        "authority_host": "login.chinacloudapi.cn",
        "monitor_audience": "https://monitor.azure.cn",
        "aml_api_zone": "privatelink.api.ml.azure.cn",
        "aml_notebooks_zone": "privatelink.notebooks.chinacloudapi.cn",
        "inference_suffix": "inference.ml.azure.cn",
        "keyvault_zone": "privatelink.vaultcore.azure.cn",
        "acr_zone": "privatelink.azurecr.cn",  # [CNZH] 2020 only: low confidence
        # [PEDNS] Storage: one zone per sub-resource (group id).
        "storage_zones": tuple(
            StorageZone(g, f"privatelink.{g}.core.chinacloudapi.cn")
            for g in ("blob", "file", "queue", "table", "dfs")
        ),
        "conditional_forwarder_zones": (
            "api.ml.azure.cn",
            "notebooks.chinacloudapi.cn",
            # [PEDNS] and the custom-DNS guide agree: China's own zone, not the public cloud's.
            "instances.azureml.cn",
            "aznbcontent.net",
            "inference.ml.azure.cn",
        ),
    },
    CloudName.US_GOVERNMENT: {
        "arm_endpoint": "https://management.usgovcloudapi.net/",
        "arm_scope": "https://management.core.usgovcloudapi.net/.default",
        "authority_host": "login.microsoftonline.us",
        "monitor_audience": "https://monitor.azure.us",
        "aml_api_zone": "privatelink.api.ml.azure.us",
        "aml_notebooks_zone": "privatelink.notebooks.usgovcloudapi.net",
        "inference_suffix": "inference.ml.azure.us",
        "keyvault_zone": "privatelink.vaultcore.usgovcloudapi.net",
        "acr_zone": "privatelink.azurecr.us",
        # [PEDNS] Storage: one zone per sub-resource (group id).
        "storage_zones": tuple(
            StorageZone(g, f"privatelink.{g}.core.usgovcloudapi.net")
            for g in ("blob", "file", "queue", "table", "dfs")
        ),
        "conditional_forwarder_zones": (
            "api.ml.azure.us",
            "notebooks.usgovcloudapi.net",
            "instances.ml.azure.us",
            "aznbcontent.net",
            "inference.ml.azure.us",
        ),
    },
}
# Names that exist only in the public cloud: none may be left in another cloud's tenant.
PUBLIC_ONLY = ("api.azureml.ms", "inference.ml.azure.com", "vault.azure.net", "azurecr.io")


@pytest.mark.parametrize("name", ALL_CLOUDS)
def test_the_cloud_table_matches_the_reference(name: CloudName) -> None:
    """Endpoints, scope, authority, zones and forwarders are the reference's, field by field."""
    table = cloud(name)

    assert REFERENCE[name] == {key: getattr(table, key) for key in REFERENCE[name]}
    assert table.arm_scope.startswith(table.arm_audience)


def test_us_government_token_audience_is_not_the_endpoint_host() -> None:
    """Gov's ARM token scope uses management.core.usgovcloudapi.net, unlike its endpoint."""
    gov = CLOUDS[CloudName.US_GOVERNMENT]

    assert "https://management.core.usgovcloudapi.net" == gov.arm_audience
    assert "management.usgovcloudapi.net" == urlsplit(gov.arm_endpoint).hostname


def test_azure_dns_is_one_address_in_every_cloud() -> None:
    """168.63.129.16 in all regions and national clouds ([IP168])."""
    assert "168.63.129.16" == AZURE_DNS_ADDRESS


def strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("name", ALL_CLOUDS)
def test_a_scenario_moves_into_each_cloud_naming(demo_scenario: Scenario, name: CloudName) -> None:
    """Private endpoint FQDNs, zone names and regions follow the cloud; nothing public is left."""
    moved = in_cloud(demo_scenario, name)
    names = cloud(name)
    region = REGIONS[name][0]

    assert name is moved.cloud
    assert region == moved.default_location
    # The endpoints' names come from the cloud table (netverify.sim.dns_world), as Azure makes them.
    fqdns = [c.fqdn for pe in moved.private_endpoints for c in custom_dns_configs(moved, pe)]
    assert (
        f"3f2a9c1e-5b7d-4e8f-a1c2-d3e4f5a6b7c8.workspace.{region}.{names.aml_api_suffix}" in fqdns
    )
    assert f"*.{region}.{names.inference_suffix}" in fqdns
    assert names.aml_api_zone in [z.name for z in moved.private_dns_zones]
    if name is not CloudName.PUBLIC:
        leaked = [s for s in strings(moved.model_dump()) if s.endswith(PUBLIC_ONLY)]
        assert [] == leaked


@pytest.mark.parametrize(
    ("name", "west"),
    [
        (CloudName.PUBLIC, "westus"),
        (CloudName.CHINA, "chinaeast2"),
        (CloudName.US_GOVERNMENT, "usgovarizona"),
    ],
)
def test_every_region_of_a_scenario_becomes_a_real_region_of_the_cloud(
    demo_scenario: Scenario, name: CloudName, west: str
) -> None:
    """The demo's broken workspace lives in westus, away from its eastus home: in each cloud
    it lands in that cloud's second region, in its location and in its names, and no location
    of another cloud is left."""
    moved = in_cloud(demo_scenario, name)

    [broken] = [w for w in moved.workspaces if w.name == "mlw-broken"]
    assert west == broken.location
    locations = {
        s
        for k, s in locations_of(moved.model_dump(mode="json"))
        if k in {"location", "default_location"}
    }
    assert {REGIONS[name][0], west} == locations
    fqdns = [c.fqdn for pe in moved.private_endpoints for c in custom_dns_configs(moved, pe)]
    assert any(f".workspace.{west}." in f for f in fqdns)
    other = {r for n, rs in REGIONS.items() if n is not name for r in rs}
    assert [] == [f for f in fqdns if other & set(f.split("."))]


def locations_of(value: Any, key: str | None = None) -> list[tuple[str | None, str]]:
    """Every string of a scenario document with the key it sits under."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in locations_of(v, k)]
    if isinstance(value, list):
        return [p for v in value for p in locations_of(v, key)]
    return [(key, value)] if isinstance(value, str) else []


def test_moving_there_and_back_gives_the_same_scenario(demo_scenario: Scenario) -> None:
    """Public -> China -> US Gov -> public is the identity."""
    there = in_cloud(in_cloud(demo_scenario, CloudName.CHINA), CloudName.US_GOVERNMENT)

    assert demo_scenario == in_cloud(there, CloudName.PUBLIC)


@pytest.mark.parametrize("name", ALL_CLOUDS)
def test_the_simulated_arm_speaks_each_cloud(
    start_tenant: TenantFactory, demo_scenario: Scenario, name: CloudName
) -> None:
    """A run in each cloud asks for that cloud's token audience and reads that cloud's names."""
    tenant = start_tenant(in_cloud(demo_scenario, name))
    names = cloud(name)

    result = run_once(tenant.config())

    assert name.value == result.context.cloud
    audiences = {r.query["resource"] for r in tenant.identity.requests}
    assert {names.arm_audience} == audiences
    properties = [b.get("properties", {}) for b in tenant.arm.state.resources.values()]
    vault_uris = {p["vaultUri"] for p in properties if "vaultUri" in p}
    login_servers = {p["loginServer"] for p in properties if "loginServer" in p}
    scoring = {p["scoringUri"] for p in properties if "scoringUri" in p}
    assert vault_uris and all(u.endswith(f".{names.keyvault_suffix}/") for u in vault_uris)
    assert login_servers and all(s.endswith(f".{names.acr_suffix}") for s in login_servers)
    assert scoring and all(f".{names.inference_suffix}/" in u for u in scoring)


def test_a_config_for_the_wrong_cloud_cannot_get_a_token(
    start_tenant: TenantFactory, demo_scenario: Scenario
) -> None:
    """An agent in Azure China configured for AzureCloud asks for the wrong audience: exit 2."""
    tenant = start_tenant(in_cloud(demo_scenario, CloudName.CHINA))
    document = tenant.config_document()
    document["cloud"] = CloudName.PUBLIC.value

    result = run_once(parse_config(tomli_w.dumps(document), "wrong cloud"))

    assert 2 == result.exit_code
    assert tenant.identity.requests, "the agent never asked for a token"
    assert all(r.status == 400 for r in tenant.identity.requests)


@pytest.mark.parametrize("name", ALL_CLOUDS)
def test_demo_runs_in_each_cloud(name: CloudName, capsys: pytest.CaptureFixture[str]) -> None:
    """`netverify demo --cloud X`: the public demo's verdicts, each tagged with cloud X and VNet."""
    assert 0 == main(["demo", "--output", "jsonl"])
    public = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert 0 == main(["demo", "--cloud", name.value, "--output", "jsonl"])
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    def verdicts(found: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return sorted((e["check_id"], e["status"]) for e in found)

    # Names differ per cloud; what was judged, and how, does not.
    assert verdicts(public) == verdicts(events)
    assert {name.value} == {e["cloud"] for e in events}
    assert {"vnet-hub"} == {e["agent"]["vnet_id"].rsplit("/", 1)[1] for e in events}
    assert {
        ("mlw-healthy", "pass"),
        ("mlw-broken", "fail"),
        ("kv-healthy", "pass"),
        ("kv-broken", "fail"),
    } <= {
        (e["resource_name"], e["status"])
        for e in events
        if e["check_id"]
        in ("workspace_v1_legacy_mode_disabled", "keyvault_network_bypass_azure_services")
    }


@pytest.mark.parametrize("name", ALL_CLOUDS)
def test_arm_challenges_with_the_cloud_authority(
    start_tenant: TenantFactory, demo_scenario: Scenario, name: CloudName
) -> None:
    """A request without a token gets 401 and a challenge naming that cloud's Entra authority."""
    tenant = start_tenant(in_cloud(demo_scenario, name))
    context = ssl.create_default_context(cafile=str(tenant.ca_path))

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{tenant.arm.url}/subscriptions", context=context, timeout=10)

    assert 401 == refused.value.code
    challenge = refused.value.headers["WWW-Authenticate"]
    assert f'authorization_uri="https://{cloud(name).authority_host}/"' in challenge
