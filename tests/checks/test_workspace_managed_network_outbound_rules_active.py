"""workspace_managed_network_outbound_rules_active, judged from hand-built facts, from a parsed
workspace body and through the simulated ARM."""

from __future__ import annotations

import dataclasses
from typing import Any

from netverify.azure.arm_ids import ResourceId
from netverify.checklib.catalog import load_checks
from netverify.config import WORKSPACE_TYPE
from netverify.diagnose import diagnose, problems
from netverify.facts import OutboundRule, Read
from netverify.model import Evidence, Link, Status
from netverify.probes.arm_bodies import parse_workspace
from netverify.runner import run_once
from netverify.sim.scenario import OutboundRuleSpec, Scenario, builtin_scenario
from netverify.testing import (
    REGISTRY_TYPE,
    STORAGE_TYPE,
    arm_id,
    deployment,
    endpoint,
    facts,
    failed_list,
    outbound_rule,
    workspace,
)
from tests.conftest import TenantFactory

CHECK_ID = "workspace_managed_network_outbound_rules_active"
checks = {c.meta.id: c.module for c in load_checks()}
check = checks[CHECK_ID]

REGISTRY = arm_id(REGISTRY_TYPE, "crtest")
STORAGE = arm_id(STORAGE_TYPE, "sttest")
VAULT = arm_id("Microsoft.KeyVault/vaults", "kv-test")
REQUIRED = [(REGISTRY, "registry"), (STORAGE, "blob"), (STORAGE, "file"), (VAULT, "vault")]


def managed(
    rules: list[OutboundRule],
    *,
    isolation: str | None = "AllowOnlyApprovedOutbound",
    status: str = "Active",
) -> Any:
    """Facts of workspace mlw-test (registry crtest, storage sttest, vault kv-test) with a managed
    VNet holding ``rules`` and one online deployment."""
    ws = workspace(
        registry="crtest",
        storage="sttest",
        managed_network=isolation,
        managed_network_status=status,
        outbound_rules=rules,
    )
    ep = endpoint()
    return facts([ws], endpoints=[ep], deployments=[deployment(of=ep)])


def test_missing_blob_rule_fails_naming_the_cut_dependency_and_the_set_command() -> None:
    """No rule to sttest (blob): one fail with full evidence and outbound-rule set; others pass."""
    rules = [outbound_rule(r, t) for r, t in REQUIRED if t != "blob"]

    found = list(check.evaluate(managed(rules)))

    assert [Status.PASS, Status.FAIL, Status.PASS, Status.PASS] == [f.status for f in found]
    missing = found[1]
    assert f"{STORAGE}:blob" == missing.subject
    assert (
        "Workspace mlw-test's managed VNet (AllowOnlyApprovedOutbound) has no private-endpoint "
        "outbound rule to sttest (blob): model and code downloads from sttest fail."
    ) == missing.message
    assert (
        Evidence(
            {
                "isolationMode": "AllowOnlyApprovedOutbound",
                "networkStatus": "Active",
                "managedNetworkOf": arm_id(WORKSPACE_TYPE, "mlw-test"),
                "rule": None,
                "ruleStatus": None,
                "category": None,
                "serviceResourceId": STORAGE,
                "subresourceTarget": "blob",
                "onlineDeployments": 1,
            },
            {"ruleStatus": "Active"},
        )
        == missing.evidence
    )
    assert (
        "az ml workspace outbound-rule set --workspace-name mlw-test --subscription 00000000-1111-2222-3333-444444444444 --resource-group rg-test "
        f"--rule pe-sttest-blob --type private_endpoint --service-resource-id {STORAGE} "
        "--subresource-target blob"
    ) == missing.remediation.command
    assert frozenset() == missing.needs


