"""privateendpoint_connection_approved (and the TCP verdict it changes), from hand-built facts."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest

from netverify.config import WORKSPACE_TYPE
from netverify.facts import (
    CustomDnsConfig,
    DnsAnswer,
    DnsFacts,
    EndpointAddresses,
    Facts,
    PrivateEndpoint,
    PrivateEndpointConnection,
    PrivateLinkServiceConnection,
    Reachability,
    Read,
    ReadProblem,
    StorageAccount,
    Workspace,
)
from netverify.model import Link, Status
from netverify.testing import (
    GROUP,
    REGISTRY_TYPE,
    RESOLVERS,
    VNET_ID,
    arm_id,
    check_findings,
    dns_facts,
    expected_name,
    facts,
    failed,
    healthy_answers,
    key_vault,
    private_zone,
    registry,
    workspace,
)

CHECK_ID = "privateendpoint_connection_approved"
PE_TYPE = "Microsoft.Network/privateEndpoints"
SUBNET = f"{VNET_ID}/subnets/pe"
APPROVE = 'az network private-endpoint-connection approve --id {} --description "Approved"'


def connection(owner_id: str, pe: str, status: str | None) -> PrivateEndpointConnection:
    return PrivateEndpointConnection(
        id=f"{owner_id}/privateEndpointConnections/{pe}",
        private_endpoint_id=arm_id(PE_TYPE, pe),
        status=status,
        description={"Pending": "Awaiting approval", "Rejected": "paused for maintenance"}.get(
            status or "", "Auto-Approved"
        ),
        actions_required="None",
    )


def private_endpoint(
    name: str,
    target_id: str,
    status: str | None,
    ips: tuple[str, ...],
    *,
    manual: bool = False,
    fqdn: str = "ws.workspace.eastus.api.azureml.ms",
) -> PrivateEndpoint:
    pe_id = arm_id(PE_TYPE, name)
    kind = "manualPrivateLinkServiceConnections" if manual else "privateLinkServiceConnections"
    return PrivateEndpoint(
        id=pe_id,
        name=name,
        subnet_id=SUBNET,
        target_ids=(target_id,),
        group_ids=("amlworkspace",),
        custom_dns_configs=(CustomDnsConfig(fqdn, ips),),
        connections=(
            PrivateLinkServiceConnection(
                f"{pe_id}/{kind}/{name}", target_id, status, None, "None", manual
            ),
        ),
    )


def with_connections(ws: Workspace, *connections: PrivateEndpointConnection) -> Workspace:
    return dataclasses.replace(ws, private_endpoint_connections=connections)


def with_endpoints(
    base: Facts,
    endpoints: Sequence[PrivateEndpoint | Read[PrivateEndpoint]],
    reachability: Sequence[Reachability] = (),
    answers: Sequence[DnsAnswer] = (),
) -> Facts:
    reads = [e if isinstance(e, Read) else Read(e.id, value=e) for e in endpoints]
    dns = DnsFacts(
        agent_vnet_id=VNET_ID,
        agent_vnet=None,
        private_endpoints={r.resource_id.lower(): r for r in reads},
        zones={},
        expected=(),
        resolvers=RESOLVERS,
        answers=tuple(answers),
        reachability=tuple(reachability),
    )
    return dataclasses.replace(base, dns=dns)


def one_workspace(status: str | None, pe_status: str | None = None) -> tuple[Facts, Workspace]:
    ws = workspace(key_vault=None)
    ws = with_connections(ws, connection(ws.id, "pe-mlw-test", status))
    pe = private_endpoint("pe-mlw-test", ws.id, pe_status or status, ("10.0.1.5", "10.0.1.6"))
    return with_endpoints(facts([ws]), [pe]), ws


@pytest.mark.parametrize("status", ["Pending", "Rejected"])
def test_pending_or_rejected_workspace_connection_fails_with_the_approve_command(
    status: str,
) -> None:
    """A Pending/Rejected workspace connection fails naming it, its state and the approval."""
    world, ws = one_workspace(status)

    [finding] = check_findings(CHECK_ID, world)

    connection_id = f"{ws.id}/privateEndpointConnections/pe-mlw-test"
    pe_id = arm_id(PE_TYPE, "pe-mlw-test")
    assert Status.FAIL is finding.status
    assert (ws.id, connection_id) == (finding.resource_id, finding.subject)
    meaning = {
        "Pending": "the request waits for the owner's approval",
        "Rejected": "the owner rejected it",
    }[status]
    assert finding.message == (
        f"Workspace mlw-test: the connection of private endpoint pe-mlw-test is {status}, "
        f"not Approved: {meaning}, so Private Link drops the traffic to 10.0.1.5, 10.0.1.6."
    )
    assert frozenset({Link.address("10.0.1.5"), Link.address("10.0.1.6")}) == finding.breaks
    assert {
        "connection": connection_id,
        "privateEndpoint": pe_id,
        "status": status,
        "description": {"Pending": "Awaiting approval", "Rejected": "paused for maintenance"}[
            status
        ],
        "actionsRequired": "None",
        "privateEndpointSide": [
            {
                "connection": f"{pe_id}/privateLinkServiceConnections/pe-mlw-test",
                "status": status,
                "description": None,
                "actionsRequired": "None",
                "manualApproval": False,
            }
        ],
        "resource": ws.id,
        "resourceKind": "workspace",
        "workspaces": ["mlw-test"],
        "ips": ["10.0.1.5", "10.0.1.6"],
        "names": ["ws.workspace.eastus.api.azureml.ms"],
    } == finding.evidence.observed
    assert {"status": "Approved"} == finding.evidence.expected
    assert APPROVE.format(connection_id) == finding.remediation.command
    if status == "Rejected":
        assert "bring it back to Pending" in finding.remediation.text
    assert "NSG" not in finding.remediation.text


def test_disconnected_connection_fails_asking_for_a_new_endpoint() -> None:
    """Disconnected cannot be approved: the remedy re-creates the endpoint in its subnet."""
    world, ws = one_workspace("Disconnected")

    [finding] = check_findings(CHECK_ID, world)

    pe_id = arm_id(PE_TYPE, "pe-mlw-test")
    assert Status.FAIL is finding.status
    assert "is Disconnected, not Approved: the owner removed it" in finding.message
    assert "cannot be approved" in finding.remediation.text
    assert (
        f"az network private-endpoint delete --ids {pe_id} && az network private-endpoint "
        f"create --name pe-mlw-test --subscription {pe_id.split('/')[2]} --resource-group {GROUP} --subnet {SUBNET} "
        f"--private-connection-resource-id {ws.id} --group-id amlworkspace "
        "--connection-name pe-mlw-test"
    ) == finding.remediation.command


def test_approved_connection_passes_with_its_evidence() -> None:
    """Approved on both sides passes, with no remedy."""
    world, _ = one_workspace("Approved")

    [finding] = check_findings(CHECK_ID, world)

    assert Status.PASS is finding.status
    assert "Workspace mlw-test: the connection of private endpoint pe-mlw-test is Approved." == (
        finding.message
    )
    assert finding.remediation is None
    assert "Approved" == finding.evidence.observed["status"]


def test_sides_that_disagree_fail_and_say_so() -> None:
    """The owner says Approved, the endpoint's side Disconnected: the endpoint's side wins."""
    world, _ = one_workspace("Approved", pe_status="Disconnected")

    [finding] = check_findings(CHECK_ID, world)

    assert Status.FAIL is finding.status
    assert (
        "is Disconnected, not Approved (workspace mlw-test says Approved, the private endpoint "
        "says Disconnected)" in finding.message
    )


def test_several_endpoints_with_mixed_case_ids_one_rejected() -> None:
    """Two endpoints of one workspace, ids in other case on each side: one pass, one fail."""
    ws = workspace(key_vault=None)
    upper = dataclasses.replace(
        connection(ws.id, "pe-b", "Rejected"),
        private_endpoint_id=arm_id(PE_TYPE, "pe-b").upper(),
    )
    ws = with_connections(ws, connection(ws.id, "pe-a", "Approved"), upper)
    world = with_endpoints(
        facts([ws]),
        [
            private_endpoint("pe-a", ws.id.lower(), "Approved", ("10.0.1.5",)),
            private_endpoint("pe-b", ws.id.upper(), "Rejected", ("10.1.1.5",)),
        ],
    )

    findings = check_findings(CHECK_ID, world)

    assert [Status.PASS, Status.FAIL] == [f.status for f in findings]
    assert "private endpoint pe-a is Approved" in findings[0].message
    assert "private endpoint PE-B is Rejected" in findings[1].message
    assert ["10.1.1.5"] == findings[1].evidence.observed["ips"]
    assert "Rejected" == findings[1].evidence.observed["privateEndpointSide"][0]["status"]


def test_unreadable_endpoint_is_judged_by_the_owner_side() -> None:
    """A private endpoint the identity cannot read: the owner's Pending still fails."""
    ws = workspace(key_vault=None)
    ws = with_connections(ws, connection(ws.id, "pe-mlw-test", "Pending"))
    unread = failed(
        arm_id(PE_TYPE, "pe-mlw-test"),
        ReadProblem.FORBIDDEN,
        message="AuthorizationFailed",
        status_code=403,
    )
    world = with_endpoints(facts([ws]), [unread])

    [finding] = check_findings(CHECK_ID, world)

    assert Status.FAIL is finding.status
    assert "is Pending, not Approved" in finding.message
    assert finding.message.endswith("traffic to its IPs.")
    assert "AuthorizationFailed" == finding.evidence.observed["privateEndpointRead"]
    assert [] == finding.evidence.observed["privateEndpointSide"]


