"""The configuration file: one TOML file validated into one frozen model before anything runs."""

from __future__ import annotations

import ipaddress
import os
import re
import ssl
import tomllib
from collections.abc import Hashable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from netverify.azure.arm_ids import (
    ResourceId,
    is_guid,
    parse_management_group,
    parse_resource_group,
    parse_subscription,
)
from netverify.azure.clouds import AZURE_DNS_ADDRESS, CloudName
from netverify.azure.net import split_host_port
from netverify.model import CannotRun
from netverify.schedule import cron_trigger

DEFAULT_CONFIG_PATH = Path("/etc/netverify/config.toml")
CONFIG_ENV = "NETVERIFY_CONFIG"
WORKSPACE_TYPE = "Microsoft.MachineLearningServices/workspaces"


class ConfigError(CannotRun):
    """A configuration that cannot be used; the message names the file, the key and the problem."""


VNET_TYPE = "Microsoft.Network/virtualNetworks"


def _resource_id(expected_type: str) -> Any:
    """A validator of the ARM id of one ``expected_type`` resource (no child), compared without
    case as ARM compares, whose subscription is a GUID; a trailing slash is dropped."""

    def validate(value: str) -> str:
        shape = (
            f"expected /subscriptions/<id>/resourceGroups/<group>/providers/{expected_type}/<name>"
        )
        try:
            ResourceId.parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a {expected_type} id: {shape}") from None
        rid = ResourceId.parse(value, expected_type)  # another type's id: its error says so
        if not is_guid(rid.subscription):
            raise ValueError(
                f"{value!r} is not a {expected_type} id: subscription {rid.subscription!r} is "
                "not a GUID"
            )
        return value.rstrip("/")

    return AfterValidator(validate)


def _client_id(value: str) -> str:
    if not is_guid(value):
        raise ValueError(
            f"{value!r} is not a client id: expected a GUID such as "
            "00000000-0000-0000-0000-000000000000 (the identity's clientId, not its name)"
        )
    return value


def _dns_address(value: str) -> str:
    split_host_port(value)
    return value


def _resource_group_id(value: str) -> str:
    parse_resource_group(value)
    return value


def _subscription_id(value: str) -> str:
    return parse_subscription(value)


def _management_group(value: str) -> str:
    return parse_management_group(value)


def _crontab(value: str) -> str:
    if cron_trigger(value).get_next_fire_time(None, datetime.now(UTC)) is None:
        raise ValueError(f"{value!r} never fires (no date matches it, e.g. February 31st)")
    return value


def _listed_once(what: str, key: Any) -> Any:
    """A validator of a list whose entries mean distinct things: two that ``key`` makes equal
    (ids compared without case, as ARM compares) are one mistake, most likely a paste."""

    def validate(values: tuple[str, ...]) -> tuple[str, ...]:
        if repeat := _first_repeat(key(v) for v in values):
            earlier, index = repeat
            raise ValueError(
                f"[{earlier}] and [{index}] are the same {what} {values[index]} (list each once)"
            )
        return values

    return AfterValidator(validate)


def _first_repeat(keys: Iterable[Hashable]) -> tuple[int, int] | None:
    """The indexes of the first key equal to an earlier one, and of that earlier one."""
    first: dict[Hashable, int] = {}
    for index, key in enumerate(keys):
        earlier = first.setdefault(key, index)
        if earlier != index:
            return earlier, index
    return None


_HOST_NAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.?)+$")


def _host(host: str, value: str) -> None:
    """An IP address, or a DNS host name; what looks like an IPv4 address must be one."""
    if ":" in host or re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"{value!r}: {host} is not an IP address") from None
    elif not _HOST_NAME.match(host):
        raise ValueError(f"{value!r}: {host!r} is not a host name or an IP address")


def _ip_address_port(value: str) -> str:
    """A DNS server: an IP address with an optional port (dnspython asks addresses, not names)."""
    host, _ = split_host_port(value)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            f"{value!r} is not an IP address with an optional port "
            "(expected 10.0.0.4, 10.0.0.4:53 or [fd00::4]:53)"
        ) from None
    return value


