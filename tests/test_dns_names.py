"""Which names a workspace and its dependencies need (``netverify.azure.dns_names``), each with
its zone, record, forwarder zones and serving endpoints in full - from hand-built ARM facts, on
the shapes real estates have (a GUID and region in upper case, several endpoints, withheld
connections, Kubernetes and unprovisioned online endpoints)."""

from __future__ import annotations

import pytest

from netverify.azure.clouds import CLOUDS, CloudName
from netverify.azure.dns_names import (
    expected_names,
    forwarder_zones,
    registry_names,
    storage_names,
    vault_names,
)
from netverify.facts import (
    CustomDnsConfig,
    EndpointAddresses,
    ExpectedName,
    NameNote,
    PrivateEndpoint,
    StorageAccount,
    ZoneGroupRecord,
)
from netverify.testing import arm_id, endpoint, key_vault, registry, workspace

PUBLIC = CLOUDS[CloudName.PUBLIC]
PE_TYPE = "Microsoft.Network/privateEndpoints"
GUID = "AB12CD34-0000-4000-8000-00000000EF56"
VNET = arm_id("Microsoft.Network/virtualNetworks", "vnet-hub")
API_ZONE_ID = arm_id("Microsoft.Network/privateDnsZones", "privatelink.api.azureml.ms")


def _pe(
    name: str,
    *configs: tuple[str, tuple[str, ...]],
    records: tuple[ZoneGroupRecord, ...] = (),
) -> PrivateEndpoint:
    return PrivateEndpoint(
        arm_id(PE_TYPE, name),
        name,
        f"{VNET}/subnets/pe",
        (),
        ("amlworkspace",),
        tuple(CustomDnsConfig(fqdn, ips) for fqdn, ips in configs),
        zone_records=records,
    )


def _rows(names: list[ExpectedName]) -> list[tuple[object, ...]]:
    return [
        (
            n.fqdn,
            n.purpose,
            n.zone_name,
            n.record_name,
            n.forwarder_zones,
            n.sources,
            n.endpoints,
            n.withheld,
        )
        for n in names
    ]


def _served(pe: PrivateEndpoint, *ips: str) -> tuple[EndpointAddresses, ...]:
    return (EndpointAddresses(pe.id, ips, VNET),)


def test_a_workspace_needs_its_api_cert_notebooks_and_managed_scoring_names() -> None:
    """GUID and region in upper case; the API name from customDnsConfigs, the cert name from
    the zone group's record (in upper case), notebooks from both; one managed online endpoint
    is a scoring name, the Kubernetes one, the one not provisioned yet and the one scored
    elsewhere are notes."""
    ws = workspace("mlw-a", guid=GUID, location="EastUS")
    guid = GUID.lower()
    api = f"{guid}.workspace.eastus.api.azureml.ms"
    notebooks = f"ml-mlw-a-eastus-{guid}.eastus.notebooks.azure.net"
    pe = _pe(
        "pe-a",
        (api.upper(), ("10.0.1.5",)),
        (notebooks, ("10.0.1.7",)),
        ("*.eastus.inference.ml.azure.com", ("10.0.1.8",)),
        records=(
            ZoneGroupRecord(API_ZONE_ID, f"{guid}.workspace.eastus.cert".upper(), ("10.0.1.6",)),
            ZoneGroupRecord(
                arm_id("Microsoft.Network/privateDnsZones", "privatelink.notebooks.azure.net"),
                f"ml-mlw-a-eastus-{guid}.eastus",
                ("10.0.1.7",),
            ),
            ZoneGroupRecord(API_ZONE_ID, f"*.{guid}.inference.eastus", ("10.0.1.8",)),
        ),
    )
    managed = endpoint("Ep-Score", workspace_name="mlw-a")
    k8s = endpoint("ep-k8s", workspace_name="mlw-a", kind="K8S", scoring_uri=None)
    creating = endpoint("ep-new", workspace_name="mlw-a", scoring_uri=None)
    elsewhere = endpoint("ep-far", workspace_name="mlw-a", scoring_uri="https://score.example/x")

    names, notes = expected_names(PUBLIC, ws, [pe], [managed, k8s, creating, elsewhere])

    assert _rows(names) == [
        (
            api,
            "workspace API",
            "privatelink.api.azureml.ms",
            f"{guid}.workspace.eastus",
            ("api.azureml.ms",),
            ("customDnsConfigs",),
            _served(pe, "10.0.1.5"),
            (),
        ),
        (
            f"{guid}.workspace.eastus.cert.api.azureml.ms",
            "workspace certificate",
            "privatelink.api.azureml.ms",
            f"{guid}.workspace.eastus.cert",
            ("api.azureml.ms",),
            ("zone group",),
            _served(pe, "10.0.1.6"),
            (),
        ),
        (
            notebooks,
            "notebooks",
            "privatelink.notebooks.azure.net",
            f"ml-mlw-a-eastus-{guid}.eastus",
            ("notebooks.azure.net",),
            ("customDnsConfigs", "zone group"),
            _served(pe, "10.0.1.7"),
            (),
        ),
        (
            "ep-score.eastus.inference.ml.azure.com",
            "scoring",
            "privatelink.api.azureml.ms",
            f"*.{guid}.inference.eastus",
            ("inference.ml.azure.com",),
            ("scoringUri", "customDnsConfigs", "zone group"),
            _served(pe, "10.0.1.8"),
            (),
        ),
    ]
    assert [n.workspace_id for n in names] == [ws.id] * 4
    assert notes == [
        NameNote(
            k8s.id,
            ws.id,
            "Kubernetes online endpoint ep-k8s is scored at its cluster's address (no "
            "scoringUri yet), not through the workspace's private endpoint: not judged here.",
        ),
        NameNote(
            creating.id,
            ws.id,
            "Online endpoint ep-new has no scoringUri yet (provisioning state Creating): no "
            "scoring name to resolve.",
        ),
        NameNote(
            elsewhere.id,
            ws.id,
            "Online endpoint ep-far is scored at score.example, outside inference.ml.azure.com: "
            "not a name the workspace's private endpoint serves.",
        ),
    ]