def test_a_connection_in_no_state_is_skipped_with_the_reason() -> None:
    """No status on either side: skipped, never a pass."""
    world, ws = one_workspace(None)

    [finding] = check_findings(CHECK_ID, world)

    assert (Status.SKIPPED, f"{ws.id}/privateEndpointConnections/pe-mlw-test") == (
        finding.status,
        finding.subject,
    )
    assert finding.message == (
        "Workspace mlw-test: the connection of private endpoint pe-mlw-test is in no state ARM "
        "reports (privateLinkServiceConnectionState.status is empty on both sides): cannot "
        "tell whether Private Link carries its traffic."
    )
    assert (None, [None]) == (
        finding.evidence.observed["status"],
        [s["status"] for s in finding.evidence.observed["privateEndpointSide"]],
    )


def test_workspace_without_connections_is_skipped() -> None:
    """A workspace without private endpoints has nothing to approve."""
    ws = workspace(key_vault=None)

    [finding] = check_findings(CHECK_ID, facts([ws]))

    assert (Status.SKIPPED, ws.id, None) == (finding.status, finding.resource_id, finding.evidence)
    assert finding.message == (
        "Workspace mlw-test has no private endpoint connection: it is not reached through "
        "Private Link."
    )


def test_pending_manual_key_vault_connection_fails_naming_the_vault() -> None:
    """A vault's manual-approval request still Pending fails on the vault, for its users."""
    ws = workspace()
    vault = key_vault()
    vault = dataclasses.replace(
        vault, private_endpoint_connections=(connection(vault.id, "pe-kv", "Pending"),)
    )
    pe = private_endpoint(
        "pe-kv", vault.id, "Pending", ("10.0.1.9",), manual=True, fqdn="kv-test.vault.azure.net"
    )
    world = with_endpoints(facts([ws], [vault]), [pe])

    findings = check_findings(CHECK_ID, world)

    [vault_finding] = [f for f in findings if f.resource_id == vault.id]
    assert Status.FAIL is vault_finding.status
    assert vault_finding.message.startswith(
        "Key Vault kv-test (used by mlw-test): the connection of private endpoint pe-kv is "
        "Pending, not Approved: the request waits for the owner's approval"
    )
    assert [True] == [
        s["manualApproval"] for s in vault_finding.evidence.observed["privateEndpointSide"]
    ]
    assert ["kv-test.vault.azure.net"] == vault_finding.evidence.observed["names"]
    assert APPROVE.format(f"{vault.id}/privateEndpointConnections/pe-kv") == (
        vault_finding.remediation.command
    )


