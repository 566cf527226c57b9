"""A workspace's Key Vault must let AzureServices bypass network rules that would block them."""

from collections.abc import Iterator

from netverify.azure.arm_ids import cli_subscription
from netverify.checklib.catalog import load_meta
from netverify.checklib.judging import unreadable, workspaces_by_link
from netverify.facts import Facts, KeyVault, Workspace
from netverify.model import Evidence, Finding, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    # Several workspaces may share a vault: judge each vault once, naming all its workspaces.
    users: dict[str, list[Workspace]] = {}
    yield from workspaces_by_link(META, facts, lambda w: w.key_vault_id, "Key Vault", users)
    for vault_id, workspaces in users.items():
        vault_read = facts.key_vault(vault_id)
        vault = vault_read.value if vault_read is not None else None
        if vault is None:
            # On the id as the workspace spells it (users is keyed lower-case).
            spelled = workspaces[0].key_vault_id or vault_id
            yield unreadable(META, spelled, vault_read, "Key Vault")
        else:
            yield _judge(vault, [w.name for w in workspaces])


def _judge(vault: KeyVault, workspaces: list[str]) -> Finding:
    observed = {
        "bypass": vault.bypass,
        "defaultAction": vault.default_action,
        "ipRules": list(vault.ip_rules),
        "virtualNetworkRules": list(vault.virtual_network_rules),
        "publicNetworkAccess": vault.public_network_access,
        "workspaces": workspaces,
    }
    evidence = Evidence(observed, {"bypass": "AzureServices"})
    restricted = vault.default_action == "Deny" or vault.public_network_access == "Disabled"
    if restricted and vault.bypass != "AzureServices":
        return Finding(
            META,
            Status.FAIL,
            vault.id,
            f"Key Vault {vault.name} denies by default and its bypass is {vault.bypass!r}, not "
            f"'AzureServices': online deployments of {', '.join(workspaces)} cannot read it.",
            evidence,
            META.remediation(
                vault_name=vault.name,
                subscription=cli_subscription(vault.id),
                resource_group=vault.resource_group,
            ),
        )
    why = "denies by default but lets AzureServices bypass" if restricted else "allows by default"
    return Finding(META, Status.PASS, vault.id, f"Key Vault {vault.name} {why}.", evidence)
