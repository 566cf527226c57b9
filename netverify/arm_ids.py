"""Azure Resource Manager resource ids: parsing with errors that say what is wrong."""

from __future__ import annotations

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


def same_id(a: str, b: str) -> bool:
    """ARM ids compare case-insensitively."""
    return a.lower() == b.lower()
