"""A workspace's dependencies' names (registry, every storage sub-resource) and hub-based
projects: each judged like the workspace's own names, per cloud, against the simulated ARM and
a real BIND in front of Azure DNS (the chain scenario)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from netverify.azure.clouds import CLOUDS, CloudName
from netverify.azure.dns_names import forwarder_zones, privatelink_name, storage_names
from netverify.azure.net import is_private
from netverify.facts import CustomDnsConfig, PrivateEndpoint, StorageAccount
from netverify.model import Finding, Status
from netverify.runner import run_once
from netverify.sim.custom_dns import DNSMASQ, NAMED, UNBOUND
from netverify.sim.scenario import (
    CustomDnsServerSpec,
    DnsWorldSpec,
    FaultSpec,
    LinkSpec,
    Scenario,
    builtin_scenario,
)
from netverify.testing import arm_id, workspace
from tests.conftest import TenantFactory

STORAGE_TYPE = "Microsoft.Storage/storageAccounts"
PE_TYPE = "Microsoft.Network/privateEndpoints"
SUBSCRIPTION = "/subscriptions/0c7e5a31-2d4b-4f6a-9e8d-1b2c3d4e5f60"
VNET_HUB = (
    f"{SUBSCRIPTION}/resourceGroups/rg-chain/providers/Microsoft.Network/virtualNetworks/vnet-hub"
)
IMAGE_BUILD_FAILURE = (
    "Image builds and pulls of {}'s deployments fail with ImageBuildFailure "
    '("failed to communicate with the workspace\'s container registry").'
)


def _pe(name: str, vnet: str, *configs: tuple[str, str]) -> PrivateEndpoint:
    vnet_id = arm_id("Microsoft.Network/virtualNetworks", vnet)
    return PrivateEndpoint(
        arm_id(PE_TYPE, name),
        name,
        f"{vnet_id}/subnets/pe",
        (),
        ("file",),
        tuple(CustomDnsConfig(fqdn, (ip,)) for fqdn, ip in configs),
    )


def _account(name: str) -> StorageAccount:
    return StorageAccount(arm_id(STORAGE_TYPE, name), name, "rg-ml", "Disabled")


def test_storage_names_are_every_sub_resource_its_endpoints_list() -> None:
    """A mixed-case account with blob and file endpoints, the file one twice in two VNets:
    one name per sub-resource, lower-case, its record the account in that sub-resource's zone,
    the two file endpoints' IPs both kept; queue, listed by no endpoint, is no name."""
    public = CLOUDS[CloudName.PUBLIC]
    blob = _pe("pe-blob", "vnet-a", ("StFiles.blob.core.windows.net", "10.0.1.4"))
    file_a = _pe("pe-file-a", "vnet-a", ("stfiles.file.core.windows.net", "10.0.1.5"))
    file_b = _pe("pe-file-b", "vnet-b", ("STFILES.file.core.windows.net", "10.2.0.5"))

    names = storage_names(public, _account("StFiles"), [blob, file_a, file_b], workspace())

    assert [
        (
            "stfiles.blob.core.windows.net",
            "storage blob",
            "privatelink.blob.core.windows.net",
            "stfiles",
            ((blob.id, ("10.0.1.4",)),),
        ),
        (
            "stfiles.file.core.windows.net",
            "storage file",
            "privatelink.file.core.windows.net",
            "stfiles",
            ((file_a.id, ("10.0.1.5",)), (file_b.id, ("10.2.0.5",))),
        ),
    ] == [
        (
            n.fqdn,
            n.purpose,
            n.zone_name,
            n.record_name,
            tuple((e.private_endpoint_id, e.ips) for e in n.endpoints),
        )
        for n in names
    ]
    assert [("file.core.windows.net",)] == [n.forwarder_zones for n in names[1:]]


@pytest.mark.parametrize(
    ("name", "suffix"),
    [
        (CloudName.PUBLIC, "core.windows.net"),
        (CloudName.CHINA, "core.chinacloudapi.cn"),
        (CloudName.US_GOVERNMENT, "core.usgovcloudapi.net"),
    ],
)
def test_storage_names_follow_each_cloud(name: CloudName, suffix: str) -> None:
    """file, queue, table and dfs names in each cloud: the cloud's zone, public zone to forward,
    and privatelink CNAME target."""
    names = CLOUDS[name]
    groups = ("file", "queue", "table", "dfs")
    pe = _pe("pe", "vnet-a", *((f"st.{g}.{suffix}", f"10.0.1.{i}") for i, g in enumerate(groups)))

    found = storage_names(names, _account("st"), [pe], workspace())

    assert [
        (f"st.{g}.{suffix}", f"privatelink.{g}.{suffix}", (f"{g}.{suffix}",)) for g in groups
    ] == [(n.fqdn, n.zone_name, n.forwarder_zones) for n in found]
    assert f"st.privatelink.queue.{suffix}" == privatelink_name(names, f"st.queue.{suffix}", "")
    assert () == forwarder_zones(names, f"st.z13.web.{suffix}")  # static websites: not covered


