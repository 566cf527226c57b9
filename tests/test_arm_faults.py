"""ARM behaviour through the real SDK clients and ManagedIdentityCredential, against the
simulated tenant: throttling, outages, permissions, missing resources, bad bodies."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from netverify.azure.clouds import CloudName, cloud
from netverify.facts import DiscoveryMethod, ReadProblem
from netverify.model import Finding, Status
from netverify.probes.arm import ArmReader
from netverify.probes.cancel import Cancel, RunCancelled
from netverify.probes.credentials import make_credential
from netverify.probes.discovery import discover
from netverify.runner import run_once
from netverify.sim.scenario import FaultSpec
from netverify.sim.tenant import SimulatedTenant
from tests.conftest import TenantFactory

KV_PATH = "/providers/Microsoft.KeyVault/vaults/kv-broken$"
WS_PATH = "/workspaces/mlw-broken$"


def findings_by(result, check_id):  # type: ignore[no-untyped-def]
    return {f.resource_id.rsplit("/", 1)[-1]: f for f in result.findings if f.check.id == check_id}


def test_throttled_read_waits_for_retry_after_then_succeeds(start_tenant: TenantFactory) -> None:
    """A 429 with Retry-After: 1 is retried after at least one second, and the check judges."""
    tenant = start_tenant()
    tenant.arm.inject(FaultSpec(path=KV_PATH, status=429, retry_after=1, times=1))

    result = run_once(tenant.config())

    hits = [r for r in tenant.arm.requests if r.path.endswith("/vaults/kv-broken")]
    assert [r.status for r in hits] == [429, 200]
    assert hits[1].at - hits[0].at >= 0.95
    assert (
        findings_by(result, "keyvault_network_bypass_azure_services")["kv-broken"].status
        == Status.FAIL
    )


def test_server_errors_are_retried_then_become_an_error_finding(
    start_tenant: TenantFactory,
) -> None:
    """A vault that answers 503 through every retry is an error finding; the run goes on."""
    tenant = start_tenant()
    tenant.arm.inject(FaultSpec(path=KV_PATH, status=503))

    result = run_once(tenant.config())

    hits = [r for r in tenant.arm.requests if r.path.endswith("/vaults/kv-broken")]
    assert len(hits) == 3  # the first try and retry_total=2 retries
    vault = findings_by(result, "keyvault_network_bypass_azure_services")
    assert vault["kv-broken"].status == Status.ERROR
    assert "503" in vault["kv-broken"].message
    assert vault["kv-healthy"].status == Status.PASS
    assert result.exit_code == 1  # the v1 fail of mlw-broken is still reported


def test_forbidden_vault_names_the_missing_permission(start_tenant: TenantFactory) -> None:
    """A 403 AuthorizationFailed becomes an error naming Microsoft.KeyVault/vaults/read."""
    tenant = start_tenant()
    tenant.arm.inject(FaultSpec(path=KV_PATH, status=403))

    result = run_once(tenant.config())

    finding = findings_by(result, "keyvault_network_bypass_azure_services")["kv-broken"]
    assert finding.status == Status.ERROR
    assert "Microsoft.KeyVault/vaults/read" in finding.message
    assert finding.evidence.observed["missing_permission"] == "Microsoft.KeyVault/vaults/read"
    assert len([r for r in tenant.arm.requests if r.path.endswith("/kv-broken")]) == 1


def test_deleted_linked_vault_is_a_fail(start_tenant: TenantFactory, demo_scenario) -> None:  # type: ignore[no-untyped-def]
    """A workspace whose keyVault points at a vault that is gone fails with 'does not exist'."""
    broken = demo_scenario.model_copy(
        update={"key_vaults": [k for k in demo_scenario.key_vaults if k.name != "kv-broken"]}
    )
    tenant = start_tenant(broken)

    result = run_once(tenant.config())

    finding = findings_by(result, "keyvault_network_bypass_azure_services")["kv-broken"]
    assert finding.status == Status.FAIL
    assert "does not exist" in finding.message


def test_body_that_is_not_json_is_an_error(start_tenant: TenantFactory) -> None:
    """A 200 whose body is not JSON is an error finding, not a crash."""
    tenant = start_tenant()
    tenant.arm.inject(FaultSpec(path=WS_PATH, status=200, body="{not json"))

    result = run_once(tenant.config())

    finding = findings_by(result, "workspace_v1_legacy_mode_disabled")["mlw-broken"]
    assert finding.status == Status.ERROR
    assert ReadProblem.MALFORMED.value == finding.evidence.observed["problem"]
    assert (
        findings_by(result, "workspace_v1_legacy_mode_disabled")["mlw-healthy"].status
        == Status.PASS
    )


def test_property_of_the_wrong_type_is_named(start_tenant: TenantFactory) -> None:
    """v1LegacyMode = "yes" is an error that names the property and the value."""
    tenant = start_tenant()
    body = (
        '{"id": "x", "name": "mlw-broken", "location": "eastus",'
        ' "properties": {"v1LegacyMode": "yes"}}'
    )
    tenant.arm.inject(FaultSpec(path=WS_PATH, status=200, body=body))

    result = run_once(tenant.config())

    finding = findings_by(result, "workspace_v1_legacy_mode_disabled")["mlw-broken"]
    assert finding.status == Status.ERROR
    assert "properties.v1LegacyMode is 'yes', expected a bool" in finding.message


def test_each_resource_is_read_once_per_run(start_tenant: TenantFactory, demo_scenario) -> None:  # type: ignore[no-untyped-def]
    """Two workspaces sharing one vault cause a single read of that vault."""
    shared = demo_scenario.model_copy(
        update={
            "workspaces": [
                w.model_copy(update={"key_vault": "kv-healthy"}) for w in demo_scenario.workspaces
            ]
        }
    )
    tenant = start_tenant(shared)

    run_once(tenant.config())

    paths = [r.path.lower() for r in tenant.arm.requests]
    assert len(paths) == len(set(paths))
    assert sum(p.endswith("/vaults/kv-healthy") for p in paths) == 1


def test_without_a_token_the_run_cannot_run(start_tenant: TenantFactory) -> None:
    """On a host without a managed identity every read is unauthenticated: exit code 2."""
    tenant = start_tenant()
    tenant.identity.identity_assigned = False

    result = run_once(tenant.config())

    assert result.exit_code == 2
    # Errors said (a run that said nothing would pass the next line), and nothing judged.
    assert Status.ERROR in {f.status for f in result.findings}
    assert all(f.status in (Status.ERROR, Status.SKIPPED) for f in result.findings)


def test_token_for_the_wrong_cloud_is_refused(start_tenant: TenantFactory, demo_scenario) -> None:  # type: ignore[no-untyped-def]
    """A China-cloud tenant refuses tokens for the public ARM audience: the scope comes from the cloud table."""
    tenant = start_tenant(demo_scenario.model_copy(update={"cloud": CloudName.CHINA}))

    china = run_once(tenant.config())
    public = run_once(tenant.config().model_copy(update={"cloud": CloudName.PUBLIC}))

    assert china.exit_code == 1
    assert public.exit_code == 2
    audiences = {r.query["resource"] for r in tenant.identity.requests}
    assert {"https://management.chinacloudapi.cn", "https://management.azure.com"} == audiences


def test_arm_refuses_requests_without_a_valid_bearer(start_tenant: TenantFactory) -> None:
    """The simulated ARM answers 401 to a request without a token it issued."""
    import ssl
    import urllib.error
    import urllib.request

    tenant = start_tenant()
    context = ssl.create_default_context(cafile=str(tenant.ca_path))
    request = urllib.request.Request(
        f"{tenant.arm.url}{tenant.workspace_ids()[0]}?api-version=2025-12-01",
        headers={"Authorization": "Bearer forged"},
    )
    try:
        urllib.request.urlopen(request, context=context)
        raise AssertionError("expected 401")
    except urllib.error.HTTPError as exc:
        assert exc.code == 401


# -- bounded waits and loops (issue 13) ------------------------------------------------------

HEALTHY_ENDPOINTS = "/workspaces/mlw-healthy/onlineEndpoints$"


def arm_reader(tenant: SimulatedTenant, sleeps: list[float], **arm: object) -> ArmReader:
    """An ArmReader on the tenant whose waits are recorded in ``sleeps``, not slept."""
    config = tenant.config(arm={**tenant.config_document()["arm"], **arm})
    credential = make_credential(config.credential, cloud(config.cloud))
    return ArmReader(credential, cloud(config.cloud), config.arm, sleep=sleeps.append)


def errors_saying(result, text: str) -> list[Finding]:  # type: ignore[no-untyped-def]
    return [f for f in result.findings if f.status == Status.ERROR and text in f.message]


def test_self_pointing_next_link_is_an_error_after_two_pages(start_tenant: TenantFactory) -> None:
    """A list whose nextLink names its own page is read twice, then an error names the list."""
    tenant = start_tenant()
    endpoints = f"{tenant.workspace_ids()[0]}/onlineEndpoints"
    loop = f"{tenant.arm.url}{endpoints}?api-version=2025-12-01"
    tenant.arm.inject(
        FaultSpec(
            path=HEALTHY_ENDPOINTS, status=200, body=json.dumps({"value": [], "nextLink": loop})
        )
    )

    result = run_once(tenant.config())

    hits = [r for r in tenant.arm.requests if r.path == endpoints]
    assert len(hits) == 2
    found = errors_saying(result, "nextLink repeats")
    assert found
    assert {endpoints} == {f.resource_id for f in found}
    detail = f"the list at {endpoints} does not end: its nextLink repeats after 2 pages"
    assert all({"problem": "malformed", "detail": detail} == f.evidence.observed for f in found)
    # The rest of the run is judged: the other workspace's endpoint list was read as usual.
    churn = findings_by(result, "online_endpoint_traffic_to_succeeded_deployment")["ep-churn"]
    assert churn.status != Status.ERROR


def test_silent_token_endpoint_cannot_hold_the_run(
    start_tenant: TenantFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token endpoint that accepts the connection and never answers: each token request
    gives up after credential.timeout_seconds, and the run ends unauthenticated (exit 2)."""
    tenant = start_tenant()
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        monkeypatch.setenv(
            "IDENTITY_ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}/msi/token"
        )

        result = run_once(tenant.config(credential={"timeout_seconds": 0.2}))

    assert result.exit_code == 2
    assert tenant.arm.requests == []  # no read was sent without a token
    errors = {
        f.evidence.observed.get("detail") for f in result.findings if f.status == Status.ERROR
    }
    assert {
        "no access token: the token request failed (credential.timeout_seconds bounds it): "
        "Response timeout"
    } == errors


