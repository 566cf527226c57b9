"""Every real-world case of issue 12 (``tests/cases/real_world/``) runs as handed and gives the
verdict its README states; every failing case, with the fix that works applied to its scenario,
comes out all-pass (exit code 0) - so the remedy netverify names is the change that works.

Each case runs end to end: the simulated tenant on loopback, the real Azure SDK clients, and a
real BIND (or dnsmasq/Unbound, as the case says) playing the VNet's DNS server.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from netverify.checklib.catalog import load_checks
from netverify.diagnose import cause_identified, problems
from netverify.model import Finding, Status, exit_code
from netverify.runner import run_once
from netverify.sim.custom_dns import DNSMASQ, NAMED, UNBOUND
from netverify.sim.scenario import builtin_scenario, load_scenario, parse_scenario
from netverify.sim.tenant import CustomDnsKind
from tests.conftest import TenantFactory, healthy_only

CASES = Path(__file__).parent / "cases" / "real_world"
SERVERS = {"bind": NAMED, "unbound": UNBOUND, "dnsmasq": DNSMASQ}

Verdict = Callable[[list[Finding]], None]
Fix = Callable[[dict[str, Any]], None]


def run_case(
    start_tenant: TenantFactory, scenario: dict[str, Any] | Path, custom_dns: CustomDnsKind
) -> list[Finding]:
    loaded = (
        load_scenario(scenario)
        if isinstance(scenario, Path)
        else parse_scenario(scenario, "fixed case")
    )
    tenant = start_tenant(loaded, custom_dns=custom_dns)
    # The scoring path probe is on, as users run it: each case's scoring front ends answer as
    # the simulator serves them (tests/test_scoring_path.py has the probe's own tests).
    return list(run_once(tenant.config()).findings)


def case_data(name: str) -> dict[str, Any]:
    """The case's scenario as data, its side files read in (to apply a fix to)."""
    [path] = CASES.glob(f"{name}-*.toml")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    for server in data.get("dns", {}).get("custom_servers", []):
        side = server.pop("local_zones_file", None)
        if side:
            server["local_zones"] = json.loads((CASES / side).read_text(encoding="utf-8"))
        config = server.pop("config_file", None)
        if config:
            server["config"] = (CASES / config).read_text(encoding="utf-8")
    return data


def fails(findings: list[Finding], check_id: str | None = None) -> list[Finding]:
    return [f for f in findings if f.status is Status.FAIL and check_id in (None, f.check.id)]


def text(finding: Finding) -> str:
    remedy = finding.remediation
    return " ".join(
        [finding.message, remedy.text if remedy else "", remedy.command or "" if remedy else ""]
    )


# Every case's world has a workspace and names to resolve: a run of it that passes judged both.
JUDGED_IN_EVERY_WORLD = {"workspace_v1_legacy_mode_disabled", "dns_name_resolves_private_endpoint"}


def all_pass(findings: list[Finding], *healed: str) -> None:
    """No fail and nothing unobserved: the run's exit code is 0, and the checks of
    ``JUDGED_IN_EVERY_WORLD`` and ``healed`` (those a fix was for) each made a pass."""
    assert [] == [
        (f.check.id, f.message) for f in findings if f.status in (Status.FAIL, Status.ERROR)
    ]
    assert 0 == exit_code(findings)
    passed = {f.check.id for f in findings if f.status is Status.PASS}
    assert set() == (JUDGED_IN_EVERY_WORLD | set(healed)) - passed


def no_remedy_says(findings: list[Finding], *words: str) -> None:
    for finding in fails(findings):
        for word in words:
            assert word not in text(finding).lower(), (finding.check.id, text(finding))


# -- verdicts, as the cases' README states them -------------------------------------------------


def egress_rejected(findings: list[Finding]) -> None:
    [finding] = fails(findings)
    assert finding.check.id == "registry_egress_connection_approved"
    assert "egress connection pe-cra-egress-1 is Rejected, not Approved" in finding.message
    assert "(ep-a/blue)" in finding.message