def test_all_required_rules_active_pass_with_their_evidence() -> None:
    """Registry, blob, file and vault rules all Active: four passes, each naming its rule."""
    rules = [outbound_rule(r, t) for r, t in REQUIRED]

    found = list(check.evaluate(managed(rules, isolation="AllowInternetOutbound")))

    assert [Status.PASS] * 4 == [f.status for f in found]
    assert (
        "Workspace mlw-test's managed VNet rule __SYS_PE_crtest_registry to crtest (registry) is Active."
        == found[0].message
    )
    assert {
        "isolationMode": "AllowInternetOutbound",
        "networkStatus": "Active",
        "managedNetworkOf": arm_id(WORKSPACE_TYPE, "mlw-test"),
        "rule": "__SYS_PE_kv-test_vault",
        "ruleStatus": "Active",
        "category": "Required",
        "serviceResourceId": VAULT,
        "subresourceTarget": "vault",
        "onlineDeployments": 1,
    } == found[3].evidence.observed


def test_service_resource_id_matches_in_any_case() -> None:
    """ARM ids are case-insensitive: an upper-cased serviceResourceId still matches."""
    rules = [outbound_rule(r.upper(), t) for r, t in REQUIRED]

    assert [Status.PASS] * 4 == [f.status for f in check.evaluate(managed(rules))]


def test_inactive_rule_in_an_active_network_fails_with_its_own_name() -> None:
    """The registry rule Inactive while the network is Active: fail, set the same rule again."""
    rules = [
        outbound_rule(r, t, status="Inactive" if t == "registry" else "Active") for r, t in REQUIRED
    ]

    [registry, *_] = check.evaluate(managed(rules))

    assert Status.FAIL == registry.status
    assert (
        "Workspace mlw-test's managed VNet rule __SYS_PE_crtest_registry to crtest (registry) is "
        "Inactive, not Active: image pulls from crtest fail."
    ) == registry.message
    assert "--rule __SYS_PE_crtest_registry " in registry.remediation.command


def test_inactive_rules_of_an_unprovisioned_network_are_one_problem_with_it() -> None:
    """Network Inactive: its rules' fails need the workspace link the provisioned check breaks."""
    rules = [outbound_rule(r, t, status="Inactive") for r, t in REQUIRED]
    observed = managed(rules, status="Inactive")
    findings = [
        *checks["workspace_managed_network_provisioned"].evaluate(observed),
        *check.evaluate(observed),
    ]

    [problem] = problems(diagnose(findings))

    [cause] = problem.causes
    assert "workspace_managed_network_provisioned" == cause.check.id
    assert [CHECK_ID] * 4 == [s.check.id for s in problem.symptoms]
    assert all(s.remediation is None for s in problem.symptoms)
    assert (
        "is Inactive as the managed VNet is not provisioned: secret reads from kv-test fail."
        in (problem.symptoms[3].message)
    )


def test_isolation_disabled_is_skipped() -> None:
    """No managed VNet (isolation mode Disabled): nothing to judge."""
    [finding] = check.evaluate(managed([], isolation="Disabled"))

    assert Status.SKIPPED == finding.status
    assert "isolation mode Disabled" in finding.message


def test_unprovisioned_network_without_deployments_is_skipped() -> None:
    """Rules become Active on provisioning; with no deployment nothing is cut off yet."""
    ws = workspace(managed_network="AllowInternetOutbound", managed_network_status="Inactive")

    [finding] = check.evaluate(facts([ws]))

    assert Status.SKIPPED == finding.status


def test_a_body_without_outbound_rules_fails_every_dependency() -> None:
    """A managedNetwork without outboundRules parses to no rules: each dependency's rule is missing."""
    ws_id = arm_id(WORKSPACE_TYPE, "mlw-test")
    body = {
        "location": "eastus",
        "properties": {
            "keyVault": VAULT,
            "containerRegistry": REGISTRY,
            "storageAccount": STORAGE,
            "managedNetwork": {
                "isolationMode": "allowonlyapprovedoutbound",
                "status": {"status": "Active"},
            },
        },
    }
    ws = parse_workspace(body, ResourceId.parse(ws_id))
    ep = endpoint()

    found = list(check.evaluate(facts([ws], endpoints=[ep], deployments=[deployment(of=ep)])))

    assert () == ws.outbound_rules
    assert [Status.FAIL] * 4 == [f.status for f in found]
    assert ["registry", "blob", "file", "vault"] == [
        f.evidence.observed["subresourceTarget"] for f in found
    ]