def _host_port(value: str) -> str:
    host, _ = split_host_port(value)
    _host(host, value)
    return value


def _ip_address(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address") from None
    return value


def _ip_network(value: str) -> str:
    """An IP address or a CIDR prefix (10.0.0.0/16); host bits may be set, as Azure allows."""
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(
            f"{value!r} is not an IP address or prefix (expected e.g. 10.0.0.0/16)"
        ) from None
    return value


def _absolute(value: Path) -> Path:
    """Files and directories are absolute: under systemd the working directory is /, so a
    relative path would mean something else there than where it was written."""
    if not value.is_absolute():
        raise ValueError(f"{str(value)!r} is a relative path (expected an absolute path)")
    return value


WorkspaceId = Annotated[str, _resource_id(WORKSPACE_TYPE)]
VnetId = Annotated[str, _resource_id(VNET_TYPE)]
ResourceGroupId = Annotated[str, AfterValidator(_resource_group_id)]
SubscriptionId = Annotated[str, AfterValidator(_subscription_id)]
ManagementGroup = Annotated[str, AfterValidator(_management_group)]
DnsAddress = Annotated[str, AfterValidator(_dns_address), AfterValidator(_ip_address_port)]
HostPort = Annotated[str, AfterValidator(_dns_address), AfterValidator(_host_port)]
IpAddress = Annotated[str, AfterValidator(_ip_address)]
IpNetwork = Annotated[str, AfterValidator(_ip_network)]
AbsolutePath = Annotated[Path, AfterValidator(_absolute)]


def duration(default: float | None, low: float, high: float, description: str = "") -> Any:
    """A duration field (seconds, minutes or hours, as its name says): finite, from ``low`` to ``high`` (a timeout of 1e-9 spins, inf hangs)."""
    return Field(default, ge=low, le=high, description=description or None)


# The shortest wait or timeout in seconds netverify accepts: below it a loop spins, not waits.
MIN_SECONDS = 0.01
# The largest UDP payload over IPv4 (65,535 less the IP and UDP headers).
MAX_UDP_PAYLOAD = 65_507


def _https_url(value: str) -> str:
    if not value.startswith("https://"):
        raise ValueError(f"{value!r} is not an https:// URL (TLS is required)")
    parts = urlsplit(value)
    try:
        _ = parts.port  # raises for a port that is not a number or out of range
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a URL: {exc}") from None
    if not parts.hostname:
        raise ValueError(f"{value!r} names no host (expected https://<host>[:port][/path])")
    _host(parts.hostname, value)
    return value


HttpsUrl = Annotated[str, AfterValidator(_https_url)]


class _Section(BaseModel):
    # inf and nan are no durations or counts: refused like any value out of range.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class CredentialConfig(_Section):
    kind: Literal["managed_identity", "default"] = Field(
        "managed_identity",
        description="managed_identity inside Azure; default = azure-identity's chain (laptop).",
    )
    client_id: Annotated[str, AfterValidator(_client_id)] | None = Field(
        None, description="Client id (a GUID) of a user-assigned identity."
    )
    timeout_seconds: float = duration(
        30.0,
        MIN_SECONDS,
        300,
        "Connect and read timeout of each token request (a silent token endpoint cannot hold "
        "the run).",
    )


class ArmConfig(_Section):
    endpoint: HttpsUrl | None = Field(
        None,
        description="Override the cloud's ARM endpoint (ARM private link, or a stand-in); "
        "https:// only, as the bearer token goes to it.",
    )
    ca_bundle: AbsolutePath | None = Field(None, description="PEM bundle to trust for ARM TLS.")
    timeout_seconds: float = duration(30.0, MIN_SECONDS, 600)
    retry_total: int = Field(3, ge=0, le=10)
    retry_backoff_seconds: float = duration(0.8, 0, 60)
    max_concurrency: int = Field(8, ge=1, le=64)
    max_concurrency_per_subscription: int = Field(
        8, ge=1, le=64, description="Reads in flight at once against one subscription."
    )
    reserve_reads: int = Field(
        10,
        ge=0,
        le=250,
        description="Wait rather than leave fewer reads than this in a subscription's ARM budget.",
    )
    max_retry_after_seconds: float = duration(
        60.0,
        MIN_SECONDS,
        3600,
        "Wait at most this long before a retry, whatever a 429's Retry-After asks.",
    )
    max_pages: int = Field(
        1000,
        ge=1,
        le=100_000,
        description="Stop a paged list (nextLink, $skipToken) after this many pages: an error.",
    )
    resource_graph_reads: bool = Field(
        True,
        description="Read the workspaces a wider scope finds, and their vaults, registries and "
        "storage accounts, from Resource Graph in bulk (it can lag ARM by minutes after a "
        "change); false reads each from ARM (what `run --fresh` does).",
    )


class ScopeConfig(_Section):
    """What to verify: the union of the workspaces named and those found in the wider scopes."""

    workspaces: Annotated[
        tuple[WorkspaceId, ...], _listed_once("workspace", lambda v: v.lower())
    ] = ()
    resource_groups: Annotated[
        tuple[ResourceGroupId, ...],
        _listed_once("resource group", lambda v: str(parse_resource_group(v)).lower()),
    ] = ()
    subscriptions: Annotated[
        tuple[SubscriptionId, ...], _listed_once("subscription", lambda v: v.lower())
    ] = ()
    management_group: ManagementGroup | None = None

    @property
    def needs_discovery(self) -> bool:
        return bool(self.resource_groups or self.subscriptions or self.management_group)

    def describe(self) -> str:
        """What a run verifies, as far as the file says without reading Azure: the workspaces
        named, and each wider scope by kind (their workspaces are listed only when netverify
        runs), e.g. ``1 workspace named; resource group rg-ml (subscription 6d3b…), whose
        workspaces netverify lists when it runs``."""
        named = _count(len(self.workspaces), "workspace") + " named"
        wider = [
            *(
                f"resource group {group} (subscription {subscription})"
                for subscription, group in map(parse_resource_group, self.resource_groups)
            ),
            *(f"subscription {subscription}" for subscription in self.subscriptions),
            *(
                [f"management group {self.management_group} and every subscription under it"]
                if self.management_group
                else []
            ),
        ]
        if not wider:
            return named
        listed = "whose workspaces" if len(wider) == 1 else "where the workspaces"
        return f"{named}; {', '.join(wider)}, {listed} netverify lists when it runs"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


class DnsConfig(_Section):
    use_host_resolver: bool = True
    resolv_conf: AbsolutePath = Path("/etc/resolv.conf")
    custom_servers: tuple[DnsAddress, ...] = Field(
        (), description="Custom DNS servers to ask besides the VNet's own dhcpOptions.dnsServers."
    )
    azure_dns: DnsAddress = AZURE_DNS_ADDRESS
    timeout_seconds: float = duration(2.0, MIN_SECONDS, 60)
    use_vnet_dns_servers: bool = Field(
        True, description="Ask the agent VNet's dhcpOptions.dnsServers (read from ARM)."
    )
    concurrency: int = Field(64, ge=1, le=1024, description="DNS queries in flight at once.")
    server_map: dict[DnsAddress, DnsAddress] = Field(
        default_factory=dict,
        description="Send queries for a declared DNS server address to another host:port "
        "(a DNS proxy, or loopback stand-ins in the demo).",
    )

    def describe_server_map(self) -> str | None:
        """``dns.server_map`` as ``declared -> queried`` pairs, Azure DNS's marked (doctor and
        the probe ask it there, not at 168.63.129.16); None without a map."""
        if not self.server_map:
            return None
        azure = {self.azure_dns, split_host_port(self.azure_dns)[0]}
        return ", ".join(
            f"{declared} -> {queried}{' (Azure DNS)' if declared in azure else ''}"
            for declared, queried in self.server_map.items()
        )


def _ca_file(value: Path) -> Path:
    """A readable PEM file of CA certificates (what ``ssl`` will load), or a clear error."""
    if not value.is_file():
        raise ValueError(f"{value} is not a file")
    try:
        ssl.create_default_context(cafile=str(value))
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"{value} holds no PEM CA certificate ssl can load: {exc}") from exc
    return value


