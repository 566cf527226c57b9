"""The agent's Azure identity, built from the config."""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

from azure.core.credentials import TokenCredential
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from netverify.azure.clouds import Cloud
from netverify.config import CredentialConfig


def client_id(config: CredentialConfig) -> str | None:
    """The user-assigned identity's client id: ``credential.client_id`` when configured, else
    ``AZURE_CLIENT_ID``, as DefaultAzureCredential documents it; None: the system-assigned one.

    Passing None to azure-identity would *override* ``AZURE_CLIENT_ID`` (its docs say so), so
    the variable is read here, for both kinds.
    """
    return config.client_id or os.environ.get("AZURE_CLIENT_ID") or None


def make_credential(config: CredentialConfig, cloud: Cloud) -> TokenCredential:
    """The identity. A managed-identity token request, retries included, ends within
    ``timeout_seconds``: azure-identity would wait 300 s for each of its four tries.
    ``kind = "default"`` reads the rest of azure-identity's variables itself (AZURE_TENANT_ID,
    AZURE_CLIENT_SECRET, AZURE_FEDERATED_TOKEN_FILE, ...); the authority is the cloud's."""
    if config.kind == "managed_identity":
        return ManagedIdentityCredential(
            client_id=client_id(config),
            read_timeout=config.timeout_seconds,
            # azure-core's RetryPolicy reads its overall deadline from ``timeout`` (its docs
            # say retry_timeout, which it ignores); it also caps each connection attempt.
            timeout=config.timeout_seconds,
        )
    return DefaultAzureCredential(
        authority=cloud.authority_host, managed_identity_client_id=client_id(config)
    )


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT access token, *unverified*: only to say which identity got it.

    Empty when the token is not a JWT (Entra access tokens are; nothing relies on that).
    """
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}
