"""DNS Private Resolver rules against the simulated ARM and real DNS servers: the chain
scenario's ruleset that forwards the blob privatelink zone to an on-premises server (which
answers from public DNS) is the root cause of the blob name's failure; the ruleset beside it
(an on-prem zone, and vault.azure.net to an inbound endpoint whose Azure DNS answers privately)
passes. The rule covers the whole blob privatelink zone, so the remedy never deletes it: with
the blob zone also linked to the DNS VNet, it adds a rule for the blob name alone to that VNet's
inbound endpoint, and applying that turns the world all-pass."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

import pytest

from netverify.azure.net import is_private
from netverify.diagnose import problems
from netverify.model import Finding, Status
from netverify.runner import run_once
from tests.conftest import TenantFactory

CHECK_ID = "dns_forwarding_rule_targets_answer_privately"
BLOB = "stchain.blob.core.windows.net"
VAULT = "kv-chain.vault.azure.net"
GROUP = "/subscriptions/0c7e5a31-2d4b-4f6a-9e8d-1b2c3d4e5f60/resourceGroups/rg-chain"
RULESETS = f"{GROUP}/providers/Microsoft.Network/dnsForwardingRulesets"
BROKEN, HEALTHY = f"{RULESETS}/ruleset-hub-broken", f"{RULESETS}/ruleset-hub"
BAD_RULE = f"{BROKEN}/forwardingRules/blob-to-onprem"
AZURE = "azure 168.63.129.16"

pytestmark = pytest.mark.servers


# The chain scenario's healthy workspace and what it links to; its other workspaces plant
# problems of their own, left out here so the rule's effect is all there is to see.
HEALTHY_PART = {"mlw-chain", "kv-chain", "crchain", "stchain", "ep-chain"}


def chain(*, zone_in_dns_vnet: bool = False, **rule_changes: Any) -> dict[str, Any]:
    """The built-in chain scenario as data, its healthy workspace alone, its broken blob rule
    changed by ``rule_changes`` (``drop=True`` drops the rule); ``zone_in_dns_vnet`` links the
    blob zone to vnet-dns too, so Azure DNS behind its inbound endpoint answers the blob name."""
    source = resources.files("netverify.sim") / "scenarios" / "chain.toml"
    data = tomllib.loads(source.read_text(encoding="utf-8"))
    for kind, key in (
        ("workspaces", "name"),
        ("key_vaults", "name"),
        ("registries", "name"),
        ("storage_accounts", "name"),
        ("private_endpoints", "target"),
    ):
        data[kind] = [item for item in data.get(kind, []) if item[key] in HEALTHY_PART]
    data["online_endpoints"] = [
        e for e in data.get("online_endpoints", []) if e["name"] in HEALTHY_PART
    ]
    data["dns"].pop("host_stale", None)  # the scoring block's stale cache entry
    ruleset = next(r for r in data["dns_forwarding_rulesets"] if r["name"] == "ruleset-hub-broken")
    if rule_changes.get("drop"):
        ruleset["rules"] = []
    else:
        ruleset["rules"][0].update(rule_changes)
    if zone_in_dns_vnet:
        blob = next(z for z in data["private_dns_zones"] if z.get("service") == "blob")
        blob["links"] = [*blob["links"], {"name": "link-dns", "vnet": "vnet-dns"}]
    data["planted"] = []
    return data


def run(start_tenant: TenantFactory, data: dict[str, Any]) -> list[Finding]:
    tenant = start_tenant(data, "bind")
    return list(run_once(tenant.config()).findings)


def by_resource(findings: list[Finding]) -> dict[str, Finding]:
    return {f.resource_id: f for f in findings if f.check.id == CHECK_ID}


def test_a_rule_to_a_server_that_answers_publicly_is_the_root_cause(
    start_tenant: TenantFactory,
) -> None:
    findings = run(start_tenant, chain())

    rulesets = by_resource(findings)
    broken, healthy = rulesets[BROKEN], rulesets[HEALTHY]
    assert Status.FAIL is broken.status
    assert broken.message.startswith(
        "Ruleset ruleset-hub-broken (linked to vnet-hub) sends 1 name(s) under "
        "privatelink.blob.core.windows.net (rule blob-to-onprem) to 192.168.50.4, which "
        "answer(s) public 52.160."
    )
    assert broken.evidence is not None
    [route] = broken.evidence.observed["routes"]
    assert (route["fqdn"], route["resolver"], route["rule"], route["targets"]) == (
        BLOB,
        AZURE,
        BAD_RULE,
        ["192.168.50.4"],
    )
    assert route["answer"]["cname_chain"] == ["stchain.privatelink.blob.core.windows.net"]
    # The target itself was asked (through the stand-in on loopback): it answers publicly.
    [asked] = route["target_answers"]
    target, direct = asked["target"], asked["answer"]
    assert "192.168.50.4" == target and direct["rcode"] == "NOERROR"
    assert direct["addresses"] and not any(is_private(a) for a in direct["addresses"])
    assert f"(asked directly: 192.168.50.4 public {direct['addresses'][0]}" in broken.message
    # The blob zone is linked to the hub only: no inbound endpoint elsewhere answers the name,
    # and deleting the whole-zone rule is not offered (other names live under it).
    assert broken.remediation is not None and broken.remediation.command is None
    assert broken.remediation.text.endswith(
        "Deleting the rule would let Azure DNS of the linked VNets answer them from the zones "
        "linked there, but would also take every other name under "
        "privatelink.blob.core.windows.net away from 192.168.50.4, which netverify did not check."
    )
    # The passing ruleset: vault.azure.net goes to the inbound endpoint of vnet-dns, whose
    # Azure DNS answers from the vault zone linked there; the on-prem rule touches no name.
    assert Status.PASS is healthy.status
    assert healthy.evidence is not None
    assert [(r["fqdn"], r["answer"]["addresses"]) for r in healthy.evidence.observed["routes"]] == [
        (VAULT, ["10.20.1.10"])
    ]
    # Every fail folds under the rule: one problem.
    [problem] = problems(findings)
    assert broken.uid == problem.lead.uid
    assert {(f.check.id, f.resource_id) for f in problem.symptoms} == {
        ("dns_name_resolves_private_endpoint", BLOB)
    }


def test_a_silent_target_with_a_mixed_case_domain_folds_the_resolver_outage_under_it(
    start_tenant: TenantFactory,
) -> None:
    """A target nothing answers at: Azure DNS (and the host through it) gives no answer, and
    dns_resolver_answers' outage follows from the rule, not beside it."""
    findings = run(
        start_tenant,
        chain(domain="PrivateLink.Blob.Core.Windows.NET.", service=None, targets=["10.99.0.9"]),
    )

    broken = by_resource(findings)[BROKEN]
    assert Status.FAIL is broken.status
    assert "under privatelink.blob.core.windows.net (rule blob-to-onprem) to 10.99.0.9" in (
        broken.message
    )
    # 10.99.0.9 is no address of the simulated world: never asked directly.
    assert broken.evidence is not None
    assert [[{"target": "10.99.0.9", "answer": None}]] == [
        r["target_answers"] for r in broken.evidence.observed["routes"]
    ]
    assert "asked directly" not in broken.message
    [problem] = problems(findings)
    assert broken.uid == problem.lead.uid
    assert ("dns_resolver_answers", "168.63.129.16") in {
        (f.check.id, f.resource_id) for f in problem.symptoms
    }


