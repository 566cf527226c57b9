"""ARM bodies -> DNS facts: VNets, private endpoints (with zone groups), zones; bad bodies are
errors naming the field. And the names each cloud's workspace must resolve."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

import pytest

from netverify.azure.arm_ids import ResourceId
from netverify.azure.clouds import CLOUDS, CloudName
from netverify.azure.dns_names import (
    expected_names,
    forwarder_zones,
    notebooks_host,
    privatelink_name,
)
from netverify.facts import (
    CustomDnsConfig,
    PrivateEndpoint,
    PrivateLinkServiceConnection,
    ZoneGroupRecord,
)
from netverify.probes.arm_bodies import (
    MalformedResource,
    parse_private_dns_zone,
    parse_private_endpoint,
    parse_virtual_network,
)
from netverify.sim.arm_state import build_arm_state
from netverify.sim.dns_world import build_dns_world
from netverify.sim.scenario import parse_scenario
from netverify.testing import arm_id, endpoint, workspace

VNET = ResourceId.parse(arm_id("Microsoft.Network/virtualNetworks", "vnet-hub"))
PE = ResourceId.parse(arm_id("Microsoft.Network/privateEndpoints", "pe-1"))
ZONE = ResourceId.parse(arm_id("Microsoft.Network/privateDnsZones", "privatelink.api.azureml.ms"))


def test_virtual_network() -> None:
    """Address space and DHCP DNS servers; a VNet without dhcpOptions uses Azure DNS."""
    body = {
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "dhcpOptions": {"dnsServers": ["10.0.0.4"]},
        }
    }

    vnet = parse_virtual_network(body, VNET)
    bare = parse_virtual_network({"properties": {"addressSpace": {"addressPrefixes": []}}}, VNET)

    assert (("10.0.0.0/16",), ("10.0.0.4",)) == (vnet.address_prefixes, vnet.dns_servers)
    assert () == bare.dns_servers


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            {"properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/33"]}}},
            r"addressPrefixes holds '10.0.0.0/33', not a CIDR",
        ),
        (
            {"properties": {"dhcpOptions": {"dnsServers": "10.0.0.4"}}},
            r"dhcpOptions.dnsServers is '10.0.0.4', expected a list",
        ),
        (
            {"properties": {"dhcpOptions": {"dnsServers": [4]}}},
            r"dnsServers is \[4\], expected strings",
        ),
        ({}, "no 'properties' object"),
    ],
)
def test_malformed_virtual_network(body: dict[str, Any], problem: str) -> None:
    """A VNet body that cannot be read names the field."""
    with pytest.raises(MalformedResource, match=problem):
        parse_virtual_network(body, VNET)


def test_private_endpoint_with_zone_group() -> None:
    """Targets, group ids, customDnsConfigs (lower-cased) and the zone group's zones."""
    body = {
        "properties": {
            "subnet": {"id": f"{VNET}/subnets/pe"},
            "privateLinkServiceConnections": [
                {"properties": {"privateLinkServiceId": "/x/ws", "groupIds": ["amlworkspace"]}}
            ],
            "customDnsConfigs": [
                {"fqdn": "A.workspace.eastus.api.azureml.ms", "ipAddresses": ["10.0.1.5"]}
            ],
        }
    }
    groups = [
        {"properties": {"privateDnsZoneConfigs": [{"properties": {"privateDnsZoneId": str(ZONE)}}]}}
    ]

    pe = parse_private_endpoint(body, groups, PE)

    assert ("/x/ws",) == pe.target_ids and ("amlworkspace",) == pe.group_ids
    assert (
        CustomDnsConfig("a.workspace.eastus.api.azureml.ms", ("10.0.1.5",)),
    ) == pe.custom_dns_configs
    assert (str(ZONE),) == pe.zone_ids
    assert f"{VNET}/subnets/pe" == pe.subnet_id


def test_malformed_private_endpoint() -> None:
    """A customDnsConfigs entry without an fqdn names the field."""
    body = {"properties": {"customDnsConfigs": [{"ipAddresses": ["10.0.1.5"]}]}}

    with pytest.raises(MalformedResource, match=r"properties\.customDnsConfigs holds"):
        parse_private_endpoint(body, [], PE)


