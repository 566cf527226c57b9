"""registry_egress_connection_approved, judged from hand-built facts."""

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