NARROWER_RULE = {"name": "nv-stchain-blob-core-windows-net", "targets": ["10.21.0.4"]}


@pytest.mark.parametrize(
    "domain",
    [
        pytest.param("PrivateLink.Blob.Core.Windows.NET.", id="exactly-the-zone-mixed-case"),
        pytest.param("core.windows.net.", id="a-broad-domain"),
    ],
)
def test_applying_the_remedy_turns_the_world_all_pass(
    start_tenant: TenantFactory, domain: str
) -> None:
    """The blob zone linked to vnet-dns as well: the finding adds a rule for the blob name
    alone to vnet-dns's inbound endpoint, in the ruleset's subscription and group. Applied to
    the world (the rule added, the broad rule left as it is), every check passes."""
    findings = run(start_tenant, chain(zone_in_dns_vnet=True, domain=domain, service=None))

    broken = by_resource(findings)[BROKEN]
    assert Status.FAIL is broken.status and broken.remediation is not None
    assert broken.remediation.command == (
        "az dns-resolver forwarding-rule create --subscription "
        "0c7e5a31-2d4b-4f6a-9e8d-1b2c3d4e5f60 --resource-group rg-chain --ruleset-name "
        f"ruleset-hub-broken --name {NARROWER_RULE['name']} --domain-name {BLOB}. "
        '--target-dns-servers "[{ip-address:10.21.0.4,port:53}]"'
    )

    fixed = chain(zone_in_dns_vnet=True, domain=domain, service=None)
    ruleset = next(r for r in fixed["dns_forwarding_rulesets"] if r["name"] == "ruleset-hub-broken")
    ruleset["rules"].append({**NARROWER_RULE, "domain": f"{BLOB}."})
    findings = run(start_tenant, fixed)

    assert [] == [(f.check.id, f.resource_id) for f in findings if f.status is Status.FAIL]
    assert [] == [(f.check.id, f.resource_id) for f in findings if f.status is Status.ERROR]
    rules = by_resource(findings)[BROKEN]
    assert Status.PASS is rules.status and rules.evidence is not None
    assert [(BLOB, f"{RULESETS}/ruleset-hub-broken/forwardingRules/{NARROWER_RULE['name']}")] == [
        (r["fqdn"], r["rule"]) for r in rules.evidence.observed["routes"]
    ]


