"""Azure Resource Manager resource ids: parsing with errors that say what is wrong."""

from __future__ import annotations

import re
from dataclasses import dataclass


class ResourceIdError(ValueError):
    """A string that is not the ARM id it was meant to be."""


@dataclass(frozen=True, slots=True)
class ResourceId:
    """``/subscriptions/<sub>/resourceGroups/<rg>/providers/<ns>/<type>/<name>[/<type>/<name>]...``"""

    subscription: str
    resource_group: str
    namespace: str
    types: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def type(self) -> str:
        """The full resource type, e.g. ``Microsoft.KeyVault/vaults``."""
        return "/".join((self.namespace, *self.types))

    @property
    def name(self) -> str:
        return self.names[-1]

    def __str__(self) -> str:
        pairs = "/".join(f"{t}/{n}" for t, n in zip(self.types, self.names, strict=True))
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/{self.namespace}/{pairs}"
        )

    @classmethod
    def parse(cls, value: str, expected_type: str | None = None) -> ResourceId:
        parts = value.strip("/").split("/")
        shape = "expected /subscriptions/<id>/resourceGroups/<group>/providers/<namespace>/<type>/<name>"
        if (
            not value.startswith("/")
            or len(parts) < 8
            or len(parts) % 2
            or parts[0].lower() != "subscriptions"
            or parts[2].lower() != "resourcegroups"
            or parts[4].lower() != "providers"
            or not all(parts)
        ):
            raise ResourceIdError(f"{value!r} is not an ARM resource id: {shape}")
        rest = parts[6:]
        rid = cls(
            subscription=parts[1],
            resource_group=parts[3],
            namespace=parts[5],
            types=tuple(rest[0::2]),
            names=tuple(rest[1::2]),
        )
        if expected_type is not None and rid.type.lower() != expected_type.lower():
            raise ResourceIdError(f"{value!r} is a {rid.type} id, expected a {expected_type} id")
        return rid


def subscription_of(arm_id: str) -> str | None:
    """The subscription of any id under ``/subscriptions/<id>/`` (a resource, a group, a list
    path such as ``.../providers/Microsoft.Authorization/policyAssignments``); None otherwise."""
    parts = arm_id.strip("/").split("/")
    return parts[1] if len(parts) > 1 and parts[0].lower() == "subscriptions" else None


def cli_subscription(arm_id: str) -> str:
    """The ``--subscription`` of an az command that names the resource of ``arm_id`` by group
    and name: the resource may live outside the CLI's current subscription (zones in a central
    subscription, a hub's VNet), so every such command carries it."""
    return subscription_of(arm_id) or "<subscription>"


def name_of(arm_id: str) -> str:
    """The last segment of an id: a resource's (or child resource's) name, e.g. ``vnet-hub``
    of ``.../virtualNetworks/vnet-hub``."""
    return arm_id.rstrip("/").rsplit("/", 1)[-1]


def resource_group_of(arm_id: str) -> str | None:
    """The resource group of any id under ``/subscriptions/<id>/resourceGroups/<group>``."""
    parts = arm_id.strip("/").split("/")
    grouped = len(parts) > 3 and parts[0].lower() == "subscriptions"
    return parts[3] if grouped and parts[2].lower() == "resourcegroups" else None


_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def is_guid(value: str) -> bool:
    """Whether ``value`` is a GUID (subscription, tenant and client ids are), in any case."""
    return bool(_GUID.match(value))


_MANAGEMENT_GROUP = re.compile(r"^[\w().-]{1,90}$")
_MANAGEMENT_GROUP_PREFIX = "/providers/microsoft.management/managementgroups/"


def parse_subscription(value: str) -> str:
    """A subscription id (a GUID), with or without the ``/subscriptions/`` prefix."""
    guid = value.removeprefix("/subscriptions/").strip("/")
    if not is_guid(guid):
        raise ResourceIdError(
            f"{value!r} is not a subscription id: expected a GUID such as "
            "00000000-0000-0000-0000-000000000000"
        )
    return guid


def parse_resource_group(value: str) -> tuple[str, str]:
    """``/subscriptions/<id>/resourceGroups/<group>`` -> (subscription, group)."""
    parts = value.strip("/").split("/")
    if (
        not value.startswith("/")
        or len(parts) != 4
        or parts[0].lower() != "subscriptions"
        or parts[2].lower() != "resourcegroups"
        or not parts[3]
    ):
        raise ResourceIdError(
            f"{value!r} is not a resource group id: expected /subscriptions/<id>/resourceGroups/<group>"
        )
    return parse_subscription(parts[1]), parts[3]


def parse_management_group(value: str) -> str:
    """A management group's name, or its id ``/providers/Microsoft.Management/managementGroups/<name>``."""
    name = (
        value[len(_MANAGEMENT_GROUP_PREFIX) :]
        if value.lower().startswith(_MANAGEMENT_GROUP_PREFIX)
        else value
    )
    if not _MANAGEMENT_GROUP.match(name):
        raise ResourceIdError(
            f"{value!r} is not a management group: expected its name (letters, digits, -_.() "
            "up to 90) or /providers/Microsoft.Management/managementGroups/<name>"
        )
    return name