@pytest.mark.parametrize("body", [b"<html>login portal</html>", b'{"expires_on": "1"}'])
def test_a_token_endpoint_answering_no_token_is_no_token_not_arm(
    start_tenant: TenantFactory, monkeypatch: pytest.MonkeyPatch, body: bytes
) -> None:
    """A token endpoint that answers 200 with HTML (a captive portal, a proxy's page) or JSON
    without a token: the run ends unauthenticated (exit 2), naming the token request - never
    "ARM answered with a body that is not JSON" - and nothing is sent to ARM."""
    tenant = start_tenant()

    class Portal(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    portal = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Portal)
    serving = threading.Thread(target=portal.serve_forever, daemon=True)
    serving.start()
    try:
        monkeypatch.setenv("IDENTITY_ENDPOINT", f"http://127.0.0.1:{portal.server_port}/msi/token")
        result = run_once(tenant.config(credential={"timeout_seconds": 2}))
    finally:
        portal.shutdown()
        portal.server_close()

    assert result.exit_code == 2
    assert tenant.arm.requests == []
    details = {
        f.evidence.observed.get("detail") for f in result.findings if f.status == Status.ERROR
    }
    assert details and all(str(d).startswith("no access token: ") for d in details), details
    assert not any("ARM answered" in str(d) for d in details)