def test_rejected_storage_connection_fails() -> None:
    """A storage account's Rejected connection fails on the account."""
    account_id = arm_id("Microsoft.Storage/storageAccounts", "sttest")
    account = StorageAccount(
        account_id,
        "sttest",
        GROUP,
        "Disabled",
        (connection(account_id, "pe-st", "Rejected"),),
    )
    ws = dataclasses.replace(workspace(key_vault=None), storage_account_id=account_id)
    world = dataclasses.replace(
        facts([ws]), storage_accounts={account_id.lower(): Read(account_id, value=account)}
    )

    [_, finding] = check_findings(CHECK_ID, world)

    assert (Status.FAIL, account_id) == (finding.status, finding.resource_id)
    assert finding.message == (
        "Storage account sttest (used by mlw-test): the connection of private endpoint pe-st "
        "is Rejected, not Approved: the owner rejected it, so Private Link drops the traffic to "
        "its IPs."
    )
    assert ("storage account", [], []) == (
        finding.evidence.observed["resourceKind"],
        finding.evidence.observed["ips"],
        finding.evidence.observed["privateEndpointSide"],
    )
    assert APPROVE.format(f"{account_id}/privateEndpointConnections/pe-st") == (
        finding.remediation.command
    )


def test_registry_egress_connection_is_left_to_its_own_check() -> None:
    """The registry's egress connection (Microsoft-managed endpoint) is not judged here."""
    cr_id = arm_id(REGISTRY_TYPE, "crtest")
    own = connection(cr_id, "pe-cr", "Pending")
    cr = registry(egress_status="Rejected", own_connections=[own])
    world = facts([workspace(key_vault=None, registry="crtest")], registries=[cr])

    findings = [f for f in check_findings(CHECK_ID, world) if f.resource_id == cr_id]

    assert [own.id] == [f.subject for f in findings]
    assert Status.FAIL is findings[0].status


