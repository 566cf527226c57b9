"""Explain one target: the run's findings that concern it, in the troubleshooting guide's order.

Pure: facts and findings in, lines out. It never judges; each hop line is a finding of the
check for that hop (pass: ✓, fail: ✗, error or skipped: ?), so its verdict cannot contradict
the run's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from netverify.azure.arm_ids import name_of
from netverify.facts import DnsAnswer, Facts
from netverify.model import Finding, Status

# The troubleshooting guide's decision tree, as the checks that judge each hop.
GUIDE_ORDER: tuple[str, ...] = (
    "workspace_v1_legacy_mode_disabled",
    "workspace_policy_v1_legacy_mode_absent",
    "keyvault_network_bypass_azure_services",
    "registry_egress_connection_approved",
    "privateendpoint_connection_approved",
    "workspace_managed_network_provisioned",
    "workspace_managed_network_outbound_rules_active",
    "workspace_image_build_compute_set",
    "online_deployment_provisioning_succeeded",
    "online_endpoint_traffic_to_succeeded_deployment",
    "dns_host_resolver_matches_vnet",
    "dns_resolver_answers",
    "dns_custom_server_forwards_zones",
    "dns_forwarding_ruleset_no_loop",
    "dns_forwarding_rule_targets_answer_privately",
    "privatedns_zone_exists",
    "privatedns_zone_linked_agent_vnet",
    "privatedns_record_present",
    "privatedns_record_matches_endpoint",
    "dns_name_resolves_private_endpoint",
    "dns_answer_inside_vnet",
    "privateendpoint_tls_reachable",
    "online_endpoint_scoring_path_reachable",
    "kubernetes_endpoint_router_reachable",
)
MARK = {Status.PASS: "✓", Status.FAIL: "✗", Status.ERROR: "?", Status.SKIPPED: "?"}


@dataclass(frozen=True, slots=True)
class Target:
    """The workspace a target names, and the endpoint when it names one."""

    workspace_id: str
    workspace_name: str
    endpoint_name: str | None = None


_WORKSPACE_ID = re.compile(
    r"^(/subscriptions/[^/]+/resourcegroups/[^/]+/providers/"
    r"microsoft\.machinelearningservices/workspaces/[^/]+)(/|$)",
    re.IGNORECASE,
)


def workspace_id_in(target: str) -> str | None:
    """The workspace id a target that is an ARM id (of a workspace, or of its endpoint or
    deployment) starts with, as spelled; None for a name or an FQDN, which only a read of the
    configured scope can place."""
    match = _WORKSPACE_ID.match(target.strip())
    return match.group(1) if match else None


class TargetNotFound(Exception):
    """The target is no workspace (name or id), online endpoint or scoring FQDN of the facts."""


def find_target(facts: Facts, target: str) -> Target:
    """The workspace (and endpoint) ``target`` names; raises TargetNotFound naming what was searched."""
    wanted = target.strip().lower().rstrip("/").rstrip(".")  # an FQDN may end in the root's dot
    for read in facts.workspaces:
        ws = read.value
        if ws is None:
            continue
        if wanted in {ws.id.lower(), ws.name.lower()}:
            return Target(ws.id, ws.name)
        endpoints = facts.online_endpoints.get(ws.id.lower())
        for ep in endpoints.value if endpoints and endpoints.value else ():
            if ep.named_by(target):
                return Target(ws.id, ws.name, ep.name)
    for read in facts.workspaces:
        if read.failure is not None and read.resource_id.lower().rstrip("/") == wanted:
            # The id names the workspace, so "no workspace in scope" would hide ARM's answer.
            raise TargetNotFound(f"workspace {read.resource_id}: {read.failure.message}")
    names = ", ".join(r.value.name for r in facts.workspaces if r.value) or "none"
    raise TargetNotFound(
        f"{target!r} is no workspace, online endpoint or scoring FQDN in the configured scope "
        f"(workspaces searched: {names})"
    )


def _concerns(finding: Finding, facts: Facts, target: Target) -> bool:
    """Whether the finding is about the target's workspace, its resources, names or endpoint."""
    ws_id = target.workspace_id.lower()
    rid = finding.resource_id.lower()
    ws = next((r.value for r in facts.workspaces if r.value and r.value.id.lower() == ws_id), None)
    owned = {ws_id}
    if ws is not None:
        owned |= {i.lower() for i in (ws.key_vault_id, ws.container_registry_id) if i}
    by_name = finding.check.id.startswith(("dns_", "privatedns_", "privateendpoint_tls"))
    if not by_name and (rid in owned or rid.startswith(ws_id + "/")):
        if target.endpoint_name and "/onlineendpoints/" in rid:
            return f"/onlineendpoints/{target.endpoint_name.lower()}" in rid
        return True
    names = _names(facts, target)
    if finding.check.id.startswith("privatedns_zone_"):  # the zone hop: exists, linked
        zones = {
            e.zone_name.lower()
            for e in (facts.dns.expected if facts.dns is not None else ())
            if e.fqdn in names
        }
        return name_of(finding.resource_id).lower() in zones or finding.subject.lower() in zones
    # The chain links the finding breaks or needs name the FQDNs it is about (netverify.diagnose).
    text = (
        " ".join(finding.breaks | finding.needs)
        or f"{finding.resource_id} {finding.subject} {finding.message}".lower()
    )
    return any(name.lower() in text for name in names)


