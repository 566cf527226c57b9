"""Each check's full evidence, for one pass and one fail, written out: a key dropped, renamed or
given another value fails here (the report, the SIEM formats and the diagnosis read these keys).
The rows of DNS answers are built from what the ``netverify.testing`` builders record (server
10.0.0.4:53, 1 ms, not authoritative), not from the checks."""

from __future__ import annotations

from typing import Any

import pytest

from netverify.facts import Facts, ForwardingRuleset, HttpAnswer, HttpFailure
from netverify.model import Status
from netverify.testing import (
    API_NAME,
    AZURE,
    CUSTOM,
    ENDPOINT_ID,
    HOST,
    SUBSCRIPTION,
    VNET_ID,
    ZONE_ID,
    arm_id,
    assignment,
    check_findings,
    deployment,
    dns_answer,
    dns_facts,
    endpoint,
    facts,
    healthy_answers,
    key_vault,
    outbound_rule,
    private_zone,
    registry,
    scoring_probe,
    v1_legacy_mode_policy,
    workspace,
)
from tests.checks import test_dns_forwarding_rule_targets_answer_privately as targets
from tests.checks import test_dns_forwarding_ruleset_no_loop as loops
from tests.checks import test_privateendpoint_connection_approved as connections
from tests.checks import test_privateendpoint_tls_reachable as tls
from tests.checks import test_workspace_managed_network_outbound_rules_active as outbound
from tests.evidence import builder_answer, evidence_json
from tests.test_evidence_schemas import CHECK_IDS

CHAIN = ["ws.workspace.eastus.privatelink.api.azureml.ms"]
EP = endpoint()
WITH_EP: dict[str, Any] = {"endpoints": [EP], "deployments": [deployment(of=EP)]}
BLUE = f"{EP.id}/deployments/blue"
EGRESS_PE = (
    "/subscriptions/5a1e0b8c-0000-4000-8000-00000000a3e1/resourceGroups/azureml-managed-endpoints"
    "/providers/Microsoft.Network/privateEndpoints/pe-crtest-egress"
)
EGRESS = "Egress for Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
ASSIGNMENT = (
    f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/policyAssignments/require-v1"
)


def row(
    resolver: str,
    kind: str,
    addresses: tuple[str, ...] = ("10.0.1.5",),
    *,
    rcode: str = "NOERROR",
    chain: list[str] = CHAIN,
) -> dict[str, Any]:
    """One cell of the resolution matrix, as a builder-made answer records it."""
    return {
        "fqdn": API_NAME,
        "resolver": resolver,
        "resolver_kind": kind,
        "rcode": rcode,
        "addresses": list(addresses),
        "cname_chain": chain,
        "authoritative": False,
        "soa_zone": None,
        "server": "10.0.0.4:53",
        "latency_ms": 1.0,
    }


HEALTHY = [row(HOST, "host"), row(CUSTOM, "custom"), row(AZURE, "azure")]


def name_row(resolutions: list[dict[str, Any]] = HEALTHY) -> dict[str, Any]:
    """The workspace API name's row (``checklib.dns.name_evidence``)."""
    return {
        "fqdn": API_NAME,
        "purpose": "workspace API",
        "workspace": "mlw-test",
        "private_endpoints": [ENDPOINT_ID],
        "sources": [],
        "resolutions": resolutions,
    }


MANAGED = {"managed_network": "AllowOnlyApprovedOutbound"}
PUBLIC_HOST = [dns_answer(HOST, ("20.1.2.3",), chain=()), dns_answer(CUSTOM), dns_answer(AZURE)]
NX = [dns_answer(r, rcode="NXDOMAIN", addresses=(), chain=()) for r in (HOST, CUSTOM, AZURE)]

