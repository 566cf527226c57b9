"""Each DNS root cause fires against real custom DNS servers and stays quiet when healthy.

One scenario drives the simulated ARM and the DNS: Azure DNS and public DNS are stand-ins
(StaticDnsServer), the VNet's custom DNS server is a real BIND, dnsmasq or Unbound configured
with the scenario's forwarders (and the Python stand-in the demo falls back to). Every packet
stays on loopback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from netverify.model import Finding, Status
from netverify.runner import run_once
from netverify.sim.custom_dns import DNSMASQ, NAMED, UNBOUND
from netverify.sim.scenario import FaultSpec
from tests.checks.test_dns_checks_without_dns_facts import DNS_CHECKS
from tests.conftest import TenantFactory

GUID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
API = f"{GUID}.workspace.eastus.api.azureml.ms"
NOTEBOOKS = f"ml-mlw-eastus-{GUID}.eastus.notebooks.azure.net"
SCORING = "ep-score.eastus.inference.ml.azure.com"
CLOUD_ZONES = [
    "api.azureml.ms",
    "notebooks.azure.net",
    "instances.ml.azure.ms",
    "aznbcontent.net",
    "inference.ml.azure.com",
]
DNS_PREFIXES = (
    "privatedns_",
    "dns_",
    "privateendpoint_tls_reachable",
)
BINARIES = {"bind": NAMED, "dnsmasq": DNSMASQ, "unbound": UNBOUND}
KINDS = [
    pytest.param(
        kind,
        marks=[
            pytest.mark.servers,
            pytest.mark.skipif(not os.path.exists(binary), reason=f"{binary} missing"),
        ],
    )
    for kind, binary in BINARIES.items()
] + ["standin"]
# Servers that resolve a public CNAME's target again through their own forwarders.
CHASES_CNAMES = {"bind", "unbound"}


def scenario(**changes: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """One healthy workspace with an online endpoint, a hub VNet with one custom DNS server."""
    data: dict[str, Any] = {
        "subscriptions": ["00000000-1111-4222-8333-444444444444"],
        "vnets": [{"name": "vnet-hub", "dns_servers": ["10.0.0.4"], "subnets": ["pe"]}],
        "workspaces": [{"name": "mlw", "guid": GUID, "private_endpoints": ["pe-mlw"]}],
        "private_endpoints": [
            {
                "name": "pe-mlw",
                "vnet": "vnet-hub",
                "subnet": "pe",
                "target": "mlw",
                "group_id": "amlworkspace",
                "ip": "10.0.1.5",
                "scoring_ip": "10.0.1.7",
            }
        ],
        "online_endpoints": [{"name": "ep-score", "workspace": "mlw"}],
        "private_dns_zones": [
            {"service": "aml_api", "links": [{"name": "hub", "vnet": "vnet-hub"}]},
            {"service": "aml_notebooks", "links": [{"name": "hub", "vnet": "vnet-hub"}]},
        ],
        "dns": {"custom_servers": [{"address": "10.0.0.4"}]},
        # A resolver whose ruleset sends only the company's own domain on premises.
        "dns_resolvers": [
            {
                "name": "dnspr",
                "vnet": "vnet-hub",
                "inbound_endpoints": [{"name": "in", "ip": "10.0.0.68"}],
            }
        ],
        "dns_forwarding_rulesets": [
            {
                "name": "rs",
                "resolver": "dnspr",
                "vnets": ["vnet-hub"],
                "rules": [{"name": "corp", "domain": "corp.example.", "targets": ["192.168.10.4"]}],
            }
        ],
    }
    for change in changes.values():
        change(data)
    return data


def forwarders(*zones: str | tuple[str, str]) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["dns"]["custom_servers"][0]["forwarders"] = [
            {"zone": z} if isinstance(z, str) else {"zone": z[0], "to": z[1]} for z in zones
        ]

    return change


def run(start_tenant: TenantFactory, data: dict[str, Any], kind: str) -> list[Finding]:
    tenant = start_tenant(data, kind)
    result = run_once(tenant.config())
    return [f for f in result.findings if f.check.id.startswith(DNS_PREFIXES)]


def quiet(findings: list[Finding]) -> None:
    """Nothing fails, and the verdicts a healthy world gets are there: the custom server's
    forwarding passes and every name resolves to its private endpoint (a run that judged
    nothing cannot pass this)."""
    assert {} == failing(findings)
    passed = {(f.check.id, f.resource_id) for f in findings if f.status is Status.PASS}
    assert ("dns_custom_server_forwards_zones", "10.0.0.4") in passed
    headline = [f for f in findings if f.check.id == "dns_name_resolves_private_endpoint"]
    assert len(headline) >= 4 and {Status.PASS} == {f.status for f in headline}


def failing(findings: list[Finding]) -> dict[tuple[str, str], Finding]:
    """(check id, resource) of every finding that is not pass or skipped."""
    return {
        (f.check.id, f.resource_id): f for f in findings if f.status in (Status.FAIL, Status.ERROR)
    }


@pytest.mark.parametrize("kind", KINDS)
def test_healthy_topology_is_quiet(start_tenant: TenantFactory, kind: str) -> None:
    """Healthy: every DNS check passes through every resolver, the matrix is all private."""
    findings = run(start_tenant, scenario(), kind)

    quiet(findings)
    passed = {f.check.id for f in findings if f.status is Status.PASS}
    assert set(DNS_CHECKS) == passed
    [headline] = [
        f
        for f in findings
        if f.check.id == "dns_name_resolves_private_endpoint" and f.resource_id == SCORING
    ]
    assert headline.evidence is not None
    row = headline.evidence.observed["resolutions"]
    assert ["host", "custom 10.0.0.4", "azure 168.63.129.16"] == [c["resolver"] for c in row]
    assert all(c["addresses"] == ["10.0.1.7"] and c["rcode"] == "NOERROR" for c in row)


@pytest.mark.parametrize("kind", KINDS)
def test_missing_forwarder_names_the_zone(start_tenant: TenantFactory, kind: str) -> None:
    """Without notebooks.azure.net the custom server gives notebooks names the public answer."""
    data = scenario(fwd=forwarders(*[z for z in CLOUD_ZONES if z != "notebooks.azure.net"]))

    bad = failing(run(start_tenant, data, kind))

    finding = bad[("dns_custom_server_forwards_zones", "10.0.0.4")]
    assert finding.evidence is not None
    assert ["notebooks.azure.net"] == finding.evidence.observed["zones_not_forwarded"]
    assert f"{NOTEBOOKS} -> public 52.160.0.3" in finding.message
    assert finding.remediation is not None
    assert (
        "Add-DnsServerConditionalForwarderZone -Name notebooks.azure.net -MasterServers 168.63.129.16"
        == finding.remediation.command
    )
    assert 'zone "notebooks.azure.net" { type forward;' in finding.remediation.text
    assert "server=/notebooks.azure.net/168.63.129.16" in finding.remediation.text
    assert ("dns_name_resolves_private_endpoint", NOTEBOOKS) in bad
    # The control plane is fine: no zone or record finding.
    assert not [k for k in bad if k[0].startswith("privatedns_")]


@pytest.mark.parametrize("kind", KINDS)
def test_forwarder_for_the_wrong_zone(start_tenant: TenantFactory, kind: str) -> None:
    """inference.ml.azure.com forwarded for the wrong region: the scoring name leaves for
    public DNS. BIND and Unbound then resolve its privatelink CNAME target through the
    api.azureml.ms forwarder and still get the private IP; dnsmasq hands back the public IP."""
    zones = [
        z if z != "inference.ml.azure.com" else "westus.inference.ml.azure.com" for z in CLOUD_ZONES
    ]

    findings = run(start_tenant, scenario(fwd=forwarders(*zones)), kind)
    bad = failing(findings)

    if kind in CHASES_CNAMES:
        quiet(findings)
    else:
        finding = bad[("dns_custom_server_forwards_zones", "10.0.0.4")]
        assert finding.evidence is not None
        assert ["inference.ml.azure.com"] == finding.evidence.observed["zones_not_forwarded"]


@pytest.mark.parametrize("kind", KINDS)
def test_only_privatelink_zones_forwarded(start_tenant: TenantFactory, kind: str) -> None:
    """Forwarding only the privatelink zones works on BIND and Unbound, which chase the public
    CNAME into them; dnsmasq does not, and the finding says to forward the public zone."""
    data = scenario(fwd=forwarders("privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"))

    findings = run(start_tenant, data, kind)
    bad = failing(findings)

    if kind in CHASES_CNAMES:
        quiet(findings)
        return
    finding = bad[("dns_custom_server_forwards_zones", "10.0.0.4")]
    assert finding.evidence is not None
    assert [
        "api.azureml.ms",
        "inference.ml.azure.com",
        "notebooks.azure.net",
    ] == finding.evidence.observed["zones_not_forwarded"]
    assert "does not follow the CNAME into privatelink.api.azureml.ms" in finding.message


@pytest.mark.parametrize("kind", KINDS)
def test_forwarder_to_the_wrong_address(start_tenant: TenantFactory, kind: str) -> None:
    """api.azureml.ms forwarded to an address that does not answer: the VNet's server fails
    names Azure DNS resolves - an outage of the workload (a fail, exit 1), not a gap in what
    netverify saw - and Azure DNS is still checked and passes."""
    # (BIND answers SERVFAIL; dnsmasq and Unbound time out.)
    zones = [z if z != "api.azureml.ms" else (z, "10.9.9.9") for z in CLOUD_ZONES]

    findings = run(start_tenant, scenario(fwd=forwarders(*zones)), kind)

    bad = failing(findings)
    error = bad[("dns_resolver_answers", "10.0.0.4")]
    assert Status.FAIL is error.status
    assert "every client that uses this resolver cannot resolve them" in error.message
    assert error.evidence is not None
    assert {API, API.replace(".api.", ".cert.api.")} <= set(
        error.evidence.observed["failed_names_that_exist"]
    )
    # BIND answers SERVFAIL at once; dnsmasq and Unbound stay silent past the query timeout.
    assert set(error.evidence.observed["failed"]) <= {"SERVFAIL", "TIMEOUT"}
    asked = {c["fqdn"] for c in error.evidence.observed["resolutions"]}
    assert {API, API.replace(".api.", ".cert.api.")} <= asked
    azure = [
        f
        for f in findings
        if f.check.id == "dns_resolver_answers" and f.resource_id == "168.63.129.16"
    ]
    assert [Status.PASS] == [f.status for f in azure]


@pytest.mark.parametrize("kind", KINDS)
def test_zone_not_linked(start_tenant: TenantFactory, kind: str) -> None:
    """The API zone is not linked to the VNet: Azure DNS answers the public address."""

    def unlink(data: dict[str, Any]) -> None:
        data["private_dns_zones"][0]["links"] = []

    bad = failing(run(start_tenant, scenario(unlink=unlink), kind))

    zone = next(k for k in bad if k[0] == "privatedns_zone_linked_agent_vnet")
    finding = bad[zone]
    assert finding.remediation is not None
    assert (finding.remediation.command or "").startswith(
        "az network private-dns link vnet create --subscription 00000000-1111-4222-8333-444444444444 "
        "--resource-group rg-ml --zone-name privatelink.api.azureml.ms"
    )
    assert "public" in bad[("dns_name_resolves_private_endpoint", API)].message
    assert ("privatedns_zone_exists", zone[1]) not in bad


@pytest.mark.parametrize("kind", KINDS)
def test_record_missing(start_tenant: TenantFactory, kind: str) -> None:
    """The wildcard scoring record is missing: the scoring name has no private answer."""

    def drop(data: dict[str, Any]) -> None:
        data["private_endpoints"][0]["missing_records"] = ["scoring"]

    bad = failing(run(start_tenant, scenario(drop=drop), kind))

    finding = bad[("privatedns_record_present", SCORING)]
    assert f"*.{GUID}.inference.eastus" in finding.message
    assert finding.remediation is not None
    assert f"--record-set-name '*.{GUID}.inference.eastus' --ipv4-address 10.0.1.7" in (
        finding.remediation.command or ""
    )
    assert ("dns_name_resolves_private_endpoint", SCORING) in bad
    assert ("privatedns_record_present", API) not in bad


@pytest.mark.parametrize("kind", KINDS)
def test_stale_record(start_tenant: TenantFactory, kind: str) -> None:
    """The API record holds an old IP: stale, and that IP does not answer TLS."""

    def stale(data: dict[str, Any]) -> None:
        data["private_endpoints"][0]["stale_records"] = {"api": "10.0.1.99"}

    bad = failing(run(start_tenant, scenario(stale=stale), kind))

    assert "holds 10.0.1.99" in bad[("privatedns_record_matches_endpoint", API)].message
    assert "10.0.1.99" in bad[("privateendpoint_tls_reachable", API)].message
    assert ("dns_answer_inside_vnet", API) not in bad


@pytest.mark.parametrize("kind", KINDS)
def test_resolver_down_fails_the_workload_and_the_rest_is_checked(
    start_tenant: TenantFactory, kind: str
) -> None:
    """The VNet's DNS server is down while Azure DNS resolves every name: the workload cannot
    resolve them - fails on the server, its resolver and each name (no cause proven, so no
    forwarder proposed) - and Azure DNS and the records still pass."""

    def down(data: dict[str, Any]) -> None:
        data["dns"]["custom_servers"][0]["down"] = True

    findings = run(start_tenant, scenario(down=down), kind)

    bad = failing(findings)
    assert {
        "dns_resolver_answers",
        "dns_name_resolves_private_endpoint",
        "dns_custom_server_forwards_zones",
    } == {k[0] for k in bad}
    assert {Status.FAIL} == {f.status for f in bad.values() if f.resource_id != "168.63.129.16"}
    server = bad[("dns_custom_server_forwards_zones", "10.0.0.4")]
    assert "every client that uses it cannot resolve them; cause not identified." in server.message
    assert server.remediation is not None and server.remediation.command is None
    records = [f for f in findings if f.check.id == "privatedns_record_present"]
    assert {Status.PASS} == {f.status for f in records}
    azure = [
        f
        for f in findings
        if f.check.id == "dns_resolver_answers" and f.resource_id == "168.63.129.16"
    ]
    assert [Status.PASS] == [f.status for f in azure]


def test_unreadable_inputs_are_errors_and_the_rest_is_judged(start_tenant: TenantFactory) -> None:
    """A 403 on the private endpoint and a 500 on the online endpoint list are error findings
    naming what could not be read; nothing is silently judged on fewer names."""
    data = scenario()
    data["workspaces"].append(
        {"name": "mlw2", "guid": GUID.replace("0a1b", "ffff"), "private_endpoints": ["pe-mlw"]}
    )
    tenant = start_tenant(data, "standin")
    tenant.arm.inject(FaultSpec(path="/workspaces/mlw2/onlineEndpoints$", status=500))
    tenant.arm.inject(FaultSpec(path="/privateEndpoints/pe-mlw$", status=403))

    findings = run_once(tenant.config()).findings

    errors = {
        f.resource_id.rsplit("/", 2)[-2:][-1]: f
        for f in findings
        if f.check.id == "dns_name_resolves_private_endpoint" and f.status is Status.ERROR
    }
    assert {"pe-mlw", "onlineEndpoints"} == set(errors)
    assert "Microsoft.Network/privateEndpoints/read" in errors["pe-mlw"].message
    assert "ARM answered 500" in errors["onlineEndpoints"].message


def test_reachability_can_be_turned_off(start_tenant: TenantFactory) -> None:
    """With reachability.enabled = false no connection is tried and no TLS finding is made."""
    tenant = start_tenant(scenario(), "standin")

    result = run_once(tenant.config(reachability={"enabled": False}))

    assert result.facts.dns is not None
    assert () == result.facts.dns.reachability
    assert [] == [f for f in result.findings if f.check.id == "privateendpoint_tls_reachable"]
    # The names are still judged: only the connections are not tried.
    assert [] != [f for f in result.findings if f.check.id == "dns_name_resolves_private_endpoint"]
    # Only the scoring path probe's request reached the front end: it has its own switch.
    assert ["ep-score.eastus.inference.ml.azure.com"] == tenant.endpoints.server_names


@pytest.mark.parametrize("kind", KINDS)
def test_zone_missing(start_tenant: TenantFactory, kind: str) -> None:
    """The zone group names a notebooks zone that was deleted: zone missing, public answer."""

    def delete(data: dict[str, Any]) -> None:
        data["private_dns_zones"] = data["private_dns_zones"][:1]
        data["private_endpoints"][0]["deleted_zones"] = ["aml_notebooks"]

    bad = failing(run(start_tenant, scenario(delete=delete), kind))

    zone = next(f for (check_id, _), f in bad.items() if check_id == "privatedns_zone_exists")
    assert zone.resource_id.endswith("/privateDnsZones/privatelink.notebooks.azure.net")
    assert "public" in bad[("dns_name_resolves_private_endpoint", NOTEBOOKS)].message
    assert ("dns_name_resolves_private_endpoint", API) not in bad


@pytest.mark.parametrize("kind", KINDS)
def test_answer_outside_the_vnet(start_tenant: TenantFactory, kind: str) -> None:
    """The certificate record points into another network: outside the address space."""
    cert = API.replace(".api.", ".cert.api.")

    def elsewhere(data: dict[str, Any]) -> None:
        data["private_endpoints"][0]["stale_records"] = {"cert": "192.168.50.8"}

    bad = failing(run(start_tenant, scenario(elsewhere=elsewhere), kind))

    finding = bad[("dns_answer_inside_vnet", cert)]
    assert finding.evidence is not None
    assert {"192.168.50.8"} == set(finding.evidence.observed["outside"])


@pytest.mark.parametrize("kind", KINDS)
def test_host_resolver_with_a_stale_cache(start_tenant: TenantFactory, kind: str) -> None:
    """The host's cache still answers an old IP: it differs from the VNet's DNS server."""

    def cache(data: dict[str, Any]) -> None:
        data["dns"]["host_stale"] = [{"fqdn": API, "ips": ["10.0.1.55"]}]

    bad = failing(run(start_tenant, scenario(cache=cache), kind))

    assert "with private 10.0.1.55" in bad[("dns_host_resolver_matches_vnet", API)].message
    assert ("dns_custom_server_forwards_zones", "10.0.0.4") not in bad
    assert not [k for k in bad if k[0].startswith("privatedns_")]


VAULT = "kv-mlw.vault.azure.net"


def with_vault(data: dict[str, Any]) -> None:
    """The workspace's Key Vault behind its own private endpoint, in the Key Vault zone."""
    data["workspaces"][0]["key_vault"] = "kv-mlw"
    data["key_vaults"] = [{"name": "kv-mlw", "private_endpoints": ["pe-kv"]}]
    data["private_endpoints"].append(
        {
            "name": "pe-kv",
            "vnet": "vnet-hub",
            "subnet": "pe",
            "target": "kv-mlw",
            "group_id": "vault",
            "ip": "10.0.1.10",
        }
    )
    data["private_dns_zones"].append(
        {"service": "keyvault", "links": [{"name": "hub", "vnet": "vnet-hub"}]}
    )


