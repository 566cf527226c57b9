"""A workspace managed VNet must have Active private-endpoint outbound rules to the workspace's
registry (registry), storage account (blob, file) and Key Vault (vault).

A rule is matched by its destination: ``serviceResourceId`` (case-insensitive, as ARM ids are)
and ``subresourceTarget``. An Inactive rule of a managed VNet that is not provisioned follows
from that (``workspace_managed_network_provisioned`` breaks the workspace's link).
"""

from collections.abc import Iterator

from netverify.azure.arm_ids import name_of
from netverify.checklib.catalog import load_meta
from netverify.checklib.judging import skipped
from netverify.checklib.online import EndpointView, judge_endpoints
from netverify.facts import Facts, OutboundRule, Workspace
from netverify.model import Evidence, Finding, Link, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    return judge_endpoints(META, facts, _judge, need_deployments=True)


def _needed(ws: Workspace) -> list[tuple[str, str, str]]:
    """(resource id, subresource target, what a deployment loses without the rule) for each
    dependency the workspace links; one it does not link yet (a registry made lazily) needs none."""
    registry, storage, vault = ws.container_registry_id, ws.storage_account_id, ws.key_vault_id
    needed = [
        (registry, "registry", f"image pulls from {name_of(registry or '')} fail"),
        (storage, "blob", f"model and code downloads from {name_of(storage or '')} fail"),
        (storage, "file", f"file share access to {name_of(storage or '')} fails"),
        (vault, "vault", f"secret reads from {name_of(vault or '')} fail"),
    ]
    return [(rid, target, loss) for rid, target, loss in needed if rid]


def _rule_to(ws: Workspace, resource_id: str, target: str) -> OutboundRule | None:
    """The workspace's private-endpoint rule to ``target`` of ``resource_id``: an Active one if
    there is one, else any (Inactive), else None."""
    rules = [
        r
        for r in ws.outbound_rules
        if r.type == "PrivateEndpoint"
        and (r.service_resource_id or "").lower() == resource_id.lower()
        and (r.subresource_target or "").lower() == target
    ]
    return next((r for r in rules if r.status == "Active"), rules[0] if rules else None)


def _judge(ws: Workspace, views: tuple[EndpointView, ...]) -> Iterator[Finding]:
    isolation = ws.managed_network_isolation or "Disabled"
    if isolation == "Disabled":
        yield skipped(
            META, ws.id, f"Workspace {ws.name} has no managed VNet (isolation mode Disabled)."
        )
        return
    deployments = sum(len(view.deployments or ()) for view in views)
    provisioned = ws.managed_network_status == "Active"
    if not provisioned and not deployments:
        yield skipped(
            META,
            ws.id,
            f"Workspace {ws.name}'s managed VNet is not provisioned yet (its rules become Active "
            "when it is), and it has no online deployments.",
        )
        return
    for resource_id, target, loss in _needed(ws):
        yield _verdict(ws, isolation, deployments, resource_id, target, loss)


def _verdict(
    ws: Workspace, isolation: str, deployments: int, resource_id: str, target: str, loss: str
) -> Finding:
    rule = _rule_to(ws, resource_id, target)
    evidence = Evidence(
        {
            "isolationMode": isolation,
            "networkStatus": ws.managed_network_status,
            "rule": rule.name if rule else None,
            "ruleStatus": rule.status if rule else None,
            "category": rule.category if rule else None,
            "serviceResourceId": resource_id,
            "subresourceTarget": target,
            "onlineDeployments": deployments,
        },
        {"ruleStatus": "Active"},
    )
    dependency = f"{name_of(resource_id)} ({target})"
    subject = f"{resource_id}:{target}"
    if rule is not None and rule.status == "Active":
        return Finding(
            META,
            Status.PASS,
            ws.id,
            f"Workspace {ws.name}'s managed VNet rule {rule.name} to {dependency} is Active.",
            evidence,
            subject=subject,
        )
    names = {
        "workspace_name": ws.name,
        "resource_group": ws.resource_group,
        "rule_name": rule.name if rule else f"pe-{name_of(resource_id)}-{target}",
        "service_resource_id": resource_id,
        "subresource_target": target,
    }
    if rule is None:
        message = (
            f"Workspace {ws.name}'s managed VNet ({isolation}) has no private-endpoint outbound "
            f"rule to {dependency}: {loss}."
        )
        return Finding(
            META, Status.FAIL, ws.id, message, evidence, META.remediation(**names), subject=subject
        )
    if ws.managed_network_status != "Active":
        # Rules become Active when the network is provisioned: provisioning is the fix, which
        # the provisioned check's fail gives (it breaks this link).
        return Finding(
            META,
            Status.FAIL,
            ws.id,
            f"Workspace {ws.name}'s managed VNet rule {rule.name} to {dependency} is "
            f"{rule.status or 'in no state'} as the managed VNet is not provisioned: {loss}.",
            evidence,
            subject=subject,
            needs=frozenset({Link.resource(ws.id)}),
        )
    message = (
        f"Workspace {ws.name}'s managed VNet rule {rule.name} to {dependency} is "
        f"{rule.status or 'in no state'}, not Active: {loss}."
    )
    return Finding(
        META, Status.FAIL, ws.id, message, evidence, META.remediation(**names), subject=subject
    )