def test_private_zone_records_and_links() -> None:
    """A and CNAME record sets are kept (SOA is not), and each link's VNet."""
    records = [
        {"name": "@", "type": "Microsoft.Network/privateDnsZones/SOA", "properties": {}},
        {
            "name": "ws",
            "type": "Microsoft.Network/privateDnsZones/A",
            "properties": {"aRecords": [{"ipv4Address": "10.0.1.5"}]},
        },
        {
            "name": "c",
            "type": "Microsoft.Network/privateDnsZones/CNAME",
            "properties": {"cnameRecord": {"cname": "ws"}},
        },
    ]
    links = [{"name": "hub", "properties": {"virtualNetwork": {"id": str(VNET)}}}]

    zone = parse_private_dns_zone(records, links, ZONE)

    assert [("ws", "A", ("10.0.1.5",)), ("c", "CNAME", ("ws",))] == [
        (r.name, r.type, r.values) for r in zone.records
    ]
    assert zone.linked_to(str(VNET).upper())
    with pytest.raises(
        MalformedResource, match=r"link 'hub' names no properties\.virtualNetwork\.id"
    ):
        parse_private_dns_zone([], [{"name": "hub", "properties": {}}], ZONE)


@pytest.mark.parametrize(
    ("cloud", "api", "scoring", "zone"),
    [
        (
            CloudName.PUBLIC,
            "g.workspace.eastus.api.azureml.ms",
            "ep.eastus.inference.ml.azure.com",
            "privatelink.api.azureml.ms",
        ),
        (
            CloudName.CHINA,
            "g.workspace.eastus.api.ml.azure.cn",
            "ep.eastus.inference.ml.azure.cn",
            "privatelink.api.ml.azure.cn",
        ),
        (
            CloudName.US_GOVERNMENT,
            "g.workspace.eastus.api.ml.azure.us",
            "ep.eastus.inference.ml.azure.us",
            "privatelink.api.ml.azure.us",
        ),
    ],
)
def test_expected_names_per_cloud(cloud: CloudName, api: str, scoring: str, zone: str) -> None:
    """customDnsConfigs names of the cloud become expected names; the scoring wildcard becomes
    one name per online endpoint, served by *.<guid>.inference.<region> in the API zone."""
    names = CLOUDS[cloud]
    pe = PrivateEndpoint(
        "pe",
        "pe",
        None,
        (),
        ("amlworkspace",),
        (
            CustomDnsConfig(api, ("10.0.1.5",)),
            CustomDnsConfig(f"*.eastus.{names.inference_suffix}", ("10.0.1.7",)),
            CustomDnsConfig("other.vault.azure.net", ("10.0.1.9",)),
        ),
    )

    online = endpoint("EP", scoring_uri=f"https://EP.eastus.{names.inference_suffix}/score")
    found, notes = expected_names(names, workspace(guid="g"), [pe], [online])

    assert notes == []
    assert [
        (api, zone, "g.workspace.eastus", ("10.0.1.5",)),
        (scoring, zone, "*.g.inference.eastus", ("10.0.1.7",)),
    ] == [(e.fqdn, e.zone_name, e.record_name, e.expected_ips) for e in found]
    assert f"ep.g.inference.eastus.{zone}" == privatelink_name(names, scoring, "g")


def test_forwarder_zone_accepts_either_compute_instance_spelling() -> None:
    """Microsoft's pages disagree on the compute-instance zone; both are known forwarder zones."""
    public = CLOUDS[CloudName.PUBLIC]

    assert ("instances.ml.azure.ms",) == forwarder_zones(public, "ci.eastus.instances.ml.azure.ms")
    assert ("instances.azureml.ms",) == forwarder_zones(public, "ci.eastus.instances.azureml.ms")
    assert ("inference.ml.azure.com",) == forwarder_zones(
        public, "ep.eastus.inference.ml.azure.com"
    )
    assert ("vault.azure.net", "vaultcore.azure.net") == forwarder_zones(
        public, "kv.vault.azure.net"
    )
    assert ("blob.core.windows.net",) == forwarder_zones(public, "st.blob.core.windows.net")
    assert ("azurecr.io",) == forwarder_zones(public, "cr.eastus.data.azurecr.io")
    assert ("file.core.windows.net",) == forwarder_zones(public, "st.file.core.windows.net")
    assert ("dfs.core.windows.net",) == forwarder_zones(public, "st.dfs.core.windows.net")
    assert () == forwarder_zones(public, "st.z13.web.core.windows.net")