RULESET = loops.RULESET  # the same id in both ruleset test files
ONPREM = {
    "id": f"{RULESET}/forwardingRules/corp",
    "domainName": "corp.example",
    "targets": ["192.168.10.4"],
    "enabled": True,
}
TO_PRIVATELINK = {
    "id": f"{RULESET}/forwardingRules/pl",
    "domainName": "privatelink.api.azureml.ms",
    "enabled": True,
}
INBOUND = {
    "id": f"{VNET_ID}-resolver/inboundEndpoints/in",
    "ip": "10.0.0.68",
    "vnet": VNET_ID,
}


def ruleset(module: Any, *rules: tuple[str, str, str]) -> ForwardingRuleset:
    """Ruleset rs linked to the hub, with ``module.rule``'s rules (name, domain, target)."""
    return ForwardingRuleset(RULESET, (VNET_ID,), tuple(module.rule(*r) for r in rules))


CORP = ("corp", "corp.example", "192.168.10.4")
SCORING_URL = "https://ep-test.eastus.inference.ml.azure.com/score"
SCORING_HOST = "ep-test.eastus.inference.ml.azure.com"
ROUTER_URL = "http://10.30.2.20/swagger.json"
CHALLENGE = HttpAnswer(
    SCORING_URL,
    SCORING_HOST,
    "10.0.1.6",
    HOST,
    "10.0.1.6:443",
    401,
    "Unauthorized",
    {"www-authenticate": "Bearer"},
    latency_ms=12.0,
)
UNRESOLVED = HttpAnswer(
    SCORING_URL,
    SCORING_HOST,
    None,
    HOST,
    "",
    failure=HttpFailure.UNRESOLVED,
    detail="no resolver gave an address",
)
SWAGGER = HttpAnswer(
    ROUTER_URL,
    "10.30.2.20",
    "10.30.2.20",
    "",
    "10.30.2.20:80",
    200,
    "OK",
    {"content-type": "application/json"},
    "{}",
    latency_ms=3.0,
)
REFUSED = HttpAnswer(
    ROUTER_URL,
    "10.30.2.20",
    "10.30.2.20",
    "",
    "",
    failure=HttpFailure.CONNECT,
    detail="connection refused",
    latency_ms=1.0,
)


def http_evidence(answer: HttpAnswer, expected: object) -> dict[str, Any]:
    """The evidence of a scoring probe's answer, key by key from the answer built above."""
    return {
        "observed": {
            "url": answer.url,
            "host": answer.host,
            "address": answer.address,
            "resolver": answer.resolver,
            "connected_to": answer.target,
            "status": answer.status,
            "reason": answer.reason,
            "headers": dict(answer.headers),
            "body": answer.body,
            "failure": answer.failure.value if answer.failure else None,
            "detail": answer.detail,
            "verify_code": 0,
            "verify_message": "",
            "latency_ms": answer.latency_ms,
            "bandwidth_delay_ms": {},
        },
        "expected": {"status": expected},
    }


WS_ID = arm_id("Microsoft.MachineLearningServices/workspaces", "mlw-test")
PE_ID = arm_id("Microsoft.Network/privateEndpoints", "pe-mlw-test")
CERTIFICATE = tls.cert(
    "CN=*.workspace.eastus.api.azureml.ms", tls.AZURE_CA, "*.workspace.eastus.api.azureml.ms"
)
OUTBOUND_RULES = [outbound_rule(r, t) for r, t in outbound.REQUIRED]  # registry, blob, file, vault


def connection_evidence(status: str, description: str) -> dict[str, Any]:
    """The workspace's one connection (pe-mlw-test, 10.0.1.5 and 10.0.1.6) in ``status``."""
    return {
        "observed": {
            "connection": f"{WS_ID}/privateEndpointConnections/pe-mlw-test",
            "privateEndpoint": PE_ID,
            "status": status,
            "description": description,
            "actionsRequired": "None",
            "privateEndpointSide": [
                {
                    "connection": f"{PE_ID}/privateLinkServiceConnections/pe-mlw-test",
                    "status": status,
                    "description": None,
                    "actionsRequired": "None",
                    "manualApproval": False,
                }
            ],
            "resource": WS_ID,
            "resourceKind": "workspace",
            "workspaces": ["mlw-test"],
            "ips": ["10.0.1.5", "10.0.1.6"],
            "names": [API_NAME],
        },
        "expected": {"status": "Approved"},
    }


