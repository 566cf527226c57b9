"""Every per-cloud name netverify uses, in one table.

Values come from ``shared/reference/azure-clouds.md`` (azure-mgmt-core ``get_arm_endpoints``,
azure-identity ``AzureAuthorityHosts``, the Private Endpoint DNS zone table and the Azure ML
custom-DNS article). Nothing else in the code spells a cloud-specific host name.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CloudName(StrEnum):
    PUBLIC = "AzureCloud"
    CHINA = "AzureChinaCloud"
    US_GOVERNMENT = "AzureUSGovernment"


@dataclass(frozen=True, slots=True)
class StorageZone:
    group_id: str  # blob | file | queue | table | dfs
    zone: str  # privatelink.<group id>.<the cloud's storage suffix>


# The storage sub-resources a private endpoint may target, with a name <account>.<id>.<suffix>
# (static websites, "web", are named <account>.z<N>.web...: not covered).
STORAGE_GROUP_IDS = ("blob", "file", "queue", "table", "dfs")


def _storage(suffix: str) -> tuple[StorageZone, ...]:
    return tuple(StorageZone(g, f"privatelink.{g}.{suffix}") for g in STORAGE_GROUP_IDS)


@dataclass(frozen=True, slots=True)
class Cloud:
    name: CloudName
    arm_endpoint: str
    arm_scope: str
    authority_host: str
    monitor_audience: str
    # Azure ML workspace API / notebooks / managed online endpoints.
    aml_api_suffix: str
    aml_api_zone: str
    aml_notebooks_zone: str
    inference_suffix: str
    keyvault_suffix: str
    keyvault_zone: str
    acr_suffix: str
    acr_zone: str
    # Storage sub-resources (private-endpoint group ids) and their privatelink zones; the
    # public suffix is the zone without "privatelink." (blob.core.windows.net).
    storage_zones: tuple[StorageZone, ...]
    # Zones a custom DNS server must forward to Azure DNS for Azure ML to work.
    conditional_forwarder_zones: tuple[str, ...]

    def storage_zone(self, group_id: str) -> str | None:
        """The privatelink zone of a storage sub-resource (blob, file, ...); None if unknown."""
        return next((z.zone for z in self.storage_zones if z.group_id == group_id.lower()), None)

    @property
    def arm_audience(self) -> str:
        """The ``resource`` a managed-identity token endpoint is asked for (scope minus /.default)."""
        return self.arm_scope.removesuffix("/.default")


AZURE_DNS_ADDRESS = "168.63.129.16"
"""Azure's DNS virtual server: the same address in every region and national cloud."""

CLOUDS: dict[CloudName, Cloud] = {
    CloudName.PUBLIC: Cloud(
        name=CloudName.PUBLIC,
        arm_endpoint="https://management.azure.com/",
        arm_scope="https://management.azure.com/.default",
        authority_host="login.microsoftonline.com",
        monitor_audience="https://monitor.azure.com",
        aml_api_suffix="api.azureml.ms",
        aml_api_zone="privatelink.api.azureml.ms",
        aml_notebooks_zone="privatelink.notebooks.azure.net",
        inference_suffix="inference.ml.azure.com",
        keyvault_suffix="vault.azure.net",
        keyvault_zone="privatelink.vaultcore.azure.net",
        acr_suffix="azurecr.io",
        acr_zone="privatelink.azurecr.io",
        storage_zones=_storage("core.windows.net"),
        conditional_forwarder_zones=(
            "api.azureml.ms",
            "notebooks.azure.net",
            "instances.ml.azure.ms",
            "aznbcontent.net",
            "inference.ml.azure.com",
        ),
    ),
    CloudName.CHINA: Cloud(
        name=CloudName.CHINA,
        arm_endpoint="https://management.chinacloudapi.cn/",
        arm_scope="https://management.chinacloudapi.cn/.default",
        authority_host="login.chinacloudapi.cn",
        monitor_audience="https://monitor.azure.cn",
        aml_api_suffix="api.ml.azure.cn",
        aml_api_zone="privatelink.api.ml.azure.cn",
        aml_notebooks_zone="privatelink.notebooks.chinacloudapi.cn",
        inference_suffix="inference.ml.azure.cn",
        keyvault_suffix="vault.azure.cn",
        keyvault_zone="privatelink.vaultcore.azure.cn",
        # The private-endpoint DNS table lists no China registry zone; this 2020 value is the only
        # published one (azure-clouds.md marks it low confidence).
        acr_suffix="azurecr.cn",
        acr_zone="privatelink.azurecr.cn",
        storage_zones=_storage("core.chinacloudapi.cn"),
        conditional_forwarder_zones=(
            "api.ml.azure.cn",
            "notebooks.chinacloudapi.cn",
            "instances.azureml.cn",
            "aznbcontent.net",
            "inference.ml.azure.cn",
        ),
    ),
    CloudName.US_GOVERNMENT: Cloud(
        name=CloudName.US_GOVERNMENT,
        arm_endpoint="https://management.usgovcloudapi.net/",
        # The scope host differs from the endpoint host ("management.core."): azure-mgmt-core.
        arm_scope="https://management.core.usgovcloudapi.net/.default",
        authority_host="login.microsoftonline.us",
        monitor_audience="https://monitor.azure.us",
        aml_api_suffix="api.ml.azure.us",
        aml_api_zone="privatelink.api.ml.azure.us",
        aml_notebooks_zone="privatelink.notebooks.usgovcloudapi.net",
        inference_suffix="inference.ml.azure.us",
        keyvault_suffix="vault.usgovcloudapi.net",
        keyvault_zone="privatelink.vaultcore.usgovcloudapi.net",
        acr_suffix="azurecr.us",
        acr_zone="privatelink.azurecr.us",
        storage_zones=_storage("core.usgovcloudapi.net"),
        conditional_forwarder_zones=(
            "api.ml.azure.us",
            "notebooks.usgovcloudapi.net",
            "instances.ml.azure.us",
            "aznbcontent.net",
            "inference.ml.azure.us",
        ),
    ),
}


def cloud(name: CloudName | str) -> Cloud:
    return CLOUDS[CloudName(name)]