def egress_approved(findings: list[Finding]) -> None:
    all_pass(findings)
    statuses = {f.status for f in findings if f.check.id == "registry_egress_connection_approved"}
    assert {Status.PASS} == statuses


def two_endpoints_from_the_hub(findings: list[Finding]) -> None:
    all_pass(findings)
    resolved = [f for f in findings if f.check.id == "dns_name_resolves_private_endpoint"]
    assert resolved and all("10.0.1." in f.message for f in resolved)
    # The second VNet's zones are not linked to the hub, and must not be: the hub already links
    # zones of those names (Azure refuses a second link).
    second = [
        f
        for f in findings
        if f.check.id == "privatedns_zone_linked_agent_vnet" and "/rg-second/" in f.resource_id
    ]
    assert second and all("but /subscriptions/" in f.message for f in second)
    assert not any(f.remediation for f in second)


def kubernetes_not_judged_as_managed(findings: list[Finding]) -> None:
    """H03: the Kubernetes endpoint is judged at its cluster address - which the case's world
    does not serve (it records ARM only), so its router is not requested and says so - never
    as a managed endpoint's name; the managed endpoint's name and scoring path pass."""
    all_pass(findings)
    [router] = [f for f in findings if f.check.id == "kubernetes_endpoint_router_reachable"]
    assert (Status.SKIPPED, "Endpoint ep-k8s was not requested at 10.0.227.36") == (
        router.status,
        router.message.split(":")[0],
    )
    [scoring] = [f for f in findings if f.check.id == "online_endpoint_scoring_path_reachable"]
    assert (Status.PASS, "ep-managed") == (scoring.status, scoring.resource_id.split("/")[-1])
    assert not [f for f in findings if "ep-k8s.eastus.inference" in f.resource_id]
    [note] = [
        f
        for f in findings
        if f.resource_id.endswith("/onlineEndpoints/ep-k8s")
        and f.check.id == "dns_name_resolves_private_endpoint"
    ]
    assert note.status is Status.SKIPPED
    assert "scored at its cluster's address (10.0.227.36)" in note.message
    managed = [
        f
        for f in findings
        if f.resource_id == "ep-managed.eastus.inference.ml.azure.com"
        and f.check.id == "dns_name_resolves_private_endpoint"
    ]
    assert [Status.PASS] == [f.status for f in managed]


def notebooks_record_missing_in_central_zone(findings: list[Finding]) -> None:
    record = fails(findings, "privatedns_record_present")
    assert len(record) == 1 and "notebooks" in record[0].message
    assert (
        "/subscriptions/22222222-2222-4222-8222-222222222222/resourceGroups/rg-dns/"
        in record[0].message
    )
    assert "not in the zone group of private endpoint pe-mlw-a" in record[0].message
    assert "dns-zone-group add" in text(record[0])
    assert all("notebooks" in f.resource_id for f in fails(findings))
    assert not fails(findings, "privatedns_zone_exists")
    no_remedy_says(findings, "zone create", "recreate", "delete")


def forward_privatelink_only(kind: str) -> Verdict:
    def verdict(findings: list[Finding]) -> None:
        if kind == "dnsmasq":
            [finding] = fails(findings, "dns_custom_server_forwards_zones")
            assert finding.evidence is not None
            for zone in ("api.azureml.ms", "notebooks.azure.net", "inference.ml.azure.com"):
                assert zone in finding.evidence.observed["zones_not_forwarded"]
        else:  # BIND and Unbound chase the CNAME into the forwarded privatelink zone
            all_pass(findings)

    return verdict


def notebooks_judged(findings: list[Finding]) -> None:
    all_pass(findings)
    notebooks = [
        f
        for f in findings
        if f.check.id == "dns_name_resolves_private_endpoint"
        and ".notebooks.azure.net" in f.resource_id
    ]
    assert [Status.PASS] == [f.status for f in notebooks]
    # "ml-<workspace>-<region>-<guid>" fits one DNS label: the workspace name is truncated.
    assert notebooks[0].resource_id.startswith("ml-mlworkspace-port-eastus-bbbbbbbb-")