def test_notebooks_host_fits_one_label() -> None:
    """ml-<workspace, truncated>-<region>-<guid> stays within 63 characters."""
    host = notebooks_host("w" * 80, "eastus", "3f2a9c1e-5b7d-4e8f-a1c2-d3e4f5a6b7c8")

    assert 63 == len(host)
    assert host.endswith("-eastus-3f2a9c1e-5b7d-4e8f-a1c2-d3e4f5a6b7c8")


def test_one_scenario_gives_each_cloud_its_names() -> None:
    """The demo scenario moved to Azure China: ARM's customDnsConfigs, the zones and the DNS
    stand-ins all use the China names, with no public-cloud name left."""
    data = tomllib.loads(
        (resources.files("netverify.sim") / "scenarios" / "demo.toml").read_text("utf-8")
    )
    data["cloud"] = "AzureChinaCloud"
    china = parse_scenario(data, "demo in China")

    state = build_arm_state(china)
    world = build_dns_world(china)

    configs = [
        c["fqdn"]
        for body in state.resources.values()
        if body.get("type") == "Microsoft.Network/privateEndpoints"
        for c in body["properties"]["customDnsConfigs"]
    ]
    zones = {
        b["name"]
        for b in state.resources.values()
        if b.get("type") == "Microsoft.Network/privateDnsZones"
    }
    assert configs and all(
        c.endswith(
            (
                ".api.ml.azure.cn",
                ".notebooks.chinacloudapi.cn",
                ".inference.ml.azure.cn",
                ".vault.azure.cn",
                ".azurecr.cn",
                ".blob.core.chinacloudapi.cn",
            )
        )
        for c in configs
    )
    assert {
        "privatelink.api.ml.azure.cn",
        "privatelink.notebooks.chinacloudapi.cn",
        "privatelink.vaultcore.azure.cn",
        "privatelink.blob.core.chinacloudapi.cn",
    } == zones
    names = {r.name for r in [*world.azure, *world.public]}
    assert not [n for n in names if n.endswith((".azureml.ms", ".azure.com", ".azure.net"))]
    assert "ep-fraud.eastus.inference.ml.azure.cn" in names


PUBLIC = CLOUDS[CloudName.PUBLIC]
SCORING_WILDCARD = "*.eastus.inference.ml.azure.com"
API_NAME = "g.workspace.eastus.api.azureml.ms"


def _pe(name: str, *configs: CustomDnsConfig, **extra: Any) -> PrivateEndpoint:
    vnet = arm_id("Microsoft.Network/virtualNetworks", f"vnet-{name}")
    return PrivateEndpoint(
        arm_id("Microsoft.Network/privateEndpoints", name),
        name,
        f"{vnet}/subnets/pe",
        (),
        ("amlworkspace",),
        configs,
        **extra,
    )


def test_names_merge_every_entry_and_every_endpoint() -> None:
    """An FQDN listed twice (two NICs) keeps both IPs; two endpoints in two VNets both serve
    it, each with its own IPs and VNet: one expected name, never two rival ones."""
    first = _pe(
        "pe-hub",
        CustomDnsConfig(API_NAME, ("10.0.1.5",)),
        CustomDnsConfig(API_NAME, ("10.0.1.6",)),
    )
    second = _pe("pe-spoke", CustomDnsConfig(API_NAME, ("10.2.0.5",)))

    [name], _ = expected_names(PUBLIC, workspace(guid="g"), [first, second], [])

    assert [("10.0.1.5", "10.0.1.6"), ("10.2.0.5",)] == [e.ips for e in name.endpoints]
    assert [first.vnet_id, second.vnet_id] == [e.vnet_id for e in name.endpoints]
    assert ("10.0.1.5", "10.0.1.6", "10.2.0.5") == name.all_ips
    assert ("customDnsConfigs",) == name.sources


def test_zone_group_record_sets_are_a_source_of_names() -> None:
    """An endpoint whose customDnsConfigs are empty (DNS integration by zone group only) still
    serves the names its zone group's recordSets name."""
    zone_id = arm_id("Microsoft.Network/privateDnsZones", "privatelink.api.azureml.ms")
    pe = _pe("pe", zone_records=(ZoneGroupRecord(zone_id, "g.workspace.eastus", ("10.0.1.5",)),))

    [name], _ = expected_names(PUBLIC, workspace(guid="g"), [pe], [])

    assert (API_NAME, ("10.0.1.5",), ("zone group",)) == (
        name.fqdn,
        name.expected_ips,
        name.sources,
    )


