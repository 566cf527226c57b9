"""Which FQDNs a workspace needs inside the VNet, and which private DNS zone record serves each.

Pure functions of the cloud table (``clouds.py``) and ARM facts; used by the probe (what to
resolve), by the checks (what to expect) and by the simulator (what to serve), so the three
agree. Name shapes are from Microsoft's custom-DNS article (``shared/reference/azure-clouds.md``
section 3): the public name CNAMEs into a ``privatelink`` zone, where an A record holds the
private endpoint's IP.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from netverify.azure.clouds import Cloud
from netverify.facts import CustomDnsConfig, ExpectedName, KeyVault, PrivateEndpoint, Workspace

API = "workspace API"
CERT = "workspace certificate"
NOTEBOOKS = "notebooks"
SCORING = "scoring"
KEY_VAULT = "Key Vault"
# The notebooks host is "ml-<workspace, truncated>-<region>-<guid>", at most one DNS label.
MAX_LABEL = 63
# Microsoft's two pages disagree on the compute-instance zone (azure-clouds.md 2.4): a custom
# DNS server that forwards either spelling is accepted.
COMPUTE_INSTANCE_ZONES = ("instances.ml.azure.ms", "instances.azureml.ms")


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
    ):
        if fqdn.endswith(f".{suffix}"):
            return f"{fqdn.removesuffix(f'.{suffix}')}.{zone}"
    raise ValueError(f"{fqdn} is not an Azure ML or Key Vault name of cloud {cloud.name}")


def forwarder_zones(cloud: Cloud, fqdn: str) -> tuple[str, ...]:
    """The conditional-forwarder zones ``fqdn`` needs: the one of Azure ML's list covering it,
    or for a Key Vault both its public zone and that of its privatelink CNAME target (servers
    such as BIND resolve the target again, outside the first zone)."""
    fqdn = fqdn.lower()
    if fqdn.endswith("." + cloud.keyvault_suffix):
        return (cloud.keyvault_suffix, public_suffix(cloud.keyvault_zone))
    covering = [
        z
        for z in (*cloud.conditional_forwarder_zones, *COMPUTE_INSTANCE_ZONES)
        if fqdn == z or fqdn.endswith("." + z)
    ]
    return (max(covering, key=len),) if covering else ()


def expected_names(
    cloud: Cloud,
    workspace: Workspace,
    endpoints: Sequence[PrivateEndpoint],
    online_endpoints: Iterable[str],
) -> list[ExpectedName]:
    """Every FQDN the workspace's private endpoints must answer, with the IPs it must get.

    The IPs come from each endpoint's ``customDnsConfigs``; the wildcard scoring entry becomes
    one FQDN per online endpoint of the workspace.
    """
    guid = workspace.workspace_guid or ""
    if not guid:
        return []
    shapes = workspace_names(cloud, workspace.name, workspace.location, guid)
    endpoint_names = sorted({e.lower() for e in online_endpoints})
    out: list[ExpectedName] = []
    for pe in endpoints:
        for config in pe.custom_dns_configs:
            shape = next((s for s in shapes if s.fqdn == config.fqdn.lower()), None)
            if shape is None:
                continue  # a name of another service, or of another workspace: not ours to judge
            fqdns = (
                [scoring_fqdn(cloud, e, workspace.location) for e in endpoint_names]
                if shape.purpose == SCORING
                else [shape.fqdn]
            )
            out += [_expected(cloud, workspace, pe, shape, fqdn, config) for fqdn in fqdns]
    return out


def _expected(
    cloud: Cloud,
    workspace: Workspace,
    pe: PrivateEndpoint,
    shape: WorkspaceName,
    fqdn: str,
    config: CustomDnsConfig,
) -> ExpectedName:
    return ExpectedName(
        fqdn=fqdn,
        purpose=shape.purpose,
        workspace_id=workspace.id,
        workspace_name=workspace.name,
        private_endpoint_id=pe.id,
        expected_ips=config.ip_addresses,
        zone_name=shape.zone,
        record_name=shape.record,
        forwarder_zones=forwarder_zones(cloud, fqdn),
    )


def vault_names(
    cloud: Cloud, vault: KeyVault, endpoints: Sequence[PrivateEndpoint], workspace: Workspace
) -> list[ExpectedName]:
    """The vault's name (``<vault>.vault.azure.net``) as its private endpoints' customDnsConfigs
    give it; its record ``<vault>`` lives in the cloud's Key Vault zone."""
    fqdn = f"{vault.name}.{cloud.keyvault_suffix}".lower()
    return [
        ExpectedName(
            fqdn=fqdn,
            purpose=KEY_VAULT,
            workspace_id=workspace.id,
            workspace_name=workspace.name,
            private_endpoint_id=pe.id,
            expected_ips=config.ip_addresses,
            zone_name=cloud.keyvault_zone,
            record_name=vault.name.lower(),
            forwarder_zones=forwarder_zones(cloud, fqdn),
        )
        for pe in endpoints
        for config in pe.custom_dns_configs
        if config.fqdn == fqdn
    ]