def test_a_body_rule_map_is_parsed_by_type() -> None:
    """A PrivateEndpoint rule keeps its destination; an FQDN rule (destination a string) none."""
    ws_id = arm_id(WORKSPACE_TYPE, "mlw-test")
    rules = {
        "pe-blob": {
            "type": "privateendpoint",
            "destination": {
                "serviceResourceId": STORAGE,
                "subresourceTarget": "blob",
                "sparkEnabled": False,
            },
            "status": "active",
            "category": "UserDefined",
        },
        "pypi": {
            "type": "FQDN",
            "destination": "pypi.org",
            "status": "Active",
            "category": "Recommended",
        },
    }
    body = {
        "properties": {
            "managedNetwork": {"isolationMode": "AllowOnlyApprovedOutbound", "outboundRules": rules}
        }
    }

    ws = parse_workspace(body, ResourceId.parse(ws_id))

    assert (
        OutboundRule("pe-blob", "PrivateEndpoint", "Active", "UserDefined", STORAGE, "blob"),
        OutboundRule("pypi", "FQDN", "Active", "Recommended"),
    ) == ws.outbound_rules


def test_simulated_tenant_fails_the_missing_rule_and_passes_the_defaults(
    start_tenant: TenantFactory, demo_scenario: Scenario
) -> None:
    """Through the real SDK: mlw-healthy's default rules pass; mlw-broken without its storage
    rules fails for blob and file."""

    def managed_spec(w: Any) -> Any:
        rules = None
        if w.name == "mlw-broken":
            rules = (
                OutboundRuleSpec(name="pe-registry", target="crbroken", subresource="registry"),
                OutboundRuleSpec(name="pe-vault", target="kv-broken", subresource="vault"),
            )
        return w.model_copy(
            update={"managed_network": "AllowOnlyApprovedOutbound", "outbound_rules": rules}
        )

    scenario = demo_scenario.model_copy(
        update={"workspaces": [managed_spec(w) for w in demo_scenario.workspaces]}
    )
    tenant = start_tenant(scenario)

    found = [f for f in run_once(tenant.config()).findings if f.check.id == CHECK_ID]

    verdicts = {
        (f.resource_id.rsplit("/", 1)[1], f.evidence.observed["subresourceTarget"]): f.status
        for f in found
        if f.evidence
    }
    assert {
        ("mlw-healthy", "registry"): Status.PASS,
        ("mlw-healthy", "blob"): Status.PASS,
        ("mlw-healthy", "file"): Status.PASS,
        ("mlw-healthy", "vault"): Status.PASS,
        ("mlw-broken", "registry"): Status.PASS,
        ("mlw-broken", "blob"): Status.FAIL,
        ("mlw-broken", "file"): Status.FAIL,
        ("mlw-broken", "vault"): Status.PASS,
    } == {k: v for k, v in verdicts.items() if k[0] in {"mlw-healthy", "mlw-broken"}}