PUBLIC_SPELLINGS = (".azureml.ms", ".ml.azure.com", ".notebooks.azure.net", ".vault.azure.net")


def cloud_spelling(suffix: str) -> Verdict:
    def verdict(findings: list[Finding]) -> None:
        all_pass(findings)
        names = {
            f.resource_id for f in findings if f.check.id == "dns_name_resolves_private_endpoint"
        }
        assert any(n.endswith(suffix) for n in names), names
        assert not [n for n in names if n.endswith(PUBLIC_SPELLINGS)]

    return verdict


def scaling_is_a_note(findings: list[Finding]) -> None:
    all_pass(findings)
    [note] = [f for f in findings if f.check.id == "online_deployment_provisioning_succeeded"]
    assert note.status is Status.SKIPPED and "is Scaling" in note.message


def manual_zones_pass(findings: list[Finding]) -> None:
    all_pass(findings)
    zones = [f for f in findings if f.check.id == "privatedns_zone_exists"]
    assert zones and {Status.SKIPPED} == {f.status for f in zones}
    assert all("is needed: the VNet's DNS already answers" in f.message for f in zones)


def scoring_follows_from(findings: list[Finding], cause: Finding) -> None:
    """The scoring path probe's request to ep-a fails (Azure ML's front end is not reached the
    way the case's world is broken) and that fail is folded under ``cause``, not a problem."""
    [scoring] = fails(findings, "online_endpoint_scoring_path_reachable")
    assert scoring.resource_id.endswith("/onlineEndpoints/ep-a")
    assert (cause.uid,) == scoring.caused_by


def local_copy_lacks_the_wildcard(findings: list[Finding]) -> None:
    """H12: through the server the scoring names get NXDOMAIN from its local copy: their fails
    (and the scoring request's, which cannot resolve its host) follow from the server."""
    [server] = fails(findings, "dns_custom_server_forwards_zones")
    assert "own copy of privatelink.api.azureml.ms" in server.message
    assert (
        "*.aaaaaaaa-0000-4000-8000-000000000001.inference.eastus.privatelink.api.azureml.ms. IN A 10.0.1.7"
        in text(server)
    )
    scoring_follows_from(findings, server)
    assert all(
        "inference" in f.resource_id or f is server or f.caused_by == (server.uid,)
        for f in fails(findings)
    )
    no_remedy_says([server], "forward-zone", "server=/", "type forward")


CONNECTION = "privateendpoint_connection_approved"
H19_CONNECTION = (
    "/subscriptions/11111111-1111-4111-8111-111111111111/resourceGroups/rg-ml/providers/"
    "Microsoft.MachineLearningServices/workspaces/mlw-a/privateEndpointConnections/pe-mlw-a"
)


def workspace_connection_rejected(findings: list[Finding]) -> None:
    """H19: one problem, the connection and its state, with the approval - no TCP failure
    blamed on NSGs, no DNS finding on names whose endpoint carries no traffic; the scoring
    request, whose TCP connection to 10.0.1.7 gets no answer, is its symptom."""
    [finding] = fails(findings, CONNECTION)
    scoring_follows_from(findings, finding)
    assert ["online_endpoint_scoring_path_reachable", CONNECTION] == sorted(
        f.check.id for f in fails(findings)
    )
    assert (CONNECTION, H19_CONNECTION) == (finding.check.id, finding.subject)
    assert finding.message == (
        "Workspace mlw-a: the connection of private endpoint pe-mlw-a is Rejected, not "
        "Approved: the owner rejected it, so Private Link drops the traffic to 10.0.1.5, "
        "10.0.1.6, 10.0.1.7 although ep-a.eastus.inference.ml.azure.com still resolve(s) there."
    )
    assert finding.evidence is not None and finding.remediation is not None
    observed = finding.evidence.observed
    assert ("Rejected", "Rejected") == (
        observed["status"],
        observed["privateEndpointSide"][0]["status"],
    )
    assert ["10.0.1.5", "10.0.1.6", "10.0.1.7"] == observed["ips"]
    assert "bring it back to Pending" in finding.remediation.text
    assert (
        f'az network private-endpoint-connection approve --id {H19_CONNECTION} --description "Approved"'
        == finding.remediation.command
    )
    no_remedy_says(findings, "nsg", "route")
    assert not [f for f in findings if f.check.id == "privateendpoint_tls_reachable"]
    [note] = [f for f in findings if f.check.id == "dns_name_resolves_private_endpoint"]
    assert note.status is Status.SKIPPED and "is Rejected" in note.message