class ReachabilityConfig(_Section):
    enabled: bool = Field(True, description="TCP + TLS (SNI = FQDN) to each resolved private IP.")
    port: int = Field(443, ge=1, le=65535)
    timeout_seconds: float = duration(3.0, MIN_SECONDS, 60)
    concurrency: int = Field(32, ge=1, le=1024)
    ca_file: Annotated[Path, AfterValidator(_absolute), AfterValidator(_ca_file)] | None = Field(
        None,
        description="PEM CA certificates trusted for the endpoints' TLS on top of the system "
        "store (a company CA the clients also trust).",
    )
    address_map: dict[IpAddress, HostPort] = Field(
        default_factory=dict,
        description="Connect to another host:port instead of a resolved IP (demo: loopback).",
    )

    def contacts(self, address: str) -> bool:
        """Whether a probe may connect to ``address``: always without a map; with one (a
        stand-in world, the demo) only to the addresses it names, so nothing outside leaks."""
        return not self.address_map or address in self.address_map


class ScoringConfig(_Section):
    """The scoring path probe: one unauthenticated HTTPS request per online endpoint (no key,
    no payload), connected through ``reachability.address_map`` and trusting its ``ca_file``."""

    enabled: bool = Field(
        True,
        description="GET each managed endpoint's scoringUri and each Kubernetes endpoint's "
        "swagger.json from inside the VNet; false: neither is requested.",
    )
    timeout_seconds: float = duration(
        5.0,
        MIN_SECONDS,
        60,
        "Connect, TLS handshake and answer, each (a silent front end cannot hold the run).",
    )
    concurrency: int = Field(16, ge=1, le=256, description="Requests in flight at once.")