def resource_group(tenant: SimulatedTenant) -> str:
    return tenant.workspace_ids()[0].split("/providers/")[0]


def test_self_pointing_next_link_of_an_sdk_list_is_an_error(start_tenant: TenantFactory) -> None:
    """The SDK pager's nextLink is checked too: a registry's connection list that points back
    to itself is read twice, and the registry read fails naming the list."""
    tenant = start_tenant()
    registry = (
        f"{resource_group(tenant)}/providers/Microsoft.ContainerRegistry/registries/crhealthy"
    )
    connections = f"{registry}/privateEndpointConnections"
    loop = f"{tenant.arm.url}{connections}?api-version=2025-11-01"
    tenant.arm.inject(
        FaultSpec(
            path="/crhealthy/privateEndpointConnections$",
            status=200,
            body=json.dumps({"value": [], "nextLink": loop}),
        )
    )

    read = arm_reader(tenant, []).registry(registry)

    assert read.failure is not None
    assert ReadProblem.MALFORMED == read.failure.problem
    assert (
        f"the list at {connections} does not end: its nextLink repeats after 2 pages"
        == read.failure.message
    )
    assert 2 == len([r for r in tenant.arm.requests if r.path == connections])


def zone_records(tenant: SimulatedTenant) -> tuple[str, str]:
    """(the id of the demo's azureml zone, the path of its record-set list)."""
    zone = f"{resource_group(tenant)}/providers/Microsoft.Network/privateDnsZones/privatelink.api.azureml.ms"
    return zone, f"{zone}/ALL"


