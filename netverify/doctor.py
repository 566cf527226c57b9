"""``netverify doctor``: can this host run netverify? Each diagnosis says what it saw and the fix.

It reuses the run's own pieces (the credential, ``ArmReader``, the sinks' config) so that what
doctor proves is what ``netverify run`` will meet. Its exit code means what ``run``'s does.
"""

from __future__ import annotations

import os
import socket
import ssl
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.resolver
from azure.core.credentials import TokenCredential

from netverify.azure.arm_ids import ResourceId, subscription_of
from netverify.azure.clouds import Cloud, cloud
from netverify.azure.net import split_host_port
from netverify.config import (
    AzureMonitorSink,
    Config,
    JsonLinesFileSink,
    Sink,
    SplunkHecSink,
    StdoutSink,
    SyslogSink,
    WebhookSink,
)
from netverify.facts import ReadFailure, ReadProblem
from netverify.model import EXIT_CANNOT_RUN, Status, exit_code_of
from netverify.probes.arm import ArmReader
from netverify.probes.credentials import client_id, make_credential, token_claims
from netverify.probes.discovery import discover
from netverify.probes.dns import queried_address

ROLE_NAME = "netverify reader"  # deploy/azure/netverify-reader.role.json


@dataclass(frozen=True, slots=True)
class Diagnosis:
    topic: str
    status: Status
    observed: str
    fix: str | None = None
    # netverify cannot run at all while this is failing (no token): exit 2, as `run` would.
    fatal: bool = False


def exit_code(diagnoses: tuple[Diagnosis, ...]) -> int:
    if any(d.fatal and d.status is Status.FAIL for d in diagnoses):
        return EXIT_CANNOT_RUN
    return exit_code_of({d.status for d in diagnoses})


def diagnose(config: Config, state_dir: Path) -> tuple[Diagnosis, ...]:
    names = cloud(config.cloud)
    found: list[Diagnosis] = []
    token, assignee, credential = _token(config, names)
    found.append(token)
    if credential is not None:
        reader = ArmReader(credential, names, config.arm)
        found.append(_subscriptions(reader, config, assignee))
        found.extend(_workspaces(reader, config, assignee))
    else:
        found.append(Diagnosis("ARM reads", Status.SKIPPED, "no token, so nothing was read"))
    found.append(_host_resolvers(config))
    found.append(_azure_dns(config, names))
    found.append(writable_directory("state directory", state_dir))
    found.extend(sink_reachability(sink) for sink in config.sinks)
    return tuple(found)


def render(diagnoses: tuple[Diagnosis, ...]) -> str:
    topic_width = max(len(d.topic) for d in diagnoses)
    lines = []
    for d in sorted(diagnoses, key=lambda d: d.status is Status.PASS):
        lines.append(f"{d.status.value.upper():<7} {d.topic.ljust(topic_width)}  {d.observed}")
        if d.fix:
            lines.append(f"{'':<7} {'':<{topic_width}}  fix: {d.fix}")
    counts = {s: sum(d.status is s for d in diagnoses) for s in Status}
    lines.append(
        f"{len(diagnoses)} diagnoses: {counts[Status.FAIL]} to fix, "
        f"{counts[Status.ERROR]} could not be checked, {counts[Status.SKIPPED]} skipped, "
        f"{counts[Status.PASS]} fine"
    )
    return "\n".join(lines) + "\n"


# -- identity and ARM ------------------------------------------------------------------------


