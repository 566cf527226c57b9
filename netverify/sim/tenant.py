"""A whole simulated tenant on loopback: a test CA, ARM over HTTPS, a token endpoint, and the
DNS the agent sees (Azure DNS and public DNS stand-ins, the VNet's custom DNS servers, the
host's resolver) plus TLS front ends for the private endpoints."""

from __future__ import annotations

import os
import ssl
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import tomli_w
import trustme

from netverify.azure.clouds import cloud
from netverify.azure.dns_names import forwarder_zones
from netverify.azure.net import is_private
from netverify.config import Config, parse_config
from netverify.sim.arm_state import build_arm_state, resource_id
from netverify.sim.custom_dns import (
    DEAD_FORWARDER,
    DNSMASQ,
    NAMED,
    UNBOUND,
    Rebinding,
    RunningDns,
    start_bind,
    start_configured,
    start_dnsmasq,
    start_unbound,
)
from netverify.sim.dns_server import AzureDnsView, ForwardingDnsServer, Record, StaticDnsServer
from netverify.sim.dns_world import (
    DnsWorld,
    agent_vnet,
    build_dns_world,
    forwarding_rules,
    private_ips,
    server_vnet,
)
from netverify.sim.endpoints import TlsListener
from netverify.sim.scenario import CustomDnsServerSpec, Scenario
from netverify.sim.scoring import PrivateFrontEnd, public_answer, scoring_host
from netverify.sim.servers import SimulatedArm, TokenBook, TokenEndpoint

CustomDnsKind = Literal["bind", "unbound", "dnsmasq", "standin"]
# Each real server by kind: its binary, and how to start it with (workdir, conditional
# forwarders, default forwarder).
REAL_SERVERS: dict[str, tuple[str, Callable[[Path, Mapping[str, str], str | None], RunningDns]]] = {
    "bind": (NAMED, start_bind),
    "unbound": (UNBOUND, start_unbound),
    "dnsmasq": (DNSMASQ, start_dnsmasq),
}
# The host's local cache, as systemd-resolved's stub address in /etc/resolv.conf.
HOST_CACHE_ADDRESS = "127.0.0.53"
# The organization and units of the simulated certificates' subjects.
SIM_ORGANIZATION = "netverify"
FRONT_END = "Private endpoint front end"
INSPECTION = "TLS inspection"
# An expired certificate's validity (a fixed year long past, so no test depends on the clock).
EXPIRED_FROM = datetime(2020, 1, 1, tzinfo=UTC)
EXPIRED_ON = datetime(2021, 1, 1, tzinfo=UTC)


def _healthy_forwarders(scenario: Scenario) -> tuple[str, ...]:
    """What a well-configured custom DNS server forwards: Azure ML's zones and Key Vault's."""
    names = cloud(scenario.cloud)
    vault = forwarder_zones(names, f"vault.{names.keyvault_suffix}")
    return (*names.conditional_forwarder_zones, *vault)


def installed_custom_dns() -> CustomDnsKind:
    """The first real DNS server installed (BIND, Unbound, dnsmasq), else the Python stand-in."""
    for kind, (binary, _) in REAL_SERVERS.items():
        if os.access(binary, os.X_OK):
            return kind  # type: ignore[return-value]
    return "standin"


def _front_end_names(world: DnsWorld) -> list[str]:
    """The dNSNames of the private endpoints' certificate: for each name they serve, a wildcard
    over its parent (``*.eastus.inference.ml.azure.com``, ``*.vault.azure.net``), as Azure's."""
    served = {r.name.lower() for r in world.public if r.rtype == "CNAME"}
    wildcards = sorted({f"*.{name.split('.', 1)[1]}" for name in served if "." in name})
    # A scenario without private endpoints still gets a front end (no name resolves to it).
    return wildcards or ["front-end.invalid"]


