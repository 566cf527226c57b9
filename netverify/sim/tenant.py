"""A whole simulated tenant on loopback: a test CA, ARM over HTTPS, and a token endpoint."""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

import tomli_w
import trustme

from netverify.clouds import cloud
from netverify.config import Config, parse_config
from netverify.sim.arm_state import build_arm_state, resource_id
from netverify.sim.scenario import Scenario
from netverify.sim.servers import SimulatedArm, TokenBook, TokenEndpoint


class SimulatedTenant:
    """Start with ``with SimulatedTenant(scenario) as tenant:``; everything stops on exit."""

    def __init__(self, scenario: Scenario, workdir: Path | None = None) -> None:
        self.scenario = scenario
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="netverify-sim-")
        self.workdir = workdir or Path(self._tmp.name)  # type: ignore[union-attr]
        self.workdir.mkdir(parents=True, exist_ok=True)
        authority = trustme.CA()
        self.ca_path = self.workdir / "sim-ca.pem"
        authority.cert_pem.write_to_path(str(self.ca_path))
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
        tokens = TokenBook()
        names = cloud(scenario.cloud)
        self.arm = SimulatedArm(
            build_arm_state(scenario),
            tokens,
            server_context,
            page_size=scenario.page_size,
            resource_graph_page_size=scenario.resource_graph_page_size,
            read_bucket=scenario.read_bucket,
            read_refill_per_second=scenario.read_refill_per_second,
            latency_seconds=scenario.latency_ms / 1000,
            faults=scenario.faults,
            authority_host=names.authority_host,
        )
        self.identity = TokenEndpoint(
            tokens,
            [names.arm_audience, names.monitor_audience],
            tenant_id=scenario.tenant_id,
            issuer_host=names.authority_host,
        )

    def __enter__(self) -> SimulatedTenant:
        self.identity.start()
        self.arm.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.arm.stop()
        self.identity.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    @property
    def credential_environment(self) -> dict[str, str]:
        return self.identity.environment()

    def workspace_ids(self) -> list[str]:
        return [
            resource_id(self.scenario, "workspace", w, w.name) for w in self.scenario.workspaces
        ]

    def config_document(self, **sections: Any) -> dict[str, Any]:
        """A config (as a TOML document) that points netverify at this tenant."""
        document: dict[str, Any] = {
            "cloud": self.scenario.cloud.value,
            "credential": {"kind": "managed_identity"},
            "arm": {
                "endpoint": self.arm.url,
                "ca_bundle": str(self.ca_path),
                "retry_total": 2,
                "retry_backoff_seconds": 0.05,
            },
            "scope": {"workspaces": self.workspace_ids()},
            "agent": {"name": "netverify-sim-agent"},
        }
        if self.scenario.vnets:  # the agent runs in the first VNet, as a deployed one runs in one
            home = self.scenario.vnets[0]
            document["agent"]["vnet_id"] = resource_id(self.scenario, "vnet", home, home.name)
        for name, values in sections.items():
            document[name] = {**document.get(name, {}), **values}
        return document

    def config(self, **sections: Any) -> Config:
        return parse_config(tomli_w.dumps(self.config_document(**sections)), "simulated tenant")

    def write_config(self, path: Path, **sections: Any) -> Path:
        path.write_text(tomli_w.dumps(self.config_document(**sections)), encoding="utf-8")
        return path