def _token(config: Config, names: Cloud) -> tuple[Diagnosis, str, TokenCredential | None]:
    """The token diagnosis, who to name in ``az role assignment create --assignee``, and the
    credential that got the token (None when none did)."""
    try:
        credential = make_credential(config.credential, names)
        token = credential.get_token(names.arm_scope).token
    except Exception as exc:  # every credential failure is the diagnosis, never a traceback
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        refused = certificate_error(exc)
        observed = f"no {config.credential.kind} token for {names.arm_scope}: {first_line}"
        fix = _token_fix(config, names)
        if refused is not None:
            # The identity is not the problem: the token endpoint's certificate did not verify.
            cause = _TLS_CAUSES.get(refused.verify_code, ("it does not verify", ""))[0]
            observed = (
                f"no {config.credential.kind} token for {names.arm_scope}: TLS to the token "
                f"endpoint fails, {cause} ({refused.verify_message})"
            )
            fix = _TOKEN_TLS_FIX
        return (
            Diagnosis("token", Status.FAIL, observed, fix, fatal=True),
            "<principal-id>",
            None,
        )
    claims = token_claims(token)
    principal = claims.get("oid") or "<principal-id>"
    who = ", ".join(
        f"{label} {claims[key]}"
        for key, label in (
            ("appid", "client id"),
            ("oid", "object id"),
            ("tid", "tenant"),
            ("xms_mirid", "identity"),
        )
        if claims.get(key)
    )
    return (
        Diagnosis(
            "token",
            Status.PASS,
            f"{config.credential.kind} token for {names.arm_scope} "
            f"({who or 'the token is not a JWT, so the identity is not shown'})",
        ),
        str(principal),
        credential,
    )


_TOKEN_TLS_FIX = (
    "the certificate the token endpoint presented (IDENTITY_ENDPOINT's host, or Microsoft Entra "
    "ID's login host) is not one this host trusts: most often a TLS-inspecting proxy or "
    "firewall on the way. Exempt that host from inspection, or add the inspecting CA to the "
    "system store (update-ca-certificates) or REQUESTS_CA_BUNDLE; giving the host an identity "
    "does not help."
)


