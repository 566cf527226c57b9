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
from netverify.facts import EGRESS_DESCRIPTION
from netverify.model import Status
from netverify.probes.arm_bodies import canonical, parse_key_vault, parse_registry
from netverify.testing import arm_id, facts, workspace

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
