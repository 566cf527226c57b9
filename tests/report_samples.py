"""DNS findings for the demo workspaces, in the shape the report reads, until the DNS checks make them.

The names and addresses are the demo scenario's (``netverify/sim/scenarios/demo.toml``); the
answers tell the demo's story: mlw-broken's private zone lacks the scoring record, so Azure DNS
answers NXDOMAIN and the custom DNS server, forwarding the rest to the internet, the public
address; the host resolver timed out once. mlw-healthy resolves privately everywhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from netverify.model import Status
from netverify.testing import arm_id, finding_event, resolution

HOST, CUSTOM, AZURE = "host", "custom 10.0.0.4", "azure 168.63.129.16"
BROKEN_GUID = "9b8c7d6e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
HEALTHY_GUID = "3f2a9c1e-5b7d-4e8f-a1c2-d3e4f5a6b7c8"
PUBLIC_IP = "20.62.58.12"
SCORING_BROKEN = "ep-churn.eastus.inference.ml.azure.com"
SCORING_BROKEN_PRIVATELINK = f"ep-churn.{BROKEN_GUID}.inference.eastus.privatelink.api.azureml.ms"
CERT_BROKEN = f"{BROKEN_GUID}.workspace.eastus.cert.api.azureml.ms"


def _private(fqdn: str, ip: str) -> list[dict[str, Any]]:
    return [resolution(fqdn, name, kind, addresses=[ip]) for name, kind in _RESOLVERS]


_RESOLVERS = ((HOST, "host"), (CUSTOM, "custom"), (AZURE, "azure"))


def demo_dns_events(run_id: str, observed_at: datetime) -> list[dict[str, Any]]:
    """One DNS finding per demo FQDN, each carrying its row of the matrix."""

    def event(
        fqdn: str, workspace: str, ip: str, status: Status, rows: list[dict[str, Any]]
    ) -> dict[str, Any]:
        check = (
            "dns_name_resolves_private_endpoint"
            if status is not Status.ERROR
            else "dns_resolver_answers"
        )
        return finding_event(
            check,
            fqdn,
            status,
            observed={"workspace": workspace, "resolutions": rows},
            expected={"addresses": [ip]},
            # As the DNS checks do: one finding per name and workspace.
            subject=arm_id("Microsoft.MachineLearningServices/workspaces", workspace),
            message=f"{fqdn}: {status.value}",
            command=f"az network private-dns record-set a list -z privatelink.api.azureml.ms  # {fqdn}",
            run_id=run_id,
            observed_at=observed_at,
        )

    return [
        event(
            f"{HEALTHY_GUID}.workspace.eastus.api.azureml.ms",
            "mlw-healthy",
            "10.0.1.5",
            Status.PASS,
            _private(f"{HEALTHY_GUID}.workspace.eastus.api.azureml.ms", "10.0.1.5"),
        ),
        event(
            "ep-fraud.eastus.inference.ml.azure.com",
            "mlw-healthy",
            "10.0.1.7",
            Status.PASS,
            _private("ep-fraud.eastus.inference.ml.azure.com", "10.0.1.7"),
        ),
        event(
            f"{BROKEN_GUID}.workspace.eastus.api.azureml.ms",
            "mlw-broken",
            "10.0.1.8",
            Status.PASS,
            _private(f"{BROKEN_GUID}.workspace.eastus.api.azureml.ms", "10.0.1.8"),
        ),
        event(
            CERT_BROKEN,
            "mlw-broken",
            "10.0.1.8",
            Status.ERROR,
            [
                resolution(CERT_BROKEN, HOST, "host", "TIMEOUT", detail="no reply in 2 s"),
                resolution(CERT_BROKEN, CUSTOM, "custom", addresses=["10.0.1.8"]),
                resolution(CERT_BROKEN, AZURE, "azure", addresses=["10.0.1.8"]),
            ],
        ),
        event(
            SCORING_BROKEN,
            "mlw-broken",
            "10.0.1.9",
            Status.FAIL,
            [
                resolution(
                    SCORING_BROKEN,
                    HOST,
                    "host",
                    addresses=[PUBLIC_IP],
                    cname_chain=[SCORING_BROKEN_PRIVATELINK],
                ),
                resolution(
                    SCORING_BROKEN,
                    CUSTOM,
                    "custom",
                    addresses=[PUBLIC_IP],
                    cname_chain=[SCORING_BROKEN_PRIVATELINK],
                ),
                resolution(
                    SCORING_BROKEN,
                    AZURE,
                    "azure",
                    "NXDOMAIN",
                    cname_chain=[SCORING_BROKEN_PRIVATELINK],
                ),
            ],
        ),
    ]
