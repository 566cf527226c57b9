"""Test doubles shipped with netverify: build Facts by hand to test checks without any I/O."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from netverify.facts import Facts, KeyVault, Read, ReadFailure, ReadProblem, Workspace

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
GROUP = "rg-test"


def arm_id(resource_type: str, name: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/{resource_type}/{name}"


def workspace(
    name: str = "mlw-test",
    *,
    v1_legacy_mode: bool = False,
    key_vault: str | None = "kv-test",
    guid: str = "11111111-2222-4333-8444-555555555555",
    location: str = "eastus",
) -> Workspace:
    return Workspace(
        id=arm_id("Microsoft.MachineLearningServices/workspaces", name),
        name=name,
        resource_group=GROUP,
        subscription=SUBSCRIPTION,
        location=location,
        workspace_guid=guid,
        v1_legacy_mode=v1_legacy_mode,
        public_network_access="Disabled",
        key_vault_id=arm_id("Microsoft.KeyVault/vaults", key_vault) if key_vault else None,
        container_registry_id=None,
        storage_account_id=None,
    )


def key_vault(
    name: str = "kv-test",
    *,
    bypass: str | None = "AzureServices",
    default_action: str | None = "Deny",
    public_network_access: str | None = "Disabled",
) -> KeyVault:
    return KeyVault(
        id=arm_id("Microsoft.KeyVault/vaults", name),
        name=name,
        resource_group=GROUP,
        bypass=bypass,
        default_action=default_action,
        ip_rules=(),
        virtual_network_rules=(),
        public_network_access=public_network_access,
    )


def failed(
    resource_id: str,
    problem: ReadProblem,
    *,
    message: str | None = None,
    status_code: int | None = None,
    permission: str | None = None,
) -> Read[Any]:
    """A read that failed, as the ARM probe reports it."""
    failure = ReadFailure(problem, message or problem.value, status_code, permission)
    return Read(resource_id, failure=failure)


def facts(
    workspaces: Sequence[Workspace | Read[Workspace]] = (),
    vaults: Sequence[KeyVault | Read[KeyVault]] = (),
) -> Facts:
    """Facts from resources (read fine) and failed reads, in any mix."""
    vault_reads = [v if isinstance(v, Read) else Read(v.id, value=v) for v in vaults]
    return Facts(
        workspaces=tuple(w if isinstance(w, Read) else Read(w.id, value=w) for w in workspaces),
        key_vaults={r.resource_id.lower(): r for r in vault_reads},
    )


def finding_events(
    workspace_count: int = 1, *, broken: bool = True, agent: str = "agent-test"
) -> list[dict[str, Any]]:
    """The events of one run of the real checks over ``workspace_count`` workspaces and vaults.

    Broken workspaces have v1_legacy_mode on and a vault without the AzureServices bypass.
    """
    from netverify.catalog import load_checks  # the checks and the event model, only when used
    from netverify.events import to_event
    from netverify.runner import Agent, RunContext, evaluate

    names = [f"mlw-{i:06d}" for i in range(workspace_count)]
    observed = facts(
        [workspace(n, v1_legacy_mode=broken, key_vault=f"kv-{n}") for n in names],
        [key_vault(f"kv-{n}", bypass=None if broken else "AzureServices") for n in names],
    )
    now = datetime.now(UTC)
    context = RunContext(str(uuid.uuid4()), now, now, Agent(agent, None), "AzureCloud")
    return [to_event(f, context) for f in evaluate(load_checks(), observed)]
