"""Discovery by subscription, resource group and management group, through Resource Graph and
through the per-subscription ARM fallback, with the real SDK clients against the simulated tenant."""

from __future__ import annotations

from typing import Any

import pytest

from netverify.cli import main
from netverify.facts import DiscoveryMethod
from netverify.model import Status
from netverify.runner import run_once
from netverify.sim.scenario import FaultSpec
from tests.conftest import TenantFactory

SUB_A = "11111111-0000-4000-8000-00000000000a"
SUB_B = "22222222-0000-4000-8000-00000000000b"
SUB_C = "33333333-0000-4000-8000-00000000000c"
GRAPH = "/providers/microsoft.resourcegraph/resources"


def scenario(**extra: Any) -> dict[str, Any]:
    """Three subscriptions; SUB_A and SUB_B under mg-root (SUB_B through child mg-ml)."""
    workspaces = [
        {"name": "mlw-a1", "guid": "a1", "subscription": SUB_A, "resource_group": "rg-ml"},
        {"name": "mlw-a2", "guid": "a2", "subscription": SUB_A, "resource_group": "rg-other"},
        {"name": "mlw-b1", "guid": "b1", "subscription": SUB_B, "resource_group": "rg-ml"},
        {"name": "mlw-c1", "guid": "c1", "subscription": SUB_C, "resource_group": "rg-ml"},
    ]
    return {
        "subscriptions": [SUB_A, SUB_B, SUB_C],
        "workspaces": workspaces,
        "management_groups": [
            {"name": "mg-root", "subscriptions": [SUB_A], "children": ["mg-ml"]},
            {"name": "mg-ml", "subscriptions": [SUB_B]},
        ],
        **extra,
    }


def found(result: Any) -> set[str]:
    return {r.resource_id.rsplit("/", 1)[-1] for r in result.facts.workspaces if r.value}


def graph_posts(tenant: Any) -> list[Any]:
    return [r for r in tenant.arm.requests if r.method == "POST" and r.path.lower() == GRAPH]


def arm_lists(tenant: Any) -> list[str]:
    return [
        r.path for r in tenant.arm.requests if r.method == "GET" and r.path.endswith("/resources")
    ]


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"subscriptions": [SUB_A]}, {"mlw-a1", "mlw-a2"}),
        ({"management_group": "mg-root"}, {"mlw-a1", "mlw-a2", "mlw-b1"}),
        ({"management_group": "mg-ml"}, {"mlw-b1"}),
        (
            {"resource_groups": [f"/subscriptions/{SUB_A}/resourceGroups/rg-ml"]},
            {"mlw-a1"},  # not mlw-b1, although SUB_B has a group of that name too
        ),
    ],
)
def test_resource_graph_finds_the_workspaces_in_scope(
    start_tenant: TenantFactory, scope: dict[str, Any], expected: set[str]
) -> None:
    """Each scope is one Resource Graph query; no per-subscription list call is made."""
    tenant = start_tenant(scenario())

    result = run_once(tenant.config(scope={"workspaces": [], **scope}))

    assert expected == found(result)
    assert result.facts.discovery.method is DiscoveryMethod.RESOURCE_GRAPH
    assert 1 == len(graph_posts(tenant))
    assert [] == arm_lists(tenant)


def test_resource_graph_pages_with_skip_token(start_tenant: TenantFactory) -> None:
    """With one row a page, discovery follows $skipToken until every workspace is found."""
    tenant = start_tenant(scenario(resource_graph_page_size=1))

    result = run_once(tenant.config(scope={"workspaces": [], "management_group": "mg-root"}))

    assert {"mlw-a1", "mlw-a2", "mlw-b1"} == found(result)
    assert 3 == len(graph_posts(tenant))


@pytest.mark.parametrize(
    ("scope", "expected", "listed"),
    [
        ({"subscriptions": [SUB_A, SUB_C]}, {"mlw-a1", "mlw-a2", "mlw-c1"}, 2),
        ({"management_group": "mg-root"}, {"mlw-a1", "mlw-a2", "mlw-b1"}, 2),
        ({"resource_groups": [f"/subscriptions/{SUB_B}/resourceGroups/rg-ml"]}, {"mlw-b1"}, 1),
    ],
)
def test_refused_resource_graph_falls_back_to_arm_lists(
    start_tenant: TenantFactory, scope: dict[str, Any], expected: set[str], listed: int
) -> None:
    """A 403 from Resource Graph: each subscription (or group) is listed through ARM instead,
    and the discovery notes say so."""
    tenant = start_tenant(scenario())
    tenant.arm.inject(FaultSpec(path="resourcegraph", method="POST", status=403))

    result = run_once(tenant.config(scope={"workspaces": [], **scope}))

    assert expected == found(result)
    assert result.facts.discovery.method is DiscoveryMethod.ARM_LIST
    assert "Resource Graph refused the query" in result.facts.discovery.notes[0]
    assert "Microsoft.ResourceGraph/resources/read" in result.facts.discovery.notes[0]
    assert listed == len(arm_lists(tenant))


