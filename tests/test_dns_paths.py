"""Issue 18's kinds beyond the handed cases, against real DNS servers: the VNet whose Azure DNS
really answers (a DNS server VM in a peered hub), and DNS-rebinding protection on servers
other than H18's Unbound. Each failing world is fixed with the remedy netverify gives, and the
fixed world is all-pass: the remedy is the change that works.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from netverify.model import Finding, Status, exit_code
from netverify.runner import run_once
from netverify.sim.custom_dns import DNSMASQ, UNBOUND
from tests.conftest import TenantFactory
from tests.test_dns_root_causes import GUID, KINDS

HUB_SERVER = "10.1.0.10"
SUBSCRIPTION = "00000000-1111-4222-8333-444444444444"
HUB_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ml/providers/"
    "Microsoft.Network/virtualNetworks/vnet-hub"
)


def hub_and_spoke(zone_vnets: list[str]) -> dict[str, Any]:
    """The agent in a spoke whose DNS server is a VM in the peered hub, which forwards every
    name to Azure DNS of the hub; the workspace's endpoint and zones as ``zone_vnets`` say."""
    links = [{"name": f"link-{v}", "vnet": v} for v in zone_vnets]
    return {
        "subscriptions": [SUBSCRIPTION],
        "vnets": [
            {
                "name": "vnet-hub",
                "address_space": ["10.1.0.0/16"],
                "subnets": ["dns", "pe"],
                "peerings": ["vnet-spoke"],
            },
            {
                "name": "vnet-spoke",
                "address_space": ["10.2.0.0/16"],
                "dns_servers": [HUB_SERVER],
            },
        ],
        "workspaces": [{"name": "mlw", "guid": GUID, "private_endpoints": ["pe-mlw"]}],
        "private_endpoints": [
            {
                "name": "pe-mlw",
                "vnet": "vnet-hub",
                "subnet": "pe",
                "target": "mlw",
                "group_id": "amlworkspace",
                "ip": "10.1.1.5",
                "scoring_ip": "10.1.1.7",
            }
        ],
        "online_endpoints": [
            {
                "name": "ep-score",
                "workspace": "mlw",
                "traffic": {"blue": 100},
                "deployments": [{"name": "blue"}],
            }
        ],
        "private_dns_zones": [
            {"service": "aml_api", "links": links},
            {"service": "aml_notebooks", "links": links},
        ],
        "dns": {
            "agent_vnet": "vnet-spoke",
            "custom_servers": [
                {"address": HUB_SERVER, "forwarders": [], "default_forwarder": "azure"}
            ],
        },
    }


def run(start_tenant: TenantFactory, data: dict[str, Any], kind: str) -> list[Finding]:
    return list(run_once(start_tenant(data, kind).config()).findings)


def problems(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.check.id, f.message) for f in findings if f.status in (Status.FAIL, Status.ERROR)]


@pytest.mark.parametrize("kind", KINDS)
def test_zones_linked_to_the_hub_serve_a_spoke_through_a_hub_dns_vm(
    start_tenant: TenantFactory, kind: str
) -> None:
    """A DNS server VM (not a Private Resolver) in the hub: Azure DNS of the hub answers, the
    spoke needs no link - all pass, whatever server plays the VM."""
    findings = run(start_tenant, hub_and_spoke(["vnet-hub"]), kind)

    assert [] == problems(findings)
    links = [f for f in findings if f.check.id == "privatedns_zone_linked_agent_vnet"]
    assert {Status.PASS} == {f.status for f in links}
    assert all(f"server {HUB_SERVER})" in f.message for f in links)


@pytest.mark.parametrize("kind", KINDS)
def test_zones_linked_to_the_spoke_only_fail_where_the_hub_server_asks(
    start_tenant: TenantFactory, kind: str
) -> None:
    """The zones are linked to the agent's spoke, but its DNS server asks Azure DNS of the
    hub: the names resolve publicly there. The link finding names the hub (not the spoke,
    which is linked), and creating the link it proposes turns the world all-pass."""
    findings = run(start_tenant, hub_and_spoke(["vnet-spoke"]), kind)

    links = [
        f
        for f in findings
        if f.check.id == "privatedns_zone_linked_agent_vnet" and f.status is Status.FAIL
    ]
    assert 2 == len(links)
    for link in links:
        assert link.message.endswith(
            f"is not linked to vnet-hub, where the VNet's DNS server {HUB_SERVER} asks Azure "
            "DNS: Azure DNS there does not answer from it."
        )
        assert link.remediation is not None and link.remediation.command is not None
        assert f"--virtual-network {HUB_ID} " in link.remediation.command
        assert "--name link-vnet-hub " in link.remediation.command
    # The remedy, applied: link the zones to the hub as well.
    fixed = run(start_tenant, hub_and_spoke(["vnet-spoke", "vnet-hub"]), kind)
    assert [] == problems(fixed)
    assert 0 == exit_code(fixed)


REBINDING_PLAYERS = [
    pytest.param(
        "dnsmasq",
        marks=[
            pytest.mark.servers,
            pytest.mark.skipif(not os.access(DNSMASQ, os.X_OK), reason=f"{DNSMASQ} missing"),
        ],
    ),
    pytest.param(
        "unbound",
        marks=[
            pytest.mark.servers,
            pytest.mark.skipif(not os.access(UNBOUND, os.X_OK), reason=f"{UNBOUND} missing"),
        ],
    ),
    "standin",
]


