"""Which workspaces are in scope: named ones, plus those found under resource groups,
subscriptions or a management group.

Azure Resource Graph answers for hundreds of subscriptions in a few paged queries. Where the
identity may not query it, each subscription (or resource group) is listed through ARM instead,
and the run summary says so. A scope that cannot be listed at all becomes a failed read, so it
shows up as an error finding instead of silently shrinking the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import Executor
from typing import Any

from netverify.azure.arm_ids import (
    name_of,
    parse_resource_group,
    resource_group_of,
    subscription_of,
)
from netverify.config import WORKSPACE_TYPE, ScopeConfig
from netverify.facts import Discovery, DiscoveryMethod, Read, Workspace
from netverify.probes.arm import (
    MANAGEMENT_GROUPS_API_VERSION,
    RESOURCE_GRAPH_API_VERSION,
    RESOURCES_API_VERSION,
    ArmReader,
    describe_failure,
)
from netverify.probes.arm_bodies import MalformedResource

# Resource Graph answers at most 1,000 rows a page; each page costs one query of the quota.
RESOURCE_GRAPH_PAGE = 1000
RESOURCE_GRAPH_PATH = "/providers/Microsoft.ResourceGraph/resources"
WORKSPACES = f"resources | where type =~ '{WORKSPACE_TYPE.lower()}'"
# The columns of a row that reads a resource as its ARM GET would (``ArmReader.read_in_bulk``).
GET_COLUMNS = "id, name, type, location, kind, properties"
# Ids per bulk query: keeps a query's text near 30 KB, far below what Resource Graph accepts,
# and a page (1,000 rows) holds every row of it.
IDS_PER_QUERY = 200


def discover(
    reader: ArmReader, scope: ScopeConfig, pool: Executor, *, bulk: bool = False
) -> tuple[list[str], list[Read[Workspace]], Discovery]:
    """(workspace ids to read, scopes that could not be listed, how they were found).

    ``bulk``: the Resource Graph rows that find the workspaces read them too (their
    properties come with them; ``ArmReader.read_in_bulk``), so no workspace found is read
    again; a workspace only named in the scope is read from ARM on ``pool``.
    """
    named = list(scope.workspaces)
    if not scope.needs_discovery:
        return named, [], Discovery(DiscoveryMethod.CONFIG)
    try:
        rows = _through_resource_graph(reader, scope, GET_COLUMNS if bulk else "id")
        found = _merge(named, [str(row["id"]) for row in rows])
        if bulk:
            reader.read_in_bulk(found, lambda _: rows, pool)
        return found, [], Discovery(DiscoveryMethod.RESOURCE_GRAPH)
    except Exception as exc:
        failure = describe_failure(exc, RESOURCE_GRAPH_PATH)
        refused = (
            f"Resource Graph refused the query ({failure.message}); workspaces were listed "
            "with per-subscription ARM calls instead"
        )
    found, unlisted, notes = _through_arm_lists(reader, scope, pool)
    return _merge(named, found), unlisted, Discovery(DiscoveryMethod.ARM_LIST, (refused, *notes))


def read_linked_in_bulk(reader: ArmReader, workspace_ids: Iterable[str], pool: Executor) -> None:
    """Read the Key Vault, registry (with its private-endpoint connections), storage account
    and hub that each workspace links to through Resource Graph: one query per
    ``IDS_PER_QUERY`` ids, side by side on ``pool``, instead of a GET (or two) per resource.

    What Resource Graph does not answer - a resource it has not indexed yet, one the
    identity may not read, everything when the query is refused - is read from ARM as
    before, so a missing permission is still the precise 403 (``ArmReader.read_in_bulk``).
    Resource Graph can lag ARM by minutes after a change; ``arm.resource_graph_reads =
    false`` (``run --fresh``) reads every resource from ARM.
    """
    linked: list[str] = []
    for rid in workspace_ids:
        ws = reader.workspace(rid).value
        if ws is None:
            continue
        hub = ws.hub_id if ws.hub_id and not ws.private_endpoint_connections else None
        linked += [
            i for i in (ws.key_vault_id, ws.container_registry_id, ws.storage_account_id, hub) if i
        ]
    reader.read_in_bulk(linked, lambda ids: _rows_of(reader, ids, pool), pool)


def _rows_of(reader: ArmReader, ids: Sequence[str], pool: Executor) -> list[dict[str, Any]]:
    """The Resource Graph rows of ``ids`` (as ARM GET bodies), queried in chunks side by side;
    raises if any query fails."""
    chunks = [ids[at : at + IDS_PER_QUERY] for at in range(0, len(ids), IDS_PER_QUERY)]

    def query(chunk: Sequence[str]) -> list[dict[str, Any]]:
        listed = ", ".join(_kql_string(i.lower()) for i in chunk)
        return _query(
            reader,
            f"resources | where id in~ ({listed}) | project {GET_COLUMNS}",
            subscriptions=sorted({_subscription(i) for i in chunk}),
        )

    return [row for rows in pool.map(query, chunks) for row in rows]


def _kql_string(text: str) -> str:
    """``text`` as a single-quoted KQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