def test_a_list_longer_than_the_page_cap_is_an_error(start_tenant: TenantFactory) -> None:
    """With one record per page and arm.max_pages = 2, the zone's record list stops after two
    pages with an error that names the cap."""
    tenant = start_tenant()
    tenant.arm.page_size = 1
    zone, records = zone_records(tenant)

    read = arm_reader(tenant, [], max_pages=2).private_dns_zone(zone)

    assert read.failure is not None
    assert (
        f"the list at {records} was not read to its end: page cap 2 reached (arm.max_pages) "
        "and its nextLink goes on" == read.failure.message
    )
    assert 2 == len([r for r in tenant.arm.requests if r.path.lower() == records.lower()])


def test_a_list_within_the_page_cap_is_read_to_its_end(start_tenant: TenantFactory) -> None:
    """The same list, one record per page, under the default cap: every page is followed."""
    tenant = start_tenant()
    tenant.arm.page_size = 1
    zone, records = zone_records(tenant)
    expected = len(tenant.arm.state.collections[records.lower()])

    read = arm_reader(tenant, []).private_dns_zone(zone)

    assert read.value is not None
    assert expected > 2
    assert expected == len([r for r in tenant.arm.requests if r.path.lower() == records.lower()])


def test_a_repeated_skip_token_ends_the_resource_graph_query(start_tenant: TenantFactory) -> None:
    """A Resource Graph page whose $skipToken repeats: two queries, then discovery falls back to
    per-subscription ARM lists and says why."""
    tenant = start_tenant()
    tenant.arm.inject(
        FaultSpec(
            path="/providers/Microsoft.ResourceGraph/resources$",
            method="POST",
            status=200,
            body=json.dumps({"totalRecords": 9, "count": 0, "data": [], "$skipToken": "again"}),
        )
    )
    subscription = tenant.scenario.subscriptions[0]
    config = tenant.config(scope={"workspaces": [], "subscriptions": [subscription]})
    reader = arm_reader(tenant, [])

    with ThreadPoolExecutor(2) as pool:
        found, unlisted, discovery = discover(reader, config.scope, pool)

    assert 2 == len([r for r in tenant.arm.requests if r.method == "POST"])
    assert DiscoveryMethod.ARM_LIST == discovery.method
    assert (
        "Resource Graph refused the query (the list at /providers/Microsoft.ResourceGraph/"
        "resources does not end: its $skipToken repeats after 2 pages); workspaces were listed "
        "with per-subscription ARM calls instead" == discovery.notes[0]
    )
    assert unlisted == []
    assert {w.lower() for w in tenant.workspace_ids() if subscription in w} == {
        f.lower() for f in found
    }


