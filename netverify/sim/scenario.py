"""The simulated tenant's declarative scenario: a healthy default plus planted problems.

A scenario names resources by name; links to names that are not declared become ids of
resources that do not exist, which is how a "linked resource was deleted" problem is planted.
From one scenario come both the ARM bodies (``arm_state``) and, later, the DNS data.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from netverify.clouds import CloudName
from netverify.config import describe_errors

EGRESS_DESCRIPTION = "Egress for Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
# The built-in "Azure Machine Learning workspaces should enable V1LegacyMode ..." definition, as
# the simulated tenant serves it (netverify finds it by its rule, not by this name).
V1_LEGACY_MODE_POLICY = "e413671a-dd10-4cc1-a943-45b598596cb7"


class ScenarioError(Exception):
    """A scenario file that cannot describe a tenant."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Placed(_Spec):
    """Where a resource lives; unset subscription / group fall back to the scenario defaults."""

    name: str
    subscription: str | None = None
    resource_group: str | None = None
    location: str | None = None


class KeyVaultSpec(Placed):
    network_acls: bool = True
    bypass: str | None = "AzureServices"
    default_action: str | None = "Deny"
    ip_rules: tuple[str, ...] = ()
    virtual_network_rules: tuple[str, ...] = ()
    public_network_access: str = "Disabled"


class ConnectionSpec(_Spec):
    name: str
    private_endpoint: str
    status: str = "Approved"
    description: str = EGRESS_DESCRIPTION


class RegistrySpec(Placed):
    public_network_access: str = "Disabled"
    connections: tuple[ConnectionSpec, ...] = ()


class StorageSpec(Placed):
    public_network_access: str = "Disabled"


class VnetSpec(Placed):
    address_space: tuple[str, ...] = ("10.0.0.0/16",)
    dns_servers: tuple[str, ...] = ()
    subnets: tuple[str, ...] = ("default",)


class DnsConfigSpec(_Spec):
    fqdn: str
    ips: tuple[str, ...]


class PrivateEndpointSpec(Placed):
    vnet: str
    subnet: str = "default"
    target: str = Field(description="Name of the workspace, vault, registry or storage account.")
    group_id: str
    status: str = "Approved"
    dns_configs: tuple[DnsConfigSpec, ...] = ()


class RecordSpec(_Spec):
    name: str
    type: str = "A"
    values: tuple[str, ...]
    ttl: int = 10


class LinkSpec(_Spec):
    name: str
    vnet: str
    registration_enabled: bool = False


class ZoneSpec(Placed):
    records: tuple[RecordSpec, ...] = ()
    links: tuple[LinkSpec, ...] = ()


class DeploymentSpec(_Spec):
    name: str
    provisioning_state: str = "Succeeded"
    egress_public_network_access: str = "Disabled"
    compute_type: str = "Managed"


class OnlineEndpointSpec(_Spec):
    name: str
    workspace: str
    traffic: dict[str, int] = Field(default_factory=dict)
    public_network_access: str = "Disabled"
    provisioning_state: str = "Succeeded"
    deployments: tuple[DeploymentSpec, ...] = ()


class WorkspaceSpec(Placed):
    guid: str
    v1_legacy_mode: bool = False
    public_network_access: str = "Disabled"
    key_vault: str | None = None
    container_registry: str | None = None
    storage_account: str | None = None
    image_build_compute: str | None = None
    private_endpoints: tuple[str, ...] = ()
    managed_network: str = Field(
        "Disabled",
        description="isolationMode: Disabled|AllowInternetOutbound|AllowOnlyApprovedOutbound",
    )
    managed_network_status: str = "Active"


class FaultSpec(_Spec):
    """Answer requests whose path matches ``path`` (a regex, case-insensitive) differently.

    ``status = 200`` without a ``body`` only delays the normal answer by ``delay_seconds``.
    """

    path: str
    method: str = "GET"
    status: int = 500
    times: int | None = Field(None, description="How many requests it hits; unset: all of them.")
    retry_after: float | None = None
    delay_seconds: float = 0.0
    body: str | None = Field(None, description="Raw body to send instead of an ARM error body.")


class ManagementGroupSpec(_Spec):
    name: str
    subscriptions: tuple[str, ...] = ()
    children: tuple[str, ...] = Field((), description="Names of child management groups.")


class PolicyAssignmentSpec(_Spec):
    name: str
    scope: str = Field(
        description="ARM scope: a management group, subscription, group or resource."
    )
    definition: str = V1_LEGACY_MODE_POLICY
    effect: str = "Audit"
    enforcement_mode: str = "Default"
    not_scopes: tuple[str, ...] = ()


class Scenario(_Spec):
    cloud: CloudName = CloudName.PUBLIC
    tenant_id: str = "72f988bf-0000-4000-8000-000000000001"
    subscriptions: tuple[str, ...] = Field(min_length=1)
    default_resource_group: str = "rg-ml"
    default_location: str = "eastus"
    page_size: int = Field(100, ge=1)
    latency_ms: float = Field(0.0, ge=0)
    workspaces: tuple[WorkspaceSpec, ...] = ()
    key_vaults: tuple[KeyVaultSpec, ...] = ()
    registries: tuple[RegistrySpec, ...] = ()
    storage_accounts: tuple[StorageSpec, ...] = ()
    vnets: tuple[VnetSpec, ...] = ()
    private_endpoints: tuple[PrivateEndpointSpec, ...] = ()
    private_dns_zones: tuple[ZoneSpec, ...] = ()
    online_endpoints: tuple[OnlineEndpointSpec, ...] = ()
    faults: tuple[FaultSpec, ...] = ()
    management_groups: tuple[ManagementGroupSpec, ...] = ()
    policy_assignments: tuple[PolicyAssignmentSpec, ...] = ()
    resource_graph_page_size: int = Field(1000, ge=1, le=1000)
    # ARM's read throttling per subscription (token bucket; ARM's own is 250 and 25/s). Unset:
    # no throttling, and no x-ms-ratelimit-remaining-subscription-reads header.
    read_bucket: int | None = Field(None, ge=1)
    read_refill_per_second: float = Field(25.0, gt=0)

    def place(self, spec: Placed) -> tuple[str, str, str]:
        """(subscription, resource group, location) of a resource."""
        return (
            spec.subscription or self.subscriptions[0],
            spec.resource_group or self.default_resource_group,
            spec.location or self.default_location,
        )


def parse_scenario(data: dict[str, Any], source: str) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(describe_errors(source, exc, Scenario)) from exc


def load_scenario(path: Path) -> Scenario:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(f"{path}: {exc}") from exc
    return parse_scenario(data, str(path))


def builtin_scenario(name: str = "demo") -> Scenario:
    """A scenario shipped in ``netverify/sim/scenarios/``."""
    source = resources.files("netverify.sim") / "scenarios" / f"{name}.toml"
    return parse_scenario(tomllib.loads(source.read_text(encoding="utf-8")), f"scenario {name}")