def _names(facts: Facts, target: Target) -> list[str]:
    """The FQDNs the target needs: an endpoint's scoring name, else every name of its workspace."""
    if facts.dns is None:
        return []
    ws_id = target.workspace_id.lower()
    names = [e.fqdn for e in facts.dns.expected if e.workspace_id.lower() == ws_id]
    if target.endpoint_name:  # the endpoint's own scoring name, not its siblings'
        prefix = target.endpoint_name.lower() + "."
        names = [n for n in names if n.lower().startswith(prefix)] or names
    return names


def explain(facts: Facts, findings: Sequence[Finding], target: Target) -> tuple[list[str], bool]:
    """The hop lines for ``target`` and whether its chain holds (no fail among its findings)."""
    rank = {check: i for i, check in enumerate(GUIDE_ORDER)}
    mine = sorted(
        (f for f in findings if _concerns(f, facts, target)),
        key=lambda f: (rank.get(f.check.id, len(rank)), f.subject, f.resource_id),
    )
    what = f"endpoint {target.endpoint_name} in " if target.endpoint_name else ""
    lines = [f"explain {what}workspace {target.workspace_name}"]
    by_uid = {f.uid: f for f in findings}
    first_broken: Finding | None = None
    answered = False
    for f in mine:
        if f.check.id.startswith(("dns_", "privatedns_")) and not answered:
            lines.extend(f"  {line}" for line in _answers(facts, target))
            answered = True
        about = name_of(f.subject or f.resource_id)  # the last segment of an ARM id
        lines.append(f"{MARK[f.status]} {f.check.id} [{about}]: {f.message}")
        if f.status is Status.FAIL and first_broken is None:
            first_broken = f
    if first_broken is None:
        lines.append("chain holds: no broken link")
        return lines, True
    lines.append(f"first broken link: {first_broken.check.id}: {first_broken.message}")
    fix = first_broken.remediation
    for cause in first_broken.caused_by:
        root = by_uid.get(cause)
        if root is not None and root.remediation is not None:
            fix = root.remediation
    if fix is not None:
        lines.append(f"fix: {fix.text}")
        if fix.command:
            lines.append(f"  {fix.command}")
    return lines, False


def dig_line(answer: DnsAnswer) -> str:
    """One answer as dig prints it, shortened: ``resolver: fqdn. CNAME x. A ip (RCODE)``."""
    parts = [f"{answer.fqdn}."] + [f"CNAME {c}." for c in answer.cname_chain]
    parts += [f"A {a}" for a in answer.addresses]
    return f"{answer.resolver}: {' '.join(parts)} ({answer.rcode})"


def _answers(facts: Facts, target: Target) -> list[str]:
    """Each of the target's names times each resolver, as the DNS probe recorded the answers."""
    if facts.dns is None:
        return []
    return [
        dig_line(a)
        for name in _names(facts, target)
        for resolver in facts.dns.resolvers
        if (a := facts.dns.answer(name, resolver.name)) is not None
    ]
