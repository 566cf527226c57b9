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
WORKSPACE_QUERY = f"resources | where type =~ '{WORKSPACE_TYPE.lower()}' | project id"


def discover(
    reader: ArmReader, scope: ScopeConfig, pool: Executor
) -> tuple[list[str], list[Read[Workspace]], Discovery]:
    """(workspace ids to read, scopes that could not be listed, how they were found)."""
    named = list(scope.workspaces)
    if not scope.needs_discovery:
        return named, [], Discovery(DiscoveryMethod.CONFIG)
    try:
        found = _through_resource_graph(reader, scope)
        return _merge(named, found), [], Discovery(DiscoveryMethod.RESOURCE_GRAPH)
    except Exception as exc:
        failure = describe_failure(exc, RESOURCE_GRAPH_PATH)
        refused = (
            f"Resource Graph refused the query ({failure.message}); workspaces were listed "
            "with per-subscription ARM calls instead"
        )
    found, unlisted, notes = _through_arm_lists(reader, scope, pool)
    return _merge(named, found), unlisted, Discovery(DiscoveryMethod.ARM_LIST, (refused, *notes))


ZONE_QUERY = "resources | where type =~ 'microsoft.network/privatednszones' | project id"


def find_private_dns_zones(reader: ArmReader) -> Read[tuple[str, ...]]:
    """Ids of every private DNS zone the identity can see: one Resource Graph query across all
    its subscriptions (landing zones keep zones in a central one); if Resource Graph refuses,
    one ARM list per subscription in the identity's subscription list."""
    where = "/providers/Microsoft.Network/privateDnsZones"
    try:
        return Read(where, value=tuple(_query(reader, ZONE_QUERY)))
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


def _through_resource_graph(reader: ArmReader, scope: ScopeConfig) -> list[str]:
    found: list[str] = []
    if scope.subscriptions:
        found += _query(reader, WORKSPACE_QUERY, subscriptions=list(scope.subscriptions))
    if scope.management_group:
        found += _query(reader, WORKSPACE_QUERY, management_groups=[scope.management_group])
    if scope.resource_groups:
        groups = {tuple(p.lower() for p in parse_resource_group(g)) for g in scope.resource_groups}
        names = ", ".join(sorted({f"'{g}'" for _, g in groups}))
        rows = _query(
            reader,
            f"{WORKSPACE_QUERY.rsplit(' | project', 1)[0]} | where resourceGroup in~ ({names}) "
            "| project id",
            subscriptions=sorted({s for s, _ in groups}),
        )
        # Two subscriptions may hold groups of one name: keep only the (subscription, group) named.
        found += [r for r in rows if (_subscription(r), _group(r)) in groups]
    return found


def _query(
    reader: ArmReader,
    query: str,
    *,
    subscriptions: list[str] | None = None,
    management_groups: list[str] | None = None,
) -> list[str]:
    """Every row's id, following ``$skipToken`` page by page (checked by ``Pages``)."""
    guard = reader.pages(RESOURCE_GRAPH_PATH, "$skipToken")
    ids: list[str] = []
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
        ids += [str(row["id"]) for row in rows if isinstance(row, dict) and row.get("id")]
        skip_token = guard.follow(response.get("$skipToken"))
        if skip_token is None:
            return ids


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