class ScheduleConfig(_Section):
    interval_minutes: float | None = duration(15, 0.01, 10080)
    cron: Annotated[str, AfterValidator(_crontab)] | None = Field(
        None, description="minute hour day month day-of-week, in UTC (crontab(5))."
    )
    jitter_seconds: int = Field(60, ge=0, le=3600)
    run_timeout_seconds: float = duration(600, 1, 86400)
    misfire_grace_seconds: int = Field(
        300,
        ge=1,
        le=86400,
        description="A run that could not start on time still starts this late.",
    )

    @model_validator(mode="after")
    def _one_trigger(self) -> ScheduleConfig:
        if self.cron is not None and "interval_minutes" in self.model_fields_set:
            raise ValueError("set either interval_minutes or cron, not both")
        return self


def _not_a_file(value: Path) -> Path:
    """The state directory may not exist yet (netverify creates it), but nothing else may be there."""
    if value.exists() and not value.is_dir():
        raise ValueError(f"{str(value)!r} is a file, not a directory")
    return value


class StateConfig(_Section):
    directory: Annotated[Path, AfterValidator(_absolute), AfterValidator(_not_a_file)] | None = (
        Field(
            None, description="Default: $STATE_DIRECTORY (set by systemd), else /var/lib/netverify."
        )
    )
    reminder_hours: float = Field(
        24, ge=0, le=8760, description="Repeat a still-failing change event this often; 0 = never."
    )


def _listen_address(value: str) -> str:
    if value == "off":
        return value
    host, port = split_host_port(value, default_port=0)
    if port == 0:
        raise ValueError(f"{value!r} has no port: give host:port, [ipv6]:port or off")
    _host(host, value)
    return value


class HealthConfig(_Section):
    listen: Annotated[str, AfterValidator(_listen_address)] = Field(
        "127.0.0.1:9464", description="host:port of /healthz and /metrics, or off."
    )


class ReportConfig(_Section):
    enabled: bool = Field(
        False,
        description="Write report.html into the state directory after each run of `serve`, "
        "and serve it at /report on the health listener.",
    )


JsonFormat = Literal["json", "ocsf", "ecs"]
SyslogFormat = Literal["json", "cef"]
SinkName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
NAME_HELP = (
    "Names the sink's spool; default <type>-<position>. Set it so reordering keeps the spool."
)


