"""keyvault_network_bypass_azure_services, judged from hand-built facts."""

from dataclasses import replace

import pytest

from netverify.checklib.catalog import load_checks
from netverify.facts import ReadProblem
from netverify.model import Status
from netverify.testing import arm_id, facts, failed, key_vault, mixed_case, workspace

[check] = [c.module for c in load_checks() if c.meta.id == "keyvault_network_bypass_azure_services"]
KV_TYPE = "Microsoft.KeyVault/vaults"


def test_deny_without_bypass_fails_with_the_update_command() -> None:
    """defaultAction Deny with bypass None fails, shows the rules and the az command."""
    [finding] = check.evaluate(
        facts([workspace(key_vault="kv-a")], [key_vault("kv-a", bypass="None")])
    )

    assert finding.status == Status.FAIL
    assert "kv-a" in finding.message
    assert finding.evidence.observed["bypass"] == "None"
    assert finding.evidence.observed["defaultAction"] == "Deny"
    assert dict(finding.evidence.expected) == {"bypass": "AzureServices"}
    assert (
        finding.remediation.command
        == "az keyvault update --name kv-a --subscription 00000000-1111-2222-3333-444444444444 --resource-group rg-test --bypass AzureServices"
    )


def test_public_access_disabled_without_bypass_fails() -> None:
    """publicNetworkAccess Disabled with bypass None fails even if defaultAction is Allow."""
    vault = key_vault(bypass="None", default_action="Allow", public_network_access="Disabled")
    [finding] = check.evaluate(facts([workspace()], [vault]))

    assert finding.status == Status.FAIL


@pytest.mark.parametrize(
    ("bypass", "default_action", "public"),
    [("AzureServices", "Deny", "Disabled"), ("None", "Allow", "Enabled")],
)
def test_rules_that_let_azure_services_in_pass(
    bypass: str, default_action: str, public: str
) -> None:
    """Bypass AzureServices, or rules that allow everyone anyway, pass."""
    vault = key_vault(bypass=bypass, default_action=default_action, public_network_access=public)
    [finding] = check.evaluate(facts([workspace()], [vault]))

    assert finding.status == Status.PASS


def test_shared_vault_is_judged_once_naming_every_workspace() -> None:
    """Two workspaces on one vault give one finding that names both."""
    findings = list(
        check.evaluate(facts([workspace("mlw-a"), workspace("mlw-b")], [key_vault(bypass="None")]))
    )

    assert len(findings) == 1
    assert findings[0].evidence.observed["workspaces"] == ["mlw-a", "mlw-b"]


def test_deleted_linked_vault_fails() -> None:
    """A 404 on the vault the workspace links to is a fail: the link points at nothing."""
    gone = failed(arm_id(KV_TYPE, "kv-test"), ReadProblem.NOT_FOUND, status_code=404)
    [finding] = check.evaluate(facts([workspace()], [gone]))

    assert finding.status == Status.FAIL
    assert "does not exist" in finding.message


def test_forbidden_vault_is_an_error_naming_the_permission() -> None:
    """A 403 on the vault is an error naming Microsoft.KeyVault/vaults/read."""
    denied = failed(
        arm_id(KV_TYPE, "kv-test"),
        ReadProblem.FORBIDDEN,
        status_code=403,
        permission="Microsoft.KeyVault/vaults/read",
    )
    [finding] = check.evaluate(facts([workspace()], [denied]))

    assert finding.status == Status.ERROR
    assert "Microsoft.KeyVault/vaults/read" in finding.message


def test_unreadable_workspace_skips_its_vault() -> None:
    """When the workspace cannot be read, the vault check says skipped, not pass."""
    ws_id = arm_id("Microsoft.MachineLearningServices/workspaces", "mlw-x")
    [finding] = check.evaluate(facts([failed(ws_id, ReadProblem.UNAVAILABLE)]))

    assert (finding.status, finding.resource_id) == (Status.SKIPPED, ws_id)
    assert finding.message == "The workspace could not be read."


