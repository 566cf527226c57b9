"""`netverify explain TARGET`: the run's findings for one target, in the guide's order."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netverify.checklib.catalog import load_checks
from netverify.cli import main
from netverify.explain import GUIDE_ORDER, workspace_id_in
from netverify.sim.scenario import builtin_scenario
from netverify.sim.tenant import SimulatedTenant
from tests.conftest import TenantFactory, healthy_only


def explained(
    target: str, config: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[str], str]:
    code = main(["explain", target, "--config", str(config)])
    captured = capsys.readouterr()
    # Ports of the loopback stand-ins change from run to run.
    out = re.sub(r"127\.0\.0\.1', \d+", "127.0.0.1', PORT", captured.out)
    return code, out.splitlines(), captured.err


@pytest.fixture
def config(start_tenant: TenantFactory, tmp_path: Path) -> Path:
    return start_tenant().write_config(tmp_path / "config.toml")


@pytest.fixture
def healthy_config(start_tenant: TenantFactory, tmp_path: Path) -> Path:
    """The demo's healthy workspace alone: in the demo its names also go through the broken
    DNS servers 10.0.0.5 and 10.0.0.6, which the chain rightly shows as broken hops."""
    return start_tenant(healthy_only(builtin_scenario())).write_config(tmp_path / "healthy.toml")


def test_healthy_endpoint_chain_holds(
    healthy_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ep-fraud: every hop of its chain passes, in the guide's order; exit 0."""
    code, lines, _ = explained("ep-fraud", healthy_config, capsys)

    assert code == 0
    assert lines == HEALTHY


