"""The shapes real estates have and single-shape fixtures hid (issue 19's surviving mutants):
mixed-case ids and GUIDs, peered-VNet endpoints, no host resolver, a traffic weight of 1, a
record with a right and a stale IP, a vault that denies but leaves public access Enabled,
failing host resolvers and failed list reads. A few targeted cases per check, built with the
``netverify.testing`` options for them."""

from __future__ import annotations

from dataclasses import replace

from netverify.facts import ReadProblem
from netverify.model import Status
from netverify.testing import (
    API_NAME,
    AZURE,
    CUSTOM,
    HOST,
    SPOKE_ENDPOINT_ID,
    VNET_ID,
    ZONE_ID,
    arm_id,
    assignment,
    check_findings,
    deployment,
    dns_answer,
    dns_facts,
    endpoint,
    expected_name,
    facts,
    failed,
    failed_list,
    healthy_answers,
    key_vault,
    mixed_case,
    private_zone,
    registry,
    spoke_name,
    spoke_vnet,
    v1_legacy_mode_policy,
    workspace,
)

KV = arm_id("Microsoft.KeyVault/vaults", "kv-test")
CR = arm_id("Microsoft.ContainerRegistry/registries", "crtest")
RECORD_NAME = "ws.workspace.eastus"


def statuses(check_id: str, observed: object) -> list[tuple[Status, str]]:
    return [(f.status, f.resource_id) for f in check_findings(check_id, observed)]  # type: ignore[arg-type]


# -- Key Vault -------------------------------------------------------------------------------


def test_a_vault_that_denies_with_public_access_enabled_and_no_bypass_fails() -> None:
    """defaultAction Deny shuts Azure ML out even though publicNetworkAccess is Enabled: the
    firewall applies to public access, so without the bypass the workspace cannot reach it."""
    vault = key_vault(bypass="None", default_action="Deny", public_network_access="Enabled")

    [finding] = check_findings(
        "keyvault_network_bypass_azure_services", facts([workspace()], [vault])
    )

    assert (Status.FAIL, KV) == (finding.status, finding.resource_id)
    assert {
        "bypass": "None",
        "defaultAction": "Deny",
        "publicNetworkAccess": "Enabled",
    }.items() <= dict(finding.evidence.observed).items()


def test_a_workspace_that_spells_its_vault_id_in_another_case_finds_the_vault() -> None:
    """ARM may return the linked vault's id with another case than the vault's own: still the
    same vault, judged (not "not probed")."""
    linked = replace(workspace(), key_vault_id=mixed_case(KV))
    vault = key_vault(bypass="None")

    assert [(Status.FAIL, KV)] == statuses(
        "keyvault_network_bypass_azure_services", facts([linked], [vault])
    )


# -- container registry ----------------------------------------------------------------------


def test_a_failed_endpoint_list_does_not_stop_the_registry_being_judged() -> None:
    """One workspace's online-endpoint list could not be read: the egress connection of its
    registry is still judged (a Pending connection fails), and nothing crashes."""
    observed = facts(
        [workspace(registry="crtest")],
        registries=[registry(egress_status="Pending")],
        failed_lists=[
            failed_list(arm_id("Microsoft.MachineLearningServices/workspaces", "mlw-test"))
        ],
    )

    assert [(Status.FAIL, CR)] == statuses("registry_egress_connection_approved", observed)


def test_a_registry_linked_in_another_case_is_the_registry() -> None:
    """A workspace naming its registry in another case: the registry is judged, not skipped."""
    linked = replace(workspace(), container_registry_id=mixed_case(CR))
    observed = facts([linked], registries=[registry(public_network_access="Enabled")])

    assert [(Status.PASS, linked.id)] == statuses("workspace_image_build_compute_set", observed)
    assert [(Status.PASS, CR)] == statuses("registry_egress_connection_approved", observed)


# -- online endpoints ------------------------------------------------------------------------


def test_a_weight_of_one_is_traffic() -> None:
    """Weight 1 on the only Succeeded deployment is traffic it serves (a pass); weight 1 on a
    Failed one, the other at 0, is traffic that gets 404 (a fail naming it)."""
    ep = endpoint(traffic={"blue": 1, "green": 0})
    served = facts(
        [workspace()],
        endpoints=[ep],
        deployments=[deployment("blue", of=ep), deployment("green", of=ep, state="Failed")],
    )
    broken_ep = endpoint(traffic={"blue": 0, "green": 1})
    broken = facts(
        [workspace()],
        endpoints=[broken_ep],
        deployments=[
            deployment("blue", of=broken_ep),
            deployment("green", of=broken_ep, state="Failed"),
        ],
    )

    [passed] = check_findings("online_endpoint_traffic_to_succeeded_deployment", served)
    [failed] = check_findings("online_endpoint_traffic_to_succeeded_deployment", broken)

    assert (Status.PASS, {"blue": 1, "green": 0}) == (
        passed.status,
        passed.evidence.observed["traffic"],
    )
    assert Status.FAIL is failed.status
    assert "its traffic goes only to green, which did not succeed" in failed.message