def test_unlistable_subscription_is_an_error_and_the_others_are_judged(
    start_tenant: TenantFactory,
) -> None:
    """In the fallback, a subscription that answers 403 becomes an error finding naming the
    permission; the workspaces of the other subscription are still judged."""
    tenant = start_tenant(scenario())
    tenant.arm.inject(FaultSpec(path="resourcegraph", method="POST", status=403))
    tenant.arm.inject(FaultSpec(path=f"/subscriptions/{SUB_C}/resources$", status=403))

    result = run_once(tenant.config(scope={"workspaces": [], "subscriptions": [SUB_A, SUB_C]}))

    assert {"mlw-a1", "mlw-a2"} == found(result)
    [error] = [
        f
        for f in result.findings
        if f.check.id == "workspace_v1_legacy_mode_disabled" and f.status is Status.ERROR
    ]
    assert f"/subscriptions/{SUB_C}" == error.resource_id
    assert "Microsoft.Resources/subscriptions/resources/read" in error.message


@pytest.mark.parametrize(("bulk", "gets"), [(True, 0), (False, 1)])
def test_named_workspaces_and_discovered_ones_are_read_once(
    start_tenant: TenantFactory, bulk: bool, gets: int
) -> None:
    """A workspace both named and discovered is read once: from its Resource Graph row (no
    GET), or with arm.resource_graph_reads = false by one GET."""
    tenant = start_tenant(scenario())
    [named] = [w for w in tenant.workspace_ids() if w.endswith("mlw-a1")]

    result = run_once(
        tenant.config(
            scope={"workspaces": [named], "subscriptions": [SUB_A]},
            arm={"resource_graph_reads": bulk},
        )
    )

    assert 2 == len([r for r in result.facts.workspaces if r.value])
    assert gets == sum(r.path.endswith("/workspaces/mlw-a1") for r in tenant.arm.requests)


def judged(result: Any) -> list[tuple[str, str, str, str]]:
    """Every finding as (check, resource, status, message), sorted: what a run concluded."""
    return sorted(
        (f.check.id, f.resource_id.lower(), f.status.value, f.message) for f in result.findings
    )


def demo_scope(tenant: Any) -> dict[str, Any]:
    """The demo tenant's workspaces found through its subscriptions (a wider scope)."""
    return {"workspaces": [], "subscriptions": list(tenant.scenario.subscriptions)}


def test_bulk_reads_conclude_what_arm_reads_conclude(start_tenant: TenantFactory) -> None:
    """On the demo tenant found by subscription, the Resource Graph rows read every workspace,
    vault, registry (with its connections) and storage account - none of them is read by a
    GET - and the run's findings are those of a run that reads each from ARM."""
    tenant = start_tenant()
    fresh = run_once(tenant.config(scope=demo_scope(tenant), arm={"resource_graph_reads": False}))
    fresh_posts = len(graph_posts(tenant))
    del tenant.arm.requests[:]

    result = run_once(tenant.config(scope=demo_scope(tenant)))

    bulk_types = ("/workspaces/", "/vaults/", "/registries/", "/storageaccounts/")
    gets = [
        r.path
        for r in tenant.arm.requests
        if r.method == "GET" and any(t in r.path.lower() for t in bulk_types)
    ]
    assert [] == [p for p in gets if "/onlineendpoints" not in p.lower()]
    assert judged(fresh) == judged(result)
    # The checks of what the rows hold (a vault, a registry's connections, a workspace, the
    # names they need) judged: two runs that judged nothing would be equal too.
    assert {
        "keyvault_network_bypass_azure_services",
        "registry_egress_connection_approved",
        "workspace_v1_legacy_mode_disabled",
        "dns_name_resolves_private_endpoint",
    } <= {check for check, *_ in judged(result)}
    assert len(graph_posts(tenant)) == fresh_posts + 1  # the linked resources' one query