@pytest.mark.parametrize(
    ("retry_after", "arm", "wait"),
    [
        (100000, {}, 60.0),  # capped at the default arm.max_retry_after_seconds
        (100000, {"max_retry_after_seconds": 5}, 5.0),  # the configured cap
        (2, {}, 2.0),  # a Retry-After under the cap is honoured as asked
    ],
)
def test_retry_after_is_capped(
    start_tenant: TenantFactory, retry_after: int, arm: dict[str, object], wait: float
) -> None:
    """A 429's Retry-After is waited (through the reader's sleep) up to the cap, then retried."""
    tenant = start_tenant()
    vault = f"{resource_group(tenant)}/providers/Microsoft.KeyVault/vaults/kv-healthy"
    tenant.arm.inject(
        FaultSpec(path="/vaults/kv-healthy$", status=429, retry_after=retry_after, times=1)
    )
    sleeps: list[float] = []

    read = arm_reader(tenant, sleeps, **arm).key_vault(vault)

    assert read.value is not None
    assert [wait] == sleeps
    assert [429, 200] == [r.status for r in tenant.arm.requests if r.path == vault]


def test_next_link_to_another_host_is_refused(start_tenant: TenantFactory) -> None:
    """A nextLink to another host (localhost: the same stand-in, under a name that is not the
    configured ARM endpoint) is not followed, so the token never reaches it; the error names it."""
    tenant = start_tenant()
    endpoints = f"{tenant.workspace_ids()[0]}/onlineEndpoints"
    port = tenant.arm.url.rsplit(":", 1)[1]
    elsewhere = f"https://localhost:{port}/stolen?page=2"
    tenant.arm.inject(
        FaultSpec(
            path=HEALTHY_ENDPOINTS,
            status=200,
            body=json.dumps({"value": [], "nextLink": elsewhere}),
        )
    )

    result = run_once(tenant.config())

    assert [] == [r for r in tenant.arm.requests if r.path == "/stolen"]
    assert 1 == len([r for r in tenant.arm.requests if r.path == endpoints])
    found = errors_saying(result, "refused to send the ARM token")
    assert found
    assert {endpoints} == {f.resource_id for f in found}
    assert {
        f"refused to send the ARM token to https://localhost:{port}, which is not the ARM "
        f"endpoint https://127.0.0.1:{port} (a nextLink or redirect pointed there; not followed)"
    } == {f.evidence.observed["detail"] for f in found}


def test_a_token_echoed_in_an_arm_error_is_redacted(start_tenant: TenantFactory) -> None:
    """An ARM error body that echoes the request's bearer token: the finding names the error,
    never the token."""
    tenant = start_tenant()
    token = tenant.arm.tokens.issue({"aud": "https://management.azure.com"})
    echo = {
        "error": {"code": "BadGateway", "message": f"upstream saw Authorization: Bearer {token}"}
    }
    tenant.arm.inject(FaultSpec(path=KV_PATH, status=502, body=json.dumps(echo)))

    result = run_once(tenant.config())

    finding = findings_by(result, "keyvault_network_bypass_azure_services")["kv-broken"]
    assert finding.status == Status.ERROR
    assert (
        "ARM answered 502 after retries: BadGateway: upstream saw Authorization: [redacted]"
        == finding.evidence.observed["detail"]
    )
    assert all(token not in f.message and token not in str(f.evidence) for f in result.findings)


