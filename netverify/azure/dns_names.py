"""Which FQDNs a workspace needs inside the VNet, and which private DNS zone record serves each.

Pure functions of the cloud table (``clouds.py``) and ARM facts; used by the probe (what to
resolve), by the checks (what to expect) and by the simulator (what to serve), so the three
agree. Name shapes are from Microsoft's custom-DNS article (``shared/reference/azure-clouds.md``
section 3): the public name CNAMEs into a ``privatelink`` zone, where an A record holds the
private endpoint's IP.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from netverify.azure.clouds import Cloud, CloudName
from netverify.facts import (
    EndpointAddresses,
    ExpectedName,
    KeyVault,
    NameNote,
    OnlineEndpoint,
    PrivateEndpoint,
    Registry,
    StorageAccount,
    Workspace,
)

API = "workspace API"
CERT = "workspace certificate"
NOTEBOOKS = "notebooks"
SCORING = "scoring"
KEY_VAULT = "Key Vault"
REGISTRY = "container registry"
STORAGE = "storage"  # a storage account's sub-resource names: "storage blob", "storage file", ...
# The notebooks host is "ml-<workspace, truncated>-<region>-<guid>", at most one DNS label.
MAX_LABEL = 63
# Microsoft's two pages (custom DNS, private-endpoint DNS zone values) disagree on the
# compute-instance zone of the public cloud and of US Government (azure-clouds.md 2.4): a
# custom DNS server that forwards either spelling is accepted. For China both name
# instances.azureml.cn (clouds.py), never a public-cloud zone.
COMPUTE_INSTANCE_ZONES = {
    CloudName.PUBLIC: ("instances.ml.azure.ms", "instances.azureml.ms"),
    CloudName.US_GOVERNMENT: ("instances.ml.azure.us", "instances.azureml.us"),
}


@dataclass(frozen=True, slots=True)
class WorkspaceName:
    """One name a workspace's private endpoint serves: the FQDN as ``customDnsConfigs`` spells it
    (a wildcard for scoring), and the record that must exist in ``zone``."""

    purpose: str
    fqdn: str
    zone: str
    record: str


def public_suffix(zone: str) -> str:
    return zone.removeprefix("privatelink.")


def notebooks_host(workspace_name: str, region: str, guid: str) -> str:
    fixed = f"ml--{region}-{guid}"
    return f"ml-{workspace_name[: MAX_LABEL - len(fixed)]}-{region}-{guid}".lower()


def workspace_names(
    cloud: Cloud, workspace_name: str, region: str, guid: str
) -> list[WorkspaceName]:
    """The names an Azure ML workspace private endpoint registers, in ``cloud``."""
    region, guid = region.lower(), guid.lower()
    notebooks = notebooks_host(workspace_name, region, guid)
    return [
        WorkspaceName(
            API,
            f"{guid}.workspace.{region}.{cloud.aml_api_suffix}",
            cloud.aml_api_zone,
            f"{guid}.workspace.{region}",
        ),
        WorkspaceName(
            CERT,
            f"{guid}.workspace.{region}.cert.{cloud.aml_api_suffix}",
            cloud.aml_api_zone,
            f"{guid}.workspace.{region}.cert",
        ),
        WorkspaceName(
            NOTEBOOKS,
            f"{notebooks}.{region}.{public_suffix(cloud.aml_notebooks_zone)}",
            cloud.aml_notebooks_zone,
            f"{notebooks}.{region}",
        ),
        WorkspaceName(
            SCORING,
            f"*.{region}.{cloud.inference_suffix}",
            cloud.aml_api_zone,
            f"*.{guid}.inference.{region}",
        ),
    ]


def scoring_fqdn(cloud: Cloud, endpoint: str, region: str) -> str:
    return f"{endpoint}.{region}.{cloud.inference_suffix}".lower()


def privatelink_name(cloud: Cloud, fqdn: str, guid: str) -> str:
    """The name in the privatelink zone that public DNS CNAMEs ``fqdn`` to."""
    fqdn = fqdn.lower()
    suffix = f".{cloud.inference_suffix}"
    if fqdn.endswith(suffix):
        endpoint, region = fqdn.removesuffix(suffix).split(".", 1)
        return f"{endpoint}.{guid.lower()}.inference.{region}.{cloud.aml_api_zone}"
    for suffix, zone in (
        (public_suffix(cloud.aml_api_zone), cloud.aml_api_zone),
        (public_suffix(cloud.aml_notebooks_zone), cloud.aml_notebooks_zone),
        (cloud.keyvault_suffix, cloud.keyvault_zone),
        (cloud.acr_suffix, cloud.acr_zone),
        *((public_suffix(z.zone), z.zone) for z in cloud.storage_zones),
    ):
        if fqdn.endswith(f".{suffix}"):
            return f"{fqdn.removesuffix(f'.{suffix}')}.{zone}"
    raise ValueError(f"{fqdn} is not an Azure ML name or a dependency's of cloud {cloud.name}")


def forwarder_zones(cloud: Cloud, fqdn: str) -> tuple[str, ...]:
    """The conditional-forwarder zones ``fqdn`` needs: the one of Azure ML's list covering it,
    or for a Key Vault both its public zone and that of its privatelink CNAME target (servers
    such as BIND resolve the target again, outside the first zone)."""
    fqdn = fqdn.lower()
    if fqdn.endswith("." + cloud.keyvault_suffix):
        return (cloud.keyvault_suffix, public_suffix(cloud.keyvault_zone))
    if fqdn.endswith("." + cloud.acr_suffix):
        return (cloud.acr_suffix,)
    for storage in cloud.storage_zones:
        if fqdn.endswith("." + public_suffix(storage.zone)):
            return (public_suffix(storage.zone),)
    covering = [
        z
        for z in (*cloud.conditional_forwarder_zones, *COMPUTE_INSTANCE_ZONES.get(cloud.name, ()))
        if fqdn == z or fqdn.endswith("." + z)
    ]
    return (max(covering, key=len),) if covering else ()


SCORING_URI = "scoringUri"
CUSTOM_DNS_CONFIGS = "customDnsConfigs"
ZONE_GROUP = "zone group"


def expected_names(
    cloud: Cloud,
    workspace: Workspace,
    endpoints: Sequence[PrivateEndpoint],
    online_endpoints: Sequence[OnlineEndpoint],
    hub: Workspace | None = None,
    withheld: Sequence[PrivateEndpoint] = (),
) -> tuple[list[ExpectedName], list[NameNote]]:
    """Every FQDN the workspace's private endpoints must answer, with the IPs each gives it,
    and the online endpoints deliberately left out (with why).

    A name is served by every endpoint that lists it in ``customDnsConfigs`` or whose zone
    group wrote its record (``recordSets``), with every IP of every entry kept. Scoring names
    are the hosts of the managed online endpoints' ``scoringUri``: a Kubernetes endpoint is
    scored at its cluster's address, an endpoint without a ``scoringUri`` has none yet. A
    scoring host no endpoint serves is still expected (with no IPs), so it is judged.

    A hub-based project (``hub``: its hub workspace, whose ``endpoints`` are given) has no
    private endpoint of its own: its scoring hosts are served by the hub's, as the hub's names
    are; the hub's own names are the hub's to judge.

    ``withheld`` are the workspace's (or hub's) endpoints whose connection is not Approved:
    their IPs are kept on the names as ``withheld`` (no right answer, no stale one either),
    and a scoring host only they serve is not expected (its endpoint's connection is the
    finding, not the name).
    """
    owner = hub or workspace
    guid = owner.workspace_guid or ""
    if not guid:
        return [], []
    shapes = workspace_names(cloud, owner.name, owner.location, guid)
    served = {shape.purpose: _served_by(shape, endpoints) for shape in shapes}
    held = {shape.purpose: _served_by(shape, withheld)[0] for shape in shapes}
    names = [
        _expected(
            cloud,
            workspace,
            shape,
            shape.fqdn,
            *served[shape.purpose],
            held[shape.purpose],
            location=workspace.location,
        )
        for shape in shapes
        if shape.purpose != SCORING and served[shape.purpose][0] and hub is None
    ]
    [scoring] = [s for s in shapes if s.purpose == SCORING]
    notes: list[NameNote] = []
    for online in online_endpoints:
        host = urlsplit(online.scoring_uri).hostname if online.scoring_uri else None
        if online.kubernetes:
            notes.append(
                NameNote(
                    online.id,
                    workspace.id,
                    f"Kubernetes online endpoint {online.name} is scored at its cluster's address "
                    f"({host or 'no scoringUri yet'}), not through the workspace's private "
                    "endpoint: not judged here.",
                )
            )
        elif host is None:
            notes.append(
                NameNote(
                    online.id,
                    workspace.id,
                    f"Online endpoint {online.name} has no scoringUri yet "
                    f"(provisioning state {online.provisioning_state}): no scoring name to resolve.",
                )
            )
        elif not host.lower().endswith("." + cloud.inference_suffix):
            notes.append(
                NameNote(
                    online.id,
                    workspace.id,
                    f"Online endpoint {online.name} is scored at {host}, outside "
                    f"{cloud.inference_suffix}: not a name the workspace's private endpoint serves.",
                )
            )
        elif served[SCORING][0] or not held[SCORING]:
            addresses, sources = served[SCORING]
            inherited = (f"hub {hub.name}",) if hub is not None else ()
            name = _expected(
                cloud,
                workspace,
                scoring,
                host.lower(),
                addresses,
                (SCORING_URI, *sources, *inherited),
                held[SCORING],
                location=online.location,
            )
            names.append(
                name if hub is None else dataclasses.replace(name, hub_id=hub.id, hub_name=hub.name)
            )
    return names, notes


def _served_by(
    shape: WorkspaceName, endpoints: Sequence[PrivateEndpoint]
) -> tuple[tuple[EndpointAddresses, ...], tuple[str, ...]]:
    """The endpoints that serve ``shape`` with all their IPs for it, and where that was read."""
    found: dict[str, dict[str, None]] = {}
    sources: dict[str, None] = {}
    by_id = {pe.id.lower(): pe for pe in endpoints}
    for pe in endpoints:
        ips = found.setdefault(pe.id.lower(), {})
        for config in pe.custom_dns_configs:
            if config.fqdn.lower() == shape.fqdn:
                ips.update(dict.fromkeys(config.ip_addresses))
                sources[CUSTOM_DNS_CONFIGS] = None
        for record in pe.zone_records:
            in_zone = record.zone_id.rstrip("/").rsplit("/", 1)[-1].lower() == shape.zone
            if in_zone and record.record_name.lower() == shape.record.lower():
                ips.update(dict.fromkeys(record.ip_addresses))
                sources[ZONE_GROUP] = None
    addresses = tuple(
        EndpointAddresses(by_id[key].id, tuple(ips), by_id[key].vnet_id)
        for key, ips in found.items()
        if ips
    )
    return addresses, tuple(sources)


def _expected(
    cloud: Cloud,
    workspace: Workspace,
    shape: WorkspaceName,
    fqdn: str,
    endpoints: tuple[EndpointAddresses, ...],
    sources: tuple[str, ...],
    withheld: tuple[EndpointAddresses, ...] = (),
    *,
    location: str,
) -> ExpectedName:
    """The expected name; ``location`` is its owner's (``ExpectedName.location``)."""
    return ExpectedName(
        fqdn=fqdn,
        purpose=shape.purpose,
        workspace_id=workspace.id,
        workspace_name=workspace.name,
        endpoints=endpoints,
        zone_name=shape.zone,
        record_name=shape.record,
        forwarder_zones=forwarder_zones(cloud, fqdn),
        sources=sources,
        withheld=withheld,
        location=location,
    )