def _behind_bind(scenario: Scenario) -> Scenario:
    """The scenario with the agent's VNet using one DNS server (played by BIND) that forwards
    everything to Azure DNS of its VNet."""
    hub = scenario.vnets[0].model_copy(update={"dns_servers": ("10.20.0.4",)})
    server = CustomDnsServerSpec(address="10.20.0.4", default_forwarder="azure")
    return scenario.model_copy(
        update={
            "vnets": (hub, *scenario.vnets[1:]),
            "dns": DnsWorldSpec(agent_vnet=hub.name, custom_servers=(server,)),
        }
    )


def _unlinked(scenario: Scenario, service: str, resource_group: str | None = None) -> Scenario:
    """The scenario with its ``service`` zone (in the default resource group) linked nowhere."""
    zones = tuple(
        z.model_copy(update={"links": ()})
        if z.service == service and z.resource_group == resource_group
        else z
        for z in scenario.private_dns_zones
    )
    return scenario.model_copy(update={"private_dns_zones": zones})


needs_bind = [
    pytest.mark.servers,
    pytest.mark.skipif(not os.path.exists(NAMED), reason="BIND missing"),
]


def _run(start_tenant: TenantFactory, scenario: Scenario) -> dict[tuple[str, str], Finding]:
    """The run's findings by (check, resource id lower-cased), through BIND."""
    tenant = start_tenant(_behind_bind(scenario), custom_dns="bind")
    findings = run_once(tenant.config()).findings
    return {(f.check.id, f.resource_id.lower()): f for f in findings}


def _observed(finding: Finding) -> dict[str, Any]:
    assert finding.evidence is not None
    return dict(finding.evidence.observed)


def _answers(finding: Finding) -> dict[str, tuple[str, list[str]]]:
    """The finding's resolution row: resolver -> (rcode, addresses)."""
    return {
        str(r["resolver"]): (str(r["rcode"]), list(r.get("addresses", [])))
        for r in _observed(finding)["resolutions"]
    }


@pytest.mark.parametrize("custom_dns", [pytest.param("bind", marks=needs_bind)])
def test_a_missing_file_record_fails_and_the_other_storage_names_pass(
    start_tenant: TenantFactory, custom_dns: str
) -> None:
    """stfiles' file zone lacks its record: a fail naming the zone, record, IP and endpoint;
    its blob name and stqueues' file and queue names resolve privately through BIND. (The
    scenario's broken forwarding ruleset, which sends every blob name on-premises, is left
    out: its own test is tests/test_dns_resolver_rules.py.)"""
    found = _run(
        start_tenant, builtin_scenario("chain").model_copy(update={"dns_forwarding_rulesets": ()})
    )
    zone_id = f"{SUBSCRIPTION}/resourceGroups/rg-chain/providers/Microsoft.Network/privateDnsZones/privatelink.file.core.windows.net"
    pe_file = f"{SUBSCRIPTION}/resourceGroups/rg-chain/providers/Microsoft.Network/privateEndpoints/pe-stfiles-file"

    missing = found["privatedns_record_present", "stfiles.file.core.windows.net"]

    assert Status.FAIL is missing.status
    assert (
        "Zone privatelink.file.core.windows.net has no A record stfiles: "
        "stfiles.file.core.windows.net (storage file of mlw-files) cannot resolve to its "
        "private endpoint." == missing.message
    )
    observed = _observed(missing)
    assert {
        "fqdn": "stfiles.file.core.windows.net",
        "purpose": "storage file",
        "workspace": "mlw-files",
        "private_endpoints": [pe_file],
        "sources": ["customDnsConfigs"],
        "zones": [zone_id],
        "record": {},
    } == {k: v for k, v in observed.items() if k != "resolutions"}
    assert missing.evidence is not None
    assert {
        "record": "stfiles.privatelink.file.core.windows.net",
        "type": "A",
    } == missing.evidence.expected
    assert missing.remediation is not None
    assert (
        "az network private-dns record-set a add-record --subscription 0c7e5a31-2d4b-4f6a-9e8d-1b2c3d4e5f60 "
        "--resource-group rg-chain --zone-name "
        "privatelink.file.core.windows.net --record-set-name 'stfiles' --ipv4-address 10.20.1.42"
        == missing.remediation.command
    )
    assert ("NXDOMAIN", []) == _answers(missing)["custom 10.20.0.4"]
    for fqdn, ip in (
        ("stfiles.blob.core.windows.net", "10.20.1.41"),
        ("stqueues.file.core.windows.net", "10.20.1.43"),
        ("stqueues.queue.core.windows.net", "10.20.1.44"),
    ):
        for check in ("privatedns_record_present", "dns_name_resolves_private_endpoint"):
            assert Status.PASS is found[check, fqdn].status, (check, fqdn)
        assert ("NOERROR", [ip]) == _answers(found["dns_name_resolves_private_endpoint", fqdn])[
            "custom 10.20.0.4"
        ]