def vault_pending_and_old_endpoint_disconnected(findings: list[Finding]) -> None:
    """H19b: the vault's manual request Pending and the workspace's old endpoint Disconnected
    fail on their connections; the approved endpoint and every name pass."""
    vault, old = sorted(fails(findings), key=lambda f: f.resource_id)
    assert {CONNECTION} == {vault.check.id, old.check.id}
    assert vault.message.startswith(
        "Key Vault kv-b (used by mlw-b): the connection of private endpoint pe-kv-b is Pending"
    )
    assert vault.evidence is not None and vault.remediation is not None
    assert [True] == [s["manualApproval"] for s in vault.evidence.observed["privateEndpointSide"]]
    assert "private-endpoint-connection approve --id" in (vault.remediation.command or "")
    assert "pe-mlw-b-old is Disconnected, not Approved" in old.message
    assert old.remediation is not None and "cannot be approved" in old.remediation.text
    approved = [f for f in findings if f.check.id == CONNECTION and f.status is Status.PASS]
    assert ["pe-mlw-b"] == [f.subject.rsplit("/", 1)[-1] for f in approved]
    resolved = [f for f in findings if f.check.id == "dns_name_resolves_private_endpoint"]
    assert {Status.PASS, Status.SKIPPED} == {f.status for f in resolved}
    assert not [f for f in resolved if "kv-b.vault" in f.resource_id]  # withheld: not judged
    no_remedy_says(findings, "nsg", "stale")


def inspection_in_front_of_scoring(findings: list[Finding]) -> None:
    """The scoring name at 10.0.1.7 fails on its certificate, naming what answered; nothing
    else fails (DNS, records, links are fine) but the scoring request, whose handshake meets
    the same certificate (folded under it), and the other names' TLS passes."""
    scoring = "ep-a.eastus.inference.ml.azure.com"
    [bad] = fails(findings, "privateendpoint_tls_reachable")
    scoring_follows_from(findings, bad)
    assert 2 == len(fails(findings))
    assert ("privateendpoint_tls_reachable", scoring, "10.0.1.7:443") == (
        bad.check.id,
        bad.resource_id,
        bad.subject,
    )
    device = "CN=tls-inspection.corp.example,OU=TLS inspection,O=Corp TLS Inspection CA"
    issuer = "OU=TLS inspection,O=Corp TLS Inspection CA"
    assert bad.message == (
        f"{scoring} at 10.0.1.7 answers TLS on port 443, but the certificate presented is not "
        f"the private endpoint's: it is not valid for {scoring} (subject {device}; names "
        f"tls-inspection.corp.example); its issuer {issuer} is not trusted (unable to get local "
        "issuer certificate). Something between this VNet and the private endpoint terminates "
        "TLS (a TLS-inspecting firewall or proxy); every client that verifies certificates fails."
    )
    assert bad.evidence is not None
    observed = bad.evidence.observed
    assert (True, False, 20) == (observed["tcp"], observed["tls"], observed["verify_code"])
    assert (device, issuer, ["tls-inspection.corp.example"]) == (
        observed["certificate"]["subject"],
        observed["certificate"]["issuer"],
        observed["certificate"]["dns_names"],
    )
    assert bad.remediation is not None
    assert bad.remediation.text.startswith(f"Exempt {scoring} from TLS inspection")
    no_remedy_says([bad], "nsg", "forward", "recreate", "delete")
    tls = [f for f in findings if f.check.id == "privateendpoint_tls_reachable"]
    assert len(tls) > 1
    assert all(f.status is Status.PASS for f in tls if f is not bad)


