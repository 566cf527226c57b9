"""Registry connections described as online-endpoint egress must be Approved."""

from collections.abc import Iterator

from netverify.catalog import load_meta
from netverify.facts import Facts, Registry, Workspace
from netverify.judging import failed_read, skipped, workspaces_by_link
from netverify.model import Evidence, Finding, Status
from netverify.online import EndpointView, endpoints

META = load_meta(__file__)
EGRESS = "egress for microsoft.machinelearningservices/workspaces/onlineendpoints"


def evaluate(facts: Facts) -> Iterator[Finding]:
    # Several workspaces may share a registry: judge each once, naming every workspace.
    users: dict[str, list[Workspace]] = {}
    link = "container registry"
    yield from workspaces_by_link(META, facts, lambda w: w.container_registry_id, link, users)
    for registry_id, workspaces in users.items():
        registry = facts.registry(registry_id)
        if registry is None:
            yield skipped(META, registry_id, "The registry was not probed in this run.")
        elif registry.value is None:
            yield failed_read(META, registry, "container registry", linked=True)
        else:
            yield from _judge(registry.value, workspaces, facts)


def _judge(registry: Registry, workspaces: list[Workspace], facts: Facts) -> Iterator[Finding]:
    egress = [
        c
        for c in registry.private_endpoint_connections
        if (c.description or "").strip().lower() == EGRESS
    ]
    if not egress:
        yield skipped(
            META,
            registry.id,
            f"Registry {registry.name} has no online-endpoint egress connection "
            "(legacy network isolation is not in use).",
        )
        return
    names = [w.name for w in workspaces]
    # The deployments a missing approval breaks: secure egress while the registry is private.
    broken = sorted(
        d.id
        for view in endpoints(META, facts, need_deployments=True)
        if isinstance(view, EndpointView) and view.workspace.name in names
        for d in view.deployments or ()
        if (d.egress_public_network_access or "").lower() == "disabled"
        and (registry.public_network_access or "").lower() == "disabled"
    )
    for connection in egress:
        observed = {
            "status": connection.status,
            "description": connection.description,
            "privateEndpoint": connection.private_endpoint_id,
            "registryPublicNetworkAccess": registry.public_network_access,
            "workspaces": names,
            "affectedDeployments": broken,
        }
        evidence = Evidence(observed, {"status": "Approved"})
        if (connection.status or "").lower() == "approved":
            yield Finding(
                META,
                Status.PASS,
                registry.id,
                f"Registry {registry.name}: egress connection {_name(connection.id)} is Approved.",
                evidence,
                subject=connection.id,
            )
            continue
        harm = (
            f"{len(broken)} deployment(s) with egress public network access disabled cannot pull images"
            if broken
            else f"deployments of {', '.join(names)} cannot pull images through it"
        )
        yield Finding(
            META,
            Status.FAIL,
            registry.id,
            f"Registry {registry.name}: egress connection {_name(connection.id)} is "
            f"{connection.status or 'in no state'}, not Approved: {harm}.",
            evidence,
            META.remediation(registry_name=registry.name, connection_id=connection.id),
            subject=connection.id,
        )


def _name(arm_id: str) -> str:
    return arm_id.rstrip("/").rsplit("/", 1)[-1]
