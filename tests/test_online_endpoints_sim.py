"""The registry, endpoint, deployment, workspace-setting and policy checks through the real SDK
clients against the simulated tenant: each fires on the demo's broken workspace and stays quiet
on the healthy one."""

from __future__ import annotations

from typing import Any

import pytest

from netverify.model import Status
from netverify.runner import run_once
from netverify.sim.generate import MANAGEMENT_GROUP, large_tenant
from netverify.sim.scenario import FaultSpec, Scenario
from tests.conftest import TenantFactory


def by_name(result: Any, check_id: str) -> dict[str, Any]:
    return {f.resource_id.rsplit("/", 1)[-1]: f for f in result.findings if f.check.id == check_id}


@pytest.mark.parametrize(
    ("check_id", "broken", "healthy"),
    [
        ("registry_egress_connection_approved", "crbroken", "crhealthy"),
        ("online_deployment_provisioning_succeeded", "green", "blue"),
        ("online_endpoint_traffic_to_succeeded_deployment", "ep-churn", "ep-fraud"),
        ("workspace_image_build_compute_set", "mlw-broken", "mlw-healthy"),
        ("workspace_policy_v1_legacy_mode_absent", "mlw-broken", "mlw-healthy"),
    ],
)
def test_demo_fires_on_broken_and_stays_quiet_on_healthy(
    start_tenant: TenantFactory, check_id: str, broken: str, healthy: str
) -> None:
    """The demo's planted problem fails; its healthy twin passes."""
    tenant = start_tenant()

    findings = by_name(run_once(tenant.config()), check_id)

    assert Status.FAIL == findings[broken].status
    assert Status.PASS == findings[healthy].status


def test_pending_egress_names_the_failed_deployment_and_the_command(
    start_tenant: TenantFactory,
) -> None:
    """crbroken's Pending connection relates to ep-churn/green and carries the approve command."""
    tenant = start_tenant()

    finding = by_name(run_once(tenant.config()), "registry_egress_connection_approved")["crbroken"]

    [deployment] = finding.evidence.observed["affectedDeployments"]
    assert deployment.endswith("/onlineEndpoints/ep-churn/deployments/green")
    assert finding.remediation.command.startswith(
        "az network private-endpoint-connection approve --id /subscriptions/"
    )
    assert finding.remediation.command.endswith(
        '/registries/crbroken/privateEndpointConnections/pe-crbroken-egress --description "Approved"'
    )


def test_unprovisioned_managed_network_fails(
    start_tenant: TenantFactory, demo_scenario: Scenario
) -> None:
    """A workspace whose managed VNet is Inactive while it has deployments fails."""
    inactive = demo_scenario.model_copy(
        update={
            "workspaces": [
                w.model_copy(
                    update={
                        "managed_network": "AllowOnlyApprovedOutbound",
                        "managed_network_status": "Inactive"
                        if w.name == "mlw-broken"
                        else "Active",
                    }
                )
                for w in demo_scenario.workspaces
            ]
        }
    )
    tenant = start_tenant(inactive)

    findings = by_name(run_once(tenant.config()), "workspace_managed_network_provisioned")

    assert Status.FAIL == findings["mlw-broken"].status
    assert Status.PASS == findings["mlw-healthy"].status


def test_forbidden_deployment_list_is_an_error_naming_the_permission(
    start_tenant: TenantFactory,
) -> None:
    """A 403 on one endpoint's deployments is an error; the other endpoint is still judged."""
    tenant = start_tenant()
    tenant.arm.inject(FaultSpec(path="/onlineEndpoints/ep-churn/deployments$", status=403))

    result = run_once(tenant.config())

    findings = by_name(result, "online_endpoint_traffic_to_succeeded_deployment")
    assert Status.ERROR == findings["deployments"].status
    assert (
        "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments/read"
        in findings["deployments"].message
    )
    assert Status.PASS == findings["ep-fraud"].status


def test_endpoint_with_a_malformed_traffic_map_is_an_error(start_tenant: TenantFactory) -> None:
    """A traffic weight that is not an integer names the field instead of crashing."""
    tenant = start_tenant()
    ws = next(w for w in tenant.workspace_ids() if w.endswith("mlw-healthy"))
    body = (
        '{"value": [{"id": "' + ws + '/onlineEndpoints/ep-fraud", "name": "ep-fraud",'
        ' "location": "eastus", "properties": {"traffic": {"blue": "all"}}}]}'
    )
    tenant.arm.inject(FaultSpec(path="mlw-healthy/onlineEndpoints$", status=200, body=body))

    result = run_once(tenant.config())

    [finding] = [
        f
        for f in result.findings
        if f.check.id == "online_deployment_provisioning_succeeded" and f.status is Status.ERROR
    ]
    assert "properties.traffic.blue is 'all', expected an integer percentage" in finding.message


def test_generated_tenant_is_read_once_through_resource_graph(start_tenant: TenantFactory) -> None:
    """A generated tenant, discovered by management group: every workspace, endpoint and
    deployment is judged, no request is repeated, and requests stay below resources read."""
    tenant = start_tenant(large_tenant(3, 12, 30))

    result = run_once(tenant.config(scope={"workspaces": [], "management_group": MANAGEMENT_GROUP}))

    assert 12 == len([r for r in result.facts.workspaces if r.value])
    assert 30 == len(by_name(result, "online_endpoint_traffic_to_succeeded_deployment"))
    paths = [(r.method, r.path.lower(), r.query.get("$skipToken")) for r in tenant.arm.requests]
    reads = [p for p in paths if p[0] == "GET"]
    assert len(reads) == len(set(reads))
    # One Resource Graph query finds (and reads) the workspaces, one reads their vaults, registries
    # and storage accounts, one finds the zones names without a zone group need.
    assert 3 == len([p for p in paths if p[0] == "POST"])
    linked = ("/vaults/", "/registries/", "/storageaccounts/")
    assert [] == [p for p in reads if any(t in p[1] for t in linked)]
    endpoints = sum(len(r.value or ()) for r in result.facts.online_endpoints.values())
    deployments = sum(len(r.value or ()) for r in result.facts.online_deployments.values())
    assert 30 == endpoints == deployments
    # Planted at fixed strides: ep-00000's deployment failed, mlw-0000 lacks a build compute.
    [failed] = [
        f
        for f in result.findings
        if f.check.id == "online_deployment_provisioning_succeeded" and f.status is Status.FAIL
    ]
    assert "/onlineEndpoints/ep-00000/" in failed.resource_id
    assert Status.FAIL == by_name(result, "workspace_image_build_compute_set")["mlw-0000"].status
