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
class Facts:
    workspaces: tuple[Read[Workspace], ...] = ()
    key_vaults: Mapping[str, Read[KeyVault]] = field(default_factory=dict)  # by lower-case id

    def key_vault(self, resource_id: str) -> Read[KeyVault] | None:
        return self.key_vaults.get(resource_id.lower())
