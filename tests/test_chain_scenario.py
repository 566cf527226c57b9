"""The chain and spoke scenarios' passing cases: each failing case they plant
(tests/test_diagnose.py holds them to one printed problem each) stands beside a case of the same
kind that passes, with the finding that says so — so a check that went quiet everywhere would
fail here."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import scenario_events

# (check, resource name, subject's end or "") of a pass the scenario must produce.
PASSING = [
    # a registry and a storage account whose names resolve to their endpoints
    ("dns_name_resolves_private_endpoint", "crchain.azurecr.io", ""),
    ("dns_name_resolves_private_endpoint", "crchain.eastus.data.azurecr.io", ""),
    ("dns_name_resolves_private_endpoint", "stqueues.file.core.windows.net", ""),
    ("dns_name_resolves_private_endpoint", "stqueues.queue.core.windows.net", ""),
    # a project's endpoint served through its hub's private endpoint
    ("dns_name_resolves_private_endpoint", "ep-proj.eastus.inference.ml.azure.com", "/mlw-proj"),
    ("online_endpoint_scoring_path_reachable", "ep-proj", ""),
    # a forwarding ruleset whose rules answer privately
    ("dns_forwarding_rule_targets_answer_privately", "ruleset-hub", ""),
    # a managed VNet whose outbound rules to each dependency are Active
    ("workspace_managed_network_outbound_rules_active", "mlw-managed", "crmanaged:registry"),
    ("workspace_managed_network_outbound_rules_active", "mlw-managed", "stmanaged:blob"),
    ("workspace_managed_network_outbound_rules_active", "mlw-managed", "stmanaged:file"),
    ("workspace_managed_network_outbound_rules_active", "mlw-managed", "kv-managed:vault"),
    # a Kubernetes endpoint whose router answers, a scoring path that works end to end (401)
    ("kubernetes_endpoint_router_reachable", "ep-k8s", ""),
    ("online_endpoint_scoring_path_reachable", "ep-score-ok", ""),
]


# The spoke scenario: the zones the spoke links pass beside the registry zone it does not
# link (the chain's registry zone, linked to its agent's VNet, passes too:
# tests/test_dependency_names.py).
PASSING_SPOKE = [
    ("privatedns_zone_linked_agent_vnet", "privatelink.api.azureml.ms", ""),
    ("privatedns_zone_linked_agent_vnet", "privatelink.notebooks.azure.net", ""),
    ("privatedns_zone_linked_agent_vnet", "privatelink.vaultcore.azure.net", ""),
    ("privatedns_zone_linked_agent_vnet", "privatelink.blob.core.windows.net", ""),
    ("dns_name_resolves_private_endpoint", "kv-spoke.vault.azure.net", ""),
    ("dns_name_resolves_private_endpoint", "stspoke.blob.core.windows.net", ""),
]


@pytest.fixture(scope="module")
def events() -> dict[str, list[dict[str, Any]]]:
    return {name: scenario_events(name) for name in ("chain", "spoke")}


@pytest.mark.parametrize(
    ("scenario", "check", "resource", "subject"),
    [("chain", *p) for p in PASSING] + [("spoke", *p) for p in PASSING_SPOKE],
)
def test_each_failing_case_stands_beside_a_passing_one(
    events: dict[str, list[dict[str, Any]]],
    scenario: str,
    check: str,
    resource: str,
    subject: str,
) -> None:
    matching = [
        e
        for e in events[scenario]
        if e["check_id"] == check
        and e["resource_name"] == resource
        and (e["subject"] or "").endswith(subject)
    ]
    assert [e["status"] for e in matching] == ["pass"], (check, resource, subject)