def test_a_project_is_judged_by_its_hubs_managed_vnet(start_tenant: TenantFactory) -> None:
    """Through the simulated ARM, the chain scenario's hubs with managed VNets: mlw-proj passes
    on mlw-hub's Required rules to the registry and vault it uses (its hub's); mlw-hub-old's
    vault rule is Inactive, so mlw-proj-old fails naming the hub, with the hub's command - one
    problem with the hub's own fail (same fix), not two."""
    chain = builtin_scenario("chain")

    def managed(w: Any) -> Any:
        if w.name == "mlw-hub":
            return w.model_copy(update={"managed_network": "AllowOnlyApprovedOutbound"})
        if w.name == "mlw-hub-old":
            rule = OutboundRuleSpec(
                name="pe-vault", target="kv-chain", subresource="vault", status="Inactive"
            )
            return w.model_copy(
                update={
                    "managed_network": "AllowOnlyApprovedOutbound",
                    "key_vault": "kv-chain",
                    "outbound_rules": (rule,),
                }
            )
        return w

    tenant = start_tenant(
        chain.model_copy(update={"workspaces": tuple(managed(w) for w in chain.workspaces)})
    )
    findings = run_once(tenant.config()).findings
    ours = {
        (f.resource_id.rsplit("/", 1)[1], f.subject.rsplit(":", 1)[1]): f
        for f in findings
        if f.check.id == CHECK_ID and f.subject
    }
    [hub] = [i for i in tenant.workspace_ids() if i.endswith("/mlw-hub")]
    old = f"{hub}-old"

    for target in ("registry", "vault"):
        served = ours["mlw-proj", target]
        assert Status.PASS is served.status
        assert served.message.startswith("Project mlw-proj's hub mlw-hub's managed VNet rule ")
        assert served.evidence is not None and hub == served.evidence.observed["managedNetworkOf"]
    cut = ours["mlw-proj-old", "vault"]
    assert Status.FAIL is cut.status
    assert (
        "Project mlw-proj-old's hub mlw-hub-old's managed VNet rule pe-vault to kv-chain (vault) "
        "is Inactive, not Active: secret reads from kv-chain fail." == cut.message
    )
    assert cut.remediation is not None and cut.remediation.command is not None
    assert "--workspace-name mlw-hub-old " in cut.remediation.command
    assert cut.evidence is not None and old == cut.evidence.observed["managedNetworkOf"]
    [problem] = [p for p in problems(findings) if cut in p.causes]
    assert {cut.uid, ours["mlw-hub-old", "vault"].uid} == {f.uid for f in problem.causes}


def test_a_project_of_an_unprovisioned_hub_network_follows_from_the_hub() -> None:
    """Hand-built facts: project mlw-proj (no managed VNet, dependencies of its own none) under
    hub mlw-hub, whose managed VNet is not provisioned and whose rules are Inactive: the
    project's four fails need the hub's link (the provisioned check's fail of the hub breaks
    it), not the project's."""
    hub = workspace(
        "mlw-hub",
        registry="crtest",
        storage="sttest",
        managed_network="AllowOnlyApprovedOutbound",
        managed_network_status="Inactive",
        outbound_rules=[
            dataclasses.replace(outbound_rule(r, t), status="Inactive") for r, t in REQUIRED
        ],
    )
    project = dataclasses.replace(workspace("mlw-proj", key_vault=None), hub_id=hub.id)
    ep = endpoint(workspace_name="mlw-proj")
    seen = dataclasses.replace(
        facts([project], endpoints=[ep], deployments=[deployment(of=ep)]),
        hubs={hub.id.lower(): Read(hub.id, value=hub)},
    )

    found = list(check.evaluate(seen))

    assert [Status.FAIL] * 4 == [f.status for f in found]
    assert {project.id} == {f.resource_id for f in found}
    assert {frozenset({Link.resource(hub.id)})} == {f.needs for f in found}
    assert found[0].message == (
        "Project mlw-proj's hub mlw-hub's managed VNet rule __SYS_PE_crtest_registry to crtest "
        "(registry) is Inactive as the managed VNet is not provisioned: image pulls from crtest "
        "fail."
    )


# -- shapes every other fixture lacks (mutation survivors) -----------------------------------


