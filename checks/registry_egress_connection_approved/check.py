"""The registry's online-endpoint egress connections must be Approved.

An egress connection is one whose private endpoint lies in a subscription the identity cannot
see (Azure ML creates it in a Microsoft-managed subscription), or, when the subscription list
could not be read, one still carrying Azure ML's request description (approving or rejecting
overwrites it).
"""

from collections.abc import Iterator
from typing import TypeVar

from netverify.azure.arm_ids import cli_subscription, name_of
from netverify.checklib.catalog import load_meta
from netverify.checklib.connections import is_egress, microsoft_managed
from netverify.checklib.judging import skipped, unreadable, workspaces_by_link
from netverify.facts import Facts, Read, Registry, Workspace
from netverify.model import Evidence, Finding, Status

META = load_meta(__file__)
T = TypeVar("T")


def evaluate(facts: Facts) -> Iterator[Finding]:
    # Several workspaces may share a registry: judge each once, naming every workspace.
    users: dict[str, list[Workspace]] = {}
    link = "container registry"
    yield from workspaces_by_link(META, facts, lambda w: w.container_registry_id, link, users)
    for registry_id, workspaces in users.items():
        read = facts.registry(registry_id)
        registry = read.value if read is not None else None
        if registry is None:
            # On the id as the workspace spells it (users is keyed lower-case).
            spelled = workspaces[0].container_registry_id or registry_id
            yield unreadable(META, spelled, read, "container registry")
        else:
            yield from _judge(registry, workspaces, facts)


def _judge(registry: Registry, workspaces: list[Workspace], facts: Facts) -> Iterator[Finding]:
    egress = [c for c in registry.private_endpoint_connections if is_egress(c, facts)]
    if not egress:
        unknown = facts.subscriptions is None or facts.subscriptions.value is None
        yield skipped(
            META,
            registry.id,
            f"Registry {registry.name} has no online-endpoint egress connection "
            "(legacy network isolation is not in use)"
            + (
                ": judged by description only, as the identity's subscription list could not "
                "be read (approving or rejecting a connection overwrites its description)."
                if unknown
                else "."
            ),
        )
        return
    names = [w.name for w in workspaces]
    # The deployments a missing approval breaks: secure egress while the registry is private.
    broken = (
        sorted(
            d.id
            for ws in workspaces
            for endpoint in _listed(facts.endpoints_of(ws.id))
            for d in _listed(facts.deployments_of(endpoint.id))
            if d.egress_public_network_access == "Disabled"
        )
        if registry.public_network_access == "Disabled"
        else []
    )
    for connection in egress:
        observed = {
            "status": connection.status,
            "description": connection.description,
            "privateEndpoint": connection.private_endpoint_id,
            "privateEndpointMicrosoftManaged": microsoft_managed(connection, facts),
            "registryPublicNetworkAccess": registry.public_network_access,
            "workspaces": names,
            "affectedDeployments": broken,
        }
        evidence = Evidence(observed, {"status": "Approved"})
        if connection.status == "Approved":
            yield Finding(
                META,
                Status.PASS,
                registry.id,
                f"Registry {registry.name}: egress connection {name_of(connection.id)} is Approved.",
                evidence,
                subject=connection.id,
            )
            continue
        harm = (
            f"{len(broken)} deployment(s) with egress public network access disabled cannot "
            f"pull images ({', '.join(_deployment_names(broken))})"
            if broken
            else f"deployments of {', '.join(names)} cannot pull images through it"
        )
        yield Finding(
            META,
            Status.FAIL,
            registry.id,
            f"Registry {registry.name}: egress connection {name_of(connection.id)} is "
            f"{connection.status or 'in no state'}, not Approved: {harm}.",
            evidence,
            META.remediation(
                registry_name=registry.name,
                subscription=cli_subscription(registry.id),
                connection_id=connection.id,
            ),
            subject=connection.id,
        )


def _listed(read: Read[tuple[T, ...]] | None) -> tuple[T, ...]:
    """A list's items; one that was not read lists nothing (other checks report it)."""
    return read.value or () if read is not None else ()


def _deployment_names(deployment_ids: list[str]) -> list[str]:
    """``<endpoint>/<deployment>`` for each deployment id."""
    return [f"{rid.split('/')[-3]}/{rid.split('/')[-1]}" for rid in deployment_ids]
