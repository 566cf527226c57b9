"""ARM bodies parsed once into the REST specs' enum spellings, whatever case they arrive in.

ARM compares enum values case-insensitively and templates write them in any case, so a vault
whose ``networkAcls`` say ``deny``/``azureservices`` is as protected and as reachable as one
saying ``Deny``/``AzureServices``. The checks compare with ``==``: these tests feed the parser
bodies in the shape of the specs' recorded examples, then judge the parsed facts.
"""

from typing import Any

import pytest

from netverify.azure.arm_ids import ResourceId
from netverify.checklib.catalog import load_checks
from netverify.facts import EGRESS_DESCRIPTION, PrivateDnsZone, Read, Registry
from netverify.model import Status
from netverify.probes.arm import describe_failure
from netverify.probes.arm_bodies import (
    MalformedResource,
    canonical,
    parse_key_vault,
    parse_private_dns_zone,
    parse_registry,
)
from netverify.runner import evaluate
from netverify.testing import (
    ZONE_ID,
    arm_id,
    dns_facts,
    facts,
    healthy_answers,
    workspace,
)

CHECKS = {c.meta.id: c.module for c in load_checks()}


def _vault_body(bypass: str, default_action: str, public: str) -> dict[str, Any]:
    # Shape of Microsoft.KeyVault/vaults GET (KeyVault 2023-07-01 example "Retrieve a vault").
    return {
        "id": arm_id("Microsoft.KeyVault/vaults", "kv-test"),
        "name": "kv-test",
        "type": "Microsoft.KeyVault/vaults",
        "location": "westus",
        "properties": {
            "tenantId": "00000000-0000-0000-0000-000000000000",
            "networkAcls": {
                "bypass": bypass,
                "defaultAction": default_action,
                "ipRules": [],
                "virtualNetworkRules": [],
            },
            "publicNetworkAccess": public,
        },
    }


@pytest.mark.parametrize(
    ("bypass", "default_action", "public", "status"),
    [
        ("azureservices", "deny", "enabled", Status.PASS),
        ("AZURESERVICES", "Deny", "Disabled", Status.PASS),
        ("none", "DENY", "Enabled", Status.FAIL),
        ("None", "allow", "disabled", Status.FAIL),  # public access off restricts as Deny does
        ("none", "Allow", "ENABLED", Status.PASS),
    ],
)
def test_key_vault_verdict_ignores_the_case_arm_ignores(
    bypass: str, default_action: str, public: str, status: Status
) -> None:
    body = _vault_body(bypass, default_action, public)
    vault = parse_key_vault(body, ResourceId.parse(body["id"]))

    [finding] = CHECKS["keyvault_network_bypass_azure_services"].evaluate(
        facts([workspace()], [vault])
    )

    assert finding.status == status
    assert finding.evidence is not None
    assert finding.evidence.observed["bypass"] in ("AzureServices", "None")
    assert finding.evidence.observed["defaultAction"] in ("Allow", "Deny")
    assert finding.evidence.observed["publicNetworkAccess"] in ("Enabled", "Disabled")


@pytest.mark.parametrize(
    ("status", "verdict"), [("approved", Status.PASS), ("REJECTED", Status.FAIL)]
)
def test_registry_connection_status_in_any_case(status: str, verdict: Status) -> None:
    rid = ResourceId.parse(arm_id("Microsoft.ContainerRegistry/registries", "crtest"))
    body = {"id": str(rid), "name": "crtest", "properties": {"publicNetworkAccess": "disabled"}}
    connection = {
        "id": f"{rid}/privateEndpointConnections/pe-egress",
        "properties": {
            "privateEndpoint": {"id": arm_id("Microsoft.Network/privateEndpoints", "pe-egress")},
            "privateLinkServiceConnectionState": {
                "status": status,
                "description": EGRESS_DESCRIPTION,
            },
        },
    }
    registry = parse_registry(body, [connection], rid)

    findings = list(
        CHECKS["registry_egress_connection_approved"].evaluate(
            facts([workspace(registry="crtest")], registries=[registry])
        )
    )

    assert [f.status for f in findings] == [verdict]
    assert registry.public_network_access == "Disabled"
    assert registry.private_endpoint_connections[0].status == status.capitalize()


def test_an_enum_value_the_spec_does_not_list_is_kept_verbatim() -> None:
    assert canonical("securedByPerimeter", ("Enabled", "Disabled", "SecuredByPerimeter")) == (
        "SecuredByPerimeter"
    )
    assert canonical("SomethingNew", ("Enabled", "Disabled")) == "SomethingNew"
    assert canonical(None, ("Enabled",)) is None