_ENVIRONMENT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CREDENTIAL_FILE_HELP = (
    "An absolute path, or the name of a systemd LoadCredential= credential (read from "
    "$CREDENTIALS_DIRECTORY)."
)


def _secret_source(file: Path | None, env: str | None, what: str, *, required: bool) -> None:
    """Secrets come from a file or the environment, never from the config or a command line.

    A ``*_file`` that is relative names a ``LoadCredential=`` credential (read under
    ``$CREDENTIALS_DIRECTORY`` when the sink starts). A ``*_env`` that is not a variable name
    is most likely the secret itself pasted in: the error does not repeat it.
    """
    if file is not None and env is not None:
        raise ValueError(f"set {what}_file or {what}_env, not both")
    if required and file is None and env is None:
        raise ValueError(f"set {what}_file or {what}_env")
    if env is not None and not _ENVIRONMENT_NAME.match(env):
        raise ValueError(
            f"{what}_env must be the name of an environment variable (letters, digits and _, "
            "not starting with a digit), not the secret itself; its value is not shown"
        )


class JsonLinesFileSink(_Section):
    type: Literal["jsonl_file"]
    path: AbsolutePath
    format: JsonFormat = "json"
    name: SinkName | None = Field(None, description=NAME_HELP)


class StdoutSink(_Section):
    type: Literal["stdout"]
    format: JsonFormat | Literal["cef"] = "json"
    name: SinkName | None = Field(None, description=NAME_HELP)


def _syslog_host(value: str) -> str:
    _host(value, value)
    return value


class SyslogSink(_Section):
    type: Literal["syslog"]
    host: Annotated[str, AfterValidator(_syslog_host)]
    port: int | None = Field(None, ge=1, le=65535, description="default 514, or 6514 for tls")
    protocol: Literal["udp", "tcp", "tls"] = "tls"
    format: SyslogFormat = "json"
    facility: int = Field(16, ge=0, le=23, description="16 = local0; give CEF its own facility")
    app_name: str = Field("netverify", max_length=48)
    hostname: str | None = Field(None, max_length=255, description="default: the agent name")
    ca_file: AbsolutePath | None = Field(
        None, description="PEM CA for tls; default: the system store"
    )
    server_name: str | None = Field(None, description="TLS name to verify; default: host")
    client_cert_file: Path | None = None
    client_key_file: Path | None = None
    timeout_seconds: float = duration(10.0, MIN_SECONDS, 300)
    max_message_bytes: int | None = Field(
        None,
        ge=480,  # RFC 5426 3.2: the least every IPv4 receiver must take
        le=1_048_576,
        description="whole message, header included; default 2048 for udp, 8192 for tcp/tls",
    )
    udp_pause_seconds: float = Field(
        0.001, ge=0, le=1, description="gap between two UDP datagrams; 0 sends a burst"
    )
    enterprise_number: int = Field(
        32473, ge=1, description="IANA PEN of the SD-ID netverify@N; 32473 is the example PEN"
    )
    name: SinkName | None = Field(None, description=NAME_HELP)

    @model_validator(mode="after")
    def _consistent(self) -> SyslogSink:
        if self.client_key_file is not None and self.client_cert_file is None:
            raise ValueError("client_key_file needs client_cert_file")
        if self.protocol == "udp" and (self.max_message_bytes or 0) > MAX_UDP_PAYLOAD:
            raise ValueError(f"max_message_bytes over udp is at most {MAX_UDP_PAYLOAD}")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or (6514 if self.protocol == "tls" else 514)

    @property
    def effective_max_message_bytes(self) -> int:
        """RFC 5426 3.2's 2048 octets for UDP; rsyslog's default maxMessageSize for a stream."""
        default = 2048 if self.protocol == "udp" else 8192
        return self.max_message_bytes or default


def _logs_ingestion_format(value: object) -> object:
    if value in ("ecs", "cef"):
        # The API would take the rows and the DCR drop every field it has no column for.
        raise ValueError(
            f"{value!r}: the Logs Ingestion sink carries json (the columns of "
            "deploy/azure/netverify-dcr.json) or ocsf; ecs's @timestamp and dotted names, and "
            "cef's text, cannot be columns"
        )
    return value


