"""`netverify doctor` against the simulated tenant, healthy and broken in each way it diagnoses."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w
import trustme

from netverify import doctor
from netverify.cli import main
from netverify.config import Config, ScopeConfig, parse_config
from netverify.model import Status
from netverify.sim.cloud_naming import in_cloud
from netverify.sim.dns_server import StaticDnsServer
from netverify.sim.scenario import FaultSpec, ManagementGroupSpec, Scenario
from netverify.sim.servers import SIM_CLIENT_ID, SIM_PRINCIPAL_ID
from netverify.sim.tenant import SimulatedTenant
from tests.conftest import TenantFactory

OTHER_SUBSCRIPTION = "0b1c2d3e-0000-4000-8000-00000000beef"


@pytest.fixture
def azure_dns() -> Iterator[StaticDnsServer]:
    """Stands in for 168.63.129.16; it knows no names, so it answers NXDOMAIN (which is up)."""
    with StaticDnsServer([], drop_names=["management.usgovcloudapi.net"]) as server:
        yield server


@pytest.fixture
def resolv_conf(tmp_path: Path) -> Path:
    path = tmp_path / "resolv.conf"
    path.write_text("search internal.example\nnameserver 127.0.0.53\n")
    return path


def doctor_config(
    tenant: SimulatedTenant,
    azure_dns: StaticDnsServer,
    resolv_conf: Path,
    sink: Path,
    **changes: Any,
) -> Config:
    document = tenant.config_document(
        dns={
            "azure_dns": azure_dns.address,
            "resolv_conf": str(resolv_conf),
            "timeout_seconds": 0.3,
        }
    )
    document["sinks"] = [{"type": "jsonl_file", "path": str(sink)}]
    for key, value in changes.items():
        document[key] = {**document.get(key, {}), **value} if isinstance(value, dict) else value
    return parse_config(tomli_w.dumps(document), "doctor test")


def by_topic(diagnoses: tuple[doctor.Diagnosis, ...]) -> dict[str, doctor.Diagnosis]:
    return {d.topic: d for d in diagnoses}


@pytest.fixture
def healthy(
    start_tenant: TenantFactory, azure_dns: StaticDnsServer, resolv_conf: Path, tmp_path: Path
) -> tuple[SimulatedTenant, Config]:
    tenant = start_tenant()
    return tenant, doctor_config(tenant, azure_dns, resolv_conf, tmp_path / "out" / "f.jsonl")


def test_a_healthy_host_passes_everything(
    healthy: tuple[SimulatedTenant, Config], tmp_path: Path
) -> None:
    """Token, subscriptions, every workspace, resolvers, Azure DNS, state dir and sink: exit 0."""
    _, config = healthy

    diagnoses = doctor.diagnose(config, tmp_path)

    assert {
        "token": Status.PASS,
        "subscriptions": Status.PASS,
        "workspace mlw-healthy": Status.PASS,
        "workspace mlw-broken": Status.PASS,
        "workspace mlw-spoke": Status.PASS,
        "host resolvers": Status.PASS,
        "Azure DNS": Status.PASS,
        "state directory": Status.PASS,
        f"sink jsonl_file {tmp_path / 'out' / 'f.jsonl'}": Status.PASS,
    } == {d.topic: d.status for d in diagnoses}
    assert 0 == doctor.exit_code(diagnoses)


def test_it_names_the_identity_subscriptions_and_resolvers(
    healthy: tuple[SimulatedTenant, Config], tmp_path: Path
) -> None:
    """What doctor saw: the token's client and object id, each subscription, the nameservers."""
    found = by_topic(doctor.diagnose(healthy[1], tmp_path))

    assert f"client id {SIM_CLIENT_ID}, object id {SIM_PRINCIPAL_ID}" in found["token"].observed
    assert "Simulated subscription 1 (6d3b1a52-8f1e-4c3a-9a7e-2b5c8d9e0f11)" in (
        found["subscriptions"].observed
    )
    assert found["host resolvers"].observed.endswith(": 127.0.0.53")
    assert "answered NXDOMAIN for management.azure.com" in found["Azure DNS"].observed