def certificate_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification failure behind ``exc``, if any: azure-identity, MSAL,
    azure-core, requests and urllib3 each wrap it (``__cause__``, ``__context__``,
    ``inner_exception``, ``reason``, ``args``)."""
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return current
        stack += [current.__cause__, current.__context__, *current.args]
        stack += [getattr(current, "inner_exception", None), getattr(current, "reason", None)]
    return None


def _token_fix(config: Config, names: Cloud) -> str:
    if config.credential.kind == "default":
        return (
            f"sign in with `az cloud set --name {names.name.value} && az login`, or set "
            'credential.kind = "managed_identity" on an Azure host.'
        )
    wanted = client_id(config.credential)
    which = (
        f"the user-assigned identity with client id {wanted}"
        if wanted
        else "a system-assigned identity (or set credential.client_id to a user-assigned one's)"
    )
    return (
        f"give this host {which}: on a VM `az vm identity assign -g <group> -n <vm> "
        "--identities <identity-id>`; on AKS use workload identity (pod label "
        "azure.workload.identity/use=true, service account annotated with "
        f"azure.workload.identity/client-id). If the error names the resource, check `cloud` "
        f"(now {names.name.value})."
    )


def _assign(assignee: str, scope: str) -> str:
    return f'`az role assignment create --assignee {assignee} --role "{ROLE_NAME}" --scope {scope}`'


def _subscriptions(reader: ArmReader, config: Config, assignee: str) -> Diagnosis:
    listed = reader.subscriptions()
    if listed.value is None:
        return _read_failed("subscriptions", listed.failure, assignee, "/subscriptions/<id>")
    visible = {s.subscription_id.lower(): s for s in listed.value}
    scope = config.scope
    needed = {
        *(ResourceId.parse(w).subscription for w in scope.workspaces),
        *(subscription_of(g) or "" for g in scope.resource_groups),
        *scope.subscriptions,
    } - {""}
    missing = sorted(s for s in needed if s.lower() not in visible)
    if missing:
        return Diagnosis(
            "subscriptions",
            Status.FAIL,
            f"the identity cannot see {', '.join(missing)}, where the scope points",
            " ; ".join(_assign(assignee, f"/subscriptions/{s}") for s in missing),
        )
    if not visible:
        return Diagnosis(
            "subscriptions",
            Status.FAIL,
            "the identity sees no subscription: it holds no role anywhere",
            _assign(assignee, "/subscriptions/<id>"),
        )
    shown = ", ".join(f"{s.display_name} ({s.subscription_id})" for s in listed.value)
    return Diagnosis("subscriptions", Status.PASS, f"sees {len(visible)}: {shown}")


def _workspaces(reader: ArmReader, config: Config, assignee: str) -> Iterator[Diagnosis]:
    """Each named workspace read; each wider scope (resource groups, subscriptions, management
    group) listed as a run lists it (``probes.discovery.discover``)."""
    scope = config.scope
    if not scope.workspaces and not scope.needs_discovery:
        yield Diagnosis(
            "workspaces",
            Status.FAIL,
            "the scope is empty: there is nothing to verify",
            "name workspaces (scope.workspaces) or where to find them (scope.resource_groups, "
            "scope.subscriptions, scope.management_group) in the config.",
        )
    if scope.needs_discovery:
        with ThreadPoolExecutor(config.arm.max_concurrency, thread_name_prefix="arm") as pool:
            found, unlisted, discovery = discover(reader, scope, pool)
        for read in unlisted:
            yield _read_failed(
                f"scope {read.resource_id}", read.failure, assignee, read.resource_id
            )
        named = {w.lower() for w in scope.workspaces}
        listed = [w for w in found if w.lower() not in named]
        how = discovery.method.value.replace("_", " ")
        if listed:
            yield Diagnosis("discovery", Status.PASS, f"{len(listed)} workspace(s) found ({how})")
        elif not unlisted:
            yield Diagnosis(
                "discovery",
                Status.FAIL,
                f"no workspace found in the wider scopes ({how})",
                "check scope.resource_groups / subscriptions / management_group, and that the "
                f"identity may read there: {_assign(assignee, '<scope>')}",
            )
    for workspace_id in scope.workspaces:
        rid = ResourceId.parse(workspace_id)
        read = reader.workspace(workspace_id)
        topic = f"workspace {rid.name}"
        if read.value is None:
            yield _read_failed(topic, read.failure, assignee, f"/subscriptions/{rid.subscription}")
        else:
            yield Diagnosis(topic, Status.PASS, f"readable ({read.value.location or 'no region'})")


def _read_failed(topic: str, failure: ReadFailure | None, assignee: str, scope: str) -> Diagnosis:
    if failure is None:  # a Read has a value or a failure; keep mypy and readers sure of it
        raise ValueError(f"{topic}: a read with neither value nor failure")
    if failure.problem is ReadProblem.FORBIDDEN:
        fix = f"grant {failure.permission or 'the read'}: {_assign(assignee, scope)}"
        return Diagnosis(topic, Status.FAIL, f"ARM refuses the read: {failure.message}", fix)
    if failure.problem is ReadProblem.NOT_FOUND:
        return Diagnosis(
            topic,
            Status.FAIL,
            "ARM has no such resource (404)",
            "check the id in the config's scope: the resource may have been deleted or moved.",
        )
    if failure.problem is ReadProblem.UNAUTHENTICATED:
        return Diagnosis(topic, Status.FAIL, failure.message, "see the token diagnosis.")
    return Diagnosis(
        topic,
        Status.ERROR,
        failure.message,
        "check the route from this host to ARM (proxy, firewall, NSG, arm.endpoint).",
    )


# -- DNS -------------------------------------------------------------------------------------


def _host_resolvers(config: Config) -> Diagnosis:
    if not config.dns.use_host_resolver:
        return Diagnosis("host resolvers", Status.SKIPPED, "dns.use_host_resolver is false")
    path = config.dns.resolv_conf
    try:
        servers = dns.resolver.Resolver(filename=str(path)).nameservers
    except dns.resolver.NoResolverConfiguration as exc:
        return Diagnosis(
            "host resolvers",
            Status.FAIL,
            f"{path}: {exc}",
            "give the host a resolver (DHCP from the VNet, or a nameserver line in "
            f"{path}), or set dns.use_host_resolver = false.",
        )
    return Diagnosis("host resolvers", Status.PASS, f"{path}: {', '.join(str(s) for s in servers)}")


def _azure_dns(config: Config, names: Cloud) -> Diagnosis:
    """Ask Azure DNS for the cloud's ARM host name: any NOERROR/NXDOMAIN answer proves it is up."""
    asked = queried_address(config.dns, config.dns.azure_dns)
    host, port = split_host_port(asked)
    qname = urlsplit(names.arm_endpoint).hostname or ""
    where = f"{config.dns.azure_dns} (dns.azure_dns)"
    if split_host_port(asked) != split_host_port(config.dns.azure_dns):
        where += f" through {asked} (dns.server_map)"
    try:
        reply = dns.query.udp(
            dns.message.make_query(qname, "A"), host, port=port, timeout=config.dns.timeout_seconds
        )
    except (dns.exception.DNSException, OSError) as exc:
        return Diagnosis(
            "Azure DNS",
            Status.FAIL,
            f"no answer from {where} for {qname}: {type(exc).__name__} {exc}".rstrip(),
            "Azure DNS answers only inside an Azure VNet: run the agent on a VM or pod in the "
            "VNet to verify, and let UDP and TCP 53 to it through (NSG, host firewall).",
        )
    rcode = dns.rcode.to_text(reply.rcode())
    if reply.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return Diagnosis(
            "Azure DNS",
            Status.FAIL,
            f"{where} answered {rcode} for {qname}",
            "check dns.azure_dns: it should be Azure DNS (168.63.129.16).",
        )
    return Diagnosis("Azure DNS", Status.PASS, f"{where} answered {rcode} for {qname}")


