"""A workspace managed VNet must have Active private-endpoint outbound rules to the workspace's
registry (registry), storage account (blob, file) and Key Vault (vault).

A rule is matched by its destination: ``serviceResourceId`` (case-insensitive, as ARM ids are)
and ``subresourceTarget``. An Inactive rule of a managed VNet that is not provisioned follows
from that (``workspace_managed_network_provisioned`` breaks the workspace's link).

A hub-based project has no managed VNet of its own: its hub's serves it, so a project is judged
by the hub's isolation mode, status and rules, against the dependencies it uses (its own, else
its hub's), and the fix names the hub.
"""

from collections.abc import Iterator

from netverify.azure.arm_ids import cli_subscription, name_of
from netverify.checklib.catalog import load_meta
from netverify.checklib.judging import skipped
from netverify.checklib.online import EndpointView, judge_endpoints
from netverify.facts import Facts, OutboundRule, Workspace
from netverify.model import Evidence, Finding, Link, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    def judge(ws: Workspace, views: tuple[EndpointView, ...]) -> Iterator[Finding]:
        return _judge(facts.with_hub(ws), _network_of(facts, ws), views)

    return judge_endpoints(META, facts, judge, need_deployments=True)


def _network_of(facts: Facts, ws: Workspace) -> Workspace:
    """The workspace whose managed VNet serves ``ws``: a project's hub (as read), else itself."""
    hub = facts.hubs.get((ws.hub_id or "").lower())
    return hub.value if hub is not None and hub.value is not None else ws


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


def _rule_to(network: Workspace, resource_id: str, target: str) -> OutboundRule | None:
    """The managed VNet's private-endpoint rule to ``target`` of ``resource_id``: an Active one
    if there is one, else any (Inactive), else None."""
    rules = [
        r
        for r in network.outbound_rules
        if r.type == "PrivateEndpoint"
        and (r.service_resource_id or "").lower() == resource_id.lower()
        and (r.subresource_target or "").lower() == target
    ]
    return next((r for r in rules if r.status == "Active"), rules[0] if rules else None)


def _judge(ws: Workspace, network: Workspace, views: tuple[EndpointView, ...]) -> Iterator[Finding]:
    isolation = network.managed_network_isolation or "Disabled"
    vnet = _whose(ws, network)
    if isolation == "Disabled":
        yield skipped(META, ws.id, f"{vnet} has no managed VNet (isolation mode Disabled).")
        return
    deployments = sum(len(view.deployments or ()) for view in views)
    provisioned = network.managed_network_status == "Active"
    if not provisioned and not deployments:
        yield skipped(
            META,
            ws.id,
            f"{vnet}'s managed VNet is not provisioned yet (its rules become Active when it "
            "is), and it has no online deployments.",
        )
        return
    for resource_id, target, loss in _needed(ws):
        yield _verdict(ws, network, isolation, deployments, resource_id, target, loss)


def _whose(ws: Workspace, network: Workspace) -> str:
    """Whose managed VNet a message speaks of: the workspace's, or a project's hub's."""
    if network is ws:
        return f"Workspace {ws.name}"
    return f"Project {ws.name}'s hub {network.name}"


def _verdict(
    ws: Workspace,
    network: Workspace,
    isolation: str,
    deployments: int,
    resource_id: str,
    target: str,
    loss: str,
) -> Finding:
    rule = _rule_to(network, resource_id, target)
    vnet = _whose(ws, network)
    evidence = Evidence(
        {
            "isolationMode": isolation,
            "networkStatus": network.managed_network_status,
            "managedNetworkOf": network.id,
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
            f"{vnet}'s managed VNet rule {rule.name} to {dependency} is Active.",
            evidence,
            subject=subject,
        )
    names = {
        "workspace_name": network.name,
        "subscription": cli_subscription(network.id),
        "resource_group": network.resource_group,
        "rule_name": rule.name if rule else f"pe-{name_of(resource_id)}-{target}",
        "service_resource_id": resource_id,
        "subresource_target": target,
    }
    if rule is None:
        message = (
            f"{vnet}'s managed VNet ({isolation}) has no private-endpoint outbound rule to "
            f"{dependency}: {loss}."
        )
        return Finding(
            META, Status.FAIL, ws.id, message, evidence, META.remediation(**names), subject=subject
        )
    if network.managed_network_status != "Active":
        # Rules become Active when the network is provisioned: provisioning is the fix, which
        # the provisioned check's fail gives (it breaks this link).
        return Finding(
            META,
            Status.FAIL,
            ws.id,
            f"{vnet}'s managed VNet rule {rule.name} to {dependency} is "
            f"{rule.status or 'in no state'} as the managed VNet is not provisioned: {loss}.",
            evidence,
            subject=subject,
            needs=frozenset({Link.resource(network.id)}),
        )
    message = (
        f"{vnet}'s managed VNet rule {rule.name} to {dependency} is "
        f"{rule.status or 'in no state'}, not Active: {loss}."
    )
    return Finding(
        META, Status.FAIL, ws.id, message, evidence, META.remediation(**names), subject=subject
    )