def test_project_is_judged_by_its_hub() -> None:
    """A hub-based project has no endpoint of its own: its hub's connection is judged."""
    hub = workspace("hub-a", key_vault=None)
    hub = with_connections(hub, connection(hub.id, "pe-hub", "Rejected"))
    project = dataclasses.replace(workspace("proj-a", key_vault=None), hub_id=hub.id)
    world = dataclasses.replace(facts([project]), hubs={hub.id.lower(): Read(hub.id, value=hub)})
    world = with_endpoints(world, [private_endpoint("pe-hub", hub.id, "Rejected", ("10.0.1.5",))])

    [finding] = check_findings(CHECK_ID, world)

    assert (Status.FAIL, hub.id) == (finding.status, finding.resource_id)
    assert finding.message.startswith(
        "Hub workspace hub-a (hub of proj-a): the connection of private endpoint pe-hub is Rejected"
    )


def test_unreadable_hub_is_an_error() -> None:
    """A project's hub that cannot be read: error naming the missing permission."""
    hub_id = arm_id(WORKSPACE_TYPE, "hub-a")
    project = dataclasses.replace(workspace("proj-a", key_vault=None), hub_id=hub_id)
    unread = failed(
        hub_id,
        ReadProblem.FORBIDDEN,
        permission="Microsoft.MachineLearningServices/workspaces/read",
    )
    world = dataclasses.replace(facts([project]), hubs={hub_id.lower(): unread})

    [finding] = check_findings(CHECK_ID, world)

    assert (Status.ERROR, hub_id) == (finding.status, finding.resource_id)
    assert "Microsoft.MachineLearningServices/workspaces/read" in finding.message


# -- the TCP verdict names the connection first ------------------------------------------------


def probe(address: str) -> Reachability:
    return Reachability(
        "ws.workspace.eastus.api.azureml.ms",
        address,
        443,
        "127.0.0.1:1",
        False,
        False,
        1.0,
        "TCP connect timed out after 3s",
    )


