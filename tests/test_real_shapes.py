"""Shapes of the real-world cases' kinds beyond the cases handed (issue 12): each a different
layout of the same mistake, run end to end on the simulated tenant with a real BIND."""

from __future__ import annotations

import os
from typing import Any

import pytest

from netverify.model import Status
from netverify.sim.custom_dns import NAMED
from tests.conftest import TenantFactory
from tests.test_real_world_cases import all_pass, case_data, fails, run_case

pytestmark = [
    pytest.mark.servers,
    pytest.mark.skipif(not os.access(NAMED, os.X_OK), reason="BIND missing"),
]
GUID = "aaaaaaaa-0000-4000-8000-000000000001"


def test_endpoint_in_a_peered_spoke_is_right_from_the_hub(start_tenant: TenantFactory) -> None:
    """Kind 2, hub-and-spoke: the workspace's only endpoint lives in a spoke peered with the
    hub the agent runs in; the hub's zones hold its records. Its IPs are the right answers
    (not "outside the VNet"), and nothing asks to link the zones to the spoke."""
    data = case_data("H02")
    data["workspaces"][0]["private_endpoints"] = ["pe-mlw-second"]
    data["vnets"][0]["peerings"] = ["vnet-second"]
    data["private_endpoints"] = [data["private_endpoints"][1]]
    data["private_dns_zones"] = data["private_dns_zones"][:2]
    for zone in data["private_dns_zones"]:
        zone["endpoints"] = ["pe-mlw-second"]

    findings = run_case(start_tenant, data, "bind")

    all_pass(findings)
    inside = [f for f in findings if f.check.id == "dns_answer_inside_vnet"]
    assert inside and {Status.PASS} == {f.status for f in inside}
    resolved = [f for f in findings if f.check.id == "dns_name_resolves_private_endpoint"]
    assert resolved and all("10.2.0.5" in f.message for f in resolved)


def test_unpeered_second_endpoint_does_not_make_the_hub_wrong(start_tenant: TenantFactory) -> None:
    """Kind 2, the converse: without the peering the spoke endpoint's IPs are not demanded
    from the hub; the hub endpoint's are (H02), and a hub answer pointing into the unpeered
    spoke would be wrong - here the hub's zone is made to hold the spoke IP, and fails."""
    data = case_data("H02")
    data["private_endpoints"][0]["stale_records"] = {"api": "10.2.0.5"}

    findings = run_case(start_tenant, data, "bind")

    [resolved] = fails(findings, "dns_name_resolves_private_endpoint")
    assert (
        "10.2.0.5" in resolved.message
        and "not to its private endpoint 10.0.1.5" in resolved.message
    )
    [record] = fails(findings, "privatedns_record_matches_endpoint")
    # 10.2.0.5 belongs to the workspace's other endpoint: not stale, so it is not removed.
    command = record.remediation.command if record.remediation else None
    assert command is not None and "add-record" in command and "remove-record" not in command


def test_zones_kept_by_hand_in_a_central_subscription_are_found(
    start_tenant: TenantFactory,
) -> None:
    """Kind 4: no zone group at all; the records were written by hand into zones of a central
    subscription. Resource Graph finds them there: no "zone missing", all pass."""
    data = case_data("H04")
    data["private_endpoints"][0]["zone_group"] = False
    api, notebooks = data["private_dns_zones"]
    api["records"] = [
        {"name": f"{GUID}.workspace.eastus", "values": ["10.0.1.5"]},
        {"name": f"{GUID}.workspace.eastus.cert", "values": ["10.0.1.5"]},
        {"name": f"*.{GUID}.inference.eastus", "values": ["10.0.1.5"]},
    ]
    notebooks["records"] = [{"name": f"ml-mlw-a-eastus-{GUID}.eastus", "values": ["10.0.1.5"]}]

    findings = run_case(start_tenant, data, "bind")

    all_pass(findings)
    zones = [f for f in findings if f.check.id == "privatedns_zone_exists"]
    assert zones and all("22222222-2222-4222-8222-222222222222" in f.resource_id for f in zones)


def _forwarding(dead_zone: str | None) -> dict[str, Any]:
    data = case_data("H05b")
    zones = ["api.azureml.ms", "notebooks.azure.net", "inference.ml.azure.com"]
    data["dns"]["custom_servers"][0]["forwarders"] = [
        {"zone": z, "to": "dead" if z == dead_zone else "azure"} for z in zones
    ]
    return data


def test_forwarder_to_a_dead_target_for_one_zone_is_named(start_tenant: TenantFactory) -> None:
    """Kind 7: BIND forwards inference.ml.azure.com to a target that never answers; it answers
    the other zones. The forwarding check names that zone (it used to pass the server)."""
    findings = run_case(start_tenant, _forwarding("inference.ml.azure.com"), "bind")

    [server] = fails(findings, "dns_custom_server_forwards_zones")
    assert server.evidence is not None
    assert ["inference.ml.azure.com"] == server.evidence.observed["zones_forwarded_to_no_answer"]
    assert (
        "gets no answer for inference.ml.azure.com while it answers other zones" in server.message
    )


