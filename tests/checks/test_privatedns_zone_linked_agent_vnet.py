"""privatedns_zone_linked_agent_vnet: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

import dataclasses

import pytest

from netverify.facts import Facts, PrivateDnsZone, Resolver, ResolverKind, VirtualNetwork
from netverify.model import Status
from netverify.testing import (
    RESOLVERS,
    SUBSCRIPTION,
    VNET_ID,
    ZONE_ID,
    arm_id,
    check_findings,
    check_statuses,
    dns_facts,
    expected_name,
    healthy_answers,
    mixed_case,
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


# -- where Azure DNS answers: the agent's VNet, a hub's, several, none read --------------------

SPOKE_ID = arm_id("Microsoft.Network/virtualNetworks", "vnet-spoke")
OTHER_HUB_ID = arm_id("Microsoft.Network/virtualNetworks", "vnet-hub-b")
HUB = VirtualNetwork(VNET_ID, "vnet-hub", ("10.0.0.0/16",), ())
OTHER_HUB = VirtualNetwork(OTHER_HUB_ID, "vnet-hub-b", ("10.3.0.0/16",), ())


def custom(address: str) -> Resolver:
    return Resolver(f"custom {address}", ResolverKind.CUSTOM, address, (f"{address}:53",))


def spoke_facts(servers: tuple[str, ...], zones: list[PrivateDnsZone], **more: object) -> Facts:
    """The agent in a spoke whose DNS servers are ``servers``, the hubs read as endpoint VNets."""
    spoke = VirtualNetwork(SPOKE_ID, "vnet-spoke", ("10.2.0.0/16",), servers, (VNET_ID,))
    return dns_facts(
        healthy_answers(),
        vnet=spoke,
        zones=zones,
        resolvers=[*(custom(s) for s in servers), RESOLVERS[2]],
        endpoint_vnets=[HUB, OTHER_HUB],
        **more,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("servers", "linked", "hubs", "answering"),
    [
        (
            ("10.0.0.4", "10.0.0.5"),
            (VNET_ID,),
            "vnet-hub (whose Azure DNS answers for the VNet's DNS server 10.0.0.4, 10.0.0.5)",
            {VNET_ID: ["10.0.0.4", "10.0.0.5"]},
        ),
        (
            ("10.0.0.4", "10.3.0.4", "10.3.0.5"),
            (mixed_case(VNET_ID), OTHER_HUB_ID),
            "vnet-hub (whose Azure DNS answers for the VNet's DNS server 10.0.0.4), vnet-hub-b "
            "(whose Azure DNS answers for the VNet's DNS server 10.3.0.4, 10.3.0.5)",
            {VNET_ID: ["10.0.0.4"], OTHER_HUB_ID: ["10.3.0.4", "10.3.0.5"]},
        ),
    ],
    ids=["one hub", "two hubs"],
)
def test_a_zone_linked_to_the_hubs_where_the_dns_servers_live_passes(
    servers: tuple[str, ...],
    linked: tuple[str, ...],
    hubs: str,
    answering: dict[str, list[str]],
) -> None:
    """The spoke's DNS servers live in one hub, or in two (one linked by an id spelled in
    another case): the hubs' links are the ones that count; the pass names each hub with its
    servers."""
    facts = spoke_facts(servers, [private_zone(linked=linked)])

    finding = only_finding(CHECK_ID, facts)

    assert (Status.PASS, ZONE_ID) == (finding.status, finding.resource_id)
    assert finding.message == (
        f"Zone privatelink.api.azureml.ms is linked to {hubs}; the agent's VNet vnet-spoke itself "
        "has no link and needs none while its names resolve through that server."
    )
    assert {"linked_vnets": list(answering)} == finding.evidence.expected
    assert (list(linked), answering) == (
        finding.evidence.observed["linked_vnets"],
        finding.evidence.observed["azure_dns_vnets"],
    )


def test_a_zone_linked_only_to_the_spoke_fails_naming_the_hub_and_both_workspaces() -> None:
    """Linked to the agent's VNet but not to the hub whose Azure DNS answers: fail on the hub,
    for both workspaces whose records the zone holds."""
    names = [
        expected_name(),
        dataclasses.replace(
            expected_name("ws2.workspace.eastus.api.azureml.ms", record="ws2.workspace.eastus"),
            workspace_name="mlw-b",
        ),
    ]
    zone = private_zone(
        {"ws.workspace.eastus": ("10.0.1.5",), "ws2.workspace.eastus": ("10.0.1.5",)},
        linked=(SPOKE_ID,),
    )
    facts = spoke_facts(("10.0.0.4", "10.0.0.5"), [zone], names=names)

    finding = only_finding(CHECK_ID, facts)

    assert Status.FAIL is finding.status
    assert finding.message.startswith(
        f"Zone privatelink.api.azureml.ms ({ZONE_ID}) holds the records of mlw-b, mlw-test but "
        "is not linked to vnet-hub, where the VNet's DNS server 10.0.0.4, 10.0.0.5 asks Azure "
        "DNS: Azure DNS there does not answer from it."
    )
    assert "--name link-vnet-hub --virtual-network " + VNET_ID in finding.remediation.command


def test_a_twin_linked_to_one_of_two_answering_hubs_serves_the_names() -> None:
    """The spoke's two DNS servers live in two hubs; a twin zone linked to one of them serves
    the names, so this unlinked zone is not the one to link."""
    twin = ZONE_ID.replace("rg-test", "rg-hub")
    facts = spoke_facts(
        ("10.0.0.4", "10.3.0.4"),
        [private_zone(linked=()), private_zone(zone_id=twin, linked=(OTHER_HUB_ID,))],
        names=[expected_name(zone_ids=(ZONE_ID, twin))],
    )

    unlinked, linked = check_findings(CHECK_ID, facts)

    assert (Status.PASS, Status.FAIL) == (unlinked.status, linked.status)
    assert unlinked.message == (
        f"Zone {ZONE_ID} is not linked to vnet-hub, but {twin} of the same name is."
    )


def test_dns_servers_in_no_vnet_read_need_the_agents_own_link() -> None:
    """A DNS server on premises (in no VNet read): the agent's VNet is the one to link."""
    facts = spoke_facts(("192.168.1.4",), [private_zone()])

    finding = only_finding(CHECK_ID, facts)

    assert Status.FAIL is finding.status
    assert finding.message.startswith(
        f"Zone privatelink.api.azureml.ms ({ZONE_ID}) holds the records of mlw-test but is not "
        "linked to the agent's VNet: Azure DNS there does not answer from it."
    )
    assert ({"linked_vnets": [SPOKE_ID]}, {}) == (
        finding.evidence.expected,
        finding.evidence.observed["azure_dns_vnets"],
    )


