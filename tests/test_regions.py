"""Every finding carries the Azure region of its resource (``Finding.region``), read from ARM's
``location``, never made up: per check family, a resource that was read, and one that was not."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import pytest

from netverify.azure.arm_ids import ResourceId
from netverify.checklib.catalog import load_checks
from netverify.facts import Facts, ProbeError, ReadProblem, region_name
from netverify.model import Finding, Status
from netverify.probes.arm_bodies import (
    MalformedResource,
    parse_forwarding_ruleset,
    parse_key_vault,
    parse_private_dns_zone,
    parse_storage_account,
)
from netverify.runner import evaluate
from netverify.testing import (
    API_NAME,
    FOUNDATION_CHECKS,
    ZONE_ID,
    arm_id,
    dns_answer,
    dns_facts,
    expected_name,
    facts,
    failed,
    key_vault,
    private_zone,
    workspace,
)

FOUNDATION = [c for c in load_checks() if c.meta.id in FOUNDATION_CHECKS]
VAULT_TYPE = "Microsoft.KeyVault/vaults"


@pytest.mark.parametrize(
    ("location", "region"),
    [
        ("eastus", "eastus"),  # what ARM and Resource Graph return
        ("East US", "eastus"),  # a display name, as a template may write it
        ("China East 2", "chinaeast2"),
        ("USGov Virginia", "usgovvirginia"),
        ("eastus2euap", "eastus2euap"),
        ("global", "global"),
        ("", None),
    ],
)
def test_a_location_is_named_as_azure_names_the_region(location: str, region: str | None) -> None:
    assert region == region_name(location)


def test_workspace_and_vault_findings_carry_their_own_region_in_any_case_of_id() -> None:
    """The workspace's finding its location, the vault's the vault's own (not the workspace's),
    whatever case the ids are written in."""
    ws = workspace("mlw-a", location="China East 2", key_vault="kv-a", v1_legacy_mode=True)
    ws = dataclasses.replace(ws, id=ws.id.upper())
    vault = key_vault("kv-a", bypass=None, location="chinanorth3")
    vault = dataclasses.replace(vault, id=vault.id.lower())

    found = {(f.check.id, f.status, f.region) for f in evaluate(FOUNDATION, facts([ws], [vault]))}

    assert {
        ("workspace_v1_legacy_mode_disabled", Status.FAIL, "chinaeast2"),
        ("keyvault_network_bypass_azure_services", Status.FAIL, "chinanorth3"),
    } == found


def test_a_resource_whose_read_failed_has_no_region() -> None:
    """A failed workspace read and a forbidden vault: their findings carry no region (None),
    not the location of anything else."""
    ws_id = arm_id("Microsoft.MachineLearningServices/workspaces", "mlw-gone")
    vault_id = arm_id(VAULT_TYPE, "kv-b")
    observed = facts(
        [failed(ws_id, ReadProblem.NOT_FOUND), workspace("mlw-b", key_vault="kv-b")],
        [failed(vault_id, ReadProblem.FORBIDDEN, permission=f"{VAULT_TYPE}/read")],
    )

    found = {(f.resource_id, f.status, f.region) for f in evaluate(FOUNDATION, observed)}

    assert (ws_id, Status.ERROR, None) in found
    assert (vault_id, Status.ERROR, None) in found
    assert {"eastus"} == {r for rid, _, r in found if rid == workspace("mlw-b").id}


class Crashing:
    META = FOUNDATION[0].meta

    def evaluate(self, facts: Facts) -> Iterable[Finding]:
        raise RuntimeError("crashed")


def test_agent_level_findings_have_no_region() -> None:
    """A probe error about a local file and a check that crashed are about no Azure resource."""
    observed = dataclasses.replace(
        facts([workspace("mlw-c")]),
        probe_errors=(ProbeError("resolv.conf", "/etc/resolv.conf", "unreadable"),),
    )
    crashing = dataclasses.replace(FOUNDATION[0], module=Crashing())

    findings = evaluate([crashing], observed)

    assert {("netverify", None), ("/etc/resolv.conf", None)} == {
        (f.resource_id, f.region) for f in findings
    }


def test_a_name_has_its_owners_region_and_none_when_owners_disagree() -> None:
    """A name is in the region of the resource it belongs to (ExpectedName.location); a name two
    owners claim in different regions gets none; a zone is "global"; the resolvers none."""
    other = "kv-x.vault.azure.net"
    observed = dns_facts(
        [dns_answer("host"), dns_answer("host", fqdn=other)],
        names=[
            dataclasses.replace(expected_name(), location="westus3"),
            dataclasses.replace(expected_name(other), location="eastus"),
            dataclasses.replace(expected_name(other), location="westus"),
        ],
        zones=[dataclasses.replace(private_zone(), location="global")],
    )

    regions = observed.regions()

    assert "westus3" == regions[API_NAME]
    assert other not in regions
    assert "global" == regions[ZONE_ID.lower()]
    found = {(f.resource_id, f.region) for f in evaluate(load_checks(), observed)}
    assert (API_NAME, "westus3") in found
    assert (ZONE_ID, "global") in found
    assert {None} == {r for rid, r in found if rid == other}


def test_arm_bodies_keep_their_location_and_reject_one_that_is_no_string() -> None:
    vault_id = ResourceId.parse(arm_id(VAULT_TYPE, "kv-d"))
    zone_id = ResourceId.parse(ZONE_ID)
    ruleset_id = ResourceId.parse(arm_id("Microsoft.Network/dnsForwardingRulesets", "rs"))
    storage_id = ResourceId.parse(arm_id("Microsoft.Storage/storageAccounts", "st"))

    assert (
        "usgovvirginia"
        == parse_key_vault({"location": "usgovvirginia", "properties": {}}, vault_id).location
    )
    assert "" == parse_storage_account({"properties": {}}, storage_id).location
    assert "global" == parse_private_dns_zone([], [], zone_id, {"location": "global"}).location
    assert "" == parse_private_dns_zone([], [], zone_id).location
    assert "eastus" == parse_forwarding_ruleset([], [], ruleset_id, {"location": "eastus"}).location
    with pytest.raises(MalformedResource, match=r"kv-d: \(top level\)\.location is 3"):
        parse_key_vault({"location": 3, "properties": {}}, vault_id)