def test_a_traffic_key_in_another_case_names_the_deployment() -> None:
    """Deployment names are case-insensitive in Azure ML: traffic {"Blue": 100} goes to the
    Succeeded deployment "blue", a pass."""
    ep = endpoint(traffic={"Blue": 100})
    observed = facts([workspace()], endpoints=[ep], deployments=[deployment("blue", of=ep)])

    assert [(Status.PASS, ep.id)] == statuses(
        "online_endpoint_traffic_to_succeeded_deployment", observed
    )


def test_a_policy_assigned_on_the_group_in_another_case_covers_the_workspace() -> None:
    """An assignment scoped to the resource group spelled RG-TEST covers the workspace in
    rg-test: scopes are ARM ids, compared without case."""
    ep = endpoint()
    scope = (
        arm_id("Microsoft.Resources/x", "y").split("/providers/")[0].replace("rg-test", "RG-TEST")
    )
    observed = facts(
        [workspace()],
        endpoints=[ep],
        deployments=[deployment(of=ep)],
        assignments=[assignment(scope)],
        definitions=[v1_legacy_mode_policy()],
    )

    [finding] = check_findings("workspace_policy_v1_legacy_mode_absent", observed)

    assert Status.FAIL is finding.status
    assert scope == finding.evidence.observed["scope"]


# -- DNS -------------------------------------------------------------------------------------


def test_without_a_host_resolver_the_vnet_resolvers_judge_the_name() -> None:
    """use_host_resolver = false: the VNet's resolvers are asked, and a public answer from the
    custom server fails the name."""
    answers = [dns_answer(CUSTOM, ("20.1.2.3",)), dns_answer(AZURE)]

    [finding] = check_findings(
        "dns_name_resolves_private_endpoint", dns_facts(answers, host_resolver=False)
    )

    assert Status.FAIL is finding.status
    # The VNet's DNS is its custom server: Azure DNS is what that server forwards to.
    assert [CUSTOM] == finding.evidence.expected["resolver"]
    assert "20.1.2.3 through custom 10.0.0.4" in finding.message


def test_a_name_no_resolver_was_asked_about_does_not_pass() -> None:
    """No answer at all for the name (with or without a host resolver): nothing shows it
    resolves, so it cannot pass."""
    for host in (True, False):
        found = check_findings(
            "dns_name_resolves_private_endpoint", dns_facts([], host_resolver=host)
        )

        judged_by = HOST if host else CUSTOM  # without the host, the VNet's DNS server
        assert [
            (
                Status.ERROR,
                f"{API_NAME} (workspace API of mlw-test) has no recorded answer from {judged_by}: "
                "whether it resolves was not observed.",
            )
        ] == [(f.status, f.message) for f in found]


def test_a_failing_host_resolver_fails_the_name_that_azure_dns_resolves() -> None:
    """The host resolver times out while Azure DNS gives the private IP: the workload cannot
    resolve the name (a fail, not an error), and the resolver check names the host."""
    facts_ = dns_facts(healthy_answers(failing=(HOST,)))

    [name] = check_findings("dns_name_resolves_private_endpoint", facts_)
    resolvers = {f.subject: f.status for f in check_findings("dns_resolver_answers", facts_)}

    assert Status.FAIL is name.status
    assert "does not resolve through host (TIMEOUT" in name.message
    assert {HOST: Status.FAIL, CUSTOM: Status.PASS, AZURE: Status.PASS} == resolvers


def test_a_failing_host_resolver_is_not_compared_with_the_vnet() -> None:
    """No answer from the host is dns_resolver_answers' business: the host-vs-VNet comparison
    says nothing about the name rather than a pass."""
    assert [] == check_findings(
        "dns_host_resolver_matches_vnet", dns_facts(healthy_answers(failing=(HOST,)))
    )
    assert [Status.PASS] == [
        f.status
        for f in check_findings("dns_host_resolver_matches_vnet", dns_facts(healthy_answers()))
    ]


def test_an_endpoint_in_a_peered_spoke_is_inside_its_own_vnet() -> None:
    """The answer 10.2.0.5 is outside the hub (10.0.0.0/16) but inside the spoke of the
    endpoint that serves the name: inside, a pass; the same answer with the spoke unread is
    outside every space known."""
    answers = healthy_answers(ip="10.2.0.5")

    [inside] = check_findings(
        "dns_answer_inside_vnet",
        dns_facts(answers, names=[spoke_name()], endpoint_vnets=[spoke_vnet()]),
    )
    [outside] = check_findings("dns_answer_inside_vnet", dns_facts(answers, names=[spoke_name()]))

    assert (Status.PASS, ["10.0.0.0/16", "10.2.0.0/16"]) == (
        inside.status,
        inside.evidence.expected["address_space"],
    )
    assert [SPOKE_ENDPOINT_ID] == inside.evidence.observed["private_endpoints"]
    # Every resolver gave it; the evidence names one resolver per address (the last asked).
    assert (Status.FAIL, {"10.2.0.5": AZURE}) == (
        outside.status,
        outside.evidence.observed["outside"],
    )


