"""The chain scenario's passing cases: each failing case it plants (tests/test_diagnose.py holds
it to one printed problem each) stands beside a case of the same kind that passes, with the
finding that says so — so a check that went quiet everywhere would fail here."""

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


@pytest.fixture(scope="module")
def chain_events() -> list[dict[str, Any]]:
    return scenario_events("chain")


@pytest.mark.parametrize(("check", "resource", "subject"), PASSING)
def test_each_failing_case_stands_beside_a_passing_one(
    chain_events: list[dict[str, Any]], check: str, resource: str, subject: str
) -> None:
    matching = [
        e
        for e in chain_events
        if e["check_id"] == check
        and e["resource_name"] == resource
        and (e["subject"] or "").endswith(subject)
    ]
    assert [e["status"] for e in matching] == ["pass"], (check, resource, subject)