def hub_zones_serve_the_spoke(findings: list[Finding]) -> None:
    """H13: names resolve through the hub's resolver from the zones linked to the hub; the
    spoke without a link is a note inside a pass, and nothing proposes linking it."""
    all_pass(findings)
    links = [f for f in findings if f.check.id == "privatedns_zone_linked_agent_vnet"]
    assert len(links) == 2 and {Status.PASS} == {f.status for f in links}
    for link in links:
        assert link.message.endswith(
            "is linked to vnet-hub (whose Azure DNS answers for the VNet's DNS server 10.1.0.4); "
            "the agent's VNet vnet-spoke itself has no link and needs none while its names "
            "resolve through that server."
        )
        assert link.remediation is None
    [server] = [f for f in findings if f.check.id == "dns_custom_server_forwards_zones"]
    assert Status.PASS is server.status
    assert "Azure DNS of vnet-hub (by the zones linked there" in server.message


def ruleset_loop(findings: list[Finding]) -> None:
    """H16: an outage of the workload (fail, exit 1), with the looping rules as the cause."""
    assert 1 == exit_code(findings)
    assert not [f for f in findings if f.status is Status.ERROR]
    [loop] = fails(findings, "dns_forwarding_ruleset_no_loop")
    assert loop.message == (
        "Ruleset ruleset-hub (linked to vnet-hub) forwards privatelink.api.azureml.ms to "
        "10.1.0.4 (rule privatelink-api); forwards privatelink.notebooks.azure.net to 10.1.0.4 "
        "(rule privatelink-notebooks): an inbound endpoint in a VNet the ruleset is linked to, "
        "so every query for those names loops back to Azure DNS of that VNet and fails."
    )
    assert loop.remediation is not None
    assert 2 == (loop.remediation.command or "").count("az dns-resolver forwarding-rule delete")
    [server] = fails(findings, "dns_custom_server_forwards_zones")
    assert "gives no answer for any of the 4 name(s)" in server.message
    assert "forwarding rule privatelink-api of ruleset ruleset-hub" in server.message
    names = fails(findings, "dns_name_resolves_private_endpoint")
    assert len(names) == 4 and all("the workload cannot resolve it" in f.message for f in names)
    no_remedy_says(findings, "forward-zone", "server=/", "type forward")


def rebinding_strips_private_answers(findings: list[Finding]) -> None:
    """H18: the server reaches Azure DNS and strips the private address: the cause and the
    exemption, never a forwarder (the server forwards everything already)."""
    [server] = fails(findings, "dns_custom_server_forwards_zones")
    assert "reaches Azure DNS but drops the private address of 4 name(s)" in server.message
    assert server.evidence is not None
    observed = server.evidence.observed
    assert ([], 4) == (observed["zones_not_forwarded"], len(observed["private_answers_dropped"]))
    assert server.remediation is not None
    assert 'private-domain: "api.azureml.ms"' in server.remediation.text
    no_remedy_says([server], "forward-zone", "server=/", "type forward")
    scoring_follows_from(findings, server)
    assert {
        "dns_custom_server_forwards_zones",
        "dns_name_resolves_private_endpoint",
        "online_endpoint_scoring_path_reachable",
    } >= {f.check.id for f in fails(findings)}


# -- fixes, applied to the scenario ---------------------------------------------------------


def approve_egress(data: dict[str, Any]) -> None:
    data["registries"][0]["connections"][0]["status"] = "Approved"


def add_notebooks_zone_to_zone_group(data: dict[str, Any]) -> None:
    notebooks = next(z for z in data["private_dns_zones"] if z["service"] == "aml_notebooks")
    notebooks["endpoints"] = ["pe-mlw-a"]


