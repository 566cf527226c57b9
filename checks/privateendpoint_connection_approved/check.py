"""Each private-endpoint connection of a workspace (a project's hub), its Key Vault, storage
account and registry (but the egress ones) is Approved: otherwise Private Link drops the
traffic while the names still resolve to the endpoint's IPs.

The verdict is the resource owner's side (``privateEndpointConnections``: what approving or
rejecting changes, and where the endpoints in scope come from), checked against the endpoint's
own side when it was read - the only side that shows Disconnected once the owner removed the
connection. When the two disagree the evidence and the message say so.
"""

from collections.abc import Iterator

from netverify.azure.arm_ids import cli_subscription, name_of, resource_group_of
from netverify.checklib.catalog import load_meta
from netverify.checklib.connections import HUB, WORKSPACE, ConnectionState, Owner, owners, states
from netverify.checklib.judging import failed_read, skipped
from netverify.facts import APPROVED, Facts, PrivateEndpoint
from netverify.model import Evidence, Finding, Link, Remediation, Status

META = load_meta(__file__)

# What each state means for the traffic, as "Manage a private endpoint connection" describes it.
MEANING = {
    "Pending": "the request waits for the owner's approval",
    "Rejected": "the owner rejected it",
    "Disconnected": "the owner removed it; the private endpoint is left without a connection",
}


def evaluate(facts: Facts) -> Iterator[Finding]:
    found, unread = owners(facts)
    yield from (failed_read(META, read, kind, linked=True) for kind, read in unread)
    for owner in found:
        if not owner.connections and owner.kind == WORKSPACE:
            yield skipped(
                META,
                owner.id,
                f"Workspace {owner.name} has no private endpoint connection: it is not "
                "reached through Private Link.",
            )
        for state in states(owner, facts):
            yield _judge(state, facts)


def _judge(state: ConnectionState, facts: Facts) -> Finding:
    owner, connection = state.owner, state.connection
    endpoint = state.endpoint.value if state.endpoint is not None else None
    sides = _endpoint_side(endpoint, owner)
    observed: dict[str, object] = {
        "connection": connection.id,
        "privateEndpoint": connection.private_endpoint_id,
        "status": connection.status,
        "description": connection.description,
        "actionsRequired": connection.actions_required,
        "privateEndpointSide": sides,
        "resource": owner.id,
        "resourceKind": owner.kind,
        "workspaces": list(owner.workspaces),
        "ips": list(endpoint.ips) if endpoint is not None else [],
        # The names Azure says the endpoint serves (its customDnsConfigs).
        "names": [c.fqdn for c in endpoint.custom_dns_configs] if endpoint is not None else [],
    }
    if state.endpoint is not None and state.endpoint.failure is not None:
        observed["privateEndpointRead"] = state.endpoint.failure.message
    evidence = Evidence(observed, {"status": APPROVED})
    what = _what(state)
    if state.status is None:
        return Finding(
            META,
            Status.SKIPPED,
            owner.id,
            f"{what} is in no state ARM reports (privateLinkServiceConnectionState.status is "
            "empty on both sides): cannot tell whether Private Link carries its traffic.",
            evidence,
            subject=connection.id,
        )
    disagree = [s["status"] for s in sides if s["status"] != connection.status]
    told = (
        f" ({owner.kind} {owner.name} says {connection.status}, the private endpoint says "
        f"{', '.join(map(str, disagree))})"
        if disagree and connection.status
        else ""
    )
    if state.status == APPROVED:
        return Finding(
            META,
            Status.PASS,
            owner.id,
            f"{what} is Approved.",
            evidence,
            subject=connection.id,
        )
    ips = ", ".join(endpoint.ips) if endpoint is not None and endpoint.ips else "its IPs"
    meaning = MEANING.get(state.status, "Private Link does not carry it")
    resolved = _resolved_to(facts, endpoint)
    still = f" although {', '.join(resolved)} still resolve(s) there" if resolved else ""
    return Finding(
        META,
        Status.FAIL,
        owner.id,
        f"{what} is {state.status}, not Approved{told}: {meaning}, so Private Link drops the "
        f"traffic to {ips}{still}.",
        evidence,
        _remediation(state, endpoint),
        subject=connection.id,
        breaks=frozenset(Link.address(ip) for ip in (endpoint.ips if endpoint is not None else ())),
    )