@pytest.mark.parametrize("kind", KINDS)
def test_linked_key_vault_resolves_privately(start_tenant: TenantFactory, kind: str) -> None:
    """The vault's name is checked too: private through every resolver when all is well."""
    findings = run(start_tenant, scenario(vault=with_vault), kind)

    quiet(findings)
    [vault] = [
        f
        for f in findings
        if f.check.id == "dns_name_resolves_private_endpoint" and f.resource_id == VAULT
    ]
    assert "resolves to its private endpoint 10.0.1.10" in vault.message


@pytest.mark.parametrize("kind", KINDS)
def test_key_vault_record_and_forwarder_missing(start_tenant: TenantFactory, kind: str) -> None:
    """Only Azure ML's zones forwarded: the vault gets the public answer, and the finding names
    both Key Vault zones (BIND and Unbound resolve the privatelink.vaultcore.azure.net target
    again, so vault.azure.net alone is not enough); a missing record is a finding of its own."""

    def no_record(data: dict[str, Any]) -> None:
        data["private_endpoints"][1]["missing_records"] = ["vault"]

    bad = failing(run(start_tenant, scenario(vault=with_vault, fwd=forwarders(*CLOUD_ZONES)), kind))
    evidence = bad[("dns_custom_server_forwards_zones", "10.0.0.4")].evidence
    assert evidence is not None
    assert ["vault.azure.net", "vaultcore.azure.net"] == evidence.observed["zones_not_forwarded"]

    bad = failing(run(start_tenant, scenario(vault=with_vault, gone=no_record), kind))
    assert (
        "Zone privatelink.vaultcore.azure.net has no A record kv-mlw"
        in bad[("privatedns_record_present", VAULT)].message
    )


@pytest.mark.parametrize("kind", KINDS)
def test_vault_zone_alone_is_not_enough_for_bind_and_unbound(
    start_tenant: TenantFactory, kind: str
) -> None:
    """vault.azure.net forwarded, vaultcore.azure.net not: BIND and Unbound resolve the
    privatelink.vaultcore.azure.net target through public DNS and get the public IP; dnsmasq
    keeps Azure DNS's whole answer and gets the private one."""
    data = scenario(vault=with_vault, fwd=forwarders(*CLOUD_ZONES, "vault.azure.net"))

    findings = run(start_tenant, data, kind)
    bad = failing(findings)

    if kind in CHASES_CNAMES:
        assert "public" in bad[("dns_custom_server_forwards_zones", "10.0.0.4")].message
    else:
        quiet(findings)
