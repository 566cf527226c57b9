"""Generate a large simulated tenant (N subscriptions x workspaces x online endpoints) for the
benchmark and scale tests: healthy by default, with a few problems planted at fixed strides."""

from __future__ import annotations

import uuid
from typing import Any

from netverify.facts import EGRESS_DESCRIPTION
from netverify.sim.scenario import Scenario, parse_scenario

MANAGEMENT_GROUP = "mg-ml"


def large_tenant(
    subscriptions: int = 50,
    workspaces: int = 500,
    endpoints: int = 2000,
    *,
    latency_ms: float = 0.0,
    workspaces_per_group: int = 5,
) -> Scenario:
    """Workspaces spread evenly over subscriptions (each with its vault, registry and storage
    account), endpoints evenly over workspaces, one deployment per endpoint; every
    subscription under management group ``mg-ml``."""
    subs = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"netverify-sub-{i}")) for i in range(subscriptions)]
    data: dict[str, Any] = {
        "subscriptions": subs,
        "latency_ms": latency_ms,
        "management_groups": [{"name": MANAGEMENT_GROUP, "subscriptions": subs}],
        "workspaces": [],
        "key_vaults": [],
        "registries": [],
        "storage_accounts": [],
        "online_endpoints": [],
        "policy_assignments": [
            # One Audit assignment of the V1LegacyMode policy on the first subscription.
            {"name": "audit-v1-legacy-mode", "scope": f"/subscriptions/{subs[0]}"}
        ],
    }
    for i in range(workspaces):
        placed = {
            "subscription": subs[i % subscriptions],
            "resource_group": f"rg-ml-{i // (subscriptions * workspaces_per_group)}",
        }
        data["workspaces"].append(
            {
                "name": f"mlw-{i:04d}",
                "guid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"netverify-ws-{i}")),
                "key_vault": f"kv-{i:04d}",
                "container_registry": f"cr{i:04d}",
                "storage_account": f"st{i:04d}",
                # Planted: every 25th workspace has no image-build compute.
                "image_build_compute": None if i % 25 == 0 else "cpu-build",
                **placed,
            }
        )
        data["key_vaults"].append({"name": f"kv-{i:04d}", **placed})
        data["storage_accounts"].append({"name": f"st{i:04d}", **placed})
        data["registries"].append(
            {
                "name": f"cr{i:04d}",
                "connections": [
                    {
                        "name": f"pe-cr{i:04d}-egress",
                        "private_endpoint": f"pe-cr{i:04d}-egress",
                        # Planted: every 40th registry's egress connection is still Pending.
                        "status": "Pending" if i % 40 == 0 else "Approved",
                        "description": EGRESS_DESCRIPTION,
                    }
                ],
                **placed,
            }
        )
    for j in range(endpoints):
        failed = j % 100 == 0  # planted: a failed deployment that takes no traffic
        data["online_endpoints"].append(
            {
                "name": f"ep-{j:05d}",
                "workspace": f"mlw-{j % workspaces:04d}",
                "traffic": {"blue": 0 if failed else 100},
                "deployments": [
                    {"name": "blue", "provisioning_state": "Failed" if failed else "Succeeded"}
                ],
            }
        )
    return parse_scenario(data, "generated tenant")
