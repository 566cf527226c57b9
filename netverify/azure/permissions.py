"""Which Azure RBAC action an ARM request needs, so a role can be checked against real traffic.

Azure names an operation after the resource types in its path: ``GET
/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/privateDnsZones/z/ALL`` needs
``Microsoft.Network/privateDnsZones/ALL/read``. A few POSTs only read, and Azure authorises them
as reads; every other POST is an ``.../action``, PUT/PATCH a ``write`` and DELETE a ``delete``.
"""

from __future__ import annotations

# POSTs that Azure authorises as reads, by "<provider>/<type>" of their path (lower case).
_READING_POSTS = {
    # Resource Graph queries: POST /providers/Microsoft.ResourceGraph/resources
    "microsoft.resourcegraph/resources": "Microsoft.ResourceGraph/resources/read",
}
_VERBS = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}


def required_action(method: str, path: str) -> str:
    """The RBAC action a request for ``path`` (no query string) needs."""
    parts = [p for p in path.split("?", 1)[0].strip("/").split("/") if p]
    lowered = [p.lower() for p in parts]
    at = len(lowered) - 1 - lowered[::-1].index("providers") if "providers" in lowered else -1
    if 0 <= at < len(parts) - 1:
        # .../providers/<namespace>/<type>/<name>/<type>...: the last provider's types.
        rest = parts[at + 1 :]
        resource_type = "/".join([rest[0], *rest[1::2]])
    else:
        # /subscriptions[/s[/resourceGroups[/g]]][/resources]: Microsoft.Resources' own types.
        resource_type = "/".join(["Microsoft.Resources", *parts[0::2]])
    if method.upper() == "POST":
        # POST <resource>/<operation> is an action named after the operation, except reads.
        return _READING_POSTS.get(resource_type.lower(), f"{resource_type}/action")
    return f"{resource_type}/{_VERBS.get(method.upper(), 'action')}"


def is_read_only(action: str) -> bool:
    """Whether an action only reads: ends in ``/read`` and names no wildcard."""
    return action.lower().endswith("/read") and "*" not in action


def role_permits(actions: list[str], action: str) -> bool:
    """Whether a role whose ``Actions`` are literal (no wildcards) allows ``action``."""
    return action.lower() in {a.lower() for a in actions}
