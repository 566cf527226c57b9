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
