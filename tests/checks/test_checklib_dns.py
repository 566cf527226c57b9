"""What the DNS checks share (``netverify.checklib.dns``): the matrix as evidence, how an answer
reads, which links a wrong answer follows from, and which names exist - on the shapes the
checks' own tests do not reach (several servers, no Azure DNS asked, mixed addresses)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from netverify.azure.dns_names import REGISTRY
from netverify.checklib.dns import (
    answer_detail,
    answered_privately,
    describe,
    exists_privately,
    impact,
    looping_rules,
    name_evidence,
    record_breaks,
    record_names,
    resolutions,
    resource_group,
    serving_zones,
    wrong_address_needs,
)
from netverify.config import WORKSPACE_TYPE
from netverify.facts import (
    DnsAnswer,
    DnsFacts,
    ForwardingRule,
    ForwardingRuleset,
    InboundEndpoint,
    PrivateResolvers,
    Read,
)
from netverify.model import Link
from netverify.testing import (
    API_NAME,
    AZURE,
    CUSTOM,
    ENDPOINT_ID,
    HOST,
    RESOLVERS,
    SECOND_SERVER,
    TWO_SERVERS_VNET,
    VNET_ID,
    ZONE_ID,
    arm_id,
    dns_answer,
    dns_facts,
    expected_name,
    healthy_answers,
    private_zone,
)


def _dns(answers: Sequence[DnsAnswer] = (), **kwargs: Any) -> DnsFacts:
    facts = dns_facts(answers, **kwargs)
    assert facts.dns is not None
    return facts.dns


def test_the_matrix_rounds_latency_to_a_tenth_and_marks_resolvers_not_asked() -> None:
    """Each cell in full: the raw answer with its detail and a latency rounded to 0.1 ms; a
    resolver not asked is NOT_ASKED with nothing else; FQDNs are lower-cased, once each."""
    host = dataclasses.replace(
        dns_answer(HOST, (), rcode="TIMEOUT", chain=()), latency_ms=1.26, detail="no answer"
    )
    dns = _dns([host, dns_answer(AZURE)])

    host_cell = {
        "fqdn": API_NAME,
        "resolver": HOST,
        "resolver_kind": "host",
        "rcode": "TIMEOUT",
        "addresses": [],
        "cname_chain": [],
        "authoritative": False,
        "soa_zone": None,
        "server": "10.0.0.4:53",
        "latency_ms": 1.3,
        "detail": "no answer",
    }

    assert resolutions(dns, [API_NAME.upper(), API_NAME]) == [
        host_cell,
        {"fqdn": API_NAME, "resolver": CUSTOM, "resolver_kind": "custom", "rcode": "NOT_ASKED"},
        {
            "fqdn": API_NAME,
            "resolver": AZURE,
            "resolver_kind": "azure",
            "rcode": "NOERROR",
            "addresses": ["10.0.1.5"],
            "cname_chain": ["ws.workspace.eastus.privatelink.api.azureml.ms"],
            "authoritative": False,
            "soa_zone": None,
            "server": "10.0.0.4:53",
            "latency_ms": 1.0,
        },
    ]
    # One answer in full: the cell's answer fields, and the transport.
    assert answer_detail(host) == {
        **{k: v for k, v in host_cell.items() if k not in ("fqdn", "resolver", "resolver_kind")},
        "transport": "udp",
    }


def test_answers_read_as_a_reader_says_them() -> None:
    """Public when any address is public; every address listed; a bare NOERROR is "no
    address"; a failure its summary."""
    assert [
        "public 10.0.1.5, 52.1.1.1",
        "private 10.0.1.5, 10.0.1.6",
        "no address",
        "a CNAME to x.privatelink.api.azureml.ms and no address",
        "NXDOMAIN",
        "TIMEOUT",
    ] == [
        describe(a)
        for a in (
            dns_answer(HOST, ("10.0.1.5", "52.1.1.1")),
            dns_answer(HOST, ("10.0.1.5", "10.0.1.6")),
            dns_answer(HOST, (), chain=()),
            dns_answer(HOST, (), chain=("x.privatelink.api.azureml.ms",)),
            dns_answer(HOST, (), rcode="NXDOMAIN", chain=()),
            dns_answer(HOST, (), rcode="TIMEOUT", chain=()),
        )
    ]


def test_an_address_no_endpoint_has_follows_from_the_resolvers_that_answered_it() -> None:
    """A connection to 52.1.1.1 for the name (asked in upper case): Azure DNS's record and
    the answers holding that address - not Azure DNS's right one. Nothing for an address of
    the endpoint itself, nor for a name no endpoint serves."""
    dns = _dns(
        [dns_answer(HOST, ("52.1.1.1",)), dns_answer(CUSTOM, ("52.1.1.1",)), dns_answer(AZURE)]
    )

    assert wrong_address_needs(dns, API_NAME.upper(), "52.1.1.1") == {
        Link.record(API_NAME),
        Link.answer(API_NAME, HOST),
        Link.answer(API_NAME, CUSTOM),
    }
    assert wrong_address_needs(dns, API_NAME, "10.0.1.5") == frozenset()
    assert wrong_address_needs(dns, "other.example", "52.1.1.1") == frozenset()


def test_without_azure_dns_nor_a_vnet_path_no_name_exists_privately() -> None:
    """No Azure DNS asked and no VNet read: nothing shows the name exists - not "every one of
    no answers said so"."""
    dns = _dns(healthy_answers(), agent_vnet=False, resolvers=RESOLVERS[:2])

    assert exists_privately(dns, expected_name()) is False