def forward_public_zones(data: dict[str, Any]) -> None:
    del data["dns"]["custom_servers"][0]["forwarders"]  # the healthy default: the public zones


def add_wildcard_to_local_copy(data: dict[str, Any]) -> None:
    fixed = json.loads((CASES / "H12-local-privatelink-zone-fixed.json").read_text())
    data["dns"]["custom_servers"][0]["local_zones"] = fixed


def approve_connections(data: dict[str, Any]) -> None:
    """Approve every connection (a re-created endpoint's new connection is approved too):
    Private Link carries their traffic again - the IPs the case silenced for it answer."""
    approved = set()
    for pe in data["private_endpoints"]:
        pe["status"] = "Approved"
        approved |= {pe.get(key) for key in ("ip", "notebooks_ip", "scoring_ip")}
    dns = data.get("dns", {})
    dns["silent_ips"] = [ip for ip in dns.get("silent_ips", []) if ip not in approved]


def remove_inspection(data: dict[str, Any]) -> None:
    """The firewall no longer inspects the Azure ML names: the front end's own certificate."""
    del data["dns"]["tls_interceptors"]


def drop_looping_rules(data: dict[str, Any]) -> None:
    """The rules go; the inbound endpoint's Azure DNS answers from the hub's zones again."""
    data["dns_forwarding_rulesets"][0]["rules"] = []
    fixed = (CASES / "H16-inbound-endpoint-named-fixed.conf").read_text(encoding="utf-8")
    data["dns"]["custom_servers"][0]["config"] = fixed


def unbound_variant(name: str) -> Fix:
    """H18's named variants: the server's configuration after a change."""

    def fix(data: dict[str, Any]) -> None:
        conf = (CASES / f"H18-unbound-{name}.conf").read_text(encoding="utf-8")
        data["dns"]["custom_servers"][0]["config"] = conf

    return fix


@dataclass(frozen=True)
class Case:
    name: str
    verdict: Verdict
    fix: Fix | None = None
    custom_dns: str = "bind"
    # The problems the case's world plants (its README row): the root causes a correct
    # diagnosis prints, every other fail folded under one of them.
    problems: int = 0
    # The checks that fail in the case's world and must pass once its fix is applied.
    heals: tuple[str, ...] = ()


CASE_TABLE = [
    Case(
        "H01",
        egress_rejected,
        approve_egress,
        problems=1,
        heals=("registry_egress_connection_approved",),
    ),
    Case("H01b", egress_approved),
    Case("H02", two_endpoints_from_the_hub),
    Case("H03", kubernetes_not_judged_as_managed),
    Case(
        "H04",
        notebooks_record_missing_in_central_zone,
        add_notebooks_zone_to_zone_group,
        problems=1,
        heals=("privatedns_record_present",),
    ),
    Case("H05", all_pass, custom_dns="dnsmasq"),
    Case("H05b", forward_privatelink_only("bind")),
    Case("H05b", forward_privatelink_only("unbound"), custom_dns="unbound"),
    Case(
        "H05b",
        forward_privatelink_only("dnsmasq"),
        forward_public_zones,
        custom_dns="dnsmasq",
        problems=1,
        heals=("dns_custom_server_forwards_zones", "online_endpoint_scoring_path_reachable"),
    ),
    Case("H06", notebooks_judged),
    Case("H07", cloud_spelling(".cn")),
    Case("H07b", cloud_spelling(".us")),
    Case("H08", scaling_is_a_note),
    Case("H10", manual_zones_pass),
    Case(
        "H12",
        local_copy_lacks_the_wildcard,
        add_wildcard_to_local_copy,
        problems=1,
        heals=("dns_custom_server_forwards_zones", "online_endpoint_scoring_path_reachable"),
    ),
    Case(
        "H19",
        workspace_connection_rejected,
        approve_connections,
        problems=1,
        heals=("privateendpoint_connection_approved", "online_endpoint_scoring_path_reachable"),
    ),
    Case(
        "H19b",
        vault_pending_and_old_endpoint_disconnected,
        approve_connections,
        problems=2,
        heals=("privateendpoint_connection_approved",),
    ),
    Case(
        "H22",
        inspection_in_front_of_scoring,
        remove_inspection,
        problems=1,
        heals=("privateendpoint_tls_reachable", "online_endpoint_scoring_path_reachable"),
    ),
    Case("H13", hub_zones_serve_the_spoke),
    Case(
        "H16",
        ruleset_loop,
        drop_looping_rules,
        problems=1,
        heals=("dns_forwarding_ruleset_no_loop", "dns_custom_server_forwards_zones"),
    ),
    Case(
        "H18",
        rebinding_strips_private_answers,
        unbound_variant("real-fix-private-domain"),
        custom_dns="unbound",
        problems=1,
        heals=("dns_custom_server_forwards_zones", "online_endpoint_scoring_path_reachable"),
    ),
]


