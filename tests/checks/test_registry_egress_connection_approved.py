"""registry_egress_connection_approved, judged from hand-built facts."""

from dataclasses import replace

import pytest

from netverify.checklib.catalog import load_checks
from netverify.facts import PrivateEndpointConnection, ReadProblem
from netverify.model import Status
from netverify.testing import (
    REGISTRY_TYPE,
    arm_id,
    deployment,
    endpoint,
    facts,
    failed,
    mixed_case,
    registry,
    workspace,
)

[check] = [c.module for c in load_checks() if c.meta.id == "registry_egress_connection_approved"]


@pytest.mark.parametrize("status", ["Pending", "Rejected", "Disconnected"])
def test_unapproved_egress_connection_fails_with_the_approve_command(status: str) -> None:
    """A Pending/Rejected/Disconnected egress connection fails with its id in the az command."""
    cr = registry(egress_status=status)
    [finding] = check.evaluate(facts([workspace(registry="crtest")], registries=[cr]))

    connection_id = cr.private_endpoint_connections[0].id
    assert finding.status == Status.FAIL
    assert status in finding.message
    assert finding.subject == connection_id
    assert (
        f'az network private-endpoint-connection approve --id {connection_id} --description "Approved"'
        == finding.remediation.command
    )


def test_evidence_names_the_deployments_it_breaks() -> None:
    """Deployments with egress disabled behind a private registry are named; others are not."""
    ep = endpoint()
    secure, open_egress = deployment("blue", of=ep), deployment("green", of=ep, egress="Enabled")
    [finding] = check.evaluate(
        facts(
            [workspace(registry="crtest")],
            registries=[registry(egress_status="Pending")],
            endpoints=[ep],
            deployments=[secure, open_egress],
        )
    )

    assert [secure.id] == finding.evidence.observed["affectedDeployments"]
    assert "1 deployment(s)" in finding.message


def test_public_registry_breaks_no_deployment_in_evidence() -> None:
    """With registry public access enabled the evidence lists no affected deployment."""
    ep = endpoint()
    [finding] = check.evaluate(
        facts(
            [workspace(registry="crtest")],
            registries=[registry(egress_status="Pending", public_network_access="Enabled")],
            endpoints=[ep],
            deployments=[deployment(of=ep)],
        )
    )

    assert [] == finding.evidence.observed["affectedDeployments"]


def test_approved_egress_connection_passes() -> None:
    """An Approved egress connection passes."""
    [finding] = check.evaluate(facts([workspace(registry="crtest")], registries=[registry()]))

    assert finding.status == Status.PASS


def test_registry_without_egress_connection_is_skipped() -> None:
    """No egress connection means legacy isolation is not used: skipped, not pass or fail."""
    [finding] = check.evaluate(
        facts([workspace(registry="crtest")], registries=[registry(egress_status=None)])
    )

    assert finding.status == Status.SKIPPED


def test_shared_registry_is_judged_once() -> None:
    """Two workspaces on one registry give one finding naming both."""
    findings = list(
        check.evaluate(
            facts(
                [workspace("mlw-a", registry="crtest"), workspace("mlw-b", registry="crtest")],
                registries=[registry(egress_status="Pending")],
            )
        )
    )

    assert len(findings) == 1
    assert ["mlw-a", "mlw-b"] == findings[0].evidence.observed["workspaces"]


def test_deleted_linked_registry_fails() -> None:
    """A 404 on the registry the workspace links to is a fail."""
    gone = failed(arm_id(REGISTRY_TYPE, "crtest"), ReadProblem.NOT_FOUND, status_code=404)
    [finding] = check.evaluate(facts([workspace(registry="crtest")], registries=[gone]))

    assert finding.status == Status.FAIL
    assert "does not exist" in finding.message


def test_rejected_connection_is_found_by_its_endpoint_when_the_description_was_overwritten() -> (
    None
):
    """H01: the reviewer's reason replaced Azure ML's description; the Microsoft-managed
    endpoint still identifies the egress connection, and the blocked deployment is named."""
    ep = endpoint("ep-a")
    cr = registry(egress_status="Rejected", egress_description="Rejected: not via change control")
    [finding] = check.evaluate(
        facts(
            [workspace(registry="crtest")],
            registries=[cr],
            endpoints=[ep],
            deployments=[deployment("blue", of=ep)],
        )
    )

    assert finding.status == Status.FAIL
    assert "is Rejected, not Approved" in finding.message
    assert "(ep-a/blue)" in finding.message
    assert finding.evidence.observed["privateEndpointMicrosoftManaged"] is True
    assert finding.evidence.observed["description"] == "Rejected: not via change control"