def test_an_active_duplicate_of_an_inactive_rule_is_the_one_judged() -> None:
    """Two rules to the registry, the Inactive one listed first: the Active one serves it, so
    the registry passes naming it (a rule that stays Inactive beside it cuts nothing)."""
    stale = outbound_rule(REGISTRY, "registry", name="pe-registry-old", status="Inactive")
    rules = [stale, *(outbound_rule(r, t) for r, t in REQUIRED)]

    found = list(check.evaluate(managed(rules)))

    assert [Status.PASS] * 4 == [f.status for f in found]
    assert {
        "isolationMode": "AllowOnlyApprovedOutbound",
        "networkStatus": "Active",
        "managedNetworkOf": arm_id(WORKSPACE_TYPE, "mlw-test"),
        "rule": "__SYS_PE_crtest_registry",
        "ruleStatus": "Active",
        "category": "Required",
        "serviceResourceId": REGISTRY,
        "subresourceTarget": "registry",
        "onlineDeployments": 1,
    } == found[0].evidence.observed


def test_a_rule_in_no_state_fails_saying_so_in_either_network_state() -> None:
    """A vault rule whose status ARM left out: 'in no state', not Active, whether the network is
    provisioned (set it again) or not (follows from provisioning)."""
    rules = [outbound_rule(r, t, status=None if t == "vault" else "Active") for r, t in REQUIRED]

    active = list(check.evaluate(managed(rules)))[3]
    unprovisioned = list(check.evaluate(managed(rules, status="Inactive")))[3]

    assert (Status.FAIL, Status.FAIL) == (active.status, unprovisioned.status)
    assert (
        "Workspace mlw-test's managed VNet rule __SYS_PE_kv-test_vault to kv-test (vault) is in "
        "no state, not Active: secret reads from kv-test fail."
    ) == active.message
    assert (
        "Workspace mlw-test's managed VNet rule __SYS_PE_kv-test_vault to kv-test (vault) is in "
        "no state as the managed VNet is not provisioned: secret reads from kv-test fail."
    ) == unprovisioned.message
    assert {
        "isolationMode": "AllowOnlyApprovedOutbound",
        "networkStatus": "Inactive",
        "managedNetworkOf": arm_id(WORKSPACE_TYPE, "mlw-test"),
        "rule": "__SYS_PE_kv-test_vault",
        "ruleStatus": None,
        "category": "Required",
        "serviceResourceId": VAULT,
        "subresourceTarget": "vault",
        "onlineDeployments": 1,
    } == unprovisioned.evidence.observed
    assert (None, "Active") == (
        active.evidence.observed["ruleStatus"],
        active.evidence.observed["networkStatus"],
    )
    assert active.remediation.command is not None and unprovisioned.remediation is None


def test_a_workspace_without_an_isolation_mode_is_skipped_as_disabled() -> None:
    """ARM leaves managedNetwork out of a workspace that never had one: read as Disabled."""
    [finding] = check.evaluate(managed([], isolation=None))

    assert (Status.SKIPPED, arm_id(WORKSPACE_TYPE, "mlw-test")) == (
        finding.status,
        finding.resource_id,
    )
    assert "Workspace mlw-test has no managed VNet (isolation mode Disabled)." == finding.message


def test_a_failed_deployment_list_is_an_error_and_the_rules_are_still_judged() -> None:
    """One endpoint's deployment list failed (503), another lists a deployment: the failed
    list is this check's error, and the rules are judged against what was listed."""
    ws = workspace(
        registry="crtest",
        storage="sttest",
        managed_network="AllowOnlyApprovedOutbound",
        managed_network_status="Active",
        outbound_rules=[outbound_rule(r, t) for r, t in REQUIRED],
    )
    listed, unlisted = endpoint("ep-a"), endpoint("ep-b")
    broken = failed_list(unlisted.id, "deployments")
    seen = facts(
        [ws],
        endpoints=[listed, unlisted],
        deployments=[deployment(of=listed)],
        failed_lists=[broken],
    )

    [error, *verdicts] = check.evaluate(seen)

    assert (Status.ERROR, broken.resource_id) == (error.status, error.resource_id)
    assert (
        f"Cannot read the online deployment list {broken.resource_id}: ARM answered 503 after "
        "retries" == error.message
    )
    assert [Status.PASS] * 4 == [f.status for f in verdicts]
    assert {1} == {f.evidence.observed["onlineDeployments"] for f in verdicts}
