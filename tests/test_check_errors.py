"""Each check, for each read it depends on that can fail: a 403, a 404, a failed list read, a
read the run never made. The status is the one the judging rules give (error: could not observe;
fail: a link to nothing; skipped: nothing to judge) and the message names the permission or the
cause. Expected values are written here, never taken from the code under test."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest

from netverify.config import WORKSPACE_TYPE
from netverify.facts import Facts, Read, ReadProblem
from netverify.model import Status
from netverify.testing import (
    API_NAME,
    REGISTRY_TYPE,
    SUBSCRIPTION,
    VNET_ID,
    ZONE_ID,
    arm_id,
    check_findings,
    deployment,
    dns_facts,
    endpoint,
    facts,
    failed,
    key_vault,
    registry,
    workspace,
)

WS = arm_id(WORKSPACE_TYPE, "mlw-test")
KV = arm_id("Microsoft.KeyVault/vaults", "kv-test")
CR = arm_id(REGISTRY_TYPE, "crtest")
EP = endpoint()
ENDPOINTS = f"{WS}/onlineEndpoints"
DEPLOYMENTS = f"{EP.id}/deployments"
PE = arm_id("Microsoft.Network/privateEndpoints", "pe-mlw-test")
POLICIES = f"/subscriptions/{SUBSCRIPTION}"
RULESETS = f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Network/dnsForwardingRulesets"
ZONE_SEARCH = "/providers/Microsoft.ResourceGraph/resources"

WS_READ = "Microsoft.MachineLearningServices/workspaces/read"
KV_READ = "Microsoft.KeyVault/vaults/read"
CR_READ = "Microsoft.ContainerRegistry/registries/read"
EP_READ = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/read"
DEP_READ = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments/read"
POLICY_READ = "Microsoft.Authorization/policyAssignments/read"
PE_READ = "Microsoft.Network/privateEndpoints/read"
VNET_READ = "Microsoft.Network/virtualNetworks/read"
ZONE_READ = "Microsoft.Network/privateDnsZones/read"
OUTAGE = "ARM answered 503 four times"


def forbidden(resource_id: str, permission: str) -> Read[Any]:
    return failed(
        resource_id,
        ReadProblem.FORBIDDEN,
        message="AuthorizationFailed",
        status_code=403,
        permission=permission,
    )


def gone(resource_id: str) -> Read[Any]:
    return failed(resource_id, ReadProblem.NOT_FOUND, message="ResourceNotFound", status_code=404)


def outage(resource_id: str) -> Read[Any]:
    return failed(resource_id, ReadProblem.UNAVAILABLE, message=OUTAGE, status_code=503)


def lacks(what: str, resource_id: str, permission: str) -> str:
    return f"Cannot read the {what} {resource_id}: the agent's identity lacks {permission}."


def endpoints_not_probed(observed: Facts) -> Facts:
    return replace(observed, online_endpoints={})


def deployments_not_probed(observed: Facts) -> Facts:
    return replace(observed, online_deployments={})


@dataclass(frozen=True)
class Case:
    check: str
    read: str  # which read fails, and how
    facts: Facts
    resource: str  # the finding(s) about it
    expected: list[tuple[Status, str]]

    def __str__(self) -> str:
        return f"{self.check}: {self.read}"


WITH_ENDPOINT = dict(endpoints=[EP], deployments=[deployment(of=EP)])
ENDPOINT_CHECKS = (
    "online_deployment_provisioning_succeeded",
    "online_endpoint_traffic_to_succeeded_deployment",
    "workspace_managed_network_outbound_rules_active",
    "workspace_managed_network_provisioned",
    "workspace_policy_v1_legacy_mode_absent",
)
# The checks that judge deployments: an unlisted deployment list leaves them nothing to judge.
NEEDS_DEPLOYMENTS = set(ENDPOINT_CHECKS) - {"workspace_policy_v1_legacy_mode_absent"}
MANAGED = workspace(managed_network="AllowOnlyApprovedOutbound", managed_network_status="Active")

CASES = [
    # -- the workspace itself ------------------------------------------------------------------
    Case(
        "workspace_v1_legacy_mode_disabled",
        "workspace 403",
        facts([forbidden(WS, WS_READ)]),
        WS,
        [(Status.ERROR, lacks("workspace", WS, WS_READ))],
    ),
    Case(
        "workspace_v1_legacy_mode_disabled",
        "workspace named in the config is gone (404)",
        facts([gone(WS)]),
        WS,
        [(Status.ERROR, f"Cannot read the workspace {WS}: ResourceNotFound")],
    ),
    Case(
        "workspace_v1_legacy_mode_disabled",
        "workspace read outage",
        facts([outage(WS)]),
        WS,
        [(Status.ERROR, f"Cannot read the workspace {WS}: {OUTAGE}")],
    ),
    # -- linked Key Vault ---------------------------------------------------------------------
    Case(
        "keyvault_network_bypass_azure_services",
        "vault 403",
        facts([workspace()], [forbidden(KV, KV_READ)]),
        KV,
        [(Status.ERROR, lacks("Key Vault", KV, KV_READ))],
    ),
    Case(
        "keyvault_network_bypass_azure_services",
        "linked vault gone (404)",
        facts([workspace()], [gone(KV)]),
        KV,
        [(Status.FAIL, f"The linked Key Vault {KV} does not exist (ARM answered 404).")],
    ),
    Case(
        "keyvault_network_bypass_azure_services",
        "vault not probed",
        facts([workspace()]),
        KV,
        [(Status.SKIPPED, "The Key Vault was not probed in this run.")],
    ),
    Case(
        "keyvault_network_bypass_azure_services",
        "workspace 403",
        facts([forbidden(WS, WS_READ)], [key_vault()]),
        WS,
        [(Status.SKIPPED, "The workspace could not be read.")],
    ),
    # -- linked container registry ------------------------------------------------------------
    Case(
        "registry_egress_connection_approved",
        "registry 403",
        facts([workspace(registry="crtest")], registries=[forbidden(CR, CR_READ)]),
        CR,
        [(Status.ERROR, lacks("container registry", CR, CR_READ))],
    ),
    Case(
        "registry_egress_connection_approved",
        "linked registry gone (404)",
        facts([workspace(registry="crtest")], registries=[gone(CR)]),
        CR,
        [(Status.FAIL, f"The linked container registry {CR} does not exist (ARM answered 404).")],
    ),
    Case(
        "registry_egress_connection_approved",
        "registry not probed",
        facts([workspace(registry="crtest")]),
        CR,
        [(Status.SKIPPED, "The container registry was not probed in this run.")],
    ),
    Case(
        "workspace_image_build_compute_set",
        "registry 403",
        facts([workspace(registry="crtest")], registries=[forbidden(CR, CR_READ)]),
        CR,
        [(Status.ERROR, lacks("container registry", CR, CR_READ))],
    ),
    Case(
        "workspace_image_build_compute_set",
        "linked registry gone (404)",
        facts([workspace(registry="crtest")], registries=[gone(CR)]),
        CR,
        [(Status.FAIL, f"The linked container registry {CR} does not exist (ARM answered 404).")],
    ),
    Case(
        "workspace_image_build_compute_set",
        "registry not probed",
        facts([workspace(registry="crtest")]),
        WS,
        [(Status.SKIPPED, "The container registry was not probed in this run.")],
    ),
    Case(
        "workspace_image_build_compute_set",
        "workspace 403",
        facts([forbidden(WS, WS_READ)], registries=[registry()]),
        WS,
        [(Status.SKIPPED, "The workspace could not be read.")],
    ),
    # -- private endpoint connections of the workspace's resources ----------------------------
    Case(
        "privateendpoint_connection_approved",
        "vault 403",
        facts([workspace()], [forbidden(KV, KV_READ)]),
        KV,
        [(Status.ERROR, lacks("Key Vault", KV, KV_READ))],
    ),
    Case(
        "privateendpoint_connection_approved",
        "linked registry gone (404)",
        facts([workspace(registry="crtest")], [key_vault()], registries=[gone(CR)]),
        CR,
        [(Status.FAIL, f"The linked container registry {CR} does not exist (ARM answered 404).")],
    ),
    Case(
        "privateendpoint_connection_approved",
        "registry read outage",
        facts([workspace(registry="crtest")], [key_vault()], registries=[outage(CR)]),
        CR,
        [(Status.ERROR, f"Cannot read the container registry {CR}: {OUTAGE}")],
    ),
    # -- policy assignments -------------------------------------------------------------------
    Case(
        "workspace_policy_v1_legacy_mode_absent",
        "assignment list 403",
        facts([workspace()], assignments=forbidden(POLICIES, POLICY_READ), **WITH_ENDPOINT),
        POLICIES,
        [(Status.ERROR, lacks("policy assignment list", POLICIES, POLICY_READ))],
    ),
    Case(
        "workspace_policy_v1_legacy_mode_absent",
        "assignment list not probed",
        replace(facts([workspace()], **WITH_ENDPOINT), policy_assignments={}),
        WS,
        [(Status.SKIPPED, "The subscription's policy assignments were not probed.")],
    ),
    # -- DNS: what the names come from --------------------------------------------------------
    Case(
        "dns_name_resolves_private_endpoint",
        "private endpoint 403",
        dns_facts(private_endpoints=[forbidden(PE, PE_READ)]),
        PE,
        [(Status.ERROR, lacks("private endpoint", PE, PE_READ))],
    ),
    Case(
        "dns_name_resolves_private_endpoint",
        "linked private endpoint gone (404)",
        dns_facts(private_endpoints=[gone(PE)]),
        PE,
        [(Status.FAIL, f"The linked private endpoint {PE} does not exist (ARM answered 404).")],
    ),
    Case(
        "dns_name_resolves_private_endpoint",
        "online endpoint list failed",
        dns_facts(gaps=[outage(ENDPOINTS)]),
        ENDPOINTS,
        [(Status.ERROR, f"Cannot read the online endpoint list {ENDPOINTS}: {OUTAGE}")],
    ),
    Case(
        "dns_name_resolves_private_endpoint",
        "agent VNet 403",
        dns_facts(vnet=forbidden(VNET_ID, VNET_READ)),
        VNET_ID,
        [(Status.ERROR, lacks("agent VNet", VNET_ID, VNET_READ))],
    ),
    Case(
        "dns_answer_inside_vnet",
        "agent VNet 403",
        dns_facts(vnet=forbidden(VNET_ID, VNET_READ)),
        API_NAME,
        [(Status.SKIPPED, "The agent's VNet is not configured or not readable.")],
    ),
    Case(
        "dns_answer_inside_vnet",
        "agent VNet not configured",
        dns_facts(agent_vnet=False),
        API_NAME,
        [(Status.SKIPPED, "The agent's VNet is not configured or not readable.")],
    ),
    # -- DNS: zones ---------------------------------------------------------------------------
    Case(
        "privatedns_zone_exists",
        "zone 403",
        dns_facts(zones=[forbidden(ZONE_ID, ZONE_READ)]),
        ZONE_ID,
        [(Status.ERROR, lacks("private DNS zone", ZONE_ID, ZONE_READ))],
    ),
    Case(
        "privatedns_zone_exists",
        "zone read outage",
        dns_facts(zones=[outage(ZONE_ID)]),
        ZONE_ID,
        [(Status.ERROR, f"Cannot read the private DNS zone {ZONE_ID}: {OUTAGE}")],
    ),
    Case(
        "privatedns_zone_exists",
        "zone search failed, no zone known",
        dns_facts(zones=[], zone_search=outage(ZONE_SEARCH)),
        ZONE_SEARCH,
        [(Status.ERROR, f"Cannot read the list of private DNS zones {ZONE_SEARCH}: {OUTAGE}")],
    ),
    Case(
        "privatedns_record_present",
        "zone 403",
        dns_facts(zones=[forbidden(ZONE_ID, ZONE_READ)]),
        API_NAME,
        [(Status.SKIPPED, "No readable zone privatelink.api.azureml.ms to look in.")],
    ),
    Case(
        "privatedns_zone_linked_agent_vnet",
        "agent VNet not configured",
        dns_facts(agent_vnet=False),
        ZONE_ID,
        [(Status.SKIPPED, "agent.vnet_id is not configured: no VNet to judge.")],
    ),
    # -- DNS: Private Resolver rulesets -------------------------------------------------------
    Case(
        "dns_forwarding_ruleset_no_loop",
        "ruleset list 403",
        dns_facts(
            private_resolvers=[forbidden(RULESETS, "Microsoft.Network/dnsForwardingRulesets/read")]
        ),
        RULESETS,
        [
            (
                Status.SKIPPED,
                "The DNS resolvers and forwarding rulesets could not be read "
                "(AuthorizationFailed): a forwarding loop there would go unseen.",
            )
        ],
    ),
    Case(
        "dns_forwarding_rule_targets_answer_privately",
        "ruleset list outage",
        dns_facts(private_resolvers=[outage(RULESETS)]),
        RULESETS,
        [
            (
                Status.SKIPPED,
                f"The DNS resolvers and forwarding rulesets could not be read ({OUTAGE}): a rule "
                "that sends the workspaces' names to a server that answers publicly would go "
                "unseen.",
            )
        ],
    ),
]

# -- online endpoint and deployment lists: every check that walks them -----------------------
for check_id in ENDPOINT_CHECKS:
    CASES += [
        Case(
            check_id,
            "endpoint list 403",
            facts([MANAGED], failed_lists=[forbidden(ENDPOINTS, EP_READ)]),
            ENDPOINTS,
            [(Status.ERROR, lacks("online endpoint list", ENDPOINTS, EP_READ))],
        ),
        Case(
            check_id,
            "endpoint list failed",
            facts([MANAGED], failed_lists=[outage(ENDPOINTS)]),
            ENDPOINTS,
            [(Status.ERROR, f"Cannot read the online endpoint list {ENDPOINTS}: {OUTAGE}")],
        ),
        Case(
            check_id,
            "endpoint list not probed",
            endpoints_not_probed(facts([MANAGED])),
            WS,
            [(Status.SKIPPED, "The workspace's online endpoints were not probed.")],
        ),
        Case(
            check_id,
            "workspace 403",
            facts([forbidden(WS, WS_READ)]),
            WS,
            [(Status.SKIPPED, "The workspace could not be read.")],
        ),
    ]
for check_id in sorted(NEEDS_DEPLOYMENTS):
    CASES += [
        Case(
            check_id,
            "deployment list 403",
            facts([MANAGED], endpoints=[EP], failed_lists=[forbidden(DEPLOYMENTS, DEP_READ)]),
            DEPLOYMENTS,
            [(Status.ERROR, lacks("online deployment list", DEPLOYMENTS, DEP_READ))],
        ),
        Case(
            check_id,
            "deployment list not probed",
            deployments_not_probed(facts([MANAGED], endpoints=[EP])),
            EP.id,
            [(Status.SKIPPED, "The endpoint's deployments were not probed.")],
        ),
    ]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_failed_read_gives_its_status_and_names_its_cause(case: Case) -> None:
    """The findings on the unread resource are exactly the expected status and message, and no
    other finding of the check claims a pass it could not have observed."""
    findings = check_findings(case.check, case.facts)

    about = [(f.status, f.message) for f in findings if f.resource_id == case.resource]

    assert case.expected == about
    assert [] == [
        f.message for f in findings if f.status is Status.PASS and f.resource_id == case.resource
    ]


def test_every_check_that_reads_arm_has_a_row() -> None:
    """The table covers each check that depends on an ARM read; the others judge probes only
    (DNS answers, TCP/TLS, HTTP), whose failures are facts they judge, not reads."""
    probe_only = {
        "dns_custom_server_forwards_zones",
        "dns_host_resolver_matches_vnet",
        "dns_resolver_answers",
        "kubernetes_endpoint_router_reachable",
        "online_endpoint_scoring_path_reachable",
        "privatedns_record_matches_endpoint",
        "privateendpoint_tls_reachable",
    }
    from netverify.checklib.catalog import load_checks

    assert {c.meta.id for c in load_checks()} - probe_only == {c.check for c in CASES}