def test_connection_approved_as_the_guide_says_passes() -> None:
    """H01b: `approve --description "Approved"` leaves no egress wording; still judged, passes."""
    cr = registry(egress_description="Approved")
    [finding] = check.evaluate(facts([workspace(registry="crtest")], registries=[cr]))

    assert finding.status == Status.PASS
    assert finding.subject == cr.private_endpoint_connections[0].id


def test_the_tenants_own_rejected_connection_is_not_taken_for_egress() -> None:
    """A connection of the tenant's own endpoint (its subscription is visible), rejected with
    any description, is not an egress connection: only the Microsoft-managed one is judged."""
    own = PrivateEndpointConnection(
        id=f"{arm_id(REGISTRY_TYPE, 'crtest')}/privateEndpointConnections/pe-build",
        private_endpoint_id=arm_id("Microsoft.Network/privateEndpoints", "pe-build"),
        status="Rejected",
        description="Rejected",
    )
    [finding] = check.evaluate(
        facts([workspace(registry="crtest")], registries=[registry(own_connections=[own])])
    )

    assert finding.status == Status.PASS
    assert finding.subject.endswith("/pe-crtest-egress")


def test_without_the_subscription_list_only_the_description_can_tell() -> None:
    """When the subscription list could not be read, an overwritten description leaves no
    egress connection to judge, and the skip says why it may be missing."""
    cr = registry(egress_status="Rejected", egress_description="Rejected")
    unread = failed("/subscriptions", ReadProblem.FORBIDDEN, status_code=403)
    [finding] = check.evaluate(
        facts([workspace(registry="crtest")], registries=[cr], subscriptions=unread)
    )

    assert finding.status == Status.SKIPPED
    assert "judged by description only" in finding.message


def test_workspace_without_a_registry_is_skipped_naming_the_link() -> None:
    ws = workspace("MLW-NoAcr")
    [finding] = check.evaluate(facts([ws], registries=[registry()]))

    assert (finding.status, finding.resource_id) == (Status.SKIPPED, ws.id)
    assert finding.message == "Workspace MLW-NoAcr names no container registry."


@pytest.mark.parametrize(
    ("read", "status", "message"),
    [
        (None, Status.SKIPPED, "The container registry was not probed in this run."),
        (
            ReadProblem.UNAVAILABLE,
            Status.ERROR,
            "Cannot read the container registry {id}: unavailable",
        ),
    ],
)
def test_unread_registry_is_reported_on_the_id_as_the_workspace_spells_it(
    read: ReadProblem | None, status: Status, message: str
) -> None:
    """ARM ids are case-insensitive; the finding keeps the workspace's spelling, not the
    lower-cased key the registries are grouped by."""
    spelled = mixed_case(arm_id(REGISTRY_TYPE, "CrProd"))
    ws = replace(workspace(), container_registry_id=spelled)
    registries = [] if read is None else [failed(spelled, read, status_code=503)]

    [finding] = check.evaluate(facts([ws], registries=registries))

    assert (finding.status, finding.resource_id) == (status, spelled)
    assert finding.message == message.format(id=spelled)


def test_no_egress_connection_with_visible_subscriptions_is_a_plain_skip() -> None:
    cr = registry("CrProd", egress_status=None)
    [finding] = check.evaluate(facts([workspace(registry="CrProd")], registries=[cr]))

    assert (finding.status, finding.resource_id) == (Status.SKIPPED, cr.id)
    assert finding.message == (
        "Registry CrProd has no online-endpoint egress connection "
        "(legacy network isolation is not in use)."
    )