# -- local directories and sinks -------------------------------------------------------------


def writable_directory(topic: str, directory: Path) -> Diagnosis:
    """A directory netverify writes to exists and takes a file, or could be created."""
    if directory.is_dir():
        try:
            with tempfile.NamedTemporaryFile(dir=directory, prefix=".netverify-doctor-"):
                pass
        except OSError as exc:
            return Diagnosis(
                topic,
                Status.FAIL,
                f"{directory} is not writable: {exc.strerror}",
                f"make {directory} writable by the user netverify runs as.",
            )
        return Diagnosis(topic, Status.PASS, f"{directory} is writable")
    existing = next(p for p in (directory, *directory.parents) if p.exists())
    if existing.is_dir() and os.access(existing, os.W_OK | os.X_OK):
        return Diagnosis(topic, Status.PASS, f"{directory} does not exist yet; it can be created")
    return Diagnosis(
        topic,
        Status.FAIL,
        f"{directory} cannot be created: {existing} is "
        + ("not a directory" if not existing.is_dir() else "not writable"),
        f"create {directory} writable by the user netverify runs as (the systemd units "
        "create /var/lib/netverify and /var/log/netverify themselves).",
    )


def sink_reachability(sink: Sink) -> Diagnosis:
    """Whether this host can deliver to a configured sink: one case per sink type."""
    match sink:
        case JsonLinesFileSink():
            return writable_directory(f"sink jsonl_file {sink.path}", sink.path.parent)
        case StdoutSink():
            return Diagnosis(
                "sink stdout", Status.PASS, "standard output (the journal under systemd)"
            )
        case SyslogSink(protocol="udp"):
            return Diagnosis(
                f"sink syslog udp {sink.host}:{sink.effective_port}",
                Status.SKIPPED,
                "UDP syslog has no answer to wait for, so reachability cannot be checked",
                'prefer protocol = "tls" (or "tcp"): UDP loses events without a trace.',
            )
        case SyslogSink(protocol="tcp"):
            return tcp_reachable(
                f"sink syslog tcp {sink.host}:{sink.effective_port}",
                sink.host,
                sink.effective_port,
                sink.timeout_seconds,
            )
        case SyslogSink():
            return tls_reachable(
                f"sink syslog tls {sink.host}:{sink.effective_port}",
                sink.host,
                sink.effective_port,
                sink.timeout_seconds,
                ca_file=sink.ca_file,
                server_name=sink.server_name,
            )
        case AzureMonitorSink():
            return _https_reachable(
                "sink azure_monitor", sink.endpoint, sink.timeout_seconds, sink.ca_file
            )
        case SplunkHecSink() | WebhookSink():
            return _https_reachable(
                f"sink {sink.type}", sink.url, sink.timeout_seconds, sink.ca_file
            )