def test_a_record_with_a_right_and_a_stale_ip_removes_only_the_stale_one() -> None:
    """Record holds 10.0.1.5 (the endpoint's) and 10.0.1.99 (no endpoint's): a fail whose
    command removes 10.0.1.99 and never touches 10.0.1.5."""
    zone = private_zone({RECORD_NAME: ("10.0.1.5", "10.0.1.99")})

    [finding] = check_findings(
        "privatedns_record_matches_endpoint", dns_facts(healthy_answers(), zones=[zone])
    )

    assert Status.FAIL is finding.status
    assert (
        "az network private-dns record-set a remove-record --subscription 00000000-1111-2222-3333-444444444444 --resource-group rg-test "
        "--zone-name privatelink.api.azureml.ms --record-set-name 'ws.workspace.eastus' "
        "--ipv4-address 10.0.1.99"
    ) == finding.remediation.command
    assert ["10.0.1.5", "10.0.1.99"] == finding.evidence.observed["record_ips"]


def test_a_record_named_in_another_case_is_present() -> None:
    """DNS names are case-insensitive: a record set WS.Workspace.EastUS serves the name."""
    zone = private_zone({"WS.Workspace.EastUS": ("10.0.1.5",)})

    assert [(Status.PASS, API_NAME)] == statuses(
        "privatedns_record_present", dns_facts(healthy_answers(), zones=[zone])
    )


def test_a_zone_named_in_another_case_by_the_endpoint_exists() -> None:
    """A zone group naming the zone's id in another case: the zone is found, a pass."""
    name = expected_name(zone_ids=(mixed_case(ZONE_ID),))

    assert [Status.PASS] == [
        f.status
        for f in check_findings(
            "privatedns_zone_exists", dns_facts(healthy_answers(), names=[name])
        )
    ]


def test_a_zone_linked_to_the_agent_vnet_in_another_case_is_linked() -> None:
    """The zone's virtual network link names the agent's VNet in another case: linked."""
    zone = private_zone(linked=(mixed_case(VNET_ID),))

    assert [(Status.PASS, ZONE_ID)] == statuses(
        "privatedns_zone_linked_agent_vnet", dns_facts(healthy_answers(), zones=[zone])
    )


def test_a_scoring_name_of_a_workspace_guid_in_upper_case_is_judged() -> None:
    """A workspace GUID Azure spells in upper case in one place and lower in another: its
    scoring name still resolves to its endpoint (answers are keyed without case)."""
    fqdn = "ep.6D3B1A52-8F1E-4C3A-9A7E-2B5C8D9E0F11.inference.eastus.privatelink.api.azureml.ms"
    name = expected_name(fqdn, record="*.6d3b1a52-8f1e-4c3a-9a7e-2b5c8d9e0f11.inference.eastus")

    [finding] = check_findings(
        "dns_name_resolves_private_endpoint",
        dns_facts(healthy_answers(fqdn.lower()), names=[name]),
    )

    assert (Status.PASS, fqdn) == (finding.status, finding.resource_id)


def test_an_unread_private_endpoint_beside_the_spoke_one_leaves_the_name_judged() -> None:
    """A 403 on another private endpoint is said (an error naming the permission), and the
    name served by the spoke endpoint is judged all the same."""
    other = arm_id("Microsoft.Network/privateEndpoints", "pe-other")
    denied = failed(
        other,
        ReadProblem.FORBIDDEN,
        status_code=403,
        permission="Microsoft.Network/privateEndpoints/read",
    )
    found = check_findings(
        "dns_name_resolves_private_endpoint",
        dns_facts(
            healthy_answers(ip="10.2.0.5"),
            names=[spoke_name()],
            endpoint_vnets=[spoke_vnet()],
            private_endpoints=[denied],
        ),
    )

    assert [(Status.ERROR, other), (Status.PASS, API_NAME)] == [
        (f.status, f.resource_id) for f in found
    ]
    assert found[0].message.endswith("lacks Microsoft.Network/privateEndpoints/read.")


def test_a_resolver_asked_nothing_does_not_pass() -> None:
    """A resolver with no answer recorded for any name (the probe never asked it) is skipped
    saying so, never "answered all 0 queries"; the resolvers that were asked pass."""
    answers = [dns_answer(HOST), dns_answer(AZURE)]

    found = {
        f.subject: (f.status, f.message)
        for f in check_findings("dns_resolver_answers", dns_facts(answers))
    }

    assert {
        HOST: (Status.PASS, "Resolver host answered all 1 queries."),
        CUSTOM: (Status.SKIPPED, "Resolver custom 10.0.0.4 was asked none of the 1 names."),
        AZURE: (Status.PASS, "Resolver azure 168.63.129.16 answered all 1 queries."),
    } == found