def vault_names(
    cloud: Cloud,
    vault: KeyVault,
    endpoints: Sequence[PrivateEndpoint],
    workspace: Workspace,
    withheld: Sequence[PrivateEndpoint] = (),
) -> list[ExpectedName]:
    """The vault's name (``<vault>.vault.azure.net``) as its private endpoints' customDnsConfigs
    or zone groups give it; its record ``<vault>`` lives in the cloud's Key Vault zone."""
    fqdn = f"{vault.name}.{cloud.keyvault_suffix}".lower()
    shape = WorkspaceName(KEY_VAULT, fqdn, cloud.keyvault_zone, vault.name.lower())
    return _dependency_names([shape], cloud, endpoints, workspace, withheld, vault.location)


def registry_names(
    cloud: Cloud,
    registry: Registry,
    endpoints: Sequence[PrivateEndpoint],
    workspace: Workspace,
    withheld: Sequence[PrivateEndpoint] = (),
) -> list[ExpectedName]:
    """The registry's login server (``<registry>.azurecr.io``) and each regional data endpoint
    (``<registry>.<region>.data.azurecr.io``) its private endpoints list; records in the
    cloud's registry zone, relative to it (``<registry>``, ``<registry>.<region>.data``)."""
    suffix = "." + cloud.acr_suffix
    login = f"{registry.name}{suffix}".lower()
    fqdns = {
        config.fqdn.lower()
        for pe in endpoints
        for config in pe.custom_dns_configs
        if config.fqdn.lower() == login
        or (
            config.fqdn.lower().startswith(registry.name.lower() + ".")
            and config.fqdn.lower().endswith(".data" + suffix)
        )
    }
    shapes = [
        WorkspaceName(REGISTRY, fqdn, cloud.acr_zone, fqdn.removesuffix(suffix))
        for fqdn in sorted(fqdns)
    ]
    return _dependency_names(shapes, cloud, endpoints, workspace, withheld, registry.location)