def _what(state: ConnectionState) -> str:
    owner = state.owner
    pe_name = name_of(state.endpoint_id) if state.endpoint_id else "(none named)"
    users = [w for w in owner.workspaces if w != owner.name]
    role = "hub of" if owner.kind == HUB else "used by"
    served = f" ({role} {', '.join(users)})" if users else ""
    kind = owner.kind[0].upper() + owner.kind[1:]
    return f"{kind} {owner.name}{served}: the connection of private endpoint {pe_name}"


def _remediation(state: ConnectionState, endpoint: PrivateEndpoint | None) -> Remediation:
    owner, connection = state.owner, state.connection
    pe_id = state.endpoint_id
    names = {
        "endpoint_name": name_of(pe_id) if pe_id else "(none)",
        "kind": owner.kind,
        "resource_name": owner.name,
        "resource_id": owner.id,
        "connection_id": connection.id,
    }
    approve = META.remediation(**names)
    if state.status == "Pending":
        return approve
    if state.status == "Rejected":
        return Remediation(
            f"The owner of {owner.kind} {owner.name} rejected the connection of private endpoint "
            f"{names['endpoint_name']} (a pause, or a refusal): if access is meant to be back, "
            "approve it again. Where the service will not approve a connection once rejected, "
            "bring it back to Pending by requesting it anew from the private endpoint's side "
            "(re-create its connection), then approve that request. " + approve.text,
            approve.command,
        )
    # Disconnected (or Timeout): nothing to approve; only a new request connects again. The
    # command deletes the endpoint first, so it is given only when everything the re-create
    # needs was read: a placeholder would leave the delete done and the create refused.
    name = names["endpoint_name"]
    text = (
        f"The connection of private endpoint {name} to {owner.kind} {owner.name} is "
        f"{state.status}: it cannot be approved. Re-create the private endpoint (same subnet "
        "and group) so that it requests a new connection, and approve it if it waits."
    )
    if not pe_id:
        return Remediation(
            f"{text} Neither side names the private endpoint: find it among the connections "
            f"listed by `az network private-endpoint-connection list --id {owner.id}`."
        )
    groups = endpoint.group_ids if endpoint is not None else ()
    subnet = endpoint.subnet_id if endpoint is not None else None
    resource_group = resource_group_of(pe_id)
    if not (groups and subnet and resource_group):
        return Remediation(
            f"{text} Its subnet, group or resource group is not known: see them with "
            f"`az network private-endpoint show --ids {pe_id}` before re-creating it."
        )
    return Remediation(
        text,
        f"az network private-endpoint delete --ids {pe_id} && az network private-endpoint create "
        f"--name {name} --subscription {cli_subscription(pe_id)} "
        f"--resource-group {resource_group} "
        f"--subnet {subnet} --private-connection-resource-id {owner.id} --group-id {groups[0]} "
        f"--connection-name {name}",
    )


def _endpoint_side(endpoint: PrivateEndpoint | None, owner: Owner) -> list[dict[str, object]]:
    """The endpoint's own connections to the owner (privateLinkServiceConnections or manual)."""
    if endpoint is None:
        return []
    return [
        {
            "connection": c.id,
            "status": c.status,
            "description": c.description,
            "actionsRequired": c.actions_required,
            "manualApproval": c.manual,
        }
        for c in endpoint.connections
        if (c.target_id or "").lower() == owner.id.lower()
    ]


def _resolved_to(facts: Facts, endpoint: PrivateEndpoint | None) -> list[str]:
    """The names some resolver of this run answered with one of the endpoint's IPs."""
    if facts.dns is None or endpoint is None:
        return []
    ips = set(endpoint.ips)
    return sorted({a.fqdn for a in facts.dns.answers if ips & set(a.addresses)})