def protected(exempt: list[str]) -> dict[str, Any]:
    """The hub's own DNS server, with the Azure ML forwarders and rebinding protection on."""
    data = hub_and_spoke(["vnet-hub"])
    data["vnets"][0]["dns_servers"] = ["10.1.0.4"]
    data["dns"] = {
        "agent_vnet": "vnet-hub",
        "custom_servers": [
            {"address": "10.1.0.4", "rebinding_protection": True, "rebind_exempt": exempt}
        ],
    }
    return data


@pytest.mark.parametrize("kind", REBINDING_PLAYERS)
def test_rebinding_protection_is_named_and_its_exemption_works(
    start_tenant: TenantFactory, kind: str
) -> None:
    """dnsmasq's --stop-dns-rebind empties the answer, Unbound's private-address keeps the
    CNAMEs: both are named as rebinding protection (never a missing forwarder), and the
    exemption the finding names - applied as the server's own setting - makes it all-pass."""
    findings = run(start_tenant, protected([]), kind)

    [server] = [f for f in findings if f.status is Status.FAIL and f.subject == "custom 10.1.0.4"]
    assert server.check.id == "dns_custom_server_forwards_zones"
    assert "reaches Azure DNS but drops the private address of 4 name(s)" in server.message
    assert server.evidence is not None
    assert [] == server.evidence.observed["zones_not_forwarded"]
    assert server.remediation is not None and server.remediation.command is None
    text = server.remediation.text
    exempt = ["api.azureml.ms", "inference.ml.azure.com", "notebooks.azure.net"]
    assert f"Exempt {', '.join(exempt)} from the server's DNS-rebinding protection" in text
    assert all(f"rebind-domain-ok=/{zone}/" in text for zone in exempt)

    fixed = run(start_tenant, protected(exempt), kind)
    assert [] == problems(fixed)


def resolver_with_rules(domains: list[str]) -> dict[str, Any]:
    """H13's topology with the Private Resolver declared: the spoke's DNS server is the
    inbound endpoint 10.1.0.4 in the hub, and a ruleset linked to the hub sends ``domains``
    to that inbound endpoint (the simulated Azure DNS of the hub applies the rules)."""
    data = hub_and_spoke(["vnet-hub"])
    data["vnets"][1]["dns_servers"] = ["10.1.0.4"]
    data["dns"]["custom_servers"][0]["address"] = "10.1.0.4"
    data["dns_resolvers"] = [
        {
            "name": "dnspr",
            "vnet": "vnet-hub",
            "inbound_endpoints": [{"name": "in", "ip": "10.1.0.4"}],
        }
    ]
    data["dns_forwarding_rulesets"] = [
        {
            "name": "rs-hub",
            "resolver": "dnspr",
            "vnets": ["vnet-hub"],
            "rules": [
                {"name": f"r{n}", "domain": d, "targets": ["10.1.0.4"]}
                for n, d in enumerate(domains)
            ],
        }
    ]
    return data


@pytest.mark.parametrize("kind", KINDS)
def test_a_rule_looping_one_zone_is_named_where_the_zone_goes_silent(
    start_tenant: TenantFactory, kind: str
) -> None:
    """Only the API privatelink zone loops: the server answers notebooks names and goes
    silent on the API and scoring ones. The cause is the rule (not a dead forwarder, and no
    forwarder is proposed); dropping the rule turns the world all-pass."""
    findings = run(start_tenant, resolver_with_rules(["privatelink.api.azureml.ms."]), kind)

    [server] = [
        f
        for f in findings
        if f.check.id == "dns_custom_server_forwards_zones" and f.status is Status.FAIL
    ]
    assert (
        "gets no answer for api.azureml.ms, inference.ml.azure.com while it answers other zones"
        in server.message
    )
    assert (
        "forwarding rule r0 of ruleset rs-hub (linked to vnet-hub) sends privatelink.api.azureml.ms to 10.1.0.4"
        in server.message
    )
    assert server.remediation is not None
    assert "forward-zone" not in server.remediation.text
    assert (server.remediation.command or "").startswith(
        "az dns-resolver forwarding-rule delete --ids "
    )
    assert 1 == exit_code(findings)

    assert [] == problems(run(start_tenant, resolver_with_rules([]), kind))


def test_rules_looping_every_zone_are_an_outage_with_the_rules_as_cause(
    start_tenant: TenantFactory,
) -> None:
    """Both privatelink zones loop through the stand-in inbound endpoint: nothing resolves
    through it - a fail (exit 1) with no error, the rules named; the ruleset check agrees."""
    domains = ["privatelink.api.azureml.ms.", "privatelink.notebooks.azure.net."]
    findings = run(start_tenant, resolver_with_rules(domains), "standin")

    assert 1 == exit_code(findings)
    assert not [f for f in findings if f.status is Status.ERROR]
    failed = {f.check.id for f in findings if f.status is Status.FAIL}
    assert {"dns_custom_server_forwards_zones", "dns_forwarding_ruleset_no_loop"} <= failed
    [server] = [f for f in findings if f.check.id == "dns_custom_server_forwards_zones"]
    assert "gives no answer for any of the 4 name(s)" in server.message
    assert "forwarding rule r1 of ruleset rs-hub" in server.message