def test_workspace_without_a_vault_is_skipped_naming_the_link() -> None:
    ws = workspace("MLW-NoVault", key_vault=None)
    [finding] = check.evaluate(facts([ws], [key_vault()]))

    assert (finding.status, finding.resource_id) == (Status.SKIPPED, ws.id)
    assert finding.message == "Workspace MLW-NoVault names no Key Vault."


@pytest.mark.parametrize(
    ("problem", "status", "message"),
    [
        (None, Status.SKIPPED, "The Key Vault was not probed in this run."),
        (ReadProblem.UNAVAILABLE, Status.ERROR, "Cannot read the Key Vault {id}: unavailable"),
        (
            ReadProblem.NOT_FOUND,
            Status.FAIL,
            "The linked Key Vault {id} does not exist (ARM answered 404).",
        ),
    ],
)
def test_unread_vault_is_reported_on_the_id_as_the_workspace_spells_it(
    problem: ReadProblem | None, status: Status, message: str
) -> None:
    """The finding keeps the workspace's spelling of the id (mixed case), not the lower-cased
    key shared vaults are grouped by."""
    spelled = mixed_case(arm_id(KV_TYPE, "Kv-Prod"))
    ws = replace(workspace(), key_vault_id=spelled)
    vaults = (
        []
        if problem is None
        else [
            failed(spelled, problem, status_code=404 if problem is ReadProblem.NOT_FOUND else 503)
        ]
    )

    [finding] = check.evaluate(facts([ws], vaults))

    assert (finding.status, finding.resource_id) == (status, spelled)
    assert finding.message == message.format(id=spelled)


def test_failing_vault_message_names_every_workspace() -> None:
    """Deny with public access Enabled and no bypass: blocked, naming each workspace."""
    vault = key_vault("Kv-Shared", bypass="None", public_network_access="Enabled")
    [finding] = check.evaluate(
        facts(
            [workspace("mlw-a", key_vault="Kv-Shared"), workspace("MLW-B", key_vault="Kv-Shared")],
            [vault],
        )
    )

    assert finding.status == Status.FAIL
    assert finding.message == (
        "Key Vault Kv-Shared denies by default and its bypass is 'None', not 'AzureServices': "
        "online deployments of mlw-a, MLW-B cannot read it."
    )
    assert finding.evidence.observed == {
        "bypass": "None",
        "defaultAction": "Deny",
        "ipRules": [],
        "virtualNetworkRules": [],
        "publicNetworkAccess": "Enabled",
        "workspaces": ["mlw-a", "MLW-B"],
    }


@pytest.mark.parametrize(
    ("bypass", "default_action", "public", "message"),
    [
        (
            "AzureServices",
            "Deny",
            "Enabled",
            "Key Vault kv-test denies by default but lets AzureServices bypass.",
        ),
        ("None", "Allow", "Enabled", "Key Vault kv-test allows by default."),
    ],
)
def test_passing_vault_says_why(
    bypass: str, default_action: str, public: str, message: str
) -> None:
    vault = key_vault(bypass=bypass, default_action=default_action, public_network_access=public)
    [finding] = check.evaluate(facts([workspace()], [vault]))

    assert (finding.status, finding.message) == (Status.PASS, message)


def test_forbidden_vault_without_a_named_permission_says_which_read() -> None:
    """ARM's 403 did not name the action: the error falls back to a read on the resource."""
    vault_id = arm_id(KV_TYPE, "kv-test")
    [finding] = check.evaluate(
        facts([workspace()], [failed(vault_id, ReadProblem.FORBIDDEN, status_code=403)])
    )

    assert (finding.status, finding.resource_id) == (Status.ERROR, vault_id)
    assert finding.message == (
        f"Cannot read the Key Vault {vault_id}: the agent's identity lacks */read on this resource."
    )
    assert finding.evidence.observed["missing_permission"] == "*/read on this resource"
