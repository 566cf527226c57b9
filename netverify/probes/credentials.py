"""The agent's Azure identity, built from the config."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from azure.core.credentials import TokenCredential
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from netverify.azure.clouds import Cloud
from netverify.config import CredentialConfig


def make_credential(config: CredentialConfig, cloud: Cloud) -> TokenCredential:
    """The identity. A managed-identity token request, retries included, ends within
    ``timeout_seconds``: azure-identity would wait 300 s for each of its four tries."""
    if config.kind == "managed_identity":
        return ManagedIdentityCredential(
            client_id=config.client_id,
            read_timeout=config.timeout_seconds,
            # azure-core's RetryPolicy reads its overall deadline from ``timeout`` (its docs
            # say retry_timeout, which it ignores); it also caps each connection attempt.
            timeout=config.timeout_seconds,
        )
    return DefaultAzureCredential(
        authority=cloud.authority_host, managed_identity_client_id=config.client_id
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