def test_forwarder_pointed_back_at_azure_dns_passes(start_tenant: TenantFactory) -> None:
    """The remedy applied (the zone's forwarder points at Azure DNS): all pass."""
    all_pass(run_case(start_tenant, _forwarding(None), "bind"))


def test_microsoft_managed_endpoint_of_the_vault_is_noted(start_tenant: TenantFactory) -> None:
    """An online deployment's egress endpoint connected to the workspace's vault lives in a
    Microsoft subscription: noted, never an error asking for a permission no one can grant."""
    data = case_data("H01b")
    data["key_vaults"][0]["managed_private_endpoints"] = ["pe-kv-egress"]

    findings = run_case(start_tenant, data, "bind")

    all_pass(findings)
    [note] = [f for f in findings if f.resource_id.endswith("/privateEndpoints/pe-kv-egress")]
    assert note.status is Status.SKIPPED
    assert "managed by Azure in a Microsoft subscription" in note.message


def _with_registry_endpoint(zone: bool) -> dict[str, Any]:
    data = case_data("H01b")
    data["registries"][0]["connections"].append(
        {
            "name": "pe-cra",
            "private_endpoint": "pe-cra",
            "microsoft_managed": False,
            "description": "Auto-Approved",
        }
    )
    data["private_endpoints"].append(
        {
            "name": "pe-cra",
            "vnet": "vnet-ml",
            "subnet": "pe",
            "target": "cra",
            "group_id": "registry",
            "ip": "10.0.1.20",
        }
    )
    if zone:
        data["private_dns_zones"].append(
            {"service": "acr", "links": [{"name": "link", "vnet": "vnet-ml"}]}
        )
    return data


def test_registry_names_are_judged(start_tenant: TenantFactory) -> None:
    """Kind 6, the workspace's dependencies: the registry's login server and data endpoint, as
    its own private endpoint lists them, resolve to it (the egress connection beside it is
    Azure's and is not taken for the tenant's)."""
    findings = run_case(start_tenant, _with_registry_endpoint(zone=True), "bind")

    all_pass(findings)
    names = {
        f.resource_id
        for f in findings
        if f.check.id == "dns_name_resolves_private_endpoint" and f.status is Status.PASS
    }
    assert {"cra.azurecr.io", "cra.eastus.data.azurecr.io"} <= names


def test_registry_without_its_zone_fails_on_its_names(start_tenant: TenantFactory) -> None:
    """The same without the registry's private zone: its names resolve publicly, and the
    missing zone is named with the registry zone's name."""
    findings = run_case(start_tenant, _with_registry_endpoint(zone=False), "bind")

    failed = {f.resource_id for f in fails(findings, "dns_name_resolves_private_endpoint")}
    assert {"cra.azurecr.io", "cra.eastus.data.azurecr.io"} == failed
    [zone] = fails(findings, "privatedns_zone_exists")
    assert "privatelink.azurecr.io" in zone.message


def _with_project() -> dict[str, Any]:
    data = case_data("H01b")
    data["workspaces"].append(
        {"name": "proj-a", "guid": "dddddddd-0000-4000-8000-000000000004", "hub": "mlw-a"}
    )
    data["online_endpoints"].append(
        {
            "name": "ep-p",
            "workspace": "proj-a",
            "traffic": {"blue": 100},
            "deployments": [{"name": "blue"}],
        }
    )
    return data


def test_project_endpoint_is_resolved_through_its_hubs_endpoint(
    start_tenant: TenantFactory,
) -> None:
    """Kind 6, hub/project: a hub-based project has no private endpoint of its own; its
    online endpoint's scoring host is judged against the hub's, not skipped ("0 fail")."""
    findings = run_case(start_tenant, _with_project(), "bind")

    all_pass(findings)
    [project] = [
        f
        for f in findings
        if f.check.id == "dns_name_resolves_private_endpoint"
        and f.resource_id == "ep-p.eastus.inference.ml.azure.com"
    ]
    assert project.status is Status.PASS
    assert project.evidence is not None
    assert "hub mlw-a" in project.evidence.observed["sources"]
    assert project.subject.endswith("/workspaces/proj-a")


def test_project_whose_hub_endpoint_predates_online_endpoints_fails(
    start_tenant: TenantFactory,
) -> None:
    """The hub's endpoint lists no scoring name (created before online endpoints): the
    project's scoring host is a fail that says why, with the one remedy that works."""
    data = _with_project()
    guid = data["workspaces"][0]["guid"]
    data["private_endpoints"][0]["dns_configs"] = [
        {"fqdn": f"{guid}.workspace.eastus.api.azureml.ms", "ips": ["10.0.1.5"]},
        {"fqdn": f"{guid}.workspace.eastus.cert.api.azureml.ms", "ips": ["10.0.1.5"]},
        {"fqdn": f"ml-mlw-a-eastus-{guid}.eastus.notebooks.azure.net", "ips": ["10.0.1.5"]},
    ]

    findings = run_case(start_tenant, data, "bind")

    failed = fails(findings, "dns_name_resolves_private_endpoint")
    assert {"ep-a.eastus.inference.ml.azure.com", "ep-p.eastus.inference.ml.azure.com"} == {
        f.resource_id for f in failed
    }
    assert all("before online endpoints existed" in f.message for f in failed)