def test_tcp_failure_to_a_rejected_endpoint_names_the_connection() -> None:
    """TCP to an IP of a Rejected endpoint fails on the connection, not on NSGs or routes."""
    ws = workspace(key_vault=None)
    ws = with_connections(
        ws, connection(ws.id, "pe-a", "Approved"), connection(ws.id, "pe-b", "Rejected")
    )
    world = with_endpoints(
        facts([ws]),
        [
            private_endpoint("pe-a", ws.id, "Approved", ("10.0.1.5",)),
            private_endpoint("pe-b", ws.id, "Rejected", ("10.1.1.5",)),
        ],
        [probe("10.1.1.5"), probe("10.0.1.5")],
        healthy_answers(ip="10.1.1.5"),
    )

    rejected, other = check_findings("privateendpoint_tls_reachable", world)

    assert Status.FAIL is rejected.status
    assert (
        "10.1.1.5 is private endpoint pe-b, whose connection to workspace mlw-test is Rejected, "
        "not Approved, so Private Link drops its traffic." in rejected.message
    )
    assert "NSGs, firewalls and routes are not the first suspect" in rejected.remediation.text
    assert (
        f"az network private-endpoint-connection show --id {ws.id}/privateEndpointConnections/pe-b"
        == rejected.remediation.command
    )
    assert {
        "fqdn": "ws.workspace.eastus.api.azureml.ms",
        "address": "10.1.1.5",
        "port": 443,
        "connected_to": "127.0.0.1:1",
        "tcp": False,
        "tls": False,
        "latency_ms": 1.0,
        "detail": "TCP connect timed out after 3s",
        "certificate": None,
        "verify_code": 0,
        "verify_message": "",
        "privateEndpoint": arm_id(PE_TYPE, "pe-b"),
        "connectionStatus": "Rejected",
    } == rejected.evidence.observed
    assert (
        frozenset({Link.transport(rejected.resource_id, "10.1.1.5")}),
        frozenset({Link.address("10.1.1.5")}),
    ) == (rejected.breaks, rejected.needs)
    # An approved endpoint's IP that does not answer keeps the network diagnosis.
    assert "NSGs, firewalls and routes" in other.remediation.text
    assert "connectionStatus" not in other.evidence.observed
    # The connection's own finding says which names the run saw resolve to the endpoint.
    [_, connection_finding] = check_findings(CHECK_ID, world)
    assert connection_finding.message.endswith(
        "drops the traffic to 10.1.1.5 although ws.workspace.eastus.api.azureml.ms still "
        "resolve(s) there."
    )


def test_a_tls_failure_to_a_rejected_endpoint_keeps_the_transport_diagnosis() -> None:
    """TCP connected to a Rejected endpoint's IP (so Private Link did carry it) and the TLS
    handshake failed: the connection is not blamed; an Approved endpoint's IP that times out
    (beside a connection in no state, which withholds nothing) keeps the network diagnosis."""
    ws = workspace(key_vault=None)
    ws = with_connections(
        ws,
        connection(ws.id, "pe-a", "Approved"),
        connection(ws.id, "pe-b", "Rejected"),
        connection(ws.id, "pe-c", None),
    )
    handshake = dataclasses.replace(
        probe("10.1.1.5"), connected=True, detail="TLS handshake failed: EOF"
    )
    world = with_endpoints(
        facts([ws]),
        [
            private_endpoint("pe-a", ws.id, "Approved", ("10.0.1.5",)),
            private_endpoint("pe-b", ws.id, "Rejected", ("10.1.1.5",)),
            private_endpoint("pe-c", ws.id, None, ("10.2.1.5",)),
        ],
        [handshake, probe("10.0.1.5"), probe("10.2.1.5")],
    )

    findings = check_findings("privateendpoint_tls_reachable", world)

    assert [
        "ws.workspace.eastus.api.azureml.ms resolves to 10.1.1.5 but the TLS handshake on port "
        "443 fails: TLS handshake failed: EOF.",
        "ws.workspace.eastus.api.azureml.ms resolves to 10.0.1.5 but the TCP connection on port "
        "443 fails: TCP connect timed out after 3s.",
        "ws.workspace.eastus.api.azureml.ms resolves to 10.2.1.5 but the TCP connection on port "
        "443 fails: TCP connect timed out after 3s.",
    ] == [f.message for f in findings]
    assert [Status.FAIL] * 3 == [f.status for f in findings]
    assert [None] * 3 == [f.evidence.observed.get("connectionStatus") for f in findings]


# -- a withheld endpoint's IP is no stale record ------------------------------------------------


WITHHELD = EndpointAddresses(arm_id(PE_TYPE, "pe-b"), ("10.1.1.5",), VNET_ID)