def test_the_command_prints_and_exits_like_run(
    healthy: tuple[SimulatedTenant, Config],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`netverify doctor -c FILE --state-dir DIR` exits 0 and ends with a one-line summary."""
    config = healthy[1]
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(config.model_dump(mode="json", exclude_none=True)))

    assert 0 == main(["doctor", "-c", str(path), "--state-dir", str(tmp_path)])
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "9 diagnoses: 0 to fix, 0 could not be checked, 0 skipped, 9 fine"


def test_no_managed_identity_is_exit_2_with_the_fix(
    healthy: tuple[SimulatedTenant, Config], tmp_path: Path
) -> None:
    """No identity on the host: token fails, ARM is skipped, exit 2, the fix says how to attach one."""
    tenant, config = healthy
    tenant.identity.identity_assigned = False

    diagnoses = doctor.diagnose(config, tmp_path)
    found = by_topic(diagnoses)

    assert Status.FAIL is found["token"].status
    assert "No managed identity is assigned" in found["token"].observed
    assert "az vm identity assign" in (found["token"].fix or "")
    assert Status.SKIPPED is found["ARM reads"].status
    assert 2 == doctor.exit_code(diagnoses)


@pytest.fixture
def us_government(start_tenant: TenantFactory, demo_scenario: Scenario) -> SimulatedTenant:
    return start_tenant(in_cloud(demo_scenario, "AzureUSGovernment"))


def test_a_config_for_another_cloud_is_exit_2(
    us_government: SimulatedTenant, azure_dns: StaticDnsServer, resolv_conf: Path, tmp_path: Path
) -> None:
    """A US Gov host configured for AzureCloud: the token endpoint refuses the audience."""
    config = doctor_config(
        us_government, azure_dns, resolv_conf, tmp_path / "f.jsonl", cloud="AzureCloud"
    )

    found = by_topic(doctor.diagnose(config, tmp_path))

    assert "https://management.azure.com/.default" in found["token"].observed
    assert "check `cloud` (now AzureCloud)" in (found["token"].fix or "")
    assert 2 == doctor.exit_code(tuple(found.values()))


def diagnose_with_fault(
    healthy: tuple[SimulatedTenant, Config], state_dir: Path, fault: FaultSpec
) -> tuple[doctor.Diagnosis, ...]:
    tenant, config = healthy
    tenant.arm.inject(fault)
    return doctor.diagnose(config, state_dir)


def test_a_refused_workspace_read_names_the_permission_and_the_assignment(
    healthy: tuple[SimulatedTenant, Config], tmp_path: Path
) -> None:
    """403 on a workspace: fail, naming workspaces/read and the az role assignment to run; exit 1."""
    fault = FaultSpec(path="/workspaces/mlw-broken$", status=403)

    diagnoses = diagnose_with_fault(healthy, tmp_path, fault)
    refused = by_topic(diagnoses)["workspace mlw-broken"]

    assert Status.FAIL is refused.status
    assert "Microsoft.MachineLearningServices/workspaces/read" in (refused.fix or "")
    assert (
        f'az role assignment create --assignee {SIM_PRINCIPAL_ID} --role "netverify reader" '
        "--scope /subscriptions/6d3b1a52-8f1e-4c3a-9a7e-2b5c8d9e0f11"
    ) in (refused.fix or "")
    assert 1 == doctor.exit_code(diagnoses)


def test_a_refused_subscription_list_names_its_permission(
    healthy: tuple[SimulatedTenant, Config], tmp_path: Path
) -> None:
    """403 on GET /subscriptions: fail naming Microsoft.Resources/subscriptions/read."""
    fault = FaultSpec(path="^/subscriptions$", status=403)

    subscriptions = by_topic(diagnose_with_fault(healthy, tmp_path, fault))["subscriptions"]

    assert Status.FAIL is subscriptions.status
    assert "Microsoft.Resources/subscriptions/read" in (subscriptions.fix or "")


def test_a_workspace_in_an_unseen_subscription(
    healthy: tuple[SimulatedTenant, Config], tmp_path: Path
) -> None:
    """A configured workspace whose subscription the identity cannot see: both are failures."""
    config = healthy[1]
    elsewhere = (
        f"/subscriptions/{OTHER_SUBSCRIPTION}/resourceGroups/rg/providers/"
        "Microsoft.MachineLearningServices/workspaces/mlw-elsewhere"
    )
    config = config.model_copy(
        update={"scope": config.scope.model_copy(update={"workspaces": (elsewhere,)})}
    )

    found = by_topic(doctor.diagnose(config, tmp_path))

    assert Status.FAIL is found["subscriptions"].status
    assert OTHER_SUBSCRIPTION in found["subscriptions"].observed
    assert f"--scope /subscriptions/{OTHER_SUBSCRIPTION}" in (found["subscriptions"].fix or "")
    assert Status.FAIL is found["workspace mlw-elsewhere"].status
    assert "404" in found["workspace mlw-elsewhere"].observed


def test_an_arm_outage_could_not_be_checked(
    healthy: tuple[SimulatedTenant, Config], tmp_path: Path
) -> None:
    """5xx after retries is 'could not check' (error), exit 3 when nothing else fails."""
    diagnoses = diagnose_with_fault(healthy, tmp_path, FaultSpec(path="/workspaces/", status=503))

    assert Status.ERROR is by_topic(diagnoses)["workspace mlw-healthy"].status
    assert 3 == doctor.exit_code(diagnoses)


def test_azure_dns_that_does_not_answer(
    us_government: SimulatedTenant, azure_dns: StaticDnsServer, resolv_conf: Path, tmp_path: Path
) -> None:
    """Azure DNS silent for the cloud's ARM name (US Gov's, which the stand-in drops): fail."""
    config = doctor_config(us_government, azure_dns, resolv_conf, tmp_path / "f.jsonl")

    found = by_topic(doctor.diagnose(config, tmp_path))

    assert Status.PASS is found["token"].status
    assert Status.FAIL is found["Azure DNS"].status
    assert "management.usgovcloudapi.net" in found["Azure DNS"].observed
    assert "only inside an Azure VNet" in (found["Azure DNS"].fix or "")


def test_a_host_without_nameservers(
    start_tenant: TenantFactory, azure_dns: StaticDnsServer, tmp_path: Path
) -> None:
    """A resolv.conf with no nameserver line: fail, unless the host resolver is not used."""
    empty = tmp_path / "resolv.conf"
    empty.write_text("search internal.example\n")
    tenant = start_tenant()
    config = doctor_config(tenant, azure_dns, empty, tmp_path / "f.jsonl")
    unused = doctor_config(
        tenant, azure_dns, empty, tmp_path / "f.jsonl", dns={"use_host_resolver": False}
    )

    assert Status.FAIL is by_topic(doctor.diagnose(config, tmp_path))["host resolvers"].status
    assert Status.SKIPPED is by_topic(doctor.diagnose(unused, tmp_path))["host resolvers"].status


def test_unwritable_state_directory_and_sink(
    start_tenant: TenantFactory, azure_dns: StaticDnsServer, resolv_conf: Path, tmp_path: Path
) -> None:
    """A state dir and a sink file under a regular file cannot be created: both fail."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    config = doctor_config(start_tenant(), azure_dns, resolv_conf, blocker / "out" / "f.jsonl")

    found = by_topic(doctor.diagnose(config, blocker / "state"))

    assert Status.FAIL is found["state directory"].status
    assert f"{blocker} is not a directory" in found["state directory"].observed
    assert Status.FAIL is found[f"sink jsonl_file {blocker / 'out' / 'f.jsonl'}"].status


