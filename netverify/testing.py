"""Test doubles shipped with netverify: build Facts by hand to test checks without any I/O."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from netverify.events import to_event
from netverify.facts import Facts, KeyVault, Read, ReadFailure, ReadProblem, Workspace
from netverify.model import CheckMeta, Evidence, Finding, Severity, Status
from netverify.runner import Agent, RunContext

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


def finding_event(
    check_id: str,
    resource: str,
    status: Status = Status.FAIL,
    *,
    observed: dict[str, Any] | None = None,
    expected: dict[str, Any] | None = None,
    subject: str = "",
    message: str | None = None,
    command: str | None = "az resource show --ids {resource_id}",
    run_id: str = "00000000-0000-4000-8000-000000000001",
    observed_at: datetime = datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
) -> dict[str, Any]:
    """A finding event made by ``netverify.events.to_event``, for report and sink tests.

    ``resource`` with a dot is an FQDN (as DNS findings have); otherwise a workspace's name.
    """
    resource_id = (
        resource
        if "." in resource
        else arm_id("Microsoft.MachineLearningServices/workspaces", resource)
    )
    meta = CheckMeta(
        check_id,
        check_id.replace("_", " ").capitalize(),
        Severity.HIGH,
        f"Why {check_id} matters.",
        "Fix {name}.",
        command or "",
    )
    finding = Finding(
        meta,
        status,
        resource_id,
        message or f"{check_id} is {status.value} for {resource}.",
        Evidence(observed or {}, expected or {}),
        meta.remediation(name=resource, resource_id=resource_id)
        if status in (Status.FAIL, Status.ERROR)
        else None,
        subject,
    )
    run = RunContext(run_id, observed_at, observed_at, Agent("agent-test", None), "AzureCloud")
    return to_event(finding, run)


def resolution(
    fqdn: str,
    resolver: str,
    kind: str,
    rcode: str = "NOERROR",
    addresses: Sequence[str] = (),
    cname_chain: Sequence[str] = (),
    detail: str = "",
) -> dict[str, Any]:
    """One resolver's answer for one name, as DNS findings carry it in ``evidence.observed.resolutions``."""
    return {
        "fqdn": fqdn,
        "resolver": resolver,
        "resolver_kind": kind,
        "rcode": rcode,
        "addresses": list(addresses),
        "cname_chain": list(cname_chain),
        "detail": detail,
    }