def storage_names(
    cloud: Cloud,
    account: StorageAccount,
    endpoints: Sequence[PrivateEndpoint],
    workspace: Workspace,
    withheld: Sequence[PrivateEndpoint] = (),
) -> list[ExpectedName]:
    """The storage account's names its private endpoints list, one per sub-resource they serve
    (``<account>.blob.core.windows.net``, ``<account>.file...``, queue, table, dfs: the cloud's
    ``storage_zones``); record ``<account>`` in that sub-resource's zone."""
    shapes = [
        storage_shape(account.name, storage.group_id, storage.zone)
        for storage in cloud.storage_zones
    ]
    return _dependency_names(shapes, cloud, endpoints, workspace, withheld, account.location)


def storage_shape(account: str, group_id: str, zone: str) -> WorkspaceName:
    """The name of one storage sub-resource (``group_id``) of ``account`` and its record."""
    fqdn = f"{account}.{public_suffix(zone)}".lower()
    return WorkspaceName(f"{STORAGE} {group_id}", fqdn, zone, account.lower())


def _dependency_names(
    shapes: Sequence[WorkspaceName],
    cloud: Cloud,
    endpoints: Sequence[PrivateEndpoint],
    workspace: Workspace,
    withheld: Sequence[PrivateEndpoint],
    location: str,
) -> list[ExpectedName]:
    """Names of a resource the workspace depends on (at ``location``, its ARM location), each
    served by the endpoints that list it (the ``withheld`` ones, whose connection is not
    Approved, serve none)."""
    names = []
    for shape in shapes:
        addresses, sources = _served_by(shape, endpoints)
        if addresses:
            held = _served_by(shape, withheld)[0]
            names.append(
                _expected(
                    cloud, workspace, shape, shape.fqdn, addresses, sources, held, location=location
                )
            )
    return names