def tls_evidence(tcp: bool, detail: str, certificate: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "observed": {
            "fqdn": API_NAME,
            "address": "10.0.1.5",
            "port": 443,
            "connected_to": "10.0.1.5:443",
            "tcp": tcp,
            "tls": tcp,
            "latency_ms": 2.0,
            "detail": detail,
            "certificate": certificate,
            "verify_code": 0,
            "verify_message": "",
        },
        "expected": {"tcp": True, "tls": True, "certificate_valid_for": API_NAME},
    }


def outbound_evidence(rule: str | None, target: str, service: str) -> dict[str, Any]:
    return {
        "observed": {
            "isolationMode": "AllowOnlyApprovedOutbound",
            "networkStatus": "Active",
            # The workspace's own managed VNet (a project would name its hub's).
            "managedNetworkOf": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-test/providers/"
            "Microsoft.MachineLearningServices/workspaces/mlw-test",
            "rule": rule,
            "ruleStatus": "Active" if rule else None,
            "category": "Required" if rule else None,
            "serviceResourceId": service,
            "subresourceTarget": target,
            "onlineDeployments": 1,
        },
        "expected": {"ruleStatus": "Active"},
    }


# (check, status, facts, the evidence of its first finding of that status)
CASES: list[tuple[str, Status, Facts, dict[str, Any]]] = [
    (
        "workspace_v1_legacy_mode_disabled",
        Status.PASS,
        facts([workspace()]),
        {"observed": {"v1LegacyMode": False}, "expected": {"v1LegacyMode": False}},
    ),
    (
        "workspace_v1_legacy_mode_disabled",
        Status.FAIL,
        facts([workspace(v1_legacy_mode=True)]),
        {"observed": {"v1LegacyMode": True}, "expected": {"v1LegacyMode": False}},
    ),
    (
        "keyvault_network_bypass_azure_services",
        Status.PASS,
        facts([workspace()], [key_vault()]),
        {
            "observed": {
                "bypass": "AzureServices",
                "defaultAction": "Deny",
                "ipRules": [],
                "virtualNetworkRules": [],
                "publicNetworkAccess": "Disabled",
                "workspaces": ["mlw-test"],
            },
            "expected": {"bypass": "AzureServices"},
        },
    ),
    (
        "keyvault_network_bypass_azure_services",
        Status.FAIL,
        facts([workspace()], [key_vault(bypass="None")]),
        {
            "observed": {
                "bypass": "None",
                "defaultAction": "Deny",
                "ipRules": [],
                "virtualNetworkRules": [],
                "publicNetworkAccess": "Disabled",
                "workspaces": ["mlw-test"],
            },
            "expected": {"bypass": "AzureServices"},
        },
    ),
    *(
        (
            "registry_egress_connection_approved",
            status,
            facts(
                [workspace(registry="crtest")],
                registries=[registry(egress_status=state)],
                **WITH_EP,
            ),
            {
                "observed": {
                    "status": state,
                    "description": EGRESS,
                    "privateEndpoint": EGRESS_PE,
                    "privateEndpointMicrosoftManaged": True,
                    "registryPublicNetworkAccess": "Disabled",
                    "workspaces": ["mlw-test"],
                    "affectedDeployments": [BLUE],
                },
                "expected": {"status": "Approved"},
            },
        )
        for status, state in ((Status.PASS, "Approved"), (Status.FAIL, "Pending"))
    ),
    *(
        (
            "workspace_image_build_compute_set",
            status,
            facts(
                [workspace(registry="crtest", image_build_compute=compute)], registries=[registry()]
            ),
            {
                "observed": {
                    "imageBuildCompute": compute,
                    "registry": "crtest",
                    "registryPublicNetworkAccess": "Disabled",
                    "registryDefaultAction": None,
                },
                "expected": {"imageBuildCompute": "a compute cluster name"},
            },
        )
        for status, compute in ((Status.PASS, "cpu-cluster"), (Status.FAIL, None))
    ),
    *(
        (
            "online_deployment_provisioning_succeeded",
            status,
            facts([workspace()], endpoints=[EP], deployments=[deployment(of=EP, state=state)]),
            {
                "observed": {
                    "provisioningState": state,
                    "lastModifiedAt": None,
                    "minutesInState": None,
                    "egressPublicNetworkAccess": "Disabled",
                    "endpointComputeType": "Managed",
                    "endpoint": "ep-test",
                },
                "expected": {"provisioningState": "Succeeded", "transientStateLimitMinutes": 60.0},
            },
        )
        for status, state in ((Status.PASS, "Succeeded"), (Status.FAIL, "Failed"))
    ),
    *(
        (
            "online_endpoint_traffic_to_succeeded_deployment",
            status,
            facts([workspace()], endpoints=[EP], deployments=[deployment(of=EP, state=state)]),
            {
                "observed": {
                    "traffic": {"blue": 100},
                    "deployments": {"blue": state},
                    "publicNetworkAccess": "Disabled",
                    "egressPublicNetworkAccess": {"blue": "Disabled"},
                },
                "expected": {"traffic": "a positive weight on a Succeeded deployment"},
            },
        )
        for status, state in ((Status.PASS, "Succeeded"), (Status.FAIL, "Failed"))
    ),
    *(
        (
            "workspace_managed_network_provisioned",
            status,
            facts([workspace(**MANAGED, managed_network_status=state)], **WITH_EP),
            {
                "observed": {
                    "isolationMode": "AllowOnlyApprovedOutbound",
                    "status": state,
                    "onlineDeployments": 1,
                },
                "expected": {"status": "Active"},
            },
        )
        for status, state in ((Status.PASS, "Active"), (Status.FAIL, "Inactive"))
    ),
    (
        "workspace_policy_v1_legacy_mode_absent",
        Status.PASS,
        facts([workspace()], **WITH_EP),
        {"observed": {"assignmentsApplying": 0}, "expected": {}},
    ),
    (
        "workspace_policy_v1_legacy_mode_absent",
        Status.FAIL,
        facts(
            [workspace()],
            assignments=[assignment()],
            definitions=[v1_legacy_mode_policy()],
            **WITH_EP,
        ),
        {
            "observed": {
                "assignment": ASSIGNMENT,
                "scope": f"/subscriptions/{SUBSCRIPTION}",
                "definition": "Azure Machine Learning workspaces should enable V1LegacyMode",
                "effect": "Deny",
                "enforcementMode": "Default",
                "v1LegacyMode": False,
            },
            "expected": {"assignment": None},
        },
    ),
    # -- DNS ---------------------------------------------------------------------------------
    (
        "dns_name_resolves_private_endpoint",
        Status.PASS,
        dns_facts(healthy_answers()),
        {"observed": name_row(), "expected": {"addresses": ["10.0.1.5"], "resolver": [HOST]}},
    ),
    (
        "dns_name_resolves_private_endpoint",
        Status.FAIL,
        dns_facts(PUBLIC_HOST),
        {
            "observed": name_row([row(HOST, "host", ("20.1.2.3",), chain=[]), *HEALTHY[1:]]),
            "expected": {"addresses": ["10.0.1.5"], "resolver": [HOST]},
        },
    ),
    (
        "dns_answer_inside_vnet",
        Status.PASS,
        dns_facts(healthy_answers()),
        {"observed": {**name_row(), "outside": {}}, "expected": {"address_space": ["10.0.0.0/16"]}},
    ),
    (
        "dns_answer_inside_vnet",
        Status.FAIL,
        dns_facts([dns_answer(HOST), dns_answer(CUSTOM), dns_answer(AZURE, ("192.168.50.8",))]),
        {
            "observed": {
                **name_row([*HEALTHY[:2], row(AZURE, "azure", ("192.168.50.8",))]),
                "outside": {"192.168.50.8": AZURE},
            },
            "expected": {"address_space": ["10.0.0.0/16"]},
        },
    ),
    (
        "dns_host_resolver_matches_vnet",
        Status.PASS,
        dns_facts(healthy_answers()),
        {"observed": name_row(), "expected": {"same_as": [CUSTOM]}},
    ),
    (
        "dns_host_resolver_matches_vnet",
        Status.FAIL,
        dns_facts([dns_answer(HOST, ("10.0.1.9",)), dns_answer(CUSTOM), dns_answer(AZURE)]),
        {
            "observed": name_row([row(HOST, "host", ("10.0.1.9",)), *HEALTHY[1:]]),
            "expected": {"same_as": [CUSTOM]},
        },
    ),
    (
        "dns_resolver_answers",
        Status.PASS,
        dns_facts(healthy_answers(failing=(CUSTOM, AZURE))),
        {
            "observed": {
                "resolver": HOST,
                "address": "/etc/resolv.conf",
                "servers": ["10.0.0.4:53"],
                "asked": 1,
                "failed": {},
            },
            "expected": {},
        },
    ),
    (
        "dns_resolver_answers",
        Status.FAIL,
        dns_facts(healthy_answers(failing=(CUSTOM,))),
        {
            "observed": {
                "resolver": CUSTOM,
                "address": "10.0.0.4",
                "servers": ["10.0.0.4:53"],
                "asked": 1,
                "failed": {"TIMEOUT": 1},
                "first_failure": {"fqdn": API_NAME, **builder_answer(rcode="TIMEOUT")},
                "resolutions": [
                    HEALTHY[0],
                    row(CUSTOM, "custom", (), rcode="TIMEOUT", chain=[]),
                    HEALTHY[2],
                ],
                "failed_names_that_exist": [API_NAME],
            },
            "expected": {},
        },
    ),
    (
        "privatedns_record_present",
        Status.PASS,
        dns_facts(healthy_answers()),
        {
            "observed": {**name_row(), "zones": [ZONE_ID], "record": {ZONE_ID: ["10.0.1.5"]}},
            "expected": {"record": "ws.workspace.eastus.privatelink.api.azureml.ms", "type": "A"},
        },
    ),
    (
        "privatedns_record_present",
        Status.FAIL,
        dns_facts(healthy_answers(), zones=[private_zone({})]),
        {
            "observed": {**name_row(), "zones": [ZONE_ID], "record": {}},
            "expected": {"record": "ws.workspace.eastus.privatelink.api.azureml.ms", "type": "A"},
        },
    ),
    *(
        (
            "privatedns_record_matches_endpoint",
            status,
            dns_facts(healthy_answers(), zones=[private_zone({"ws.workspace.eastus": (ip,)})]),
            {
                "observed": {**name_row(), "zone": ZONE_ID, "record_ips": [ip]},
                "expected": {"record_ips": ["10.0.1.5"], "endpoint_ips": ["10.0.1.5"]},
            },
        )
        for status, ip in ((Status.PASS, "10.0.1.5"), (Status.FAIL, "10.0.1.99"))
    ),
    (
        "privatedns_zone_exists",
        Status.PASS,
        dns_facts(healthy_answers()),
        {
            "observed": {"zone_ids": [ZONE_ID], "names": [name_row()]},
            "expected": {"zone": "privatelink.api.azureml.ms"},
        },
    ),
    (
        "privatedns_zone_exists",
        Status.FAIL,
        dns_facts(NX, zones=[]),
        {
            "observed": {
                "zone_ids": [],
                "names": [
                    name_row(
                        [
                            row(r, kind, (), rcode="NXDOMAIN", chain=[])
                            for r, kind in ((HOST, "host"), (CUSTOM, "custom"), (AZURE, "azure"))
                        ]
                    )
                ],
            },
            "expected": {"zone": "privatelink.api.azureml.ms"},
        },
    ),
    *(
        (
            "privatedns_zone_linked_agent_vnet",
            status,
            dns_facts(healthy_answers(), zones=[private_zone(linked=linked)]),
            {
                "observed": {
                    "linked_vnets": list(linked),
                    "names": [name_row()],
                    "azure_dns_vnets": {VNET_ID: ["10.0.0.4"]},
                },
                "expected": {"linked_vnets": [VNET_ID]},
            },
        )
        for status, linked in ((Status.PASS, (VNET_ID,)), (Status.FAIL, ()))
    ),
    (
        "dns_forwarding_ruleset_no_loop",
        Status.PASS,
        loops.with_rulesets(ruleset(loops, CORP)),
        {
            "observed": {
                "linked_vnets": [VNET_ID],
                "rules": [ONPREM],
                "inbound_endpoints": [INBOUND],
            },
            "expected": {},
        },
    ),
    (
        "dns_forwarding_ruleset_no_loop",
        Status.FAIL,
        loops.with_rulesets(ruleset(loops, ("pl", "privatelink.api.azureml.ms", "10.0.0.68"))),
        {
            "observed": {
                "linked_vnets": [VNET_ID],
                "rules": [{**TO_PRIVATELINK, "targets": ["10.0.0.68"]}],
                "inbound_endpoints": [INBOUND],
            },
            "expected": {"rule_targets": "DNS servers outside the linked VNets"},
        },
    ),
    (
        "dns_forwarding_rule_targets_answer_privately",
        Status.PASS,
        targets.world(ruleset(targets, CORP)),
        {
            "observed": {
                "linked_vnets": [VNET_ID],
                "rules": [ONPREM],
                "routes": [],
                "wrong_targets": [],
            },
            "expected": {"answer": "the private endpoint's IPs"},
        },
    ),
    (
        "dns_forwarding_rule_targets_answer_privately",
        Status.FAIL,
        targets.world(ruleset(targets, ("pl", "privatelink.api.azureml.ms", "192.168.10.4"))),
        {
            "observed": {
                "linked_vnets": [VNET_ID],
                "rules": [{**TO_PRIVATELINK, "targets": ["192.168.10.4"]}],
                "routes": [
                    {
                        "fqdn": API_NAME,
                        "workspace": "mlw-test",
                        "vnet": VNET_ID,
                        "resolver": AZURE,
                        "rule": f"{RULESET}/forwardingRules/pl",
                        "domainName": "privatelink.api.azureml.ms",
                        "targets": ["192.168.10.4"],
                        # What Azure DNS answered through the rule (the world's public answer).
                        "answer": builder_answer(("52.160.0.1",)),
                        # The hand-built world asked the target nothing directly.
                        "target_answers": [{"target": "192.168.10.4", "answer": None}],
                    }
                ],
                "wrong_targets": [
                    {
                        "rule": f"{RULESET}/forwardingRules/pl",
                        "fqdn": API_NAME,
                        "resolver": AZURE,
                        "answer": "public 52.160.0.1",
                    }
                ],
            },
            "expected": {"answer": "the private endpoint's IPs"},
        },
    ),
    *(
        (
            "online_endpoint_scoring_path_reachable",
            status,
            dns_facts(healthy_answers(), scoring=[scoring_probe(answer)]),
            http_evidence(answer, 401),
        )
        for status, answer in ((Status.PASS, CHALLENGE), (Status.FAIL, UNRESOLVED))
    ),
    *(
        (
            "kubernetes_endpoint_router_reachable",
            status,
            dns_facts(healthy_answers(), scoring=[scoring_probe(answer, kubernetes=True)]),
            http_evidence(answer, [200, 401]),
        )
        for status, answer in ((Status.PASS, SWAGGER), (Status.FAIL, REFUSED))
    ),
    (
        "privateendpoint_connection_approved",
        Status.PASS,
        connections.one_workspace("Approved")[0],
        connection_evidence("Approved", "Auto-Approved"),
    ),
    (
        "privateendpoint_connection_approved",
        Status.FAIL,
        connections.one_workspace("Pending")[0],
        connection_evidence("Pending", "Awaiting approval"),
    ),
    (
        "privateendpoint_tls_reachable",
        Status.PASS,
        dns_facts(
            healthy_answers(),
            reachability=[tls.reach(API_NAME, "10.0.1.5", certificate=CERTIFICATE)],
        ),
        tls_evidence(
            True,
            "",
            {
                "subject": "CN=*.workspace.eastus.api.azureml.ms",
                "issuer": "CN=Microsoft Azure RSA TLS Issuing CA 04,O=Microsoft Corporation,C=US",
                "dns_names": ["*.workspace.eastus.api.azureml.ms"],
                "not_before": "2026-01-01T00:00:00+00:00",
                "not_after": "2027-01-01T00:00:00+00:00",
            },
        ),
    ),
    (
        "privateendpoint_tls_reachable",
        Status.FAIL,
        dns_facts(
            healthy_answers(),
            reachability=[
                tls.reach(
                    API_NAME,
                    "10.0.1.5",
                    connected=False,
                    tls_ok=False,
                    detail="TCP connect timed out after 3s",
                )
            ],
        ),
        tls_evidence(False, "TCP connect timed out after 3s", None),
    ),
    (
        "workspace_managed_network_outbound_rules_active",
        Status.PASS,
        outbound.managed(OUTBOUND_RULES),
        outbound_evidence("__SYS_PE_crtest_registry", "registry", outbound.REGISTRY),
    ),
    (
        "workspace_managed_network_outbound_rules_active",
        Status.FAIL,
        outbound.managed([OUTBOUND_RULES[0], *OUTBOUND_RULES[2:]]),  # no blob rule
        outbound_evidence(None, "blob", outbound.STORAGE),
    ),
    (
        "dns_custom_server_forwards_zones",
        Status.PASS,
        dns_facts(healthy_answers()),
        {
            "observed": {
                "server": "10.0.0.4",
                "reference": "Azure DNS",
                "resolutions": HEALTHY,
                "zones_not_forwarded": [],
                "zones_forwarded_to_no_answer": [],
                "local_zone_copies": [],
                "private_answers_dropped": [],
                "unexplained": [],
            },
            "expected": {"forwarded_to_azure_dns": ["api.azureml.ms"]},
        },
    ),
    (
        "dns_custom_server_forwards_zones",
        Status.FAIL,
        dns_facts(
            [
                dns_answer(HOST, ("20.1.2.3",), chain=()),
                dns_answer(CUSTOM, ("20.1.2.3",), chain=()),
                dns_answer(AZURE),
            ]
        ),
        {
            "observed": {
                "server": "10.0.0.4",
                "reference": "Azure DNS",
                "resolutions": [
                    row(HOST, "host", ("20.1.2.3",), chain=[]),
                    row(CUSTOM, "custom", ("20.1.2.3",), chain=[]),
                    HEALTHY[2],
                ],
                "zones_not_forwarded": ["api.azureml.ms"],
                "zones_forwarded_to_no_answer": [],
                "local_zone_copies": [],
                "private_answers_dropped": [],
                "unexplained": [],
            },
            "expected": {"forwarded_to_azure_dns": ["api.azureml.ms"]},
        },
    ),
]


@pytest.mark.parametrize(
    ("check_id", "status", "observed", "evidence"),
    CASES,
    ids=[f"{c}-{s.value}" for c, s, _, _ in CASES],
)
def test_the_full_evidence_of_a_pass_and_a_fail(
    check_id: str, status: Status, observed: Facts, evidence: dict[str, Any]
) -> None:
    """The check's first finding of ``status`` on these facts carries exactly this evidence."""
    finding = next(f for f in check_findings(check_id, observed) if f.status is status)

    assert evidence == evidence_json(finding)


def test_every_check_with_hand_built_facts_has_a_pass_and_a_fail_here() -> None:
    """Both verdicts of every shipped check are written out above."""
    covered = {(c, s) for c, s, _, _ in CASES}

    assert {(c, s) for c, _, _, _ in CASES for s in (Status.PASS, Status.FAIL)} == covered
    assert CHECK_IDS == {c for c, _ in covered}