def test_record_with_a_withheld_endpoints_ip_beside_the_serving_one_is_not_stale() -> None:
    """The zone holds the approved and the withheld endpoint's IPs: neither is stale."""
    name = dataclasses.replace(expected_name(), withheld=(WITHHELD,))
    zone = private_zone({"ws.workspace.eastus": ("10.0.1.5", "10.1.1.5")})

    [finding] = check_findings(
        "privatedns_record_matches_endpoint",
        dns_facts(healthy_answers(), names=[name], zones=[zone]),
    )

    assert Status.PASS is finding.status


def test_answer_of_a_withheld_endpoint_names_its_connection() -> None:
    """A name answered with only the withheld endpoint's IP: the record is not called stale,
    and the name's verdict points at the connection."""
    name = dataclasses.replace(expected_name(), withheld=(WITHHELD,))
    zone = private_zone({"ws.workspace.eastus": ("10.1.1.5",)})
    world = dns_facts(healthy_answers(ip="10.1.1.5"), names=[name], zones=[zone])

    [record] = check_findings("privatedns_record_matches_endpoint", world)
    [resolved] = check_findings("dns_name_resolves_private_endpoint", world)

    assert "belongs to no private endpoint" not in record.message
    assert "10.1.1.5 belongs to a private endpoint whose connection is not Approved" in (
        record.message
    )
    assert Status.FAIL is resolved.status
    assert resolved.message.endswith(
        "(the address of a private endpoint whose connection is not Approved: "
        "privateendpoint_connection_approved)."
    )


# -- shapes the common fixtures do not have ---------------------------------------------------


def test_a_linked_vault_that_is_gone_fails_and_one_unreadable_is_an_error() -> None:
    """Two workspaces: one's Key Vault answers 404 (the link points at nothing: fail), the
    other's 403 (not observed: error naming the permission)."""
    gone_id = arm_id("Microsoft.KeyVault/vaults", "kv-gone")
    hidden_id = arm_id("Microsoft.KeyVault/vaults", "kv-hidden")
    world = facts(
        [workspace("mlw-a", key_vault="kv-gone"), workspace("mlw-b", key_vault="kv-hidden")],
        [
            failed(gone_id, ReadProblem.NOT_FOUND, message="ResourceNotFound", status_code=404),
            failed(
                hidden_id,
                ReadProblem.FORBIDDEN,
                status_code=403,
                permission="Microsoft.KeyVault/vaults/read",
            ),
        ],
    )

    findings = check_findings(CHECK_ID, world)

    by_id = {f.resource_id: f for f in findings}
    assert (Status.FAIL, {"exists": True}) == (
        by_id[gone_id].status,
        by_id[gone_id].evidence.expected,
    )
    assert by_id[gone_id].message == (
        f"The linked Key Vault {gone_id} does not exist (ARM answered 404)."
    )
    assert {"problem": "not_found", "detail": "ResourceNotFound", "http_status": 404} == (
        by_id[gone_id].evidence.observed
    )
    assert Status.ERROR is by_id[hidden_id].status
    assert by_id[hidden_id].message == (
        f"Cannot read the Key Vault {hidden_id}: the agent's identity lacks "
        "Microsoft.KeyVault/vaults/read."
    )
    # The unread vaults first; neither workspace has a private endpoint connection of its own.
    assert [Status.FAIL, Status.ERROR, Status.SKIPPED, Status.SKIPPED] == [
        f.status for f in findings
    ]