def test_a_name_exists_by_the_zones_of_the_vnet_where_the_path_ends() -> None:
    """Azure DNS times out, but the zone linked to the VNet where the VNet's server asks Azure
    DNS holds the record: the name exists. Without that link it does not."""
    answers = [dns_answer(AZURE, (), rcode="TIMEOUT", chain=())]

    assert exists_privately(_dns(answers), expected_name()) is True
    assert (
        exists_privately(_dns(answers, zones=[private_zone(linked=())]), expected_name()) is False
    )


def test_a_name_is_answered_privately_only_when_every_vnet_server_does() -> None:
    """Two DNS servers in the VNet; one gives the private IP, the other a public one."""
    answers = [dns_answer(CUSTOM), dns_answer(SECOND_SERVER.name, ("52.1.1.1",))]
    dns = _dns(answers, vnet=TWO_SERVERS_VNET, resolvers=[*RESOLVERS, SECOND_SERVER])

    assert answered_privately(dns, expected_name()) is False
    assert answered_privately(_dns([dns_answer(CUSTOM)]), expected_name()) is True


def test_without_the_agent_vnet_every_readable_zone_may_serve() -> None:
    zone = private_zone(linked=())

    assert [zone] == serving_zones(_dns(zones=[zone], agent_vnet=False), expected_name())


def test_a_registry_name_that_does_not_resolve_names_the_image_build_failure() -> None:
    registry = dataclasses.replace(expected_name("crtest.azurecr.io"), purpose=REGISTRY)
    other = dataclasses.replace(registry, workspace_name="mlw-b")

    assert impact([registry, other, expected_name()]) == (
        " Image builds and pulls of mlw-b, mlw-test's deployments fail with ImageBuildFailure "
        '("failed to communicate with the workspace\'s container registry").'
    )
    assert impact([expected_name()]) == ""


def test_remediation_names_fill_every_ip_and_an_empty_group() -> None:
    name = expected_name(ips=("10.0.1.5", "10.0.1.6"))

    assert record_names(name, private_zone()) == {
        "workspace_name": "mlw-test",
        "subscription": "00000000-1111-2222-3333-444444444444",
        "resource_group": "rg-test",
        "zone_name": "privatelink.api.azureml.ms",
        "record_name": "ws.workspace.eastus",
        "ip": "10.0.1.5,10.0.1.6",
    }
    assert resource_group("/subscriptions/00000000-1111-2222-3333-444444444444") == ""
    assert resource_group(ZONE_ID) == "rg-test"


def test_a_loop_counts_only_in_the_vnets_asked_about_and_for_the_names_asked_about() -> None:
    """Two rulesets loop back into their own inbound endpoints; only the one linked to the hub
    is asked about. Of its two rules, the one for a domain none of the names is in is not a
    loop for them."""
    east = VNET_ID.replace("vnet-hub", "vnet-east")
    inbound = (
        InboundEndpoint(f"{VNET_ID}/in", "10.0.0.68", VNET_ID),
        InboundEndpoint(f"{east}/in", "10.5.0.68", east),
    )
    pl = ForwardingRule("/rs/pl", "privatelink.api.azureml.ms", ("10.0.0.68",), True)
    corp = ForwardingRule("/rs/corp", "corp.example", ("10.0.0.68",), True)
    east_pl = ForwardingRule("/rs-east/pl", "privatelink.api.azureml.ms", ("10.5.0.68",), True)
    hub_rules = ForwardingRuleset("/rs", (VNET_ID,), (pl, corp))
    east_rules = ForwardingRuleset("/rs-east", (east,), (east_pl,))
    dns = dataclasses.replace(
        _dns(),
        private_resolvers=(Read("r", value=PrivateResolvers(inbound, (hub_rules, east_rules))),),
    )
    corp_name = dataclasses.replace(expected_name("a.corp.example"), zone_name="corp.example")

    assert [(hub_rules, pl)] == looping_rules(dns, [VNET_ID.upper()], [expected_name()])
    assert [(hub_rules, pl), (hub_rules, corp)] == looping_rules(
        dns, [VNET_ID], [expected_name(), corp_name]
    )
    assert [] == looping_rules(dns, [VNET_ID], [])


def test_a_zone_data_fail_breaks_the_record_of_each_name() -> None:
    names = [expected_name(API_NAME.upper()), expected_name("b.api.azureml.ms")]

    assert {Link.record(API_NAME), Link.record("b.api.azureml.ms")} == record_breaks(names)


def test_a_project_name_says_its_hub_in_the_evidence() -> None:
    """A hub-based project's scoring name is served by its hub's endpoint: the evidence names
    the hub beside the project; a workspace's own name has no hub keys."""
    hub_id = arm_id(WORKSPACE_TYPE, "hub-a")
    name = dataclasses.replace(
        expected_name(), purpose="scoring", hub_id=hub_id, hub_name="hub-a", sources=("scoringUri",)
    )
    dns = _dns(healthy_answers(), names=[name])

    evidence = name_evidence(dns, name)

    assert {k: v for k, v in evidence.items() if k != "resolutions"} == {
        "fqdn": API_NAME,
        "purpose": "scoring",
        "workspace": "mlw-test",
        "hub": "hub-a",
        "hub_id": hub_id,
        "private_endpoints": [ENDPOINT_ID],
        "sources": ["scoringUri"],
    }
    assert [HOST, CUSTOM, AZURE] == [c["resolver"] for c in evidence["resolutions"]]  # type: ignore[union-attr]
    assert "hub" not in name_evidence(dns, expected_name())