@pytest.mark.parametrize("custom_dns", [pytest.param("bind", marks=needs_bind)])
def test_a_registry_zone_not_linked_fails_with_the_image_build_symptom(
    start_tenant: TenantFactory, custom_dns: str
) -> None:
    """The registry zone holding crchain's records linked nowhere: the zone-link fail and the
    name's symptom both say the deployments' image builds fail (the guide's ImageBuildFailure);
    linked, the zone passes."""
    zone_id = f"{SUBSCRIPTION}/resourceGroups/rg-chain/providers/Microsoft.Network/privateDnsZones/privatelink.azurecr.io"
    healthy = _run(start_tenant, builtin_scenario("chain"))
    assert Status.PASS is healthy["privatedns_zone_linked_agent_vnet", zone_id.lower()].status
    assert Status.PASS is healthy["dns_name_resolves_private_endpoint", "crchain.azurecr.io"].status

    # Without mlw-acr, whose registry's records live in a zone of their own.
    chain = builtin_scenario("chain")
    alone = chain.model_copy(
        update={"workspaces": tuple(w for w in chain.workspaces if w.name != "mlw-acr")}
    )
    found = _run(start_tenant, _unlinked(alone, "acr"))

    zone = found["privatedns_zone_linked_agent_vnet", zone_id.lower()]
    assert Status.FAIL is zone.status
    assert (
        f"Zone privatelink.azurecr.io ({zone_id}) holds the records of mlw-chain but is not "
        "linked to the agent's VNet: Azure DNS there does not answer from it. "
        + IMAGE_BUILD_FAILURE.format("mlw-chain")
    ) == zone.message
    observed = _observed(zone)
    assert [] == observed["linked_vnets"]
    assert [
        "crchain.azurecr.io",
        "crchain.eastus.data.azurecr.io",
    ] == sorted(n["fqdn"] for n in observed["names"])
    assert zone.evidence is not None
    assert {"linked_vnets": [VNET_HUB]} == zone.evidence.expected
    assert zone.remediation is not None and zone.remediation.command is not None
    assert "--zone-name privatelink.azurecr.io" in zone.remediation.command
    assert VNET_HUB in zone.remediation.command
    name = found["dns_name_resolves_private_endpoint", "crchain.azurecr.io"]
    assert Status.FAIL is name.status
    assert name.message.endswith(IMAGE_BUILD_FAILURE.format("mlw-chain"))
    # Public DNS's answer: Azure DNS no longer answers privatelink.azurecr.io from the zone.
    rcode, addresses = _answers(name)["custom 10.20.0.4"]
    assert "NOERROR" == rcode and addresses and not any(is_private(ip) for ip in addresses)