class AzureMonitorSink(_Section):
    type: Literal["azure_monitor"]
    endpoint: HttpsUrl = Field(description="The DCR's logs ingestion endpoint, or its DCE.")
    rule_id: str = Field(pattern=r"^dcr-[0-9a-fA-F]{32}$", description="DCR immutable id.")
    stream: str = Field(
        pattern=r"^Custom-[A-Za-z0-9_]+$", description="Custom-NetverifyEvents with the shipped DCR"
    )
    format: Annotated[Literal["json", "ocsf"], BeforeValidator(_logs_ingestion_format)] = "json"
    ca_file: AbsolutePath | None = None
    timeout_seconds: float = duration(30.0, MIN_SECONDS, 300)
    name: SinkName | None = Field(None, description=NAME_HELP)


class SplunkHecSink(_Section):
    type: Literal["splunk_hec"]
    url: HttpsUrl = Field(description="e.g. https://splunk.example:8088")
    token_file: Path | None = Field(None, description=CREDENTIAL_FILE_HELP)
    token_env: str | None = None
    index: str | None = None
    source: str = "netverify"
    sourcetype: str = "netverify:finding"
    acknowledgement: bool = Field(True, description="indexer acknowledgement (useACK)")
    ack_timeout_seconds: float = duration(60.0, MIN_SECONDS, 3600)
    format: JsonFormat = "json"
    ca_file: AbsolutePath | None = None
    timeout_seconds: float = duration(30.0, MIN_SECONDS, 300)
    name: SinkName | None = Field(None, description=NAME_HELP)

    @model_validator(mode="after")
    def _token(self) -> SplunkHecSink:
        _secret_source(self.token_file, self.token_env, "token", required=True)
        return self


class WebhookSink(_Section):
    type: Literal["webhook"]
    url: HttpsUrl
    format: JsonFormat = "json"
    authorization_file: Path | None = Field(
        None, description=f"The Authorization value. {CREDENTIAL_FILE_HELP}"
    )
    authorization_env: str | None = None
    ca_file: AbsolutePath | None = None
    timeout_seconds: float = duration(30.0, MIN_SECONDS, 300)
    name: SinkName | None = Field(None, description=NAME_HELP)

    @model_validator(mode="after")
    def _authorization(self) -> WebhookSink:
        _secret_source(
            self.authorization_file, self.authorization_env, "authorization", required=False
        )
        return self


Sink = Annotated[
    JsonLinesFileSink | StdoutSink | SyslogSink | AzureMonitorSink | SplunkHecSink | WebhookSink,
    Field(discriminator="type"),
]


def _one_sink_per_file(sinks: tuple[Any, ...]) -> tuple[Any, ...]:
    """Two jsonl_file sinks on one file would interleave their lines and each rotate the other's."""
    files = [(i, s.path) for i, s in enumerate(sinks) if isinstance(s, JsonLinesFileSink)]
    if repeat := _first_repeat(os.path.normpath(path) for _, path in files):
        (earlier, _), (index, path) = files[repeat[0]], files[repeat[1]]
        raise ValueError(
            f"[{earlier}] and [{index}] both write {path} (give each sink its own path)"
        )
    return sinks


class DeliveryConfig(_Section):
    max_events: int = Field(
        100_000, ge=1, le=10_000_000, description="Per sink; beyond it the oldest are dropped."
    )
    batch_size: int = Field(500, ge=1, le=10_000)
    retry_initial_seconds: float = duration(1.0, MIN_SECONDS, 3600)
    retry_max_seconds: float = duration(
        300.0,
        MIN_SECONDS,
        86400,
        "The longest wait between deliveries, a receiver's Retry-After included.",
    )
    flush_timeout_seconds: float = duration(
        30.0, 0, 3600, "How long `netverify run` waits for delivery before it exits."
    )


class ChecksConfig(_Section):
    """How checks judge what changes over time."""

    transient_state_limit_minutes: float = Field(
        60,
        ge=1,
        le=43200,
        description="A deployment or endpoint Creating/Updating/Scaling/Deleting for longer "
        "than this (since ARM's systemData.lastModifiedAt) is stuck: a finding of its own.",
    )