def _param(case: Case) -> Any:
    binary = SERVERS[case.custom_dns]
    return pytest.param(
        case,
        id=f"{case.name}-{case.custom_dns}",
        marks=[
            pytest.mark.servers,
            pytest.mark.skipif(not os.access(binary, os.X_OK), reason=f"{binary} missing"),
        ],
    )


@pytest.mark.parametrize("case", [_param(c) for c in CASE_TABLE])
def test_case_gives_its_verdict(case: Case, start_tenant: TenantFactory) -> None:
    [path] = CASES.glob(f"{case.name}-*.toml")
    findings = run_case(start_tenant, path, case.custom_dns)
    case.verdict(findings)  # type: ignore[arg-type]
    assert_diagnosis(findings, case.problems)


def assert_diagnosis(findings: list[Finding], planted: int) -> None:
    """As many problems as the world plants, each with an identified cause, and every other
    fail names root causes that are fails of this run."""
    found = problems(findings)
    assert planted == len(found), [(p.lead.check.id, p.lead.message) for p in found]
    assert all(cause_identified(p.lead.needs, p.lead.breaks) for p in found)
    roots = {f.uid for p in found for f in p.causes}
    for finding in fails(findings):
        assert finding.uid in roots or set(finding.caused_by) <= roots, finding.message
        assert finding.uid in roots or finding.caused_by


@pytest.mark.parametrize("case", [_param(c) for c in CASE_TABLE if c.fix is not None])
def test_case_fix_turns_the_world_all_pass(case: Case, start_tenant: TenantFactory) -> None:
    data = case_data(case.name)
    assert case.fix is not None
    case.fix(data)
    all_pass(run_case(start_tenant, data, case.custom_dns), *case.heals)  # type: ignore[arg-type]


def test_all_pass_rejects_a_run_whose_checks_said_nothing(
    start_tenant: TenantFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The healthy demo world run with every check's evaluate yielding nothing: no fail and
    exit 0, yet all_pass rejects it, so no fix above can come out all-pass on silent checks."""
    for check in load_checks():
        monkeypatch.setattr(check.module, "evaluate", lambda facts: [])
    tenant = start_tenant(healthy_only(builtin_scenario()))

    findings = list(run_once(tenant.config()).findings)

    assert 0 == exit_code(findings)
    with pytest.raises(AssertionError, match="workspace_v1_legacy_mode_disabled"):
        all_pass(findings)


@pytest.mark.servers
@pytest.mark.skipif(not os.access(UNBOUND, os.X_OK), reason=f"{UNBOUND} missing")
def test_h18_netverify_fix_applied_still_fails(start_tenant: TenantFactory) -> None:
    """The case's `netverify-fix-applied` variant (forward-zones for the five Azure ML zones,
    the remedy a shape-only diagnosis proposed) changes nothing: the same verdict."""
    data = case_data("H18")
    unbound_variant("netverify-fix-applied")(data)
    rebinding_strips_private_answers(run_case(start_tenant, data, "unbound"))
