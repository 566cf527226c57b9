"""The private-endpoint connections of what a run verifies, each with the state that decides
whether Private Link carries its endpoint's traffic (``facts.connection_status``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from netverify.facts import (
    EGRESS_DESCRIPTION,
    Facts,
    PrivateEndpoint,
    PrivateEndpointConnection,
    Read,
    Workspace,
    connection_status,
)

WORKSPACE = "workspace"
HUB = "hub workspace"
KEY_VAULT = "Key Vault"
STORAGE = "storage account"
REGISTRY = "container registry"


@dataclass(frozen=True, slots=True)
class Owner:
    """A resource whose private-endpoint connections are judged, and who depends on it."""

    id: str
    name: str
    kind: str  # WORKSPACE, HUB, KEY_VAULT, STORAGE or REGISTRY
    connections: tuple[PrivateEndpointConnection, ...]
    workspaces: tuple[str, ...]  # names of the workspaces in scope that depend on it


@dataclass(frozen=True, slots=True)
class ConnectionState:
    owner: Owner
    connection: PrivateEndpointConnection
    # The endpoint's read: None when the run did not read it (no DNS facts, or an endpoint
    # Azure manages in a Microsoft subscription).
    endpoint: Read[PrivateEndpoint] | None
    status: str | None  # connection_status: the first of both sides' states not Approved

    @property
    def endpoint_id(self) -> str:
        return self.connection.private_endpoint_id or ""


def microsoft_managed(connection: PrivateEndpointConnection, facts: Facts) -> bool | None:
    """Whether the connection's private endpoint lies in a subscription the identity cannot see
    (Azure manages it from Microsoft's): False for a connection without an endpoint, None when
    the subscription list was not read."""
    if not connection.private_endpoint_id:
        return False
    return facts.outside(connection.private_endpoint_id)


def is_egress(connection: PrivateEndpointConnection, facts: Facts) -> bool:
    """An online deployment's egress connection to the registry: its endpoint lies in a
    subscription the identity cannot see, or (list unread) it still has Azure ML's description."""
    if (connection.description or "").strip().lower() == EGRESS_DESCRIPTION.lower():
        return True
    return bool(microsoft_managed(connection, facts))


def owners(facts: Facts) -> tuple[list[Owner], list[tuple[str, Read[Any]]]]:
    """Every workspace in scope (a hub-based project by its hub), vault, storage account and
    registry (without its egress connections: registry_egress_connection_approved judges
    those), each once; and the hubs and linked resources that could not be read, each with
    its kind (HUB, KEY_VAULT, STORAGE, REGISTRY): their connections, and the names their
    endpoints serve, are unknown."""
    found: dict[str, Owner] = {}
    unread: dict[str, tuple[str, Read[Any]]] = {}

    def add(owner: Owner) -> None:
        key = owner.id.lower()
        known = found.get(key)
        users = (*known.workspaces, *owner.workspaces) if known else owner.workspaces
        found[key] = Owner(
            owner.id, owner.name, owner.kind, owner.connections, tuple(dict.fromkeys(users))
        )

    for read in facts.workspaces:
        ws = read.value
        if ws is None:
            continue
        hub = facts.hubs.get(ws.hub_id.lower()) if ws.hub_id else None
        if hub is not None and not ws.private_endpoint_connections:
            if hub.value is None:
                unread[hub.resource_id.lower()] = (HUB, hub)
            else:
                add(_workspace(hub.value, HUB, ws))
        else:
            add(_workspace(ws, WORKSPACE, ws))
        ws = facts.with_hub(ws)  # a project uses its hub's vault, storage and registry
        for kind, linked, reads in (
            (KEY_VAULT, ws.key_vault_id, facts.key_vaults),
            (STORAGE, ws.storage_account_id, facts.storage_accounts),
            (REGISTRY, ws.container_registry_id, facts.registries),
        ):
            resource = reads.get(linked.lower()) if linked else None
            value = resource.value if resource is not None else None
            if resource is not None and resource.failure is not None:
                unread[resource.resource_id.lower()] = (kind, resource)
            if value is not None:
                connections = tuple(
                    c for c in value.private_endpoint_connections if not is_egress(c, facts)
                )
                add(Owner(value.id, value.name, kind, connections, (ws.name,)))
    return list(found.values()), list(unread.values())


def _workspace(owner: Workspace, kind: str, user: Workspace) -> Owner:
    return Owner(owner.id, owner.name, kind, owner.private_endpoint_connections, (user.name,))


def states(owner: Owner, facts: Facts) -> Iterator[ConnectionState]:
    """Each of the owner's connections with its endpoint's read and its state."""
    endpoints = facts.dns.private_endpoints if facts.dns is not None else {}
    for connection in owner.connections:
        read = endpoints.get((connection.private_endpoint_id or "").lower())
        endpoint = read.value if read is not None else None
        yield ConnectionState(owner, connection, read, connection_status(connection, endpoint))


def all_states(facts: Facts) -> list[ConnectionState]:
    """Every judged connection of the run, with its state."""
    return [state for owner in owners(facts)[0] for state in states(owner, facts)]