class AgentConfig(_Section):
    name: str | None = Field(None, description="Agent name in findings; default: the host name.")
    vnet_id: VnetId | None = Field(None, description="ARM id of the VNet this agent runs in.")


class Config(_Section):
    cloud: CloudName = CloudName.PUBLIC
    credential: CredentialConfig = CredentialConfig()
    arm: ArmConfig = ArmConfig()
    scope: ScopeConfig = ScopeConfig()
    dns: DnsConfig = DnsConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    agent: AgentConfig = AgentConfig()
    state: StateConfig = StateConfig()
    health: HealthConfig = HealthConfig()
    report: ReportConfig = ReportConfig()
    reachability: ReachabilityConfig = ReachabilityConfig()
    scoring: ScoringConfig = ScoringConfig()
    checks: ChecksConfig = ChecksConfig()
    sinks: Annotated[tuple[Sink, ...], AfterValidator(_one_sink_per_file)] = ()
    delivery: DeliveryConfig = DeliveryConfig()

    @model_validator(mode="after")
    def _unique_sink_names(self) -> Config:
        names = sink_names(self.sinks)
        if len(set(names)) != len(names):
            raise ValueError(f"sink names must be unique (got {', '.join(names)})")
        return self


def sink_names(sinks: tuple[Sink, ...]) -> list[str]:
    """Each sink's name: its ``name``, else ``<type>-<position>``; it names the sink's spool."""
    return [s.name or f"{s.type}-{i}" for i, s in enumerate(sinks)]


def config_path(explicit: str | Path | None) -> Path:
    """--config, else $NETVERIFY_CONFIG, else /etc/netverify/config.toml."""
    if explicit:
        return Path(explicit)
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)


