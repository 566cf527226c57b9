"""What the probes observed in one run: plain, frozen data. Checks judge these; they never do I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T")


class ReadProblem(StrEnum):
    NOT_FOUND = "not_found"  # ARM answered 404
    FORBIDDEN = "forbidden"  # 403: the agent's identity lacks a read permission
    UNAUTHENTICATED = "unauthenticated"  # no token, or ARM refused it (401)
    UNAVAILABLE = "unavailable"  # timeouts, 5xx and 429 that outlasted the retries
    MALFORMED = "malformed"  # the body could not be read as the resource it should be


@dataclass(frozen=True, slots=True)
class ReadFailure:
    problem: ReadProblem
    message: str
    status_code: int | None = None
    # For FORBIDDEN: the Azure action the identity needs, e.g. Microsoft.KeyVault/vaults/read.
    permission: str | None = None


@dataclass(frozen=True, slots=True)
class Read(Generic[T]):
    """The outcome of reading one ARM resource: its facts, or why there are none."""

    resource_id: str
    value: T | None = None
    failure: ReadFailure | None = None


@dataclass(frozen=True, slots=True)
class PrivateEndpointConnection:
    id: str
    private_endpoint_id: str | None
    status: str | None  # Pending | Approved | Rejected | Disconnected | Timeout
    description: str | None


@dataclass(frozen=True, slots=True)
class Workspace:
    id: str
    name: str
    resource_group: str
    subscription: str
    location: str
    workspace_guid: str | None
    v1_legacy_mode: bool
    public_network_access: str | None
    key_vault_id: str | None
    container_registry_id: str | None
    storage_account_id: str | None
    private_endpoint_connections: tuple[PrivateEndpointConnection, ...] = ()
    image_build_compute: str | None = None
    # managedNetwork.isolationMode (Disabled | AllowInternetOutbound | AllowOnlyApprovedOutbound)
    # and managedNetwork.status.status (Inactive | Active); None when the body has no managedNetwork.
    managed_network_isolation: str | None = None
    managed_network_status: str | None = None


@dataclass(frozen=True, slots=True)
class KeyVault:
    id: str
    name: str
    resource_group: str
    # networkAcls as `az keyvault network-rule list` shows them; None when the vault has none.
    bypass: str | None
    default_action: str | None
    ip_rules: tuple[str, ...]
    virtual_network_rules: tuple[str, ...]
    public_network_access: str | None
    has_network_acls: bool = True


@dataclass(frozen=True, slots=True)
class Subscription:
    subscription_id: str
    display_name: str
    state: str | None  # Enabled | Disabled | Warned | PastDue | Deleted


@dataclass(frozen=True, slots=True)
class Registry:
    id: str
    name: str
    resource_group: str
    public_network_access: str | None
    default_action: str | None  # networkRuleSet.defaultAction
    # From the registry's privateEndpointConnections list call (`az acr private-endpoint-connection list`).
    private_endpoint_connections: tuple[PrivateEndpointConnection, ...] = ()


@dataclass(frozen=True, slots=True)
class OnlineDeployment:
    id: str
    name: str
    endpoint_id: str
    provisioning_state: str | None  # Creating|Deleting|Scaling|Updating|Succeeded|Failed|Canceled
    egress_public_network_access: str | None  # Enabled | Disabled
    compute_type: str | None  # Managed | Kubernetes


@dataclass(frozen=True, slots=True)
class OnlineEndpoint:
    id: str
    name: str
    workspace_id: str
    location: str
    provisioning_state: str | None
    public_network_access: str | None
    traffic: Mapping[str, int]  # deployment name -> percent


@dataclass(frozen=True, slots=True)
class PolicyAssignment:
    id: str
    name: str
    display_name: str | None
    scope: str
    not_scopes: tuple[str, ...]
    policy_definition_id: str
    enforcement_mode: str | None  # Default | DoNotEnforce
    parameters: Mapping[str, object]  # parameter name -> value


@dataclass(frozen=True, slots=True)
class PolicyDefinition:
    id: str
    display_name: str | None
    policy_type: str | None  # BuiltIn | Custom | Static
    # Every `field` the policy rule's conditions test, e.g. Microsoft.MachineLearningServices/workspaces/v1LegacyMode.
    fields: tuple[str, ...]
    effect: str | None  # then.effect as written, often "[parameters('effect')]"
    parameter_defaults: Mapping[str, object]


class DiscoveryMethod(StrEnum):
    CONFIG = "config"  # scope.workspaces only
    RESOURCE_GRAPH = "resource_graph"
    ARM_LIST = "arm_list"  # per-subscription ARM list calls (Resource Graph refused)


@dataclass(frozen=True, slots=True)
class Discovery:
    """How the workspaces in scope were found; notes go into the run summary."""

    method: DiscoveryMethod
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Facts:
    workspaces: tuple[Read[Workspace], ...] = ()
    key_vaults: Mapping[str, Read[KeyVault]] = field(default_factory=dict)  # by lower-case id
    registries: Mapping[str, Read[Registry]] = field(default_factory=dict)  # by lower-case id
    # Lists, by the lower-case id of their parent: a workspace's endpoints, an endpoint's deployments.
    online_endpoints: Mapping[str, Read[tuple[OnlineEndpoint, ...]]] = field(default_factory=dict)
    online_deployments: Mapping[str, Read[tuple[OnlineDeployment, ...]]] = field(
        default_factory=dict
    )
    # Assignments that apply in a subscription (its own, its groups' and its management groups'),
    # by lower-case subscription id; definitions by lower-case id.
    policy_assignments: Mapping[str, Read[tuple[PolicyAssignment, ...]]] = field(
        default_factory=dict
    )
    policy_definitions: Mapping[str, Read[PolicyDefinition]] = field(default_factory=dict)
    discovery: Discovery = Discovery(DiscoveryMethod.CONFIG)

    def key_vault(self, resource_id: str) -> Read[KeyVault] | None:
        return self.key_vaults.get(resource_id.lower())

    def registry(self, resource_id: str) -> Read[Registry] | None:
        return self.registries.get(resource_id.lower())

    def endpoints_of(self, workspace_id: str) -> Read[tuple[OnlineEndpoint, ...]] | None:
        return self.online_endpoints.get(workspace_id.lower())

    def deployments_of(self, endpoint_id: str) -> Read[tuple[OnlineDeployment, ...]] | None:
        return self.online_deployments.get(endpoint_id.lower())
