"""A run that did not probe DNS gives no finding from any DNS or reachability check."""

import pytest

from netverify.facts import Facts
from netverify.testing import check_findings

DNS_CHECKS = [
    "dns_answer_inside_vnet",
    "dns_custom_server_forwards_zones",
    "dns_forwarding_rule_targets_answer_privately",
    "dns_forwarding_ruleset_no_loop",
    "dns_host_resolver_matches_vnet",
    "dns_name_resolves_private_endpoint",
    "dns_resolver_answers",
    "privatedns_record_matches_endpoint",
    "privatedns_record_present",
    "privatedns_zone_exists",
    "privatedns_zone_linked_agent_vnet",
    "privateendpoint_tls_reachable",
]


@pytest.mark.parametrize("check_id", DNS_CHECKS)
def test_without_dns_facts_nothing_is_said(check_id: str) -> None:
    assert check_findings(check_id, Facts()) == []
