"""privatedns_zone_linked_agent_vnet: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

from netverify.model import Status
from netverify.testing import (
    VNET_ID,
    ZONE_ID,
    check_statuses,
    dns_facts,
    expected_name,
    healthy_answers,
    only_finding,
    private_zone,
)

CHECK_ID = "privatedns_zone_linked_agent_vnet"


def test_healthy_matrix_passes() -> None:
    """One name, its linked zone holds the right record, every resolver answers privately."""
    assert {Status.PASS} == set(check_statuses(CHECK_ID, dns_facts(healthy_answers())))


def test_zone_not_linked() -> None:
    """The zone is linked elsewhere: fail with the link command for the agent's VNet."""
    facts = dns_facts(healthy_answers(), zones=[private_zone(linked=())])

    finding = only_finding(CHECK_ID, facts)

    assert Status.FAIL is finding.status
    assert finding.remediation is not None
    assert (
        f"--zone-name privatelink.api.azureml.ms --name link-vnet-hub --virtual-network {VNET_ID}"
        in (finding.remediation.command or "")
    )


def test_unlinked_zone_with_a_linked_twin_passes() -> None:
    """Another zone of the same name is linked (DNS kept in a hub): the unlinked one is fine."""
    twin = ZONE_ID.replace("rg-test", "rg-hub")
    facts = dns_facts(
        healthy_answers(),
        names=[expected_name(zone_ids=(ZONE_ID, twin))],
        zones=[private_zone(linked=()), private_zone(zone_id=twin)],
    )

    assert [Status.PASS, Status.PASS] == check_statuses(CHECK_ID, facts)