ZONE = ResourceId.parse(ZONE_ID)


def _a_record_set(*entries: object) -> list[dict[str, Any]]:
    return [
        {
            "name": "ws.workspace.eastus",
            "type": "Microsoft.Network/privateDnsZones/A",
            "properties": {"aRecords": list(entries)},
        }
    ]


@pytest.mark.parametrize(
    ("entry", "shown"),
    [({"ipv4Address": None}, "None"), ({"ipv4Address": 167772165}, "167772165"), ({}, "None")],
)
def test_an_a_record_without_an_ipv4_address_makes_the_zone_an_error_naming_it(
    entry: dict[str, Any], shown: str
) -> None:
    """A null (or numeric, or absent) ipv4Address is not read as the address "None" (a stale
    record with a remedy removing IP None): the zone is malformed, and the record-set checks
    say they cannot read it, naming the zone, the record set and the entry."""
    problem = (
        f"Microsoft.Network/privateDnsZones privatelink.api.azureml.ms: record set "
        f"'ws.workspace.eastus': properties.aRecords[1].ipv4Address is {shown}, expected an "
        "IPv4 address"
    )
    with pytest.raises(MalformedResource) as raised:
        parse_private_dns_zone(_a_record_set({"ipv4Address": "10.0.1.5"}, entry), [], ZONE)
    assert problem == str(raised.value)

    zone: Read[PrivateDnsZone] = Read(ZONE_ID, failure=describe_failure(raised.value, ZONE_ID))
    findings = evaluate(load_checks(), dns_facts(healthy_answers(), zones=[zone]))
    about_zone = [f for f in findings if f.check.id.startswith("privatedns_")]

    assert [
        (
            "privatedns_record_present",
            Status.SKIPPED,
            "No readable zone privatelink.api.azureml.ms to look in.",
        ),
        (
            "privatedns_zone_exists",
            Status.ERROR,
            f"Cannot read the private DNS zone {ZONE_ID}: {problem}",
        ),
    ] == [(f.check.id, f.status, f.message) for f in about_zone]
    assert not [f for f in findings if "holds None" in f.message]
    assert not [f for f in findings if f.remediation and "None" in (f.remediation.command or "")]


def test_a_records_with_ipv4_addresses_are_read() -> None:
    zone = parse_private_dns_zone(
        _a_record_set({"ipv4Address": "10.0.1.5"}, {"ipv4Address": "10.0.1.6"}), [], ZONE
    )

    assert [("ws.workspace.eastus", ("10.0.1.5", "10.0.1.6"))] == [
        (r.name, r.values) for r in zone.records
    ]


def test_a_cname_record_without_a_name_makes_the_zone_malformed() -> None:
    records = [
        {
            "name": "c",
            "type": "Microsoft.Network/privateDnsZones/CNAME",
            "properties": {"cnameRecord": {"cname": None}},
        }
    ]

    with pytest.raises(MalformedResource) as raised:
        parse_private_dns_zone(records, [], ZONE)

    assert (
        "Microsoft.Network/privateDnsZones privatelink.api.azureml.ms: record set 'c': "
        "properties.cnameRecord.cname is None, expected a name"
    ) == str(raised.value)


def test_a_registry_connection_with_null_properties_is_an_error_naming_it() -> None:
    """`properties: null` on a registry's connection is not read as a connection with no
    endpoint and no state (which every check passes over, SKIPPED): the registry read fails,
    and the egress check's error names the registry and the connection."""
    rid = ResourceId.parse(arm_id("Microsoft.ContainerRegistry/registries", "crtest"))
    body = {"id": str(rid), "name": "crtest", "properties": {"publicNetworkAccess": "Disabled"}}
    connection_id = f"{rid}/privateEndpointConnections/pe-egress"
    problem = (
        f"Microsoft.ContainerRegistry/registries crtest: private endpoint connection "
        f"'{connection_id}' has properties None, expected an object"
    )

    with pytest.raises(MalformedResource) as raised:
        parse_registry(body, [{"id": connection_id, "properties": None}], rid)
    assert problem == str(raised.value)

    registry: Read[Registry] = Read(str(rid), failure=describe_failure(raised.value, str(rid)))
    findings = list(
        CHECKS["registry_egress_connection_approved"].evaluate(
            facts([workspace(registry="crtest")], registries=[registry])
        )
    )

    assert [(Status.ERROR, str(rid), f"Cannot read the container registry {rid}: {problem}")] == [
        (f.status, f.resource_id, f.message) for f in findings
    ]