def test_a_resource_resource_graph_withholds_is_read_from_arm(start_tenant: TenantFactory) -> None:
    """The identity may not read one vault: Resource Graph leaves its row out, so it is read
    from ARM, whose 403 becomes the error finding naming the permission - as without bulk
    reads."""
    tenant = start_tenant()
    tenant.arm.inject(FaultSpec(path="/vaults/kv-healthy$", status=403))
    findings = []
    for bulk in (True, False):
        del tenant.arm.requests[:]
        result = run_once(
            tenant.config(scope=demo_scope(tenant), arm={"resource_graph_reads": bulk})
        )
        assert 1 == sum(r.path.endswith("/vaults/kv-healthy") for r in tenant.arm.requests)
        findings.append(judged(result))
    assert findings[0] == findings[1]
    assert any(
        "kv-healthy" in resource and status == "error" and "Microsoft.KeyVault/vaults/read" in text
        for _, resource, status, text in findings[0]
    )


def test_the_run_summary_says_resource_graph_was_refused(
    start_tenant: TenantFactory, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """`netverify run` prints the fallback under the table's summary line."""
    tenant = start_tenant(scenario())
    tenant.arm.inject(FaultSpec(path="resourcegraph", method="POST", status=403))
    config = tenant.write_config(
        tmp_path / "c.toml", scope={"workspaces": [], "subscriptions": [SUB_A]}
    )

    main(["run", "--config", str(config)])

    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("note: Resource Graph refused the query")
    assert "per-subscription ARM calls" in last


def test_reads_are_interleaved_across_subscriptions() -> None:
    """Round-robin order, so the first wave of reads spreads over every subscription."""
    from netverify.probes.discovery import interleave_by_subscription

    placed = [("a", 1), ("a", 2), ("a", 3), ("a", 4), ("b", 1), ("b", 2)]
    ids = [f"/subscriptions/{s}/resourceGroups/g/providers/P/t/{n}" for s, n in placed]

    ordered = interleave_by_subscription(ids)

    assert ["a", "b", "a", "b", "a", "a"] == [i.split("/")[2] for i in ordered]
    assert sorted(ids) == sorted(ordered)


def test_a_slow_subscription_does_not_hold_the_others(start_tenant: TenantFactory) -> None:
    """Every read of SUB_C takes a second; SUB_A's workspaces are read completely meanwhile."""
    tenant = start_tenant(scenario())
    tenant.arm.inject(FaultSpec(path=f"^/subscriptions/{SUB_C}/", status=200, delay_seconds=1.0))

    result = run_once(tenant.config(scope={"workspaces": [], "subscriptions": [SUB_A, SUB_C]}))

    assert {"mlw-a1", "mlw-a2", "mlw-c1"} == found(result)
    fast = [r.at for r in tenant.arm.requests if r.path.startswith(f"/subscriptions/{SUB_A}/")]
    slow = [r.at for r in tenant.arm.requests if r.path.startswith(f"/subscriptions/{SUB_C}/")]
    assert max(fast) < min(slow)


def test_discovery_without_a_token_cannot_run(start_tenant: TenantFactory) -> None:
    """No managed identity: Resource Graph and every fallback listing are unauthenticated,
    so the run exits 2 instead of reporting an empty, passing tenant."""
    tenant = start_tenant(scenario())
    tenant.identity.identity_assigned = False

    result = run_once(tenant.config(scope={"workspaces": [], "management_group": "mg-root"}))

    assert 2 == result.exit_code
    assert result.facts.discovery.method is DiscoveryMethod.ARM_LIST


def test_run_fresh_reads_every_resource_from_arm(
    start_tenant: TenantFactory, tmp_path: Any
) -> None:
    """`netverify run --fresh` on a wider scope: the workspaces and their vaults are GETs, and
    the only Resource Graph query is discovery's (plus the zone search)."""
    tenant = start_tenant()
    config = tenant.write_config(tmp_path / "c.toml", scope=demo_scope(tenant))

    main(["run", "--fresh", "--config", str(config), "--output", "json"])

    gets = [r.path.lower() for r in tenant.arm.requests if r.method == "GET"]
    assert {w.lower() for w in tenant.workspace_ids()} <= set(gets)
    assert any(p.endswith("/vaults/kv-healthy") for p in gets)
    assert 2 == len(graph_posts(tenant))