def test_without_an_agent_vnet_every_zone_is_skipped() -> None:
    """agent.vnet_id unset: no VNet to judge the links against."""
    finding = only_finding(CHECK_ID, dns_facts(healthy_answers(), agent_vnet=False))

    assert (Status.SKIPPED, ZONE_ID, "agent.vnet_id is not configured: no VNet to judge.") == (
        finding.status,
        finding.resource_id,
        finding.message,
    )


def test_the_agents_own_link_passes_with_its_message() -> None:
    """The default world: the hub is the agent's VNet and its Azure DNS answers."""
    finding = only_finding(CHECK_ID, dns_facts(healthy_answers()))

    assert finding.message == "Zone privatelink.api.azureml.ms is linked to the agent's VNet."


def test_a_zone_in_a_central_subscription_is_linked_there() -> None:
    """The zone lives in a central DNS subscription, the agent's VNet in the spoke's: the link
    is created in the zone's subscription and group (the CLI's current one may be the spoke's),
    the VNet named by its full id."""
    central = "99999999-8888-4777-8666-555555555555"
    zone_id = ZONE_ID.replace(SUBSCRIPTION, central).replace("rg-test", "rg-dns")
    facts = dns_facts(
        healthy_answers(),
        names=[expected_name(zone_ids=(zone_id,))],
        zones=[private_zone(linked=(), zone_id=zone_id)],
    )

    finding = only_finding(CHECK_ID, facts)

    assert (Status.FAIL, zone_id) == (finding.status, finding.resource_id)
    assert finding.remediation is not None
    assert finding.remediation.command == (
        f"az network private-dns link vnet create --subscription {central} --resource-group "
        "rg-dns --zone-name privatelink.api.azureml.ms --name link-vnet-hub --virtual-network "
        f"{VNET_ID} --registration-enabled false"
    )