def _https_reachable(
    topic: str, url: str, timeout: float, ca_file: Path | None = None
) -> Diagnosis:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return tls_reachable(f"{topic} {url}", host, parts.port or 443, timeout, ca_file=ca_file)


# OpenSSL's X509_V_ERR codes (openssl-verify(1)) a receiver's certificate most often fails with,
# and what fixes each on this side or the receiver's.
_TLS_CAUSES = {
    10: ("its certificate has expired", "renew the receiver's certificate."),
    9: ("its certificate is not valid yet", "check the receiver's and this host's clocks."),
    18: (
        "its certificate is self-signed",
        "give the sink's ca_file the receiver's certificate (or the CA that should sign it).",
    ),
    19: (
        "its chain ends in a CA this host does not trust",
        "give the sink's ca_file the receiver's CA (PEM).",
    ),
    20: (
        "its issuer is not a CA this host trusts",
        "give the sink's ca_file the receiver's CA (PEM), or have the receiver send its "
        "intermediate certificates.",
    ),
    62: (
        "its certificate is not for the name asked",
        "address the receiver by a name its certificate holds (host, or server_name for "
        "syslog), or reissue the certificate with this name.",
    ),
}


def tls_reachable(
    topic: str,
    host: str,
    port: int,
    timeout: float,
    *,
    ca_file: Path | None = None,
    server_name: str | None = None,
) -> Diagnosis:
    """TCP, then on the same connection a TLS handshake verified as the sink verifies it
    (system store plus ``ca_file``, the name ``server_name`` or ``host``); a failed
    verification names its cause from OpenSSL's verify code (``_TLS_CAUSES``)."""
    raw = _connect(topic, host, port, timeout)
    if isinstance(raw, Diagnosis):
        return raw
    name = server_name or host
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    try:
        with raw, context.wrap_socket(raw, server_hostname=name):
            pass
    except ssl.SSLCertVerificationError as exc:
        cause, fix = _TLS_CAUSES.get(
            exc.verify_code,
            ("its certificate does not verify", "check the receiver's certificate chain."),
        )
        return Diagnosis(
            topic,
            Status.FAIL,
            f"{host}:{port} accepts connections, but TLS fails: {cause} "
            f"({exc.verify_message}, verifying {name})",
            fix,
        )
    except (ssl.SSLError, OSError) as exc:
        return Diagnosis(
            topic,
            Status.FAIL,
            f"{host}:{port} accepts connections, but the TLS handshake fails: {exc}",
            "check that the receiver speaks TLS on this port.",
        )
    return Diagnosis(topic, Status.PASS, f"{host}:{port} accepts TLS, certificate valid for {name}")


def tcp_reachable(topic: str, host: str, port: int, timeout: float) -> Diagnosis:
    """A TCP connection to the receiver opens from this host (TLS and the protocol come later)."""
    raw = _connect(topic, host, port, timeout)
    if isinstance(raw, Diagnosis):
        return raw
    raw.close()
    return Diagnosis(topic, Status.PASS, f"{host}:{port} accepts connections")


def _connect(topic: str, host: str, port: int, timeout: float) -> socket.socket | Diagnosis:
    """An open TCP connection to the receiver, or the failure naming the port to open."""
    try:
        return socket.create_connection((host, port), timeout=min(timeout, 5.0))
    except OSError as exc:
        return Diagnosis(
            topic,
            Status.FAIL,
            f"cannot connect to {host}:{port}: {exc.strerror or exc}",
            f"let this host reach {host} on TCP port {port} (NSG, firewall, or the receiver's "
            "own listener); findings stay spooled until it can.",
        )