def test_no_egress_connection_when_subscriptions_were_not_probed() -> None:
    """No subscription list in the run at all: judged by description only, and said so."""
    cr = registry(egress_status=None)
    run = replace(facts([workspace(registry="crtest")], registries=[cr]), subscriptions=None)

    [finding] = check.evaluate(run)

    assert finding.status == Status.SKIPPED
    assert finding.message == (
        "Registry crtest has no online-endpoint egress connection (legacy network isolation is "
        "not in use): judged by description only, as the identity's subscription list could not "
        "be read (approving or rejecting a connection overwrites its description)."
    )


def test_several_broken_deployments_and_workspaces_are_listed_in_full() -> None:
    """Pending behind a private registry, two workspaces and two endpoints: every blocked
    deployment is named (in id order), and the evidence is complete."""
    cr = registry("CrShared", egress_status="Pending")
    ws_a = workspace("mlw-a", registry="CrShared")
    ws_b = workspace("MLW-B", registry="CrShared", guid="99999999-2222-4333-8444-555555555555")
    ep_a, ep_b = endpoint("Ep-A", workspace_name="mlw-a"), endpoint("ep-b", workspace_name="MLW-B")
    blocked = [deployment("blue", of=ep_a), deployment("Green", of=ep_b)]
    connection = cr.private_endpoint_connections[0]

    [finding] = check.evaluate(
        facts(
            [ws_a, ws_b],
            registries=[cr],
            endpoints=[ep_a, ep_b],
            deployments=[*blocked, deployment("open", of=ep_b, egress="Enabled")],
        )
    )

    assert finding.status == Status.FAIL
    assert finding.message == (
        "Registry CrShared: egress connection pe-CrShared-egress is Pending, not Approved: "
        "2 deployment(s) with egress public network access disabled cannot pull images "
        "(ep-b/Green, Ep-A/blue)."
    )
    assert finding.evidence.observed == {
        "status": "Pending",
        "description": connection.description,
        "privateEndpoint": connection.private_endpoint_id,
        "privateEndpointMicrosoftManaged": True,
        "registryPublicNetworkAccess": "Disabled",
        "workspaces": ["mlw-a", "MLW-B"],
        "affectedDeployments": sorted(d.id for d in blocked),
    }
    assert finding.evidence.expected == {"status": "Approved"}


def test_connection_without_a_state_or_endpoint_fails_naming_every_workspace() -> None:
    """A connection ARM returns with no status and no private endpoint (described as egress)
    is in no state; with a public registry the harm names the workspaces."""
    cr = registry("crtest", public_network_access="Enabled")
    bare = replace(cr.private_endpoint_connections[0], status=None, private_endpoint_id=None)
    cr = replace(cr, private_endpoint_connections=(bare,))

    [finding] = check.evaluate(
        facts(
            [workspace("mlw-a", registry="crtest"), workspace("mlw-b", registry="crtest")],
            registries=[cr],
        )
    )

    assert finding.status == Status.FAIL
    assert finding.message == (
        "Registry crtest: egress connection pe-crtest-egress is in no state, not Approved: "
        "deployments of mlw-a, mlw-b cannot pull images through it."
    )
    assert finding.evidence.observed == {
        "status": None,
        "description": bare.description,
        "privateEndpoint": None,
        # No endpoint, so none that Microsoft manages (``facts.outside("")`` would say True).
        "privateEndpointMicrosoftManaged": False,
        "registryPublicNetworkAccess": "Enabled",
        "workspaces": ["mlw-a", "mlw-b"],
        "affectedDeployments": [],
    }


def test_with_the_subscription_list_unread_whose_endpoint_it_is_stays_unknown() -> None:
    """Subscriptions unread: the connection still carrying Azure ML's description is judged,
    and whether Microsoft manages its endpoint is unknown (None), not False."""
    cr = registry(egress_status="Pending")
    ws = workspace(registry="crtest")
    unread = failed("/subscriptions", ReadProblem.FORBIDDEN, status_code=403)

    [finding] = check.evaluate(facts([ws], registries=[cr], subscriptions=unread))

    connection = cr.private_endpoint_connections[0]
    assert (Status.FAIL, connection.id) == (finding.status, finding.subject)
    assert finding.evidence.observed == {
        "status": "Pending",
        "description": connection.description,
        "privateEndpoint": connection.private_endpoint_id,
        "privateEndpointMicrosoftManaged": None,
        "registryPublicNetworkAccess": "Disabled",
        "workspaces": ["mlw-test"],
        "affectedDeployments": [],
    }