def test_scoring_hosts_come_from_arm_never_invented() -> None:
    """H03's kind: a Kubernetes endpoint (kind K8S, a compute) and an endpoint with no
    scoringUri yet are noted, not resolved; a managed endpoint is judged at its scoringUri."""
    pe = _pe("pe", CustomDnsConfig(SCORING_WILDCARD, ("10.0.1.7",)))
    k8s = endpoint(
        "ep-k8s", scoring_uri="http://10.0.227.36/api/v1/endpoint/ep-k8s/score", kind="K8S"
    )
    cname = endpoint("ep-ext", scoring_uri="https://ep-ext.contoso.internal/score", kind="K8S")
    creating = endpoint("ep-new", scoring_uri=None)
    managed = endpoint("ep-a", scoring_uri="https://ep-a.eastus.inference.ml.azure.com/score")

    names, notes = expected_names(
        PUBLIC, workspace(guid="g"), [pe], [k8s, cname, creating, managed]
    )

    assert ["ep-a.eastus.inference.ml.azure.com"] == [n.fqdn for n in names]
    assert ("scoringUri", "customDnsConfigs") == names[0].sources
    assert [k8s.id, cname.id, creating.id] == [n.resource_id for n in notes]
    assert "scored at its cluster's address (10.0.227.36)" in notes[0].message
    assert "(ep-ext.contoso.internal)" in notes[1].message
    assert "has no scoringUri yet" in notes[2].message


def test_scoring_host_no_endpoint_serves_is_still_expected() -> None:
    """A private endpoint created before online endpoints existed lists no scoring wildcard:
    the managed endpoint's scoring host is expected with no IP, so it is judged, not dropped."""
    pe = _pe("pe", CustomDnsConfig(API_NAME, ("10.0.1.5",)))
    managed = endpoint("ep-a", scoring_uri="https://ep-a.eastus.inference.ml.azure.com/score")

    names, _ = expected_names(PUBLIC, workspace(guid="g"), [pe], [managed])

    assert [(API_NAME, ("10.0.1.5",)), ("ep-a.eastus.inference.ml.azure.com", ())] == [
        (n.fqdn, n.expected_ips) for n in names
    ]


def test_private_endpoint_records_each_side_of_its_connections() -> None:
    """privateLinkServiceConnections and manualPrivateLinkServiceConnections (the recorded
    manual-approval example's shape) both give the endpoint's side: state and manual flag."""
    state = {"status": "pending", "description": "Awaiting approval", "actionsRequired": "None"}
    body = {
        "properties": {
            "privateLinkServiceConnections": [],
            "manualPrivateLinkServiceConnections": [
                {
                    "id": f"{PE}/manualPrivateLinkServiceConnections/c1",
                    "properties": {
                        "privateLinkServiceId": "/x/kv",
                        "groupIds": ["vault"],
                        "requestMessage": "Please manually approve my connection.",
                        "privateLinkServiceConnectionState": state,
                    },
                }
            ],
        }
    }

    pe = parse_private_endpoint(body, [], PE)

    assert (
        PrivateLinkServiceConnection(
            f"{PE}/manualPrivateLinkServiceConnections/c1",
            "/x/kv",
            "Pending",
            "Awaiting approval",
            "None",
            manual=True,
        ),
    ) == pe.connections
    assert ("/x/kv",) == pe.target_ids


def test_names_come_only_from_approved_connections() -> None:
    """A withheld endpoint (connection not Approved) gives no right answer: its IPs sit on the
    name as withheld (not stale), and a scoring host only it serves is not expected."""
    approved = _pe("pe-a", CustomDnsConfig(API_NAME, ("10.0.1.5",)))
    rejected = _pe(
        "pe-b",
        CustomDnsConfig(API_NAME, ("10.1.1.5",)),
        CustomDnsConfig(SCORING_WILDCARD, ("10.1.1.7",)),
    )
    managed = endpoint("ep-a", scoring_uri="https://ep-a.eastus.inference.ml.azure.com/score")

    names, notes = expected_names(
        PUBLIC, workspace(guid="g"), [approved], [managed], withheld=[rejected]
    )

    [name] = names
    assert (API_NAME, ("10.0.1.5",)) == (name.fqdn, name.expected_ips)
    assert ("10.1.1.5",) == name.withheld_ips
    assert ("10.0.1.5", "10.1.1.5") == name.all_ips
    assert [] == notes
