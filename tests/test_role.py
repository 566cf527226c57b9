"""The least-privilege role: it permits every ARM request netverify makes, and nothing else."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from netverify import doctor
from netverify.azure.permissions import is_read_only, required_action, role_permits
from netverify.runner import run_once
from netverify.sim.dns_server import StaticDnsServer
from netverify.sim.scenario import FaultSpec, builtin_names, builtin_scenario
from netverify.sim.servers import RecordedRequest
from netverify.sim.tenant import SimulatedTenant
from tests.conftest import TenantFactory

DEPLOY = Path(__file__).parent.parent / "deploy" / "azure"
ROLE_FILE = DEPLOY / "netverify-reader.role.json"
AZ_ROLE_KEYS = {
    "Name",
    "IsCustom",
    "Description",
    "Actions",
    "NotActions",
    "DataActions",
    "NotDataActions",
    "AssignableScopes",
}


def load_role() -> dict[str, Any]:
    role: dict[str, Any] = json.loads(ROLE_FILE.read_text(encoding="utf-8"))
    return role


def documented_actions() -> dict[str, str]:
    """Action -> status ('used' or 'not exercised') from the table in deploy/azure/README.md."""
    table = (DEPLOY / "README.md").read_text(encoding="utf-8").split("## Every action and why")[1]
    rows = re.findall(r"^\| `([^`]+)` \| ([^|]+?) \|", table, re.M)
    return dict(rows)


def refused(requests: Iterable[RecordedRequest], actions: list[str]) -> dict[str, str]:
    """Action -> an example request, for every request the role's actions do not permit."""
    return {
        required_action(r.method, r.path): f"{r.method} {r.path} (api-version {r.api_version})"
        for r in requests
        if not role_permits(actions, required_action(r.method, r.path))
    }


def excessive(role: dict[str, Any]) -> list[str]:
    """Everything in a role beyond plain control-plane reads."""
    return [
        *(a for a in role["Actions"] if not is_read_only(a)),
        *role["NotActions"],
        *role["DataActions"],
        *role["NotDataActions"],
    ]


@pytest.fixture(scope="module")
def requested(tmp_path_factory: pytest.TempPathFactory) -> list[RecordedRequest]:
    """Every ARM request of a full run (all checks) and of `netverify doctor` on the demo tenant,
    and of a full run on each other built-in scenario."""

    with (
        pytest.MonkeyPatch.context() as env,
        SimulatedTenant(builtin_scenario()) as tenant,
        StaticDnsServer([]) as azure_dns,
    ):
        for key, value in tenant.credential_environment.items():
            env.setenv(key, value)
        config = tenant.config(dns={"azure_dns": azure_dns.address})
        run_once(config)
        doctor.diagnose(config, tmp_path_factory.mktemp("state"))
        # Discovery: Resource Graph, then the per-subscription fallback when it is refused.
        wider = {"workspaces": [], "subscriptions": list(tenant.scenario.subscriptions)}
        run_once(tenant.config(scope=wider))
        tenant.arm.inject(
            FaultSpec(
                path="/providers/Microsoft.ResourceGraph/resources$", method="POST", status=403
            )
        )
        run_once(tenant.config(scope=wider))
        group = f"/subscriptions/{tenant.scenario.subscriptions[0]}/resourceGroups/rg-ml-prod"
        run_once(tenant.config(scope={"workspaces": [], "resource_groups": [group]}))
        requests = list(tenant.arm.requests)
        # The other built-in scenarios hold the layouts the demo lacks (issue 15's whole chain).
        for name in builtin_names():
            if name != "demo":
                with SimulatedTenant(builtin_scenario(name)) as other:
                    for key, value in other.credential_environment.items():
                        env.setenv(key, value)
                    run_once(other.config(dns={"azure_dns": azure_dns.address}))
                    requests += other.arm.requests
        return requests


def test_the_role_permits_every_request_netverify_makes(requested: list[RecordedRequest]) -> None:
    """Each recorded ARM request maps to an action the role grants."""
    assert requested, "the run made no ARM request: nothing was verified"

    assert {} == refused(requested, load_role()["Actions"])


def test_the_run_reads_what_the_checks_need(requested: list[RecordedRequest]) -> None:
    """The mapping sees the reads the checks and doctor are known to make."""
    actions = {required_action(r.method, r.path) for r in requested}

    assert {
        "Microsoft.MachineLearningServices/workspaces/read",
        "Microsoft.KeyVault/vaults/read",
        "Microsoft.Resources/subscriptions/read",
    } <= actions


def test_the_role_grants_no_write_delete_action_or_data_action() -> None:
    """Only literal `*/read` actions; NotActions and data actions stay empty."""
    assert [] == excessive(load_role())