def _server_context(
    authority: trustme.CA, names: list[str], owner: tuple[str, str], *, expired: bool = False
) -> ssl.SSLContext:
    """A TLS server context presenting a certificate for ``names`` (subject CN = the first,
    O and OU = ``owner``) issued by ``authority``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf = authority.issue_cert(
        *names,
        common_name=names[0],
        organization_name=owner[0],
        organization_unit_name=owner[1],
        not_before=EXPIRED_FROM if expired else None,
        not_after=EXPIRED_ON if expired else None,
    )
    leaf.configure_cert(context)
    return context


class SimulatedTenant:
    """Start with ``with SimulatedTenant(scenario) as tenant:``; everything stops on exit.

    ``custom_dns`` picks what plays the VNet's custom DNS servers: a real BIND, Unbound or
    dnsmasq configured with the scenario's forwarders (default: the first one installed), or
    ``standin`` (a Python forwarder that behaves like dnsmasq).
    """

    def __init__(
        self,
        scenario: Scenario,
        workdir: Path | None = None,
        *,
        custom_dns: CustomDnsKind | None = None,
    ) -> None:
        self.scenario = scenario
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="netverify-sim-")
        self.workdir = workdir or Path(self._tmp.name)  # type: ignore[union-attr]
        self.workdir.mkdir(parents=True, exist_ok=True)
        # Fixed names (trustme's default is a random OU): the certificates' subjects and issuers
        # are evidence, and the demo says the same in every run.
        authority = trustme.CA(
            organization_name=SIM_ORGANIZATION, organization_unit_name="Simulated CA"
        )
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
        world = build_dns_world(scenario)
        self.world = world
        self.azure_dns = self._azure_server(world.azure, agent_vnet(scenario))
        # Azure DNS as seen from the other VNets, started for the DNS servers that live there.
        self.azure_views: dict[str, StaticDnsServer] = {}
        self.public_dns = StaticDnsServer(world.public, soa_zones=world.zones)
        self.custom_dns_kind: CustomDnsKind = custom_dns or installed_custom_dns()
        self.custom_servers: dict[str, RunningDns | ForwardingDnsServer] = {}
        self.host_cache: ForwardingDnsServer | None = None
        front_end = (SIM_ORGANIZATION, FRONT_END)
        served = [*_front_end_names(world), *self._kubernetes_hosts()]
        # A host whose front end presents a certificate for another name.
        mismatched = {
            host: _server_context(authority, [f"not-{host}"], front_end)
            for ep in scenario.online_endpoints
            if ep.tls_name_mismatch and (host := scoring_host(scenario, ep)) is not None
        }
        # A context per listener: each records the SNI it sees through its own callback.
        self.endpoints = TlsListener(
            _server_context(authority, served, front_end), PrivateFrontEnd(scenario), mismatched
        )
        # Where a request that DNS sent to a public address arrives: Azure ML's public front
        # end, which refuses it (every endpoint here has public network access disabled).
        self.public_front_end = TlsListener(
            _server_context(authority, served, front_end), public_answer
        )
        # Each inspecting device has its own CA (one per issuer name), not the agent's.
        inspection_cas = {
            i.issuer: trustme.CA(organization_name=i.issuer, organization_unit_name=INSPECTION)
            for i in self.scenario.dns.tls_interceptors
        }
        self.interceptors = {
            i.ip: TlsListener(
                _server_context(
                    inspection_cas[i.issuer],
                    list(i.names),
                    (i.issuer, INSPECTION),
                    expired=i.expired,
                )
            )
            for i in self.scenario.dns.tls_interceptors
        }

    def __enter__(self) -> SimulatedTenant:
        self.identity.start()
        self.arm.start()
        self.azure_dns.start()
        self.public_dns.start()
        self.endpoints.start()
        self.public_front_end.start()
        for interceptor in self.interceptors.values():
            interceptor.start()
        try:
            for spec in self.scenario.dns.custom_servers:
                if not spec.down:
                    self.custom_servers[spec.address] = self._start_custom(spec)
            self._apply_rules()
            if self.scenario.dns.host_stale:
                upstream = self._dns_targets().get(self._host_nameservers()[0], DEAD_FORWARDER)
                stale = [
                    Record(e.fqdn, "A", ip) for e in self.scenario.dns.host_stale for ip in e.ips
                ]
                self.host_cache = ForwardingDnsServer(stale, {}, upstream).start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def describe_dns(self) -> str:
        """Says honestly what plays which DNS server (shown by `netverify demo`)."""
        specs = self.scenario.dns.custom_servers
        servers = ", ".join(s.address for s in specs if not s.down) or "none"
        down = [s.address for s in specs if s.down]
        if self.custom_dns_kind == "standin":
            why = (
                "no BIND, Unbound or dnsmasq is installed; `scripts/bootstrap --test` installs them"
                if installed_custom_dns() == "standin"
                else "chosen although a real server is installed"
            )
            who = f"a Python stand-in that forwards like dnsmasq ({why})"
        else:
            binary = REAL_SERVERS[self.custom_dns_kind][0]
            who = f"a real {self.custom_dns_kind} ({binary}) configured with the scenario's forwarders"
        notes = [f"{', '.join(down)}: down, nothing answers"] if down else []
        notes += [
            f"{s.address}: {'a Python stand-in' if p == 'standin' else 'a real ' + p}, for its "
            "DNS-rebinding protection"
            for s in specs
            if not s.down and s.config is None and (p := self.player(s)) != self.custom_dns_kind
        ]
        silent = f" ({'; '.join(notes)})" if notes else ""
        return (
            f"the VNet's custom DNS servers ({servers}) are {who}{silent}; Azure DNS "
            f"({self.scenario.dns.azure_dns}) and public DNS are stand-ins serving the scenario; "
            "every address is mapped to 127.0.0.1."
        )

    def _azure_server(self, records: list[Record], vnet: str | None) -> StaticDnsServer:
        """Azure DNS as ``vnet`` sees it: with the forwarding rules linked there, if any (their
        targets are set once every DNS server runs, ``_apply_rules``)."""
        if forwarding_rules(self.scenario, vnet):
            return AzureDnsView(records, self.world.zones)
        return StaticDnsServer(records, soa_zones=self.world.zones)

    def _apply_rules(self) -> None:
        """Point each view's rules at what plays their targets (nothing answers an address the
        scenario does not describe)."""
        targets = self._dns_targets()
        views: list[tuple[str | None, StaticDnsServer]] = [
            (agent_vnet(self.scenario), self.azure_dns),
            *self.azure_views.items(),
        ]
        for vnet, server in views:
            if isinstance(server, AzureDnsView):
                rules = forwarding_rules(self.scenario, vnet)
                server.set_rules({d: targets.get(ip, DEAD_FORWARDER) for d, ip in rules.items()})

    def _azure_of(self, vnet: str | None) -> str:
        """The address of Azure DNS as seen from ``vnet`` (the agent's when it is the agent's
        or unknown)."""
        if vnet is None or vnet == agent_vnet(self.scenario) or vnet not in self.world.views:
            return self.azure_dns.address
        if vnet not in self.azure_views:
            self.azure_views[vnet] = self._azure_server(self.world.views[vnet], vnet).start()
        return self.azure_views[vnet].address

    def _start_custom(self, spec: CustomDnsServerSpec) -> RunningDns | ForwardingDnsServer:
        azure = self._azure_of(server_vnet(self.scenario, spec.address))
        workdir = self.workdir / "dns" / spec.address
        if spec.config is not None and spec.kind is not None:
            return start_configured(spec.kind, workdir, spec.config, self._upstreams(azure))
        destinations = {"azure": azure, "public": self.public_dns.address}
        zones = spec.forwarders
        forwarders = (
            {f.zone: destinations.get(f.to, DEAD_FORWARDER) for f in zones}
            if zones is not None
            else {z: self.azure_dns.address for z in _healthy_forwarders(self.scenario)}
        )
        default = destinations.get(spec.default_forwarder)
        if spec.local_zones:
            # Only BIND plays a server authoritative for zones of its own here.
            if self.custom_dns_kind != "bind":
                raise ValueError(
                    f"custom DNS server {spec.address} holds local zones "
                    f"({', '.join(spec.local_zones)}): only --custom-dns bind can play it"
                )
            return start_bind(workdir, forwarders, default, spec.local_zones)
        player = self.player(spec)
        if not spec.rebinding_protection:
            if player == "standin":
                return ForwardingDnsServer([], forwarders, default).start()
            return REAL_SERVERS[player][1](workdir, forwarders, default)
        if player == "standin":
            return ForwardingDnsServer(
                [], forwarders, default, strip_private_except=spec.rebind_exempt
            ).start()
        starter = start_unbound if player == "unbound" else start_dnsmasq
        return starter(workdir, forwarders, default, Rebinding(spec.rebind_exempt))

    def player(self, spec: CustomDnsServerSpec) -> CustomDnsKind:
        """What plays a custom server: --custom-dns, unless the server needs what that one
        lacks (rebinding protection: Unbound, else dnsmasq, else the stand-in - not BIND)."""
        kind = self.custom_dns_kind
        if spec.rebinding_protection and kind == "bind":
            installed = [
                k for k in ("unbound", "dnsmasq") if os.access(REAL_SERVERS[k][0], os.X_OK)
            ]
            return installed[0] if installed else "standin"  # type: ignore[return-value]
        return kind

    def _upstreams(self, azure: str) -> dict[str, str]:
        """The placeholders a server's own configuration may name: Azure DNS of its VNet and
        of each VNet, as host and port."""
        addresses = {"azure": azure} | {
            f"view:{vnet.name}": self._azure_of(vnet.name) for vnet in self.scenario.vnets
        }
        values: dict[str, str] = {}
        for name, address in addresses.items():
            host, port = address.rsplit(":", 1)
            values |= {f"{name}.host": host, f"{name}.port": port}
        return values

    def _dns_targets(self) -> dict[str, str]:
        """Where queries for each declared DNS address really go (all loopback)."""
        # A VNet DNS server the scenario does not describe answers nothing; mapping it to a
        # closed loopback port keeps every query on this machine.
        targets = {
            server: DEAD_FORWARDER for vnet in self.scenario.vnets for server in vnet.dns_servers
        }
        targets[self.scenario.dns.azure_dns] = self.azure_dns.address
        for spec in self.scenario.dns.custom_servers:
            running = self.custom_servers.get(spec.address)
            targets[spec.address] = running.address if running else DEAD_FORWARDER
        if self.host_cache is not None:
            targets[HOST_CACHE_ADDRESS] = self.host_cache.address
        return targets

    def _host_nameservers(self) -> list[str]:
        declared = self.scenario.dns.host_nameservers
        if declared is not None:
            return list(declared)
        vnet = next((v for v in self.scenario.vnets if v.name == agent_vnet(self.scenario)), None)
        return list(
            vnet.dns_servers if vnet and vnet.dns_servers else [self.scenario.dns.azure_dns]
        )

    def write_resolv_conf(self) -> Path:
        path = self.workdir / "resolv.conf"
        servers = [HOST_CACHE_ADDRESS] if self.host_cache else self._host_nameservers()
        path.write_text("".join(f"nameserver {s}\n" for s in servers), encoding="utf-8")
        return path

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for server in [*self.custom_servers.values(), self.host_cache]:
            if server is not None:
                server.stop()
        self.custom_servers.clear()
        for view in self.azure_views.values():
            view.stop()
        self.azure_views.clear()
        self.endpoints.stop()
        self.public_front_end.stop()
        for interceptor in self.interceptors.values():
            interceptor.stop()
        self.public_dns.stop()
        self.azure_dns.stop()
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
            "dns": {
                "resolv_conf": str(self.write_resolv_conf()),
                "azure_dns": self.scenario.dns.azure_dns,
                "server_map": self._dns_targets(),
                "timeout_seconds": 1.0,
            },
            "reachability": {
                "timeout_seconds": 1.0,
                # The front ends' certificates come from the tenant's CA, as Azure's from its own.
                "ca_file": str(self.ca_path),
                "address_map": {
                    ip: self._front_end(ip)
                    for ip in sorted({*private_ips(self.scenario), *self._kubernetes_ips()})
                }
                | {ip: self.public_front_end.address for ip in sorted(self._public_ips())},
            },
        }
        vnet = agent_vnet(self.scenario)
        if vnet is not None:
            spec = next((v for v in self.scenario.vnets if v.name == vnet), None)
            document["agent"]["vnet_id"] = resource_id(self.scenario, "vnet", spec, vnet)
        for name, values in sections.items():
            document[name] = {**document.get(name, {}), **values}
        return document

    def _front_end(self, ip: str) -> str:
        """What answers TLS for a private IP: an inspecting device, the front end, or nothing."""
        if ip in self.interceptors:
            return self.interceptors[ip].address
        return self.endpoints.address if ip in self._live_ips() else DEAD_FORWARDER

    def _kubernetes_hosts(self) -> list[str]:
        return [ep.scoring_host.lower() for ep in self.scenario.online_endpoints if ep.scoring_host]

    def _kubernetes_ips(self) -> set[str]:
        """The Kubernetes endpoints' cluster IPs: an IP-literal host, or what its record says
        (a host no record names resolves nowhere)."""
        hosts = set(self._kubernetes_hosts())
        records = {
            f"{r.name}.{z.name}".lower(): r.values
            for z in self.scenario.private_dns_zones
            for r in z.records
        }
        literal = {h for h in hosts if h.replace(".", "").isdigit() or ":" in h}
        return literal | {ip for h in hosts - literal for ip in records.get(h, ())}

    def _public_ips(self) -> set[str]:
        """Every public address a resolver can give (public DNS, a stale host cache)."""
        values = [r.value for r in self.world.public if r.rtype == "A"]
        values += [ip for e in self.scenario.dns.host_stale for ip in e.ips]
        return {v for v in values if not is_private(v)}

    def _live_ips(self) -> set[str]:
        """NIC IPs of the private endpoints: their front ends answer TLS (unless silenced).

        Private Link carries traffic only for an Approved connection: the IPs of a Pending,
        Rejected or Disconnected one keep their NICs and records but nothing answers there.
        """
        nics = {
            ip
            for pe in self.scenario.private_endpoints
            if pe.status == "Approved"
            for ip in (pe.ip, pe.notebooks_ip, pe.scoring_ip)
            if ip
        }
        return (nics | self._kubernetes_ips()) - set(self.scenario.dns.silent_ips)

    def config(self, **sections: Any) -> Config:
        return parse_config(tomli_w.dumps(self.config_document(**sections)), "simulated tenant")

    def write_config(self, path: Path, **sections: Any) -> Path:
        path.write_text(tomli_w.dumps(self.config_document(**sections)), encoding="utf-8")
        return path