@pytest.mark.parametrize("custom_dns", [pytest.param("bind", marks=needs_bind)])
def test_a_project_is_verified_through_its_hub(
    start_tenant: TenantFactory, custom_dns: str
) -> None:
    """mlw-proj's endpoint resolves to its hub's endpoint (the finding names both); the zone
    of mlw-hub-old lacks the scoring record, so mlw-proj-old's endpoint fails, naming both."""
    found = _run(start_tenant, builtin_scenario("chain"))
    hub = f"{SUBSCRIPTION}/resourceGroups/rg-chain/providers/Microsoft.MachineLearningServices/workspaces/mlw-hub"
    old = f"{hub}-old"
    pe_hub = f"{SUBSCRIPTION}/resourceGroups/rg-chain/providers/Microsoft.Network/privateEndpoints/pe-mlw-hub"

    served = found["dns_name_resolves_private_endpoint", "ep-proj.eastus.inference.ml.azure.com"]
    assert Status.PASS is served.status
    assert (
        "ep-proj.eastus.inference.ml.azure.com (scoring of project mlw-proj through hub mlw-hub) "
        "resolves to its private endpoint 10.20.1.50." == served.message
    )
    assert {
        "workspace": "mlw-proj",
        "hub": "mlw-hub",
        "hub_id": hub,
        "private_endpoints": [pe_hub],
        "sources": ["scoringUri", "customDnsConfigs", "hub mlw-hub"],
    } == {
        k: _observed(served)[k]
        for k in ("workspace", "hub", "hub_id", "private_endpoints", "sources")
    }
    assert ("NOERROR", ["10.20.1.50"]) == _answers(served)["custom 10.20.0.4"]

    missing = found["privatedns_record_present", "ep-proj-old.eastus.inference.ml.azure.com"]
    assert Status.FAIL is missing.status
    assert (
        "Zone privatelink.api.azureml.ms has no A record "
        "*.a2b3c4d5-e4f5-4a6b-9c7d-8e9fa0b1c2d3.inference.eastus: "
        "ep-proj-old.eastus.inference.ml.azure.com (scoring of project mlw-proj-old through hub "
        "mlw-hub-old) cannot resolve to its private endpoint." == missing.message
    )
    assert ("mlw-proj-old", "mlw-hub-old", old) == tuple(
        _observed(missing)[k] for k in ("workspace", "hub", "hub_id")
    )
    assert missing.subject.endswith("/workspaces/mlw-proj-old")
    assert (
        Status.FAIL
        is (
            found["dns_name_resolves_private_endpoint", "ep-proj-old.eastus.inference.ml.azure.com"]
        ).status
    )
    # The project uses its hub's registry and image-build compute.
    project = hub.replace("mlw-hub", "mlw-proj")
    assert Status.PASS is found["workspace_image_build_compute_set", project.lower()].status


def test_a_storage_account_that_cannot_be_read_is_an_error_not_silence(
    start_tenant: TenantFactory,
) -> None:
    """ARM answers 500 for stqueues: the run says it could not read it (its names are
    unknown), rather than judging none of them without a word."""
    scenario = builtin_scenario("chain").model_copy(
        update={"faults": (FaultSpec(path=r"storageAccounts/stqueues(\?|$)", status=500),)}
    )
    tenant = start_tenant(scenario)
    findings = run_once(tenant.config()).findings
    account = f"{SUBSCRIPTION}/resourceGroups/rg-chain/providers/Microsoft.Storage/storageAccounts/stqueues"

    [error] = [f for f in findings if f.resource_id == account]

    assert ("privateendpoint_connection_approved", Status.ERROR) == (error.check.id, error.status)
    assert error.message.startswith(f"Cannot read the storage account {account}: ARM answered 500")
    assert {"problem": "unavailable", "http_status": 500} == {
        k: _observed(error)[k] for k in ("problem", "http_status")
    }
    assert not [f for f in findings if f.resource_id.startswith("stqueues.")]


SPOKE_GROUP = "/subscriptions/5b8e2f14-7c3a-4d9e-b1f6-2a4c6e8d0f13/resourceGroups/rg-spoke-ml"
SPOKE_ZONES = f"{SPOKE_GROUP}/providers/Microsoft.Network/privateDnsZones"
VNET_SPOKE = f"{SPOKE_GROUP}/providers/Microsoft.Network/virtualNetworks/vnet-spoke"


def _spoke_behind(server: str, *, fixed: bool = False) -> Scenario:
    """The spoke scenario with the spoke using one DNS server (played by ``server``) that
    forwards everything to Azure DNS of the spoke; ``fixed``: the registry zone also linked to
    the spoke (what the finding's command does)."""
    scenario = builtin_scenario("spoke")
    vnets = tuple(
        v.model_copy(update={"dns_servers": ("10.41.0.4",)}) if v.name == "vnet-spoke" else v
        for v in scenario.vnets
    )
    link = LinkSpec(name="link-vnet-spoke", vnet="vnet-spoke")
    zones = tuple(
        z.model_copy(update={"links": (*z.links, link)}) if fixed and z.service == "acr" else z
        for z in scenario.private_dns_zones
    )
    dns = scenario.dns.model_copy(
        update={
            "custom_servers": (CustomDnsServerSpec(address="10.41.0.4", default_forwarder="azure"),)
        }
    )
    return scenario.model_copy(update={"vnets": vnets, "private_dns_zones": zones, "dns": dns})