@pytest.mark.parametrize(
    "unknown", [{"subnet_id": None}, {"group_ids": ()}, {"subnet_id": None, "group_ids": ()}]
)
def test_a_timeout_connection_fails_and_asks_for_a_new_endpoint(unknown: dict[str, Any]) -> None:
    """A state the guide does not describe (Timeout): Private Link does not carry it; like
    Disconnected it cannot be approved. The endpoint's subnet or group unknown, no command
    deletes it: the text says how to read them first."""
    world, _ = one_workspace("Timeout")
    [pe] = [r.value for r in world.dns.private_endpoints.values()]
    pe = dataclasses.replace(pe, **unknown)
    world = with_endpoints(world, [pe])

    [finding] = check_findings(CHECK_ID, world)

    pe_id = arm_id(PE_TYPE, "pe-mlw-test")
    assert finding.message == (
        "Workspace mlw-test: the connection of private endpoint pe-mlw-test is Timeout, not "
        "Approved: Private Link does not carry it, so Private Link drops the traffic to "
        "10.0.1.5, 10.0.1.6."
    )
    # The command would delete first and then fail on a placeholder: none is given.
    assert finding.remediation.command is None
    assert finding.remediation.text == (
        "The connection of private endpoint pe-mlw-test to workspace mlw-test is Timeout: it "
        "cannot be approved. Re-create the private endpoint (same subnet and group) so that it "
        "requests a new connection, and approve it if it waits. Its subnet, group or resource "
        "group is not known: see them with "
        f"`az network private-endpoint show --ids {pe_id}` before re-creating it."
    )


def test_a_disconnected_connection_naming_no_endpoint_leaves_placeholders() -> None:
    """The owner's side names no private endpoint (and none was read): the message and the
    re-create command say what is unknown rather than inventing it."""
    ws = workspace(key_vault=None)
    bare = dataclasses.replace(
        connection(ws.id, "pe-mlw-test", "Disconnected"), private_endpoint_id=None
    )
    world = with_endpoints(facts([with_connections(ws, bare)]), [])

    [finding] = check_findings(CHECK_ID, world)

    assert finding.message == (
        "Workspace mlw-test: the connection of private endpoint (none named) is Disconnected, "
        "not Approved: the owner removed it; the private endpoint is left without a "
        "connection, so Private Link drops the traffic to its IPs."
    )
    assert finding.remediation.text == (
        "The connection of private endpoint (none) to workspace mlw-test is Disconnected: it "
        "cannot be approved. Re-create the private endpoint (same subnet and group) so that it "
        "requests a new connection, and approve it if it waits. Neither side names the private "
        "endpoint: find it among the connections listed by "
        f"`az network private-endpoint-connection list --id {ws.id}`."
    )
    assert finding.remediation.command is None
    assert frozenset() == finding.breaks


def test_a_hub_of_two_projects_names_both_and_every_name_resolved_there() -> None:
    """Two projects share a hub whose connection is Pending on one side and Rejected on both
    of the endpoint's connections to it (the owner's side, first, is the verdict); two names
    resolve to its IP."""
    hub = workspace("hub-a", key_vault=None)
    hub = with_connections(hub, connection(hub.id, "pe-hub", "Pending"))
    projects = [
        dataclasses.replace(workspace(name, key_vault=None), hub_id=hub.id.upper())
        for name in ("proj-a", "proj-b")
    ]
    pe = private_endpoint("pe-hub", hub.id, "Rejected", ("10.0.1.5",))
    second = dataclasses.replace(pe.connections[0], id=f"{pe.id}/privateLinkServiceConnections/two")
    pe = dataclasses.replace(pe, connections=(*pe.connections, second))
    world = dataclasses.replace(facts(projects), hubs={hub.id.lower(): Read(hub.id, value=hub)})
    answers = [
        *healthy_answers("ws.workspace.eastus.api.azureml.ms"),
        *healthy_answers("ws.workspace.eastus.cert.api.azureml.ms"),
    ]
    world = with_endpoints(world, [pe], answers=answers)

    [finding] = check_findings(CHECK_ID, world)

    assert (Status.FAIL, hub.id) == (finding.status, finding.resource_id)
    assert finding.message == (
        "Hub workspace hub-a (hub of proj-a, proj-b): the connection of private endpoint "
        "pe-hub is Pending, not Approved (hub workspace hub-a says Pending, the private "
        "endpoint says Rejected, Rejected): the request waits for the owner's approval, so "
        "Private Link drops the traffic to 10.0.1.5 although ws.workspace.eastus.api.azureml.ms, "
        "ws.workspace.eastus.cert.api.azureml.ms still resolve(s) there."
    )
    assert ["proj-a", "proj-b"] == finding.evidence.observed["workspaces"]
    assert [f"{pe.id}/privateLinkServiceConnections/pe-hub", second.id] == [
        s["connection"] for s in finding.evidence.observed["privateEndpointSide"]
    ]