def test_a_workspace_without_its_guid_needs_no_name() -> None:
    ws = workspace(guid="")

    assert ([], []) == expected_names(PUBLIC, ws, [_pe("pe-a")], [endpoint()])


def test_a_withheld_endpoint_keeps_its_ips_on_the_name_and_serves_none() -> None:
    """Two endpoints list the API name; the second's connection is not Approved: its IPs are
    the name's withheld ones, the first's the name's own."""
    ws = workspace(guid=GUID)
    api = f"{GUID.lower()}.workspace.eastus.api.azureml.ms"
    approved, pending = _pe("pe-a", (api, ("10.0.1.5",))), _pe("pe-b", (api, ("10.0.2.5",)))

    names, _ = expected_names(PUBLIC, ws, [approved], [], withheld=[pending])

    [name] = names
    assert (name.endpoints, name.withheld) == (
        (EndpointAddresses(approved.id, ("10.0.1.5",), VNET),),
        (EndpointAddresses(pending.id, ("10.0.2.5",), VNET),),
    )


def test_a_vault_and_a_registry_need_the_names_their_endpoints_list() -> None:
    """A mixed-case vault (two forwarder zones: its public one and its CNAME target's); a
    registry's login server and regional data endpoint, not another registry's name that an
    endpoint lists too."""
    ws = workspace()
    vault_pe = _pe("pe-kv", ("KV-Test.vault.azure.net", ("10.0.3.4",)))
    acr_pe = _pe(
        "pe-acr",
        ("CRtest.azurecr.io", ("10.0.4.4",)),
        ("crtest.eastus.data.azurecr.io", ("10.0.4.5",)),
        ("crtestother.azurecr.io", ("10.0.4.6",)),
        ("crtest.eastus.other.azurecr.io", ("10.0.4.7",)),
    )

    vault = vault_names(PUBLIC, key_vault("KV-Test"), [vault_pe], ws)
    acr = registry_names(PUBLIC, registry("CRtest"), [acr_pe], ws)

    assert _rows(vault) == [
        (
            "kv-test.vault.azure.net",
            "Key Vault",
            "privatelink.vaultcore.azure.net",
            "kv-test",
            ("vault.azure.net", "vaultcore.azure.net"),
            ("customDnsConfigs",),
            (EndpointAddresses(vault_pe.id, ("10.0.3.4",), VNET),),
            (),
        )
    ]
    assert _rows(acr) == [
        (
            fqdn,
            "container registry",
            "privatelink.azurecr.io",
            record,
            ("azurecr.io",),
            ("customDnsConfigs",),
            (EndpointAddresses(acr_pe.id, (ip,), VNET),),
            (),
        )
        for fqdn, record, ip in (
            ("crtest.azurecr.io", "crtest", "10.0.4.4"),
            ("crtest.eastus.data.azurecr.io", "crtest.eastus.data", "10.0.4.5"),
        )
    ]
    assert [] == vault_names(PUBLIC, key_vault("kv-none"), [vault_pe], ws)