def test_a_bad_config_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A config that does not validate stops doctor before any probe, naming the key."""
    path = tmp_path / "config.toml"
    path.write_text('cloud = "AzureMoon"\n')

    assert 2 == main(["doctor", "-c", str(path)])
    assert f"{path}: cloud:" in capsys.readouterr().err


def test_the_report_puts_problems_first_with_their_fix(
    healthy: tuple[SimulatedTenant, Config], tmp_path: Path
) -> None:
    """Failures lead, each followed by its fix line."""
    tenant, config = healthy
    tenant.identity.identity_assigned = False

    lines = doctor.render(doctor.diagnose(config, tmp_path)).splitlines()

    assert lines[0].startswith("FAIL    token")
    assert "fix: give this host" in lines[1]


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


def test_network_sinks_are_reachable_or_named_with_the_port_to_open(listening_port: int) -> None:
    """A listening TCP receiver passes; a closed port fails naming host and port; UDP is skipped."""
    config = parse_config(
        "\n".join(
            [
                "[[sinks]]",
                'type = "syslog"',
                'host = "127.0.0.1"',
                f"port = {listening_port}",
                'protocol = "tcp"',
                "[[sinks]]",
                'type = "syslog"',
                'host = "127.0.0.1"',
                f"port = {closed_port()}",
                'protocol = "tls"',
                "[[sinks]]",
                'type = "syslog"',
                'host = "127.0.0.1"',
                'protocol = "udp"',
            ]
        ),
        "sinks.toml",
    )

    listening, closed, udp = (doctor.sink_reachability(s) for s in config.sinks)

    assert Status.PASS == listening.status
    assert Status.FAIL == closed.status
    assert f"127.0.0.1 on TCP port {config.sinks[1].effective_port}" in (closed.fix or "")
    assert Status.SKIPPED == udp.status


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_wider_scope_is_listed_as_a_run_lists_it(
    healthy: tuple[SimulatedTenant, Config], tmp_path: Path
) -> None:
    """Scope by subscriptions only: no "scope is empty" fail; the discovery says how many it
    found and how, and the subscriptions asked for are the ones checked for visibility."""
    tenant, config = healthy
    wider = config.model_copy(
        update={
            "scope": ScopeConfig(subscriptions=tuple(tenant.scenario.subscriptions)),
        }
    )

    found = by_topic(doctor.diagnose(wider, tmp_path))

    assert "workspaces" not in found
    assert (Status.PASS, "3 workspace(s) found (resource graph)") == (
        found["discovery"].status,
        found["discovery"].observed,
    )
    assert Status.PASS is found["subscriptions"].status


def test_a_wider_scope_that_holds_no_workspace_fails_with_the_fix(
    healthy: tuple[SimulatedTenant, Config], tmp_path: Path
) -> None:
    tenant, config = healthy
    empty_group = f"/subscriptions/{tenant.scenario.subscriptions[0]}/resourceGroups/rg-empty"
    scoped = config.model_copy(update={"scope": ScopeConfig(resource_groups=(empty_group,))})

    diagnoses = doctor.diagnose(scoped, tmp_path)
    found = by_topic(diagnoses)

    assert Status.FAIL is found["discovery"].status
    assert "no workspace found in the wider scopes (resource graph)" == found["discovery"].observed
    assert "scope.resource_groups" in (found["discovery"].fix or "")
    assert 1 == doctor.exit_code(diagnoses)


def test_an_empty_scope_names_every_kind_of_scope(
    healthy: tuple[SimulatedTenant, Config], tmp_path: Path
) -> None:
    _, config = healthy
    found = by_topic(doctor.diagnose(config.model_copy(update={"scope": ScopeConfig()}), tmp_path))

    assert Status.FAIL is found["workspaces"].status
    assert "scope.management_group" in (found["workspaces"].fix or "")


def test_azure_dns_is_asked_where_the_server_map_sends_it(
    healthy: tuple[SimulatedTenant, Config], azure_dns: StaticDnsServer, tmp_path: Path
) -> None:
    """dns.azure_dns keeps its declared 168.63.129.16; dns.server_map sends the query to the
    loopback stand-in (nothing goes to 168.63.129.16), and the diagnosis says both."""
    _, config = healthy
    mapped = config.model_copy(
        update={
            "dns": config.dns.model_copy(
                update={
                    "azure_dns": "168.63.129.16",
                    "server_map": {"168.63.129.16": azure_dns.address},
                }
            )
        }
    )

    found = by_topic(doctor.diagnose(mapped, tmp_path))["Azure DNS"]

    assert Status.PASS is found.status
    assert found.observed.startswith(
        f"168.63.129.16 (dns.azure_dns) through {azure_dns.address} (dns.server_map) answered "
    )


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A loopback TLS listener whose certificate is for receiver.example, from a CA of its own
    (written to the returned PEM path); each connection gets a handshake, then is closed."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("receiver.example").configure_cert(context)
    ca_file = tmp_path / "receiver-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with contextlib.suppress(OSError), connection:
                connection.settimeout(2)
                context.wrap_socket(connection, server_side=True).close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], ca_file
    finally:
        stop.set()
        thread.join(5)
        server.close()


@pytest.mark.parametrize(
    ("server_name", "trust", "status", "said", "fix"),
    [
        ("receiver.example", True, Status.PASS, "certificate valid for receiver.example", None),
        (
            "receiver.example",
            False,
            Status.FAIL,
            "TLS fails: its issuer is not a CA this host trusts",
            "give the sink's ca_file the receiver's CA",
        ),
        (
            "logs.example",
            True,
            Status.FAIL,
            "TLS fails: its certificate is not for the name asked",
            "address the receiver by a name its certificate holds",
        ),
    ],
)
def test_a_tls_sink_names_the_cause_of_a_failed_handshake(
    tls_receiver: tuple[int, Path],
    server_name: str,
    trust: bool,
    status: Status,
    said: str,
    fix: str | None,
) -> None:
    """A TLS syslog receiver that accepts TCP: the handshake is verified as the sink verifies
    it, and a failure says why (an unknown CA, a certificate for another name) and what to set."""
    port, ca_file = tls_receiver
    lines = [
        "[[sinks]]",
        'type = "syslog"',
        'host = "127.0.0.1"',
        f"port = {port}",
        'protocol = "tls"',
        f'server_name = "{server_name}"',
        *([f'ca_file = "{ca_file}"'] if trust else []),
    ]
    [sink] = parse_config("\n".join(lines), "sinks.toml").sinks

    found = doctor.sink_reachability(sink)

    assert (status, True) == (found.status, said in found.observed), found.observed
    assert (fix is None and found.fix is None) or (fix or "") in (found.fix or "")


def test_a_token_endpoint_whose_certificate_does_not_verify_is_named_as_tls(
    healthy: tuple[SimulatedTenant, Config],
    tls_receiver: tuple[int, Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """IDENTITY_ENDPOINT on HTTPS with a certificate from a CA this host does not trust (a
    TLS-inspecting proxy's, say): the token fails naming the TLS cause and the fix is about
    trust, not "give this host an identity"."""
    _, config = healthy
    port, _ = tls_receiver
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"https://127.0.0.1:{port}/msi/token")

    found = by_topic(doctor.diagnose(config, tmp_path))["token"]

    assert Status.FAIL is found.status
    assert (
        "TLS to the token endpoint fails, its issuer is not a CA this host trusts "
        "(unable to get local issuer certificate)"
    ) in found.observed
    assert "TLS-inspecting proxy" in (found.fix or "")
    assert "az vm identity assign" not in (found.fix or "")


@pytest.mark.parametrize("kind", ["subscription", "resource group", "management group"])
def test_each_wider_scope_kind_is_listed_as_a_run_lists_it(
    start_tenant: TenantFactory,
    demo_scenario: Scenario,
    azure_dns: StaticDnsServer,
    resolv_conf: Path,
    tmp_path: Path,
    kind: str,
) -> None:
    """A scope of the demo's first subscription, of its production resource group, or of a
    management group holding that subscription: no "scope is empty", and discovery finds the
    tenant's workspaces there (counted from their ARM ids)."""
    subscription = demo_scenario.subscriptions[0]
    group = f"/subscriptions/{subscription}/resourceGroups/rg-ml-prod"
    tenant = start_tenant(
        demo_scenario.model_copy(
            update={
                "management_groups": (
                    ManagementGroupSpec(name="mg-ml", subscriptions=(subscription,)),
                )
            }
        )
    )
    config = doctor_config(tenant, azure_dns, resolv_conf, tmp_path / "out" / "f.jsonl")
    scope, prefix = {
        "subscription": (
            ScopeConfig(subscriptions=(subscription,)),
            f"/subscriptions/{subscription}/",
        ),
        "resource group": (ScopeConfig(resource_groups=(group,)), f"{group}/"),
        "management group": (
            ScopeConfig(management_group="mg-ml"),
            f"/subscriptions/{subscription}/",
        ),
    }[kind]
    there = [w for w in tenant.workspace_ids() if w.lower().startswith(prefix.lower())]

    found = by_topic(doctor.diagnose(config.model_copy(update={"scope": scope}), tmp_path))

    assert "workspaces" not in found
    assert (Status.PASS, True) == (
        found["discovery"].status,
        found["discovery"].observed.startswith(f"{len(there)} workspace(s) found ("),
    ), found["discovery"].observed
    assert there