ZONE_QUERY = "resources | where type =~ 'microsoft.network/privatednszones' | project id"


def find_private_dns_zones(reader: ArmReader) -> Read[tuple[str, ...]]:
    """Ids of every private DNS zone the identity can see: one Resource Graph query across all
    its subscriptions (landing zones keep zones in a central one); if Resource Graph refuses,
    one ARM list per subscription in the identity's subscription list."""
    where = "/providers/Microsoft.Network/privateDnsZones"
    try:
        return Read(where, value=tuple(str(row["id"]) for row in _query(reader, ZONE_QUERY)))
    except Exception:  # the per-subscription lists below say what fails
        pass
    listed = reader.subscriptions()
    if listed.value is None:
        return Read(where, failure=listed.failure)
    ids: list[str] = []
    for subscription in listed.value:
        read = reader.private_dns_zone_ids(subscription.subscription_id)
        if read.value is None:
            return Read(where, failure=read.failure)
        ids += read.value
    return Read(where, value=tuple(ids))


def workspace_of_target(
    reader: ArmReader, scope: ScopeConfig, pool: Executor, target: str
) -> str | None:
    """The id of the workspace in scope that ``target`` names, for ``netverify explain``, so its run reads only that workspace. ``target`` is a workspace's
    name, an online endpoint's name or its scoring FQDN (case-insensitive): the workspace ids
    come from discovery (one Resource Graph query, or the named ones), a workspace name is
    matched by the id's last segment without any read, an endpoint by each workspace's
    endpoint list (one call per workspace, until one has it). None when nothing matches."""
    wanted = target.strip().lower().rstrip(".")
    workspace_ids, _, _ = discover(reader, scope, pool)
    for rid in workspace_ids:
        if name_of(rid).lower() == wanted:
            return rid
    for rid in workspace_ids:
        if any(e.named_by(target) for e in reader.online_endpoints(rid).value or ()):
            return rid
    return None


def interleave_by_subscription(resource_ids: Sequence[str]) -> list[str]:
    """Round-robin over subscriptions, so one subscription's bound never idles the whole pool."""
    queues: dict[str, list[str]] = {}
    for rid in resource_ids:
        queues.setdefault(_subscription(rid), []).append(rid)
    ordered: list[str] = []
    while queues:
        for key in list(queues):
            ordered.append(queues[key].pop(0))
            if not queues[key]:
                del queues[key]
    return ordered


def _merge(named: Iterable[str], found: Iterable[str]) -> list[str]:
    unique: dict[str, str] = {}
    for rid in [*named, *found]:
        unique.setdefault(rid.lower(), rid)
    return list(unique.values())


def _through_resource_graph(
    reader: ArmReader, scope: ScopeConfig, columns: str
) -> list[dict[str, Any]]:
    """The rows (``columns`` of each) of every workspace in the scope's wider scopes."""
    query = f"{WORKSPACES} | project {columns}"
    found: list[dict[str, Any]] = []
    if scope.subscriptions:
        found += _query(reader, query, subscriptions=list(scope.subscriptions))
    if scope.management_group:
        found += _query(reader, query, management_groups=[scope.management_group])
    if scope.resource_groups:
        groups = {tuple(p.lower() for p in parse_resource_group(g)) for g in scope.resource_groups}
        names = ", ".join(sorted({_kql_string(g) for _, g in groups}))
        rows = _query(
            reader,
            f"{WORKSPACES} | where resourceGroup in~ ({names}) | project {columns}",
            subscriptions=sorted({s for s, _ in groups}),
        )
        # Two subscriptions may hold groups of one name: keep only the (subscription, group) named.
        found += [r for r in rows if (_subscription(r["id"]), _group(r["id"])) in groups]
    return found


