"""Builds all of ``Facts``: discovery, the ARM reads, then the DNS and reachability probes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from azure.core.credentials import TokenCredential

from netverify.azure.arm_ids import subscription_of
from netverify.azure.clouds import cloud
from netverify.config import Config
from netverify.facts import Facts, Read, Workspace
from netverify.probes.arm import ArmReader
from netverify.probes.discovery import discover, interleave_by_subscription
from netverify.probes.dns_scope import collect_dns_facts


def collect_facts(config: Config, credential: TokenCredential) -> Facts:
    """Discover the workspaces in scope, then read each with what it links to, concurrently.

    One task per workspace reads it, its vault, registry, endpoints and their deployments in
    turn; tasks run side by side (interleaved across subscriptions, each subscription bounded),
    so a slow or failing subscription holds only its own tasks. Shared resources are read once.
    """
    reader = ArmReader(credential, cloud(config.cloud), config.arm)
    with ThreadPoolExecutor(config.arm.max_concurrency, thread_name_prefix="arm") as pool:
        workspace_ids, unlisted, discovery = discover(reader, config.scope, pool)
        ordered = interleave_by_subscription(workspace_ids)
        subscriptions = list({(subscription_of(rid) or "").lower(): None for rid in ordered})
        workspace_tasks = [pool.submit(_probe_workspace, reader, rid) for rid in ordered]
        policy_tasks = [pool.submit(_probe_policies, reader, sub) for sub in subscriptions]
        workspaces = [task.result() for task in workspace_tasks]
        for task in policy_tasks:
            task.result()
        vaults = _of_kind(reader.reads(), "/providers/microsoft.keyvault/vaults/")
        dns = collect_dns_facts(config, reader, workspaces, vaults, pool)
    reads = reader.reads()
    return Facts(
        workspaces=(*unlisted, *workspaces),
        key_vaults=vaults,
        registries=_of_kind(reads, "/providers/microsoft.containerregistry/registries/"),
        online_endpoints=_lists(reads, "/onlineendpoints"),
        online_deployments=_lists(reads, "/deployments"),
        policy_assignments={
            subscription_of(key) or "": read
            for key, read in _lists(
                reads, "/providers/microsoft.authorization/policyassignments"
            ).items()
        },
        policy_definitions=_of_kind(reads, "/providers/microsoft.authorization/policydefinitions/"),
        discovery=discovery,
        dns=dns,
    )


def _of_kind(reads: dict[str, Read[Any]], marker: str) -> dict[str, Read[Any]]:
    """The reads of one resource type, by lower-case id."""
    return {key: read for key, read in reads.items() if marker in key}


def _lists(reads: dict[str, Read[Any]], suffix: str) -> dict[str, Read[Any]]:
    """The list reads ending in ``suffix``, by the lower-case id of their parent."""
    return {key.removesuffix(suffix): read for key, read in reads.items() if key.endswith(suffix)}


def _probe_workspace(reader: ArmReader, workspace_id: str) -> Read[Workspace]:
    """The workspace and everything its own properties link to, read in turn."""
    read = reader.workspace(workspace_id)
    ws = read.value
    if ws is None:
        return read
    if ws.key_vault_id:
        reader.key_vault(ws.key_vault_id)
    if ws.container_registry_id:
        reader.registry(ws.container_registry_id)
    for endpoint in reader.online_endpoints(ws.id).value or ():
        reader.online_deployments(endpoint.id)
    return read


def _probe_policies(reader: ArmReader, subscription: str) -> None:
    """The subscription's policy assignments and the definitions they assign."""
    for assignment in reader.policy_assignments(subscription).value or ():
        if "/policydefinitions/" in assignment.policy_definition_id.lower():
            reader.policy_definition(assignment.policy_definition_id)
