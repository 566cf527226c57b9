"""The configuration file: one TOML file validated into one frozen model before anything runs."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from netverify.arm_ids import ResourceId
from netverify.clouds import AZURE_DNS_ADDRESS, CloudName

DEFAULT_CONFIG_PATH = Path("/etc/netverify/config.toml")
CONFIG_ENV = "NETVERIFY_CONFIG"
WORKSPACE_TYPE = "Microsoft.MachineLearningServices/workspaces"


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the file, the key and the problem."""


def _workspace_id(value: str) -> str:
    ResourceId.parse(value, WORKSPACE_TYPE)
    return value


def split_host_port(value: str, default_port: int = 53) -> tuple[str, int]:
    """``host``, ``host:port``, ``v6`` or ``[v6]:port``; the port defaults to ``default_port``."""
    host, port = value, ""
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.removeprefix(":")
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    if not host or (port and not (port.isdigit() and 0 < int(port) < 65536)):
        raise ValueError(f"{value!r} is not host, host:port or [ipv6]:port")
    return host, int(port) if port else default_port


def _dns_address(value: str) -> str:
    split_host_port(value)
    return value


WorkspaceId = Annotated[str, AfterValidator(_workspace_id)]
DnsAddress = Annotated[str, AfterValidator(_dns_address)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CredentialConfig(_Section):
    kind: Literal["managed_identity", "default"] = Field(
        "managed_identity",
        description="managed_identity inside Azure; default = azure-identity's chain (laptop).",
    )
    client_id: str | None = Field(None, description="Client id of a user-assigned identity.")


class ArmConfig(_Section):
    endpoint: str | None = Field(
        None, description="Override the cloud's ARM endpoint (ARM private link, or a stand-in)."
    )
    ca_bundle: Path | None = Field(None, description="PEM bundle to trust for ARM TLS.")
    timeout_seconds: float = Field(30.0, gt=0)
    retry_total: int = Field(3, ge=0, le=10)
    retry_backoff_seconds: float = Field(0.8, ge=0)
    max_concurrency: int = Field(8, ge=1, le=64)


class ScopeConfig(_Section):
    workspaces: tuple[WorkspaceId, ...] = ()


class DnsConfig(_Section):
    use_host_resolver: bool = True
    resolv_conf: Path = Path("/etc/resolv.conf")
    custom_servers: tuple[DnsAddress, ...] = Field(
        (), description="Custom DNS servers to ask besides the VNet's own dhcpOptions.dnsServers."
    )
    azure_dns: DnsAddress = AZURE_DNS_ADDRESS
    timeout_seconds: float = Field(2.0, gt=0)
    use_vnet_dns_servers: bool = Field(
        True, description="Ask the agent VNet's dhcpOptions.dnsServers (read from ARM)."
    )
    concurrency: int = Field(64, ge=1, le=1024, description="DNS queries in flight at once.")
    server_map: dict[str, DnsAddress] = Field(
        default_factory=dict,
        description="Send queries for a declared DNS server address to another host:port "
        "(a DNS proxy, or loopback stand-ins in the demo).",
    )


class ReachabilityConfig(_Section):
    enabled: bool = Field(True, description="TCP + TLS (SNI = FQDN) to each resolved private IP.")
    port: int = Field(443, gt=0, lt=65536)
    timeout_seconds: float = Field(3.0, gt=0)
    concurrency: int = Field(32, ge=1, le=1024)
    address_map: dict[str, DnsAddress] = Field(
        default_factory=dict,
        description="Connect to another host:port instead of a resolved IP (demo: loopback).",
    )


class ScheduleConfig(_Section):
    interval_minutes: float | None = Field(15, gt=0)
    cron: str | None = None
    jitter_seconds: int = Field(60, ge=0)
    run_timeout_seconds: float = Field(600, gt=0)

    @model_validator(mode="after")
    def _one_trigger(self) -> ScheduleConfig:
        if self.cron is not None and "interval_minutes" in self.model_fields_set:
            raise ValueError("set either interval_minutes or cron, not both")
        return self


class JsonLinesFileSink(_Section):
    type: Literal["jsonl_file"]
    path: Path


Sink = Annotated[JsonLinesFileSink, Field(discriminator="type")]


class AgentConfig(_Section):
    name: str | None = Field(None, description="Agent name in findings; default: the host name.")
    vnet_id: str | None = Field(None, description="ARM id of the VNet this agent runs in.")


class Config(_Section):
    cloud: CloudName = CloudName.PUBLIC
    credential: CredentialConfig = CredentialConfig()
    arm: ArmConfig = ArmConfig()
    scope: ScopeConfig = ScopeConfig()
    dns: DnsConfig = DnsConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    agent: AgentConfig = AgentConfig()
    reachability: ReachabilityConfig = ReachabilityConfig()
    sinks: tuple[Sink, ...] = ()


def config_path(explicit: str | Path | None) -> Path:
    """--config, else $NETVERIFY_CONFIG, else /etc/netverify/config.toml."""
    if explicit:
        return Path(explicit)
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc.strerror}") from exc
    return parse_config(text, str(path))


def parse_config(text: str, source: str) -> Config:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_errors(source, exc, Config)) from exc


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
    else:
        problem = f"{error['msg']} (got {error['input']!r})"
    return f"{source}: {shown or '(top level)'}: {problem}"


def _walk(loc: tuple[Any, ...], root: type[BaseModel]) -> tuple[str, Any]:
    """Follow an error location through the models: the key path as written, and its model.

    Discriminated unions put the tag (e.g. ``jsonl_file``) in the location; it picks the
    union member but is not a key the user wrote, so it is not shown.
    """
    shown = ""
    candidates: list[Any] = [root]
    for part in loc:
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
    return shown, candidates[0] if len(candidates) == 1 else None


def _literal_values(model: Any, key: str) -> tuple[Any, ...]:
    field = model.model_fields.get(key)
    return getattr(field.annotation, "__args__", ()) if field is not None else ()


def _models_in(annotation: Any) -> list[Any]:
    """The pydantic models inside ``Model``, ``tuple[Model, ...]``, unions and ``Annotated``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]
