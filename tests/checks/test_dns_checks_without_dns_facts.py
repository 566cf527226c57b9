"""A run that did not probe DNS gives no finding from any DNS or reachability check."""

import pytest

from netverify.facts import Facts, Reachability, Read, ReadFailure, ReadProblem
from netverify.testing import API_NAME, check_findings, dns_facts, healthy_answers

# DNS facts on which every one of these checks says something: healthy answers, one TLS probe,
# and a ruleset read that failed (the ruleset checks skip saying why).
SPEAKING = dns_facts(
    healthy_answers(),
    reachability=[Reachability(API_NAME, "10.0.1.5", 443, "10.0.1.5:443", True, True)],
    private_resolvers=[
        Read(
            "/subscriptions/s/providers/Microsoft.Network/dnsResolvers",
            failure=ReadFailure(ReadProblem.UNAVAILABLE, "503"),
        )
    ],
)

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
    """No DNS facts (dns = None): nothing said; the same check on DNS facts says something, so
    the silence is the missing facts' doing."""
    assert check_findings(check_id, Facts()) == []
    assert check_findings(check_id, SPEAKING) != []