def test_an_arm_that_never_answers_is_an_error_after_the_timeouts(
    start_tenant: TenantFactory,
) -> None:
    """A vault read that gets no answer times out after arm.timeout_seconds on each try; after
    the retries (back-off through the reader's sleep) it is an unavailable read."""
    tenant = start_tenant()
    vault = f"{resource_group(tenant)}/providers/Microsoft.KeyVault/vaults/kv-healthy"
    tenant.arm.inject(FaultSpec(path="/vaults/kv-healthy$", status=200, delay_seconds=30))
    sleeps: list[float] = []

    read = arm_reader(tenant, sleeps, timeout_seconds=0.2).key_vault(vault)

    assert read.failure is not None
    assert ReadProblem.UNAVAILABLE == read.failure.problem
    assert read.failure.message.startswith("cannot reach ARM: ")
    assert "Read timed out" in read.failure.message
    # retry_total = 2: three tries; azure-core retries the first at once, then backs off
    # retry_backoff_seconds * 2.
    assert [0.1] == sleeps


def test_a_redirect_to_another_host_is_refused(start_tenant: TenantFactory) -> None:
    """A 307 from ARM to another host is not followed with the token: the read fails naming
    the host, and nothing reaches it."""
    tenant = start_tenant()
    vault = f"{resource_group(tenant)}/providers/Microsoft.KeyVault/vaults/kv-healthy"
    port = tenant.arm.url.rsplit(":", 1)[1]
    tenant.arm.inject(
        FaultSpec(
            path="/vaults/kv-healthy$",
            status=307,
            body="",
            headers={"Location": f"https://localhost:{port}/stolen"},
        )
    )

    read = arm_reader(tenant, []).key_vault(vault)

    assert read.failure is not None
    assert (
        f"refused to send the ARM token to https://localhost:{port}, which is not the ARM "
        f"endpoint https://127.0.0.1:{port} (a nextLink or redirect pointed there; not followed)"
        == read.failure.message
    )
    assert [] == [r for r in tenant.arm.requests if r.path == "/stolen"]


def test_a_cancelled_reader_stops_in_its_retry_wait_and_sends_nothing_more(
    start_tenant: TenantFactory,
) -> None:
    """A read waiting out a 429's Retry-After wakes when its run is cancelled and raises
    RunCancelled without asking again; a second read of the same vault, waiting for the first,
    raises too instead of waiting for ever; a read started after the cancellation sends
    nothing."""
    tenant = start_tenant()
    tenant.arm.inject(FaultSpec(path=KV_PATH, status=429, retry_after=60))
    config = tenant.config(arm={**tenant.config_document()["arm"], "max_retry_after_seconds": 60})
    cancel = Cancel()
    reader = ArmReader(
        make_credential(config.credential, cloud(config.cloud)),
        cloud(config.cloud),
        config.arm,
        cancel=cancel,
        run_id="run-1",
    )
    vault = next(rid for rid in tenant.arm.state.resources if rid.endswith("/vaults/kv-broken"))

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(reader.key_vault, vault)
        while not tenant.arm.requests:
            time.sleep(0.01)  # the first 429 is in: the read now waits out its Retry-After
        second = pool.submit(reader.key_vault, vault)
        cancel.cancel("timed out after 1 s")
        for read in (first, second):
            with pytest.raises(RunCancelled, match="timed out after 1 s"):
                read.result()
    with pytest.raises(RunCancelled):
        reader.workspace(tenant.workspace_ids()[0])

    assert [(vault, 429, "run-1")] == [
        (r.path.lower(), r.status, r.correlation) for r in tenant.arm.requests
    ]