def _server(kind: str, binary: str) -> Any:
    return pytest.param(
        kind,
        marks=[
            pytest.mark.servers,
            pytest.mark.skipif(not os.access(binary, os.X_OK), reason=f"{binary} missing"),
        ],
    )


SERVERS = [_server("bind", NAMED), _server("dnsmasq", DNSMASQ), _server("unbound", UNBOUND)]


@pytest.mark.parametrize("custom_dns", SERVERS)
def test_a_registry_zone_the_spoke_does_not_link_is_the_root_cause_and_the_link_fixes_it(
    start_tenant: TenantFactory, custom_dns: str
) -> None:
    """The spoke scenario through each real DNS server: the registry zone, linked to the hub
    only, fails with the link as its fix (not a record: the zone holds it), the registry's
    names fold under it with the image-build symptom, and the other zones linked to the spoke
    pass beside it; with the link made, the run is all-pass."""
    tenant = start_tenant(_spoke_behind(custom_dns), custom_dns=custom_dns)  # type: ignore[arg-type]
    findings = run_once(tenant.config()).findings
    found = {(f.check.id, f.resource_id.lower()): f for f in findings}
    zone_id = f"{SPOKE_ZONES}/privatelink.azurecr.io"

    zone = found["privatedns_zone_linked_agent_vnet", zone_id.lower()]
    assert Status.FAIL is zone.status
    assert (
        f"Zone privatelink.azurecr.io ({zone_id}) holds the records of mlw-spoke but is not "
        "linked to the agent's VNet: Azure DNS there does not answer from it. "
        + IMAGE_BUILD_FAILURE.format("mlw-spoke")
    ) == zone.message
    assert zone.evidence is not None
    assert {"linked_vnets": [VNET_SPOKE]} == zone.evidence.expected
    assert [VNET_SPOKE.replace("vnet-spoke", "vnet-hub")] == _observed(zone)["linked_vnets"]
    assert zone.remediation is not None
    assert (
        # The spoke's zone lives in the spoke's own subscription: the command names it.
        "az network private-dns link vnet create --subscription "
        "5b8e2f14-7c3a-4d9e-b1f6-2a4c6e8d0f13 --resource-group rg-spoke-ml --zone-name "
        "privatelink.azurecr.io --name link-vnet-spoke --virtual-network "
        f"{VNET_SPOKE} --registration-enabled false"
    ) == zone.remediation.command
    for fqdn in ("crspoke.azurecr.io", "crspoke.eastus.data.azurecr.io"):
        name = found["dns_name_resolves_private_endpoint", fqdn]
        assert (Status.FAIL, (zone.uid,)) == (name.status, name.caused_by)
        rcode, addresses = _answers(name)["custom 10.41.0.4"]
        assert "NOERROR" == rcode and addresses and not any(is_private(ip) for ip in addresses)
        assert Status.PASS is found["privatedns_record_present", fqdn].status
    # The zones the spoke does link pass, and so do their names.
    for zone_name in (
        "privatelink.api.azureml.ms",
        "privatelink.notebooks.azure.net",
        "privatelink.vaultcore.azure.net",
        "privatelink.blob.core.windows.net",
    ):
        linked = found["privatedns_zone_linked_agent_vnet", f"{SPOKE_ZONES}/{zone_name}".lower()]
        assert Status.PASS is linked.status, zone_name
    for fqdn, ip in (
        ("kv-spoke.vault.azure.net", "10.41.1.10"),
        ("stspoke.blob.core.windows.net", "10.41.1.40"),
    ):
        name = found["dns_name_resolves_private_endpoint", fqdn]
        assert ("NOERROR", [ip]) == _answers(name)["custom 10.41.0.4"], fqdn
    # Nothing else fails: one problem, the missing link.
    assert {zone.uid} == {
        f.caused_by[0] if f.caused_by else f.uid for f in findings if f.status is Status.FAIL
    }

    fixed = start_tenant(_spoke_behind(custom_dns, fixed=True), custom_dns=custom_dns)  # type: ignore[arg-type]
    after = run_once(fixed.config()).findings
    assert [] == [
        (f.check.id, f.resource_id, f.message)
        for f in after
        if f.status in (Status.FAIL, Status.ERROR)
    ]
    assert (
        Status.PASS
        is {(f.check.id, f.resource_id.lower()): f for f in after}[
            "privatedns_zone_linked_agent_vnet", zone_id.lower()
        ].status
    )
