"""Benchmark: a full control-plane run over a generated tenant, beside a naive sequential run.

    .venv/bin/python bench/control_plane.py [--subscriptions 50 --workspaces 500
        --endpoints 2000 --latency-ms 40] [--scales 1,4,10] [--skip-naive]

``--skip-naive`` measures netverify alone (the naive reader takes minutes at 1x), for
iterating on RSS and growth with ``--scales``; the speed-up is then not printed.

The simulated ARM runs in this process; each implementation runs in a child process of its own
(same token endpoint), so its peak RSS is its own: the child reports its memory's high-water
mark (VmHWM), as ``ru_maxrss`` would be at least this process's RSS when it spawned the child,
and at 10x this process holds more than the run. Both runs are measured in this one
invocation and every ratio is printed at the end against issue 17's targets: the speed-up over
the naive reader, requests per resource, the time against the latency limit (requests x latency
/ requests in flight), and peak RSS at each of --scales (10x: < 300 MB); netverify's run also
prints its critical path (time per phase).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from netverify.azure.arm_ids import ResourceId
from netverify.azure.clouds import cloud
from netverify.checklib.catalog import load_checks
from netverify.config import Config, load_config
from netverify.facts import Facts, Read
from netverify.model import Finding
from netverify.probes import arm, arm_bodies
from netverify.probes.collect import collect_facts
from netverify.probes.credentials import make_credential
from netverify.runner import evaluate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=50)
    parser.add_argument("--workspaces", type=int, default=500)
    parser.add_argument("--endpoints", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=40.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--per-subscription", type=int, default=16, help="arm.max_concurrency_per_subscription"
    )
    parser.add_argument(
        "--skip-naive", action="store_true", help="measure netverify only (no ratios)"
    )
    parser.add_argument(
        "--no-scoring",
        action="store_true",
        help="scoring.enabled = false: no scoring-path request per online endpoint",
    )
    parser.add_argument(
        "--scales",
        default="1",
        help="comma-separated multiples of the size to run netverify at (the naive reader runs "
        "at 1x only), e.g. 1,4,10 for RSS and growth",
    )
    parser.add_argument("--child", choices=("netverify", "naive"), help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        config = load_config(args.config)
        # Both runs start with the checks loaded; only the naive reader imports the management
        # SDKs (in its timed run, about 0.3 s), so netverify's RSS is what `netverify run` holds.
        load_checks()
        stages = {"imports": _peak_rss_mb()}
        started = time.perf_counter()
        facts, findings = (
            _run_netverify(config, stages) if args.child == "netverify" else _run_naive(config)
        )
        elapsed = time.perf_counter() - started
        phases = [f"{p.name}: {p.seconds:.2f} s" for p in facts.phases]
        statuses = Counter(f.status.value for f in findings)
        report = {
            "seconds": elapsed,
            "resources": resources_read(facts),
            "phases": phases,
            "findings": len(findings),
            "statuses": dict(sorted(statuses.items())),
        }
        stages["end"] = _peak_rss_mb()
        print(json.dumps(report | {"peak_rss_by_stage": stages}))
        return 0
    return _bench(args)


# Issue 17's targets for the control plane.
TARGET_SPEED_UP = 100.0  # x the naive reader
TARGET_REQUESTS_PER_RESOURCE = 0.5
TARGET_OF_LIMIT = 2.0  # x the latency limit
TARGET_RSS_MB = 300.0  # at 10x the default size


def _bench(args: argparse.Namespace) -> int:
    scales = sorted({int(x) for x in args.scales.split(",")})
    print(f"load average at the start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    results: dict[str, dict[str, Any]] = {}
    for scale in scales:
        names = ("netverify", "naive") if scale == 1 and not args.skip_naive else ("netverify",)
        for name, report in _measure(args, scale, names).items():
            results[name if scale == 1 else f"{name} {scale}x"] = report
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if 1 not in scales:
        return 0
    fast = results["netverify"]
    per_resource = fast["requests"] / fast["resources"]
    # Every request waits the latency, and at most --concurrency are in flight at once.
    limit = fast["requests"] * args.latency_ms / 1000 / args.concurrency
    lines = [
        (
            "requests per resource",
            f"{per_resource:.3f}",
            f"<= {TARGET_REQUESTS_PER_RESOURCE}",
            per_resource <= TARGET_REQUESTS_PER_RESOURCE,
        ),
        (
            "time against the latency limit",
            f"{fast['seconds'] / limit:.1f}x ({limit:.2f} s: {fast['requests']} requests x "
            f"{args.latency_ms:g} ms / {args.concurrency} in flight)",
            f"<= {TARGET_OF_LIMIT:g}x",
            fast["seconds"] <= TARGET_OF_LIMIT * limit,
        ),
    ]
    if "naive" in results:
        speed_up = results["naive"]["seconds"] / fast["seconds"]
        lines.insert(
            0,
            (
                "speed-up",
                f"{speed_up:.1f}x",
                f">= {TARGET_SPEED_UP:g}x",
                speed_up >= TARGET_SPEED_UP,
            ),
        )
    for scale in scales:
        report = results["netverify" if scale == 1 else f"netverify {scale}x"]
        rss, per_workspace = report["peak_rss_mb"], report["seconds"] / (args.workspaces * scale)
        lines.append(
            (
                f"peak RSS at {scale}x",
                f"{rss:.0f} MB ({per_workspace * 1000:.1f} ms per workspace)",
                f"< {TARGET_RSS_MB:g} MB at 10x" if scale == 10 else "",
                rss < TARGET_RSS_MB if scale == 10 else True,
            )
        )
    for what, value, target, met in lines:
        verdict = ("met" if met else "NOT met") if target else ""
        print(f"{what:>32}: {value}  {target}  {verdict}".rstrip())
    met = all(m for _, _, t, m in lines if t)
    print("targets met" if met else "targets NOT met")
    return 0 if met else 1


def _measure(args: argparse.Namespace, scale: int, names: tuple[str, ...]) -> dict[str, Any]:
    """Each of ``names`` run in a child process against the tenant at ``scale`` x the size."""
    from netverify.sim.generate import MANAGEMENT_GROUP, large_tenant
    from netverify.sim.tenant import SimulatedTenant

    subscriptions, workspaces = args.subscriptions * scale, args.workspaces * scale
    endpoints = args.endpoints * scale
    scenario = large_tenant(subscriptions, workspaces, endpoints, latency_ms=args.latency_ms)
    print(
        f"tenant at {scale}x: {subscriptions} subscriptions, {workspaces} workspaces, "
        f"{endpoints} online endpoints, {args.latency_ms:g} ms per ARM request"
    )
    results = {}
    with tempfile.TemporaryDirectory() as tmp, SimulatedTenant(scenario, Path(tmp)) as tenant:
        config = tenant.write_config(
            Path(tmp) / "bench.toml",
            scope={"workspaces": [], "management_group": MANAGEMENT_GROUP},
            arm={
                "max_concurrency": args.concurrency,
                "max_concurrency_per_subscription": args.per_subscription,
                "timeout_seconds": 60,
            },
            scoring={"enabled": not args.no_scoring},
        )
        env = {**os.environ, **tenant.credential_environment}
        for name in names:
            before = len(tenant.arm.requests)
            server_cpu = time.process_time()
            child = subprocess.Popen(
                [sys.executable, __file__, "--child", name, "--config", str(config)],
                env=env,
                stdout=subprocess.PIPE,
            )
            assert child.stdout is not None
            output = child.stdout.read()
            _, status, usage = os.wait4(child.pid, 0)
            if status != 0:
                raise SystemExit(f"{name}: the child failed (status {status})")
            report = json.loads(output)
            requests = tenant.arm.requests[before:]
            report |= {
                "requests": len(requests),
                "non_2xx": sum(r.status >= 300 for r in requests),
                "peak_rss_mb": report["peak_rss_by_stage"]["end"],
                "serving_rss_mb": _peak_rss_mb(),  # this process, serving the tenant
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
                # This process serves ARM: its CPU time shows whether the stand-in kept up.
                "arm_cpu_seconds": time.process_time() - server_cpu,
            }
            results[name] = report
            phases = "".join(f"\n{'':>13}{p}" for p in report.get("phases", ()))
            phases += f"\n{'':>13}peak RSS after " + ", ".join(
                f"{stage} {mb:.0f} MB" for stage, mb in report["peak_rss_by_stage"].items()
            )
            phases += f" (the simulated tenant's process: {report['serving_rss_mb']:.0f} MB)"
            print(
                f"{name:>9}: {report['seconds']:8.2f} s  {report['requests']:6d} ARM requests "
                f"({report['non_2xx']} not 2xx)  {report['resources']:6d} resources read  "
                f"{report['requests'] / report['resources']:.3f} requests/resource  "
                f"peak RSS {report['peak_rss_mb']:.0f} MB  CPU {report['cpu_seconds']:.1f} s "
                f"(simulated ARM: {report['arm_cpu_seconds']:.1f} s)  {report['findings']} findings "
                f"({', '.join(f'{n} {s}' for s, n in report['statuses'].items())}){phases}"
            )
    return results


def resources_read(facts: Facts) -> int:
    """Distinct ARM resources whose bodies the run received."""
    count = sum(1 for r in facts.workspaces if r.value is not None)
    count += sum(1 for r in facts.key_vaults.values() if r.value is not None)
    count += sum(1 for r in facts.storage_accounts.values() if r.value is not None)
    for registry in facts.registries.values():
        if registry.value is not None:
            count += 1 + len(registry.value.private_endpoint_connections)
    count += sum(len(r.value or ()) for r in facts.online_endpoints.values())
    count += sum(len(r.value or ()) for r in facts.online_deployments.values())
    assignments = {a.id.lower() for r in facts.policy_assignments.values() for a in r.value or ()}
    count += len(assignments)
    count += sum(1 for r in facts.policy_definitions.values() if r.value is not None)
    return count


def _peak_rss_mb() -> float:
    """This process's peak RSS so far: its memory's high-water mark (Linux's VmHWM, in KiB).
    Not ``ru_maxrss``, which a child keeps from its parent across the exec (subprocess spawns
    with vfork), so it would report the simulated tenant's RSS when that is higher."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:", 1)[1].split()[0]) / 1024


def _run_netverify(config: Config, stages: dict[str, float]) -> tuple[Facts, tuple[Finding, ...]]:
    """The run, recording into ``stages`` the peak RSS once the facts are read and once every
    check has judged them (the findings held beside the facts)."""
    facts = collect_facts(config, make_credential(config.credential, cloud(config.cloud)))
    stages["facts"] = _peak_rss_mb()
    findings = evaluate(load_checks(), facts)
    stages["findings"] = _peak_rss_mb()
    return facts, findings


def _run_naive(config: Config) -> tuple[Facts, tuple[Finding, ...]]:
    """What a first script would do: the same SDK clients, one read after another, no Resource
    Graph (each subscription of the management group listed through ARM), no memoisation."""
    from azure.core.rest import HttpRequest
    from azure.mgmt.containerregistry import ContainerRegistryManagementClient
    from azure.mgmt.keyvault import KeyVaultManagementClient
    from azure.mgmt.resource.policy import PolicyClient
    from azure.mgmt.resource.resources import ResourceManagementClient

    names = cloud(config.cloud)
    credential = make_credential(config.credential, names)
    options: dict[str, Any] = {
        "base_url": (config.arm.endpoint or names.arm_endpoint).rstrip("/"),
        "credential_scopes": [names.arm_scope],
        "connection_verify": str(config.arm.ca_bundle) if config.arm.ca_bundle else True,
    }
    tenant_client = ResourceManagementClient(credential, "tenant", **options)

    def paged(client: Any, path: str) -> list[dict[str, Any]]:
        url: str | None = f"{path}?api-version={arm.ML_API_VERSION}"
        items: list[dict[str, Any]] = []
        while url:
            body = client.send_request(HttpRequest("GET", url)).json()
            items += body.get("value") or []
            url = body.get("nextLink")
        return items

    group = config.scope.management_group
    descendants = paged(
        tenant_client, f"/providers/Microsoft.Management/managementGroups/{group}/descendants"
    )
    facts: dict[str, dict[str, Read[Any]]] = {
        k: {}
        for k in (
            "vaults",
            "registries",
            "storage",
            "endpoints",
            "deployments",
            "assignments",
            "definitions",
        )
    }
    workspaces: list[Read[Any]] = []
    for subscription in [d["name"] for d in descendants]:
        resources = ResourceManagementClient(credential, subscription, **options)
        policy = PolicyClient(credential, subscription, **options)
        vaults = KeyVaultManagementClient(credential, subscription, **options)
        registries = ContainerRegistryManagementClient(credential, subscription, **options)
        listed = resources.resources.list(
            filter="resourceType eq 'Microsoft.MachineLearningServices/workspaces'"
        )
        for found in listed:
            rid = ResourceId.parse(str(found.id))
            body = resources.resources.get_by_id(str(found.id), api_version=arm.ML_API_VERSION)
            ws = arm_bodies.parse_workspace(body.as_dict(), rid)
            workspaces.append(Read(ws.id, value=ws))
            if ws.key_vault_id:
                kv = ResourceId.parse(ws.key_vault_id)
                vault = vaults.vaults.get(kv.resource_group, kv.name).as_dict()
                facts["vaults"][ws.key_vault_id.lower()] = Read(
                    ws.key_vault_id, value=arm_bodies.parse_key_vault(vault, kv)
                )
            if ws.container_registry_id:
                cr = ResourceId.parse(ws.container_registry_id)
                registry = registries.registries.get(cr.resource_group, cr.name).as_dict()
                connections = [
                    c.as_dict()
                    for c in registries.private_endpoint_connections.list(
                        cr.resource_group, cr.name
                    )
                ]
                facts["registries"][ws.container_registry_id.lower()] = Read(
                    ws.container_registry_id,
                    value=arm_bodies.parse_registry(registry, connections, cr),
                )
            if ws.storage_account_id:
                st = ResourceId.parse(ws.storage_account_id)
                account = resources.resources.get_by_id(
                    ws.storage_account_id, api_version=arm.STORAGE_API_VERSION
                ).as_dict()
                facts["storage"][ws.storage_account_id.lower()] = Read(
                    ws.storage_account_id, value=arm_bodies.parse_storage_account(account, st)
                )
            endpoints = tuple(
                arm_bodies.parse_online_endpoint(e, ws.id, rid)
                for e in paged(resources, f"{ws.id}/onlineEndpoints")
            )
            facts["endpoints"][ws.id.lower()] = Read(ws.id, value=endpoints)
            for endpoint in endpoints:
                eid = ResourceId.parse(endpoint.id)
                deployments = tuple(
                    arm_bodies.parse_online_deployment(d, endpoint.id, eid)
                    for d in paged(resources, f"{endpoint.id}/deployments")
                )
                facts["deployments"][endpoint.id.lower()] = Read(endpoint.id, value=deployments)
        assignments = tuple(
            arm_bodies.parse_policy_assignment(a.as_dict())
            for a in policy.policy_assignments.list()
        )
        facts["assignments"][subscription.lower()] = Read(subscription, value=assignments)
        for assignment in assignments:
            name = assignment.policy_definition_id.rsplit("/", 1)[-1]
            definition = policy.policy_definitions.get_built_in(name).as_dict()
            facts["definitions"][assignment.policy_definition_id.lower()] = Read(
                assignment.policy_definition_id,
                value=arm_bodies.parse_policy_definition(
                    definition, assignment.policy_definition_id
                ),
            )
    result = Facts(
        workspaces=tuple(workspaces),
        key_vaults=facts["vaults"],
        registries=facts["registries"],
        storage_accounts=facts["storage"],
        online_endpoints=facts["endpoints"],
        online_deployments=facts["deployments"],
        policy_assignments=facts["assignments"],
        policy_definitions=facts["definitions"],
    )
    return result, evaluate(load_checks(), result)


if __name__ == "__main__":
    raise SystemExit(main())
