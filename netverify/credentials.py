"""The agent's Azure identity, built from the config."""

from __future__ import annotations

from azure.core.credentials import TokenCredential
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from netverify.clouds import Cloud
from netverify.config import CredentialConfig


def make_credential(config: CredentialConfig, cloud: Cloud) -> TokenCredential:
    if config.kind == "managed_identity":
        return ManagedIdentityCredential(client_id=config.client_id)
    return DefaultAzureCredential(
        authority=cloud.authority_host, managed_identity_client_id=config.client_id
    )