def load_config(path: Path) -> Config:
    """The configuration in ``path``, which must name a scope: a file that checks nothing is
    refused (``config check``, ``run`` and ``serve`` read it here). Every error names the file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"{path}: cannot read the configuration: {reason}") from exc
    try:
        # A byte order mark is no TOML, but Windows editors write one: read past it.
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: line {line}: byte {data[exc.start]:#04x} is not UTF-8 (expected a UTF-8 "
            "TOML file)"
        ) from None
    return require_scope(parse_config(text, str(path)), str(path))


def require_scope(config: Config, source: str) -> Config:
    """``config``, if its scope names something to verify; else a ConfigError naming scope."""
    scope = config.scope
    if not (scope.workspaces or scope.needs_discovery):
        raise ConfigError(
            f"{source}: scope: nothing to verify (expected scope.workspaces, "
            "scope.resource_groups, scope.subscriptions or scope.management_group)"
        )
    return config


# TOML nests arrays and inline tables without limit; tomllib recurses once per level.
MAX_NESTING = 100


def parse_config(text: str, source: str) -> Config:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    except RecursionError:
        raise ConfigError(_too_deep(source)) from None
    if _depth(raw) > MAX_NESTING:
        raise ConfigError(_too_deep(source))
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_errors(source, exc, Config)) from exc


def _too_deep(source: str) -> str:
    return (
        f"{source}: nested too deeply (expected at most {MAX_NESTING} levels of arrays and tables)"
    )


def _depth(value: Any) -> int:
    """How deeply arrays and tables nest in a parsed TOML value (a scalar is 0)."""
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


def describe_errors(source: str, exc: ValidationError, root: type[BaseModel]) -> str:
    """One line per problem: file, key path (``scope.workspaces[0]``), what was expected."""
    return "\n".join(_describe(source, error, root) for error in exc.errors())


def _describe(source: str, error: Any, root: type[BaseModel]) -> str:
    loc = error["loc"][:-1] if error["type"] == "extra_forbidden" else error["loc"]
    shown, model = _walk(loc, root)
    kind = error["type"]
    if kind == "extra_forbidden":
        key = error["loc"][-1]
        shown = f"{shown}.{key}" if shown else str(key)
        allowed = ", ".join(getattr(model, "model_fields", {}))
        problem = f"unknown key (expected one of: {allowed})"
    elif kind == "missing":
        problem = "required key is missing"
    elif kind == "value_error":
        problem = str(error["msg"]).removeprefix("Value error, ")
    elif kind in _OUT_OF_RANGE:
        problem = f"{error['input']!r} is out of range (expected {_range(loc, root)})"
    elif kind == "union_tag_not_found":
        tags = ", ".join(
            repr(t) for m in _candidates(loc, root) for t in _literal_values(m, "type")
        )
        problem = f"required key type is missing (expected one of: {tags})"
    elif kind == "union_tag_invalid":
        context = error["ctx"]
        problem = (
            f"type {context['tag']!r} is unknown (expected one of: {context['expected_tags']})"
        )
    elif kind in _EXPECTED:
        expected = _EXPECTED[kind].format(**error.get("ctx", {}))
        problem = f"{error['input']!r} is not {expected}"
    else:
        problem = f"{error['msg']} (got {error['input']!r})"
    return f"{source}: {shown or '(top level)'}: {problem}"


# What a TOML value of the wrong kind should have been, in TOML's terms (not pydantic's).
_EXPECTED = {
    "model_type": "a table",
    "model_attributes_type": "a table",
    "dict_type": "a table",
    "tuple_type": "an array",
    "list_type": "an array",
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "literal_error": "{expected}",
    "enum": "{expected}",
}
_OUT_OF_RANGE = frozenset(
    {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number"}
)
_BOUNDS = (("gt", "greater than"), ("ge", "at least"), ("lt", "less than"), ("le", "at most"))


def _range(loc: tuple[Any, ...], root: type[BaseModel]) -> str:
    """The whole range of the field at ``loc``, from its constraints: "a number at least 0.01
    and at most 300"; a number's field found through the model that holds it."""
    _, model = _walk(loc[:-1], root)
    field = getattr(model, "model_fields", {}).get(loc[-1]) if loc else None
    if field is None:
        return "a finite number"
    bounds = [
        f"{words} {_number(getattr(m, key))}"
        for m in field.metadata
        for key, words in _BOUNDS
        if getattr(m, key, None) is not None
    ]
    kind = "a whole number" if field.annotation in (int, int | None) else "a finite number"
    return " ".join([kind, " and ".join(bounds)]).strip()


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _candidates(loc: tuple[Any, ...], root: type[BaseModel]) -> list[Any]:
    """The models the value at ``loc`` may be (a union's members)."""
    return _follow(loc, root)[1]


def _walk(loc: tuple[Any, ...], root: type[BaseModel]) -> tuple[str, Any]:
    """The key path at ``loc`` and its model (None where a union leaves several)."""
    shown, candidates = _follow(loc, root)
    return shown, candidates[0] if len(candidates) == 1 else None


def _follow(loc: tuple[Any, ...], root: type[BaseModel]) -> tuple[str, list[Any]]:
    """Follow an error location through the models: the key path as written, and the models it may be.

    Discriminated unions put the tag (e.g. ``jsonl_file``) in the location; it picks the
    union member but is not a key the user wrote, so it is not shown.
    """
    shown = ""
    candidates: list[Any] = [root]
    for part in loc:
        if part == "[key]":  # pydantic's marker for a mapping's key: the key is shown already
            continue
        if isinstance(part, int):
            shown += f"[{part}]"
            continue
        tagged = [m for m in candidates if part in _literal_values(m, "type")]
        if tagged:
            candidates = tagged
            continue
        field = candidates[0].model_fields.get(part) if candidates else None
        shown += f".{part}" if shown else str(part)
        candidates = _models_in(field.annotation) if field is not None else []
    return shown, candidates


def _literal_values(model: Any, key: str) -> tuple[Any, ...]:
    field = model.model_fields.get(key)
    return getattr(field.annotation, "__args__", ()) if field is not None else ()


def _models_in(annotation: Any) -> list[Any]:
    """The pydantic models inside ``Model``, ``tuple[Model, ...]``, unions and ``Annotated``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]