def behind_custom_server(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with the hub using one plain DNS server, 10.20.0.4 in the hub, that forwards
    everything to Azure DNS of the hub (where the rulesets apply)."""
    hub = next(v for v in data["vnets"] if v["name"] == "vnet-hub")
    hub["dns_servers"] = ["10.20.0.4"]
    data["dns"]["custom_servers"].append({"address": "10.20.0.4", "default_forwarder": "azure"})
    return data


@pytest.mark.parametrize(
    ("custom_dns", "changes", "ruleset"),
    [
        # BIND in front: the blob rule's target is a server that is down.
        pytest.param("bind", {"targets": ["10.99.0.9"]}, BROKEN, id="bind-blob-target-down"),
        # dnsmasq in front: the vault rule's inbound endpoint answers nothing (the blob rule
        # dropped), a different rule and server of the same kind.
        pytest.param("dnsmasq", {"drop": True}, HEALTHY, id="dnsmasq-vault-endpoint-down"),
    ],
)
def test_a_custom_server_behind_a_silent_target_folds_under_the_rule(
    start_tenant: TenantFactory, custom_dns: str, changes: dict[str, Any], ruleset: str
) -> None:
    """The VNet's plain DNS server forwards to Azure DNS, whose rule sends a needed zone to a
    target that does not answer: the server passes on Azure DNS's failure, so its
    dns_resolver_answers fail follows from the rule - one problem, not two."""
    data = behind_custom_server(chain(**changes))
    if ruleset == HEALTHY:
        inbound = next(s for s in data["dns"]["custom_servers"] if s["address"] == "10.21.0.4")
        inbound["down"] = True
    tenant = start_tenant(data, custom_dns)  # type: ignore[arg-type]
    findings = list(run_once(tenant.config()).findings)

    rule = by_resource(findings)[ruleset]
    assert Status.FAIL is rule.status
    if ruleset == HEALTHY:
        # The inbound endpoint, asked directly, answers nothing: observed.
        assert "(asked directly: 10.21.0.4 " in rule.message
    [server] = [
        f for f in findings if f.check.id == "dns_resolver_answers" and f.resource_id == "10.20.0.4"
    ]
    assert (Status.FAIL, (rule.uid,)) == (server.status, server.caused_by)
    [problem] = problems(findings)
    assert rule.uid == problem.lead.uid