def test_compute_instance_names_take_either_spelling_of_their_zone() -> None:
    assert [("instances.azureml.ms",), ("instances.ml.azure.ms",), ()] == [
        forwarder_zones(PUBLIC, f)
        for f in (
            "ci-a.eastus.instances.azureml.ms",
            "CI-A.eastus.instances.ml.azure.ms",
            "www.example.com",
        )
    ]


def test_a_storage_account_needs_a_name_per_sub_resource_and_keeps_withheld_ips() -> None:
    """Blob is served by an approved endpoint, and also listed by one whose connection is
    pending (its IP withheld); no endpoint lists file, queue, table or dfs."""
    account = StorageAccount(
        arm_id("Microsoft.Storage/storageAccounts", "StData"), "StData", "rg", "Disabled"
    )
    approved = _pe("pe-blob", ("stdata.blob.core.windows.net", ("10.0.5.4",)))
    pending = _pe("pe-blob-2", ("STDATA.blob.core.windows.net", ("10.0.5.9",)))

    names = storage_names(PUBLIC, account, [approved], workspace(), withheld=[pending])

    assert _rows(names) == [
        (
            "stdata.blob.core.windows.net",
            "storage blob",
            "privatelink.blob.core.windows.net",
            "stdata",
            ("blob.core.windows.net",),
            ("customDnsConfigs",),
            (EndpointAddresses(approved.id, ("10.0.5.4",), VNET),),
            (EndpointAddresses(pending.id, ("10.0.5.9",), VNET),),
        )
    ]


def test_a_long_workspace_name_is_cut_so_the_notebooks_host_is_one_dns_label() -> None:
    """The fixed part "ml--westeurope-<guid>" is 51 characters: of a 24-character workspace
    name only the first 12 fit in a 63-character label."""
    guid = GUID.lower()
    ws = workspace("Mlw-Research-Team-Alpha1", guid=GUID, location="WestEurope")
    host = f"ml-mlw-research-westeurope-{guid}"
    fqdn = f"{host}.westeurope.notebooks.azure.net"
    pe = _pe("pe-nb", (fqdn, ("10.0.6.7",)))

    names, _ = expected_names(PUBLIC, ws, [pe], [])

    assert len(host) == 63
    assert [(n.fqdn, n.record_name) for n in names] == [(fqdn, f"{host}.westeurope")]


def test_a_name_listed_with_no_ip_is_served_by_no_endpoint() -> None:
    """The API name and the scoring wildcard are listed with no IP (an endpoint still being
    provisioned); the scoring wildcard is served only by a pending endpoint: no name is
    expected, not even the scoring host."""
    ws = workspace(guid=GUID)
    api = f"{GUID.lower()}.workspace.eastus.api.azureml.ms"
    wildcard = "*.eastus.inference.ml.azure.com"
    empty = _pe("pe-empty", (api, ()), (wildcard, ()))
    pending = _pe("pe-pending", (wildcard, ("10.0.2.8",)))

    names, notes = expected_names(PUBLIC, ws, [empty], [endpoint("ep-a")], withheld=[pending])

    assert (names, notes) == ([], [])


def test_a_scoring_host_no_endpoint_serves_is_still_expected_with_no_ips() -> None:
    ws = workspace(guid=GUID)

    names, notes = expected_names(PUBLIC, ws, [_pe("pe-other")], [endpoint("Ep-B")])

    assert notes == []
    assert _rows(names) == [
        (
            "ep-b.eastus.inference.ml.azure.com",
            "scoring",
            "privatelink.api.azureml.ms",
            f"*.{GUID.lower()}.inference.eastus",
            ("inference.ml.azure.com",),
            ("scoringUri",),
            (),
            (),
        )
    ]


@pytest.mark.parametrize(
    ("name", "fqdns", "zones"),
    [
        # China: both Microsoft pages name instances.azureml.cn; the public cloud's zones are
        # no China zone.
        (
            CloudName.CHINA,
            ("ci-a.chinanorth3.instances.azureml.cn", "ci-a.chinanorth3.instances.ml.azure.ms"),
            [("instances.azureml.cn",), ()],
        ),
        # US Government: the two pages disagree (instances.ml.azure.us / instances.azureml.us).
        (
            CloudName.US_GOVERNMENT,
            (
                "CI-A.usgovvirginia.instances.azureml.us",
                "ci-a.usgovvirginia.instances.ml.azure.us",
                "ci-a.usgovvirginia.instances.azureml.ms",
            ),
            [("instances.azureml.us",), ("instances.ml.azure.us",), ()],
        ),
    ],
)
def test_compute_instance_zones_follow_the_cloud(
    name: CloudName, fqdns: tuple[str, ...], zones: list[tuple[str, ...]]
) -> None:
    assert zones == [forwarder_zones(CLOUDS[name], f) for f in fqdns]
