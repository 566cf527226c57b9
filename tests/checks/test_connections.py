"""checklib.connections: whose private-endpoint connections are judged, and which of a
registry's connections are an online deployment's egress."""

from __future__ import annotations

from netverify.checklib.connections import REGISTRY, WORKSPACE, Owner, microsoft_managed, owners
from netverify.config import WORKSPACE_TYPE
from netverify.facts import PrivateEndpointConnection, ReadProblem
from netverify.testing import (
    REGISTRY_TYPE,
    arm_id,
    check_findings,
    facts,
    failed,
    mixed_case,
    registry,
    workspace,
)

APPROVED = "privateendpoint_connection_approved"
OWN = PrivateEndpointConnection(
    id=f"{arm_id(REGISTRY_TYPE, 'CrShared')}/privateEndpointConnections/pe-build",
    private_endpoint_id=mixed_case(arm_id("Microsoft.Network/privateEndpoints", "pe-build")),
    status="Approved",
    description=None,
)


def test_a_failed_workspace_read_is_passed_over_and_a_shared_registry_is_one_owner() -> None:
    """A workspace that could not be read owns nothing; two workspaces sharing a registry (one
    spelling it in another case) give one owner naming both, without its egress connection."""
    gone = failed(arm_id(WORKSPACE_TYPE, "mlw-gone"), ReadProblem.NOT_FOUND, status_code=404)
    ws_a = workspace("mlw-a", key_vault=None, registry="CrShared")
    ws_b = workspace("MLW-B", key_vault=None, registry="crshared")
    cr = registry("CrShared", own_connections=[OWN])

    found, unread = owners(facts([gone, ws_a, ws_b], registries=[cr]))

    assert [
        Owner(ws_a.id, "mlw-a", WORKSPACE, (), ("mlw-a",)),
        Owner(cr.id, "CrShared", REGISTRY, (OWN,), ("mlw-a", "MLW-B")),
        Owner(ws_b.id, "MLW-B", WORKSPACE, (), ("MLW-B",)),
    ] == found
    assert [] == unread


def test_the_registry_owner_speaks_of_a_container_registry() -> None:
    """The owner's kind is the word the connection check's message and evidence use."""
    cr = registry("CrShared", own_connections=[OWN])
    seen = facts([workspace("mlw-a", key_vault=None, registry="CrShared")], registries=[cr])

    [judged] = [f for f in check_findings(APPROVED, seen) if f.subject == OWN.id]

    assert judged.message == (
        "Container registry CrShared (used by mlw-a): the connection of private endpoint "
        "pe-build is Approved."
    )
    assert "container registry" == judged.evidence.observed["resourceKind"]


def test_whose_endpoint_it_is_for_a_connection_without_one_or_without_the_subscriptions() -> None:
    """No endpoint id: Microsoft manages none (False); the subscription list unread: unknown
    (None); the tenant's own endpoint: False; one in a subscription nobody sees: True."""
    egress = registry().private_endpoint_connections[0]
    bare = PrivateEndpointConnection(egress.id, None, "Pending", None)
    seen = facts()
    blind = facts(subscriptions=failed("/subscriptions", ReadProblem.FORBIDDEN, status_code=403))

    assert (False, True, False) == (
        microsoft_managed(bare, seen),
        microsoft_managed(egress, seen),
        microsoft_managed(OWN, seen),
    )
    assert (False, None) == (microsoft_managed(bare, blind), microsoft_managed(egress, blind))