def test_a_role_missing_a_read_is_caught(requested: list[RecordedRequest]) -> None:
    """Taking Key Vault reads out of the role makes the check name exactly that action."""
    actions = [a for a in load_role()["Actions"] if a != "Microsoft.KeyVault/vaults/read"]

    assert ["Microsoft.KeyVault/vaults/read"] == list(refused(requested, actions))


def test_a_role_with_writes_or_wildcards_is_caught() -> None:
    """A write, a wildcard read, a POST action and a data action are each reported."""
    role = {
        **load_role(),
        "Actions": [
            "Microsoft.KeyVault/vaults/read",
            "Microsoft.KeyVault/vaults/write",
            "Microsoft.Network/*/read",
            "Microsoft.Storage/storageAccounts/listKeys/action",
        ],
        "DataActions": ["Microsoft.KeyVault/vaults/secrets/getSecret/action"],
    }

    assert [
        "Microsoft.KeyVault/vaults/write",
        "Microsoft.Network/*/read",
        "Microsoft.Storage/storageAccounts/listKeys/action",
        "Microsoft.KeyVault/vaults/secrets/getSecret/action",
    ] == excessive(role)


def test_every_role_action_is_used_or_documented_as_planned(
    requested: list[RecordedRequest],
) -> None:
    """The role, its documentation table and the run agree: no unexplained grant, no stale 'used'."""
    role_actions = load_role()["Actions"]
    documented = documented_actions()
    used = {required_action(r.method, r.path).lower() for r in requested}

    assert sorted(role_actions) == sorted(documented)
    assert len(set(role_actions)) == len(role_actions)
    unexplained = [
        a for a in role_actions if a.lower() not in used and documented[a] != "not exercised"
    ]
    stale = [a for a, status in documented.items() if status == "used" and a.lower() not in used]
    assert [] == unexplained
    assert [] == stale


def test_the_role_file_is_what_az_role_definition_create_reads() -> None:
    """Exactly the keys of `az role definition create --role-definition @file`, custom, scoped."""
    role = load_role()

    assert AZ_ROLE_KEYS == set(role)
    assert role["IsCustom"] is True
    assert doctor.ROLE_NAME == role["Name"]
    assert all(
        s.startswith(("/subscriptions/", "/providers/Microsoft.Management/"))
        for s in role["AssignableScopes"]
    )


@pytest.mark.parametrize(
    ("method", "path", "action"),
    [
        ("GET", "/subscriptions", "Microsoft.Resources/subscriptions/read"),
        (
            "GET",
            "/subscriptions/s/resourceGroups",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
        ),
        ("GET", "/subscriptions/s/resources", "Microsoft.Resources/subscriptions/resources/read"),
        (
            "GET",
            "/subscriptions/s/resourceGroups/g/resources",
            "Microsoft.Resources/subscriptions/resourceGroups/resources/read",
        ),
        (
            "POST",
            "/providers/Microsoft.ResourceGraph/resources",
            "Microsoft.ResourceGraph/resources/read",
        ),
        (
            "GET",
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/privateDnsZones/z.example/ALL",
            "Microsoft.Network/privateDnsZones/ALL/read",
        ),
        (
            "GET",
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/privateDnsZones/z/A/rec",
            "Microsoft.Network/privateDnsZones/A/read",
        ),
        (
            "GET",
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w/onlineEndpoints/e/deployments",
            "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments/read",
        ),
        (
            "GET",
            "/providers/Microsoft.Management/managementGroups/mg/providers/Microsoft.Authorization/policyAssignments",
            "Microsoft.Authorization/policyAssignments/read",
        ),
        (
            "POST",
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a/listKeys",
            "Microsoft.Storage/storageAccounts/listKeys/action",
        ),
        (
            "PUT",
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v",
            "Microsoft.KeyVault/vaults/write",
        ),
        (
            "DELETE",
            "/subscriptions/s/resourceGroups/g",
            "Microsoft.Resources/subscriptions/resourceGroups/delete",
        ),
    ],
)
def test_requests_map_to_azure_actions(method: str, path: str, action: str) -> None:
    """ARM's naming: the types along the path (the last provider's), then the verb."""
    assert action == required_action(method, path)


def test_a_forbidden_read_names_the_mapped_action(start_tenant: TenantFactory) -> None:
    """A 403 from the simulated ARM names the action the mapping gives, and the finding carries it."""
    tenant = start_tenant()
    tenant.arm.inject(FaultSpec(path="/vaults/kv-healthy$", status=403))

    facts = run_once(tenant.config()).facts
    [vault] = [r for r in facts.key_vaults.values() if r.resource_id.endswith("kv-healthy")]

    assert vault.failure is not None
    assert "Microsoft.KeyVault/vaults/read" == vault.failure.permission