def _query(
    reader: ArmReader,
    query: str,
    *,
    subscriptions: list[str] | None = None,
    management_groups: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Every row that has an id, following ``$skipToken`` page by page (checked by ``Pages``)."""
    guard = reader.pages(RESOURCE_GRAPH_PATH, "$skipToken")
    found: list[dict[str, Any]] = []
    skip_token: str | None = None
    while True:
        # The QueryRequest of the Resource Graph REST spec (2021-03-01).
        options: dict[str, Any] = {"$top": RESOURCE_GRAPH_PAGE, "resultFormat": "objectArray"}
        if skip_token:
            options["$skipToken"] = skip_token
        request: dict[str, Any] = {"query": query, "options": options}
        if subscriptions is not None:
            request["subscriptions"] = subscriptions
        if management_groups is not None:
            request["managementGroups"] = management_groups
        response = reader.post(RESOURCE_GRAPH_PATH, RESOURCE_GRAPH_API_VERSION, request)
        if not isinstance(response, dict):
            raise MalformedResource(
                f"Resource Graph answered {type(response).__name__}, not an object"
            )
        data = response.get("data")
        rows: list[Any] = data if isinstance(data, list) else []
        found += [row for row in rows if isinstance(row, dict) and row.get("id")]
        skip_token = guard.follow(response.get("$skipToken"))
        if skip_token is None:
            return found


def _through_arm_lists(
    reader: ArmReader, scope: ScopeConfig, pool: Executor
) -> tuple[list[str], list[Read[Workspace]], list[str]]:
    unlisted: list[Read[Workspace]] = []
    notes: list[str] = []
    subscriptions = list(scope.subscriptions)
    if scope.management_group:
        group = f"/providers/Microsoft.Management/managementGroups/{scope.management_group}"
        try:
            descendants = reader.get_paged(f"{group}/descendants", MANAGEMENT_GROUPS_API_VERSION)
        except Exception as exc:
            failure = describe_failure(exc, "Microsoft.Management/managementGroups/descendants")
            unlisted.append(Read(group, failure=failure))
        else:
            under = [
                str(d.get("name"))
                for d in descendants
                if str(d.get("type", "")).lower().endswith("/subscriptions")
            ]
            notes.append(f"management group {scope.management_group}: {len(under)} subscriptions")
            subscriptions += under
    filter_ = {"$filter": f"resourceType eq '{WORKSPACE_TYPE}'"}

    def list_resources(
        subscription: str, path: str, where: str
    ) -> tuple[str, list[str] | Exception]:
        """The workspaces listed under ``path``; ``where``: the scope as the config names it."""
        try:
            with reader.bound(subscription):
                listed = reader.get_paged(f"{path}/resources", RESOURCES_API_VERSION, filter_)
                return where, [str(r["id"]) for r in listed if r.get("id")]
        except Exception as exc:
            return where, exc

    def list_subscription(subscription: str) -> tuple[str, list[str] | Exception]:
        where = f"/subscriptions/{subscription}"
        return list_resources(subscription, where, where)

    def list_group(group_id: str) -> tuple[str, list[str] | Exception]:
        subscription, group = parse_resource_group(group_id)
        path = f"/subscriptions/{subscription}/resourceGroups/{group}"
        return list_resources(subscription, path, group_id)

    listings = [
        *pool.map(list_subscription, _merge(subscriptions, [])),
        *pool.map(list_group, scope.resource_groups),
    ]
    found: list[str] = []
    for where, outcome in listings:
        if isinstance(outcome, Exception):
            unlisted.append(Read(where, failure=describe_failure(outcome, _listing_type(where))))
        else:
            found += outcome
    return found, unlisted, notes


def _listing_type(where: str) -> str:
    """The resource type whose read permission a listing needs (for the 403 message)."""
    if "/resourcegroups/" in where.lower():
        return "Microsoft.Resources/subscriptions/resourceGroups/resources"
    return "Microsoft.Resources/subscriptions/resources"


def _subscription(arm_id: str) -> str:
    return (subscription_of(arm_id) or "").lower()


def _group(arm_id: str) -> str:
    return (resource_group_of(arm_id) or "").lower()
