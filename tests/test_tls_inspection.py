"""A TLS-inspecting device between the agent's VNet and a private endpoint, end to end: the
simulated tenant's front ends present certificates for the names they serve from the tenant's
CA (trusted through ``reachability.ca_file``); a ``[[dns.tls_interceptors]]`` device presents
one from a CA of its own. Beyond H22 (another name): a device that mints a certificate for the
very name asked (Azure Firewall Premium-style), in another cloud, and an expired one."""

from __future__ import annotations

from typing import Any

import pytest

from netverify.model import Finding, Status, exit_code
from netverify.runner import run_once
from netverify.sim.scenario import ScenarioError, parse_scenario
from tests.conftest import TenantFactory

GUID = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"
API = f"{GUID}.workspace.usgovvirginia.api.ml.azure.us"
MINTING_CA = "Contoso Firewall Premium Intermediate CA"


def scenario(*interceptors: dict[str, Any]) -> dict[str, Any]:
    """A US Government workspace, custom-DNS-free, its API at 10.20.1.5, scoring at 10.20.1.7."""
    return {
        "cloud": "AzureUSGovernment",
        "subscriptions": ["22222222-3333-4444-8555-666666666666"],
        "default_location": "usgovvirginia",
        "vnets": [{"name": "vnet-gov", "address_space": ["10.20.0.0/16"], "subnets": ["pe"]}],
        "workspaces": [{"name": "mlw-gov", "guid": GUID, "private_endpoints": ["pe-gov"]}],
        "private_endpoints": [
            {
                "name": "pe-gov",
                "vnet": "vnet-gov",
                "subnet": "pe",
                "target": "mlw-gov",
                "group_id": "amlworkspace",
                "ip": "10.20.1.5",
                "scoring_ip": "10.20.1.7",
            }
        ],
        "online_endpoints": [
            {
                "name": "ep-gov",
                "workspace": "mlw-gov",
                "traffic": {"blue": 100},
                "deployments": [{"name": "blue"}],
            }
        ],
        "private_dns_zones": [
            {"service": "aml_api", "links": [{"name": "link", "vnet": "vnet-gov"}]},
            {"service": "aml_notebooks", "links": [{"name": "link", "vnet": "vnet-gov"}]},
        ],
        "dns": {"tls_interceptors": list(interceptors)},
    }


def run(start_tenant: TenantFactory, data: dict[str, Any]) -> list[Finding]:
    tenant = start_tenant(parse_scenario(data, "test"), custom_dns="standin")
    return list(run_once(tenant.config()).findings)


def failing(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.status in (Status.FAIL, Status.ERROR)]


def test_certificate_minted_for_the_name_by_an_untrusted_ca(start_tenant: TenantFactory) -> None:
    """The device in front of 10.20.1.5 mints certificates for the names asked (the API, cert
    and notebooks names all live there): each name fails, blaming only the issuer; the
    exemption the finding names (the device gone) makes the run all-pass."""
    device = {
        "ip": "10.20.1.5",
        "names": [
            "*.workspace.usgovvirginia.api.ml.azure.us",
            "*.workspace.usgovvirginia.cert.api.ml.azure.us",
            "*.usgovvirginia.notebooks.usgovcloudapi.net",
        ],
        "issuer": MINTING_CA,
    }

    bad = failing(run(start_tenant, scenario(device)))

    assert [("privateendpoint_tls_reachable", "10.20.1.5:443")] * 3 == [
        (f.check.id, f.subject) for f in bad
    ]
    assert all("not valid for" not in f.message for f in bad)
    [api] = [f for f in bad if f.resource_id == API]
    assert api.message.startswith(
        f"{API} at 10.20.1.5 answers TLS on port 443, but the certificate presented is not the "
        "private endpoint's: its issuer "
    )
    assert (
        f"OU=TLS inspection,O={MINTING_CA} is not trusted (unable to get local issuer certificate)."
        in (api.message)
    )
    assert api.evidence is not None
    certificate = api.evidence.observed["certificate"]
    assert device["names"] == certificate["dns_names"]
    assert f"OU=TLS inspection,O={MINTING_CA}" == certificate["issuer"]
    assert api.remediation is not None
    assert api.remediation.text.startswith(f"Exempt {API} from TLS inspection")

    fixed = run(start_tenant, scenario())
    assert [] == failing(fixed)
    assert 0 == exit_code(fixed)


def test_expired_certificate_of_a_device_is_a_certificate_finding(
    start_tenant: TenantFactory,
) -> None:
    """An expired certificate for another name in front of the scoring IP: a certificate
    finding (what answered, its validity), not a connectivity one; the API name still passes."""
    device = {
        "ip": "10.20.1.7",
        "names": ["proxy.contoso.example"],
        "issuer": "Contoso Proxy CA",
        "expired": True,
    }

    findings = run(start_tenant, scenario(device))

    # The scoring request meets the same device: a symptom of this finding, not a cause.
    [bad, scoring] = sorted(
        failing(findings), key=lambda f: f.check.id != "privateendpoint_tls_reachable"
    )
    assert scoring.check.id == "online_endpoint_scoring_path_reachable"
    assert scoring.caused_by == (bad.uid,)
    assert "ep-gov.usgovvirginia.inference.ml.azure.us at 10.20.1.7 answers TLS" in bad.message
    assert "it is not valid for ep-gov.usgovvirginia.inference.ml.azure.us" in bad.message
    assert bad.evidence is not None
    assert bad.evidence.observed["tcp"] is True
    certificate = bad.evidence.observed["certificate"]
    assert ("proxy.contoso.example", "2021-01-01T00:00:00+00:00") == (
        certificate["dns_names"][0],
        certificate["not_after"],
    )
    assert "NSGs" not in (bad.remediation.text if bad.remediation else "")
    passing = [
        f.resource_id
        for f in findings
        if f.check.id == "privateendpoint_tls_reachable" and f.status is Status.PASS
    ]
    assert API in passing


def test_two_devices_in_front_of_one_ip_is_a_scenario_error() -> None:
    device = {"ip": "10.20.1.5", "names": ["proxy.contoso.example"], "issuer": "Contoso Proxy CA"}

    with pytest.raises(ScenarioError) as raised:
        parse_scenario(scenario(device, device), "two.toml")

    assert "tls_interceptors: more than one in front of 10.20.1.5" in str(raised.value)