def test_broken_endpoint_names_its_first_broken_link(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ep-churn: the first broken link is v1 legacy mode, with its az fix; exit 1."""
    code, lines, _ = explained("ep-churn", config, capsys)

    assert code == 1
    assert lines == BROKEN


def test_a_healthy_workspace_behind_a_broken_server_shows_the_broken_hop(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """In the demo ep-fraud's own resources pass, but its name fails through 10.0.0.5 (down):
    that hop is the first broken link, with the server's fix."""
    code, lines, _ = explained("ep-fraud", config, capsys)

    assert code == 1
    assert "  custom 10.0.0.5: ep-fraud.eastus.inference.ml.azure.com. (UNREACHABLE)" in lines
    assert lines[-3].startswith("first broken link: dns_resolver_answers: Resolver custom 10.0.0.5")
    assert lines[-1] == (
        "  dig @10.0.0.5 -p 53 3f2a9c1e-5b7d-4e8f-a1c2-d3e4f5a6b7c8.workspace.eastus.api.azureml.ms A"
    )


def test_spoke_endpoint_is_broken(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = explained("ep-spoke", config, capsys)

    assert code == 1
    assert lines[0].startswith("explain endpoint ep-spoke in workspace ")
    assert any(line.startswith("first broken link: ") for line in lines)


def test_scoring_fqdn_names_the_endpoint(
    healthy_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines, _ = explained("ep-fraud.eastus.inference.ml.azure.com", healthy_config, capsys)

    assert (code, lines) == (0, HEALTHY)


def test_workspace_name_target(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A workspace name walks that workspace's chain (all its names), not another's."""
    code, lines, _ = explained("mlw-broken", config, capsys)

    assert code == 1
    assert lines[0] == "explain workspace mlw-broken"
    assert not any("mlw-healthy" in line for line in lines)
    assert lines[-3].startswith("first broken link: workspace_v1_legacy_mode_disabled: ")


def test_unknown_target_exits_2_with_one_line(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines, err = explained("ep-nowhere", config, capsys)

    assert (code, lines) == (2, [])
    assert err.strip().splitlines() == [
        "netverify explain: 'ep-nowhere' is no workspace, online endpoint or scoring FQDN in "
        f"the configured scope (workspaces searched: {WORKSPACES})"
    ]


@pytest.mark.parametrize("name", ["mlw-gone", "MLW-Gone/"])
def test_a_workspace_id_arm_does_not_know_names_the_id_and_the_404(
    config: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """An id names the workspace, so ARM's 404 is the answer, not "none in scope"."""
    group = "/subscriptions/6d3b1a52-8f1e-4c3a-9a7e-2b5c8d9e0f11/resourceGroups/rg-ml-prod"
    target = f"{group}/providers/Microsoft.MachineLearningServices/workspaces/{name}"

    code, lines, err = explained(target, config, capsys)

    assert (code, lines) == (2, [])
    assert err.strip().splitlines() == [
        f"netverify explain: workspace {target.rstrip('/')}: ARM answered 404 (not found)"
    ]


HEALTHY = [
    "explain endpoint ep-fraud in workspace mlw-healthy",
    "✓ workspace_v1_legacy_mode_disabled [mlw-healthy]: Workspace mlw-healthy has v1_legacy_mode off.",
    "✓ workspace_policy_v1_legacy_mode_absent [mlw-healthy]: No policy assignment requires V1LegacyMode on workspace mlw-healthy.",
    "✓ keyvault_network_bypass_azure_services [kv-healthy]: Key Vault kv-healthy denies by default but lets AzureServices bypass.",
    "✓ registry_egress_connection_approved [pe-crhealthy-egress]: Registry crhealthy: egress connection pe-crhealthy-egress is Approved.",
    "✓ privateendpoint_connection_approved [pe-kv-healthy]: Key Vault kv-healthy (used by mlw-healthy): the connection of private endpoint pe-kv-healthy is Approved.",
    "✓ privateendpoint_connection_approved [pe-mlw-healthy]: Workspace mlw-healthy: the connection of private endpoint pe-mlw-healthy is Approved.",
    "✓ workspace_managed_network_provisioned [mlw-healthy]: Workspace mlw-healthy has no managed VNet (isolation mode Disabled).",
    "? workspace_managed_network_outbound_rules_active [mlw-healthy]: Workspace mlw-healthy has no managed VNet (isolation mode Disabled).",
    "✓ workspace_image_build_compute_set [mlw-healthy]: Workspace mlw-healthy builds images on cpu-build (registry crhealthy is private).",
    "✓ online_deployment_provisioning_succeeded [blue]: Deployment blue of endpoint ep-fraud is Succeeded.",
    "✓ online_endpoint_traffic_to_succeeded_deployment [ep-fraud]: Endpoint ep-fraud sends traffic to serving deployment(s) blue.",
    "  host: ep-fraud.eastus.inference.ml.azure.com. CNAME ep-fraud.3f2a9c1e-5b7d-4e8f-a1c2-d3e4f5a6b7c8.inference.eastus.privatelink.api.azureml.ms. A 10.0.1.7 (NOERROR)",
    "  custom 10.0.0.4: ep-fraud.eastus.inference.ml.azure.com. CNAME ep-fraud.3f2a9c1e-5b7d-4e8f-a1c2-d3e4f5a6b7c8.inference.eastus.privatelink.api.azureml.ms. A 10.0.1.7 (NOERROR)",
    "  azure 168.63.129.16: ep-fraud.eastus.inference.ml.azure.com. CNAME ep-fraud.3f2a9c1e-5b7d-4e8f-a1c2-d3e4f5a6b7c8.inference.eastus.privatelink.api.azureml.ms. A 10.0.1.7 (NOERROR)",
    "✓ dns_host_resolver_matches_vnet [mlw-healthy]: The host resolver answers ep-fraud.eastus.inference.ml.azure.com as the VNet's DNS does.",
    "✓ privatedns_zone_exists [mlw-healthy]: Private DNS zone privatelink.api.azureml.ms of workspace mlw-healthy exists.",
    "✓ privatedns_zone_linked_agent_vnet [privatelink.api.azureml.ms]: Zone privatelink.api.azureml.ms is linked to the agent's VNet.",
    "✓ privatedns_zone_linked_agent_vnet [privatelink.api.azureml.ms]: Zone /subscriptions/a1b2c3d4-0000-4e5f-8a9b-0c1d2e3f4a5b/resourceGroups/rg-spoke/providers/Microsoft.Network/privateDnsZones/privatelink.api.azureml.ms is not linked to vnet-hub, but /subscriptions/6d3b1a52-8f1e-4c3a-9a7e-2b5c8d9e0f11/resourceGroups/rg-ml-prod/providers/Microsoft.Network/privateDnsZones/privatelink.api.azureml.ms of the same name is.",
    "✓ privatedns_record_present [mlw-healthy]: Zone privatelink.api.azureml.ms holds *.3f2a9c1e-5b7d-4e8f-a1c2-d3e4f5a6b7c8.inference.eastus for scoring of mlw-healthy.",
    "✓ privatedns_record_matches_endpoint [privatelink.api.azureml.ms]: Record *.3f2a9c1e-5b7d-4e8f-a1c2-d3e4f5a6b7c8.inference.eastus in privatelink.api.azureml.ms holds the private endpoint's IP 10.0.1.7.",
    "✓ dns_name_resolves_private_endpoint [mlw-healthy]: ep-fraud.eastus.inference.ml.azure.com (scoring of mlw-healthy) resolves to its private endpoint 10.0.1.7.",
    "✓ dns_answer_inside_vnet [mlw-healthy]: ep-fraud.eastus.inference.ml.azure.com resolves inside the VNet's address space.",
    "✓ privateendpoint_tls_reachable [10.0.1.7:443]: ep-fraud.eastus.inference.ml.azure.com at 10.0.1.7 accepts TCP 443 and TLS.",
    "✓ online_endpoint_scoring_path_reachable [ep-fraud]: Scoring endpoint ep-fraud (ep-fraud.eastus.inference.ml.azure.com at 10.0.1.7) answers a request without a key with 401: the private scoring path works end to end.",
    "chain holds: no broken link",
]

BROKEN = [
    "explain endpoint ep-churn in workspace mlw-broken",
    "✗ workspace_v1_legacy_mode_disabled [mlw-broken]: Workspace mlw-broken has v1_legacy_mode = true: its managed online endpoints cannot work (v2 API unsupported).",
    "✗ workspace_policy_v1_legacy_mode_absent [require-v1-legacy-mode]: Policy assignment require-v1-legacy-mode (Deny) requires V1LegacyMode on workspace mlw-broken, which has online endpoints: turning legacy mode off will be denied.",
    "✗ keyvault_network_bypass_azure_services [kv-broken]: Key Vault kv-broken denies by default and its bypass is 'None', not 'AzureServices': online deployments of mlw-broken cannot read it.",
    "✗ registry_egress_connection_approved [pe-crbroken-egress]: Registry crbroken: egress connection pe-crbroken-egress is Pending, not Approved: 1 deployment(s) with egress public network access disabled cannot pull images (ep-churn/green).",
    "✓ privateendpoint_connection_approved [pe-crbroken]: Container registry crbroken (used by mlw-broken): the connection of private endpoint pe-crbroken is Approved.",
    "✓ privateendpoint_connection_approved [pe-mlw-broken]: Workspace mlw-broken: the connection of private endpoint pe-mlw-broken is Approved.",
    "✓ workspace_managed_network_provisioned [mlw-broken]: Workspace mlw-broken has no managed VNet (isolation mode Disabled).",
    "? workspace_managed_network_outbound_rules_active [mlw-broken]: Workspace mlw-broken has no managed VNet (isolation mode Disabled).",
    '✗ workspace_image_build_compute_set [mlw-broken]: Workspace mlw-broken has no image-build compute although registry crbroken is private: image builds fail with "failed to communicate with the workspace\'s container registry".',
    "✗ online_deployment_provisioning_succeeded [green]: Deployment green of endpoint ep-churn (workspace mlw-broken) is Failed, not Succeeded.",
    "✗ online_endpoint_traffic_to_succeeded_deployment [ep-churn]: Endpoint ep-churn (workspace mlw-broken) answers scoring with 404: no deployment has a positive traffic weight.",
    "  host: ep-churn.westus.inference.ml.azure.com. CNAME ep-churn.9b8c7d6e-1a2b-4c3d-8e9f-0a1b2c3d4e5f.inference.westus.privatelink.api.azureml.ms. A 10.0.1.9 (NOERROR)",
    "  custom 10.0.0.4: ep-churn.westus.inference.ml.azure.com. CNAME ep-churn.9b8c7d6e-1a2b-4c3d-8e9f-0a1b2c3d4e5f.inference.westus.privatelink.api.azureml.ms. A 10.0.1.9 (NOERROR)",
    "  custom 10.0.0.5: ep-churn.westus.inference.ml.azure.com. (UNREACHABLE)",
    "  custom 10.0.0.6: ep-churn.westus.inference.ml.azure.com. CNAME ep-churn.9b8c7d6e-1a2b-4c3d-8e9f-0a1b2c3d4e5f.inference.westus.privatelink.api.azureml.ms. (NOERROR)",
    "  azure 168.63.129.16: ep-churn.westus.inference.ml.azure.com. CNAME ep-churn.9b8c7d6e-1a2b-4c3d-8e9f-0a1b2c3d4e5f.inference.westus.privatelink.api.azureml.ms. A 10.0.1.9 (NOERROR)",
    "✓ dns_host_resolver_matches_vnet [mlw-broken]: The host resolver answers ep-churn.westus.inference.ml.azure.com as the VNet's DNS does.",
    "✗ dns_resolver_answers [custom 10.0.0.5]: Resolver custom 10.0.0.5 gave no answer for 6 of 6 names (6 UNREACHABLE), e.g. 9b8c7d6e-1a2b-4c3d-8e9f-0a1b2c3d4e5f.workspace.westus.api.azureml.ms: UNREACHABLE: Connection refused; 1 of them exist (Azure DNS resolves them privately): every client that uses this resolver cannot resolve them.",
    "✗ dns_custom_server_forwards_zones [custom 10.0.0.5]: Custom DNS server 10.0.0.5 gives no answer for any of the 1 name(s) Azure DNS resolves privately (1 UNREACHABLE), e.g. ep-churn.westus.inference.ml.azure.com: every client that uses it cannot resolve them; cause not identified.",
    "✗ dns_custom_server_forwards_zones [custom 10.0.0.6]: Custom DNS server 10.0.0.6 reaches Azure DNS but drops the private address of 1 name(s): ep-churn.westus.inference.ml.azure.com -> ep-churn.9b8c7d6e-1a2b-4c3d-8e9f-0a1b2c3d4e5f.inference.westus.privatelink.api.azureml.ms -> (no address), Azure's CNAME into privatelink.api.azureml.ms without the A record (DNS-rebinding protection or private-address filtering strips answers in private ranges) (Azure DNS gives the private IP).",
    "✓ privatedns_zone_exists [mlw-broken]: Private DNS zone privatelink.api.azureml.ms of workspace mlw-broken exists.",
    "✓ privatedns_zone_linked_agent_vnet [privatelink.api.azureml.ms]: Zone privatelink.api.azureml.ms is linked to the agent's VNet.",
    "✓ privatedns_zone_linked_agent_vnet [privatelink.api.azureml.ms]: Zone /subscriptions/a1b2c3d4-0000-4e5f-8a9b-0c1d2e3f4a5b/resourceGroups/rg-spoke/providers/Microsoft.Network/privateDnsZones/privatelink.api.azureml.ms is not linked to vnet-hub, but /subscriptions/6d3b1a52-8f1e-4c3a-9a7e-2b5c8d9e0f11/resourceGroups/rg-ml-prod/providers/Microsoft.Network/privateDnsZones/privatelink.api.azureml.ms of the same name is.",
    "✓ privatedns_record_present [mlw-broken]: Zone privatelink.api.azureml.ms holds *.9b8c7d6e-1a2b-4c3d-8e9f-0a1b2c3d4e5f.inference.westus for scoring of mlw-broken.",
    "✓ privatedns_record_matches_endpoint [privatelink.api.azureml.ms]: Record *.9b8c7d6e-1a2b-4c3d-8e9f-0a1b2c3d4e5f.inference.westus in privatelink.api.azureml.ms holds the private endpoint's IP 10.0.1.9.",
    "✓ dns_name_resolves_private_endpoint [mlw-broken]: ep-churn.westus.inference.ml.azure.com (scoring of mlw-broken) resolves to its private endpoint 10.0.1.9.",
    "✓ dns_answer_inside_vnet [mlw-broken]: ep-churn.westus.inference.ml.azure.com resolves inside the VNet's address space.",
    "✗ privateendpoint_tls_reachable [10.0.1.9:443]: ep-churn.westus.inference.ml.azure.com at 10.0.1.9 answers TLS on port 443, but the certificate presented is not the private endpoint's: it is not valid for ep-churn.westus.inference.ml.azure.com (subject CN=tls-inspection.contoso.example,OU=TLS inspection,O=Contoso TLS Inspection CA; names tls-inspection.contoso.example); its issuer OU=TLS inspection,O=Contoso TLS Inspection CA is not trusted (unable to get local issuer certificate). Something between this VNet and the private endpoint terminates TLS (a TLS-inspecting firewall or proxy); every client that verifies certificates fails.",
    "✗ online_endpoint_scoring_path_reachable [ep-churn]: Scoring endpoint ep-churn gets no answer from this VNet: the TLS handshake failed at 10.0.1.9: TLS certificate verification failed: unable to get local issuer certificate.",
    "first broken link: workspace_v1_legacy_mode_disabled: Workspace mlw-broken has v1_legacy_mode = true: its managed online endpoints cannot work (v2 API unsupported).",
    "fix: First ask your network security team why v1_legacy_mode was turned on for mlw-broken: it may have been enabled on purpose to keep v1 network isolation. If it can go, turn it off.",
    "  az resource update --ids /subscriptions/6d3b1a52-8f1e-4c3a-9a7e-2b5c8d9e0f11/resourceGroups/rg-ml-prod/providers/Microsoft.MachineLearningServices/workspaces/mlw-broken --set properties.v1LegacyMode=false",
]

WORKSPACES = "mlw-healthy, mlw-spoke, mlw-broken"


def workspaces_read(tenant: SimulatedTenant) -> dict[str, set[str]]:
    """Workspace name -> what was read under it: "" for the workspace itself, else the next
    segment (onlineEndpoints ...), from the stand-in ARM's request log."""
    read: dict[str, set[str]] = {}
    for request in tenant.arm.requests:
        if "/workspaces/" in request.path.lower():
            name, *rest = request.path.lower().split("/workspaces/")[1].split("/")
            read.setdefault(name, set()).add(rest[0] if rest else "")
    return read


def test_an_arm_id_target_reads_only_its_workspace(
    start_tenant: TenantFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An endpoint's ARM id (its segments in another case than ARM's) scopes the run to its workspace: the
    other workspaces of the configured scope are never read, and the chain has the same hops."""
    tenant = start_tenant()
    config = tenant.write_config(tmp_path / "config.toml")
    workspace = next(w for w in tenant.config().scope.workspaces if w.endswith("/mlw-broken"))

    lowered = workspace.replace("/resourceGroups/", "/resourcegroups/").replace(
        "Microsoft.MachineLearningServices", "microsoft.machinelearningservices"
    )
    code, lines, _ = explained(f"{lowered}/onlineendpoints/ep-churn", config, capsys)

    assert code == 1 and lines[0] == "explain endpoint ep-churn in workspace mlw-broken"
    assert {"mlw-broken"} == set(workspaces_read(tenant))
    # The same hops with the same verdicts. (The fix's command names the workspace as the
    # target spelled it.)
    assert lines[:-1] == BROKEN[:-1]


@pytest.mark.parametrize(
    ("target", "search"),
    [
        ("MLW-Broken", set()),  # a workspace name: matched in the scope's ids, no search read
        ("ep-churn", {"onlineendpoints"}),  # endpoint lists until one has it
        ("EP-CHURN.westus.inference.ml.azure.com.", {"onlineendpoints"}),
    ],
)
def test_a_name_target_reads_only_its_workspace_after_the_search(
    start_tenant: TenantFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    target: str,
    search: set[str],
) -> None:
    """A workspace name, endpoint name or scoring FQDN (any case, a trailing dot) is placed
    first — by the scope's workspace ids, then by each workspace's endpoint list — and only
    that workspace is read: the others are touched by nothing but the endpoint-list search."""
    tenant = start_tenant()
    config = tenant.write_config(tmp_path / "config.toml")

    code, lines, _ = explained(target, config, capsys)

    assert code == 1 and "workspace mlw-broken" in lines[0]
    read = workspaces_read(tenant)
    assert {"", "onlineendpoints"} <= read.pop("mlw-broken")
    # The workspaces listed before mlw-broken in the scope had their endpoints listed, no more.
    assert all(search == what for what in read.values()), read
    assert bool(search) == bool(read)


@pytest.mark.parametrize(
    ("target", "workspace"),
    [
        (
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w",
        ),
        (
            "/SUBSCRIPTIONS/s/RESOURCEGROUPS/rg/PROVIDERS/microsoft.machinelearningservices/WORKSPACES/w/onlineEndpoints/e/deployments/d",
            "/SUBSCRIPTIONS/s/RESOURCEGROUPS/rg/PROVIDERS/microsoft.machinelearningservices/WORKSPACES/w",
        ),
        ("ep-churn", None),
        ("ep-churn.westus.inference.ml.azure.com", None),
        ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv", None),
    ],
)
def test_workspace_id_in_a_target(target: str, workspace: str | None) -> None:
    assert workspace == workspace_id_in(target)


def test_every_check_has_its_hop_in_the_guide_order() -> None:
    """A new check must say where in the guide's chain it sits, or explain would print it last."""
    assert sorted(GUIDE_ORDER) == sorted(c.meta.id for c in load_checks())
