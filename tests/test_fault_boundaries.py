"""No input takes the run down: a bad local file, a probe or a check that raises on one input
becomes an error finding naming it, and every other finding of the run is still made.

Most tests run the simulated tenant's healthy workspace (53 findings when nothing is wrong) and
count what the run made besides the fault's own finding.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from netverify.checklib.catalog import load_checks
from netverify.model import Finding, Status
from netverify.probes import collect
from netverify.runner import RunResult, run_once
from netverify.sim.scenario import builtin_scenario
from netverify.sim.tenant import SimulatedTenant
from tests.conftest import TenantFactory, healthy_only

PROBE_CHECK = "netverify_probe_completed"
HEALTHY = Counter({Status.PASS: 52, Status.SKIPPED: 2})
EXPECTED_ADDRESS = "(expected nameserver <IPv4 or IPv6 address>); the line is ignored"


@pytest.fixture
def tenant(start_tenant: TenantFactory) -> SimulatedTenant:
    return start_tenant(healthy_only(builtin_scenario()))


def statuses(findings: list[Finding]) -> Counter[Status]:
    return Counter(f.status for f in findings)


def split(result: RunResult) -> tuple[list[Finding], list[Finding]]:
    """The probe-error findings, and every other finding of the run."""
    probe = [f for f in result.findings if f.check.id == PROBE_CHECK]
    return probe, [f for f in result.findings if f.check.id != PROBE_CHECK]


def test_a_healthy_run_has_no_probe_error(tenant: SimulatedTenant) -> None:
    """Every probe completed: the probe check says nothing and the run has its 53 findings."""
    probe, others = split(run_once(tenant.config()))

    assert ([], HEALTHY) == (probe, statuses(others))


def test_a_resolv_conf_line_without_an_address_is_a_finding_and_the_run_judged(
    tenant: SimulatedTenant, tmp_path: Path
) -> None:
    """`nameserver 999.1.1.1` and a non-UTF-8 nameserver beside a good one: an error finding per
    line naming the file and line; the good nameserver is used, so every other finding is as in
    a healthy run."""
    conf = tmp_path / "resolv.conf"
    good = tenant.write_resolv_conf().read_bytes()
    conf.write_bytes(b"nameserver 999.1.1.1\nnameserver 10.0.0.\xe9\n" + good)

    probe, others = split(run_once(tenant.config(dns={"resolv_conf": str(conf)})))

    assert [
        (
            Status.ERROR,
            str(conf),
            "resolv.conf line 1",
            f"{conf}: line 1: 'nameserver 999.1.1.1' does not give an IP address "
            f"{EXPECTED_ADDRESS}",
        ),
        (
            Status.ERROR,
            str(conf),
            "resolv.conf line 2",
            f"{conf}: line 2: 'nameserver 10.0.0.\\xe9' does not give an IP address "
            f"{EXPECTED_ADDRESS}",
        ),
    ] == [(f.status, f.resource_id, f.subject, f.message) for f in probe]
    assert HEALTHY == statuses(others)


def test_a_missing_resolv_conf_is_a_finding_and_the_run_judged(
    tenant: SimulatedTenant, tmp_path: Path
) -> None:
    """No resolv.conf: an error finding naming the file; the host resolver answered nothing
    (dns_resolver_answers says so) and no check crashed."""
    absent = tmp_path / "absent.conf"

    result = run_once(tenant.config(dns={"resolv_conf": str(absent)}))
    probe, others = split(result)

    assert [
        (
            Status.ERROR,
            str(absent),
            f"{absent}: cannot be read (No such file or directory): the host resolver has no "
            "nameserver to ask",
        )
    ] == [(f.status, f.resource_id, f.message) for f in probe]
    [host] = [f for f in others if f.check.id == "dns_resolver_answers" and f.subject == "host"]
    assert (Status.FAIL, str(absent)) == (host.status, host.resource_id)
    assert "no nameserver in" in host.message
    assert not [f for f in others if "crashed" in f.message]
    assert COUNTS_WITHOUT_HOST_RESOLVER == statuses(others)


# The scoring request fails too: the host resolver is what this machine resolves with.
COUNTS_WITHOUT_HOST_RESOLVER = Counter({Status.PASS: 40, Status.FAIL: 7, Status.SKIPPED: 2})


def test_a_workspace_probe_that_raises_is_a_finding_and_the_others_judged(
    start_tenant: TenantFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workspace probe raises on mlw-broken: an error finding names the probe and the
    workspace; the other two workspaces of the demo are still read and judged."""
    tenant = start_tenant()
    original = collect._probe_workspace

    def failing(reader: object, workspace_id: str) -> object:
        if workspace_id.endswith("/mlw-broken"):
            raise RuntimeError("a probe bug")
        return original(reader, workspace_id)  # type: ignore[arg-type]

    monkeypatch.setattr(collect, "_probe_workspace", failing)
    [broken] = [w for w in tenant.workspace_ids() if w.endswith("/mlw-broken")]

    probe, others = split(run_once(tenant.config()))

    assert [
        (
            Status.ERROR,
            broken,
            "workspace",
            f"The workspace probe failed on {broken}: RuntimeError: a probe bug; what it would "
            "have read is not judged",
        )
    ] == [(f.status, f.resource_id, f.subject, f.message) for f in probe]
    evidence = probe[0].evidence.observed if probe[0].evidence else {}
    assert ("workspace", broken, "RuntimeError") == (
        evidence["probe"],
        evidence["input"],
        evidence["exception"],
    )
    assert str(evidence["at"]).startswith(f"{__file__}:")
    judged = {
        f.resource_id.rsplit("/", 1)[-1]
        for f in others
        if f.check.id == "workspace_v1_legacy_mode_disabled"
    }
    assert {"mlw-healthy", "mlw-spoke"} == judged


def test_a_dns_probe_that_raises_is_a_finding_and_the_arm_checks_judged(
    tenant: SimulatedTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DNS probes raise: one error finding names them; every ARM check still judges (the
    DNS checks have no facts and say nothing)."""

    def failing(*args: object) -> object:
        raise RuntimeError("a probe bug")

    monkeypatch.setattr(collect, "collect_dns_facts", failing)

    probe, others = split(run_once(tenant.config()))

    assert [
        (
            Status.ERROR,
            "the names of 1 workspaces",
            "dns",
            "The dns probe failed on the names of 1 workspaces: RuntimeError: a probe bug; what "
            "it would have read is not judged",
        )
    ] == [(f.status, f.resource_id, f.subject, f.message) for f in probe]
    assert {"keyvault_network_bypass_azure_services", "workspace_v1_legacy_mode_disabled"} <= {
        f.check.id for f in others if f.status is Status.PASS
    }
    assert not [f for f in others if f.check.id.startswith("dns_")]


def test_a_check_that_raises_is_a_finding_and_the_other_checks_judged(
    tenant: SimulatedTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check that raises becomes one error finding naming it; every other check still judges."""
    [vault_check] = [
        c for c in load_checks() if c.meta.id == "keyvault_network_bypass_azure_services"
    ]

    def failing(facts: object) -> object:
        raise RuntimeError("a check bug")

    monkeypatch.setattr(vault_check.module, "evaluate", failing)

    result = run_once(tenant.config())
    crashed = [f for f in result.findings if f.check.id == vault_check.meta.id]

    assert [
        (
            Status.ERROR,
            "netverify",
            "Check keyvault_network_bypass_azure_services crashed: RuntimeError: a check bug",
        )
    ] == [(f.status, f.resource_id, f.message) for f in crashed]
    assert HEALTHY - Counter({Status.PASS: 1}) == statuses(
        [f for f in result.findings if f.check.id != vault_check.meta.id]
    )


def test_a_discovery_that_raises_is_a_finding_and_the_named_workspaces_judged(
    start_tenant: TenantFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discovery raises on a subscription scope: an error finding names the probe and the
    scope; the workspaces named in the config are still read and judged."""
    tenant = start_tenant()

    def failing(*args: object, **kwargs: object) -> object:
        raise RuntimeError("a probe bug")

    monkeypatch.setattr(collect, "discover", failing)
    subscription = "00000000-0000-0000-0000-00000000d15c"
    named = tenant.workspace_ids()

    probe, others = split(
        run_once(tenant.config(scope={"workspaces": named, "subscriptions": [subscription]}))
    )

    assert [
        (
            Status.ERROR,
            subscription,
            "discovery",
            f"The discovery probe failed on {subscription}: RuntimeError: a probe bug; what it "
            "would have read is not judged",
        )
    ] == [(f.status, f.resource_id, f.subject, f.message) for f in probe]
    judged = {f.resource_id for f in others if f.check.id == "workspace_v1_legacy_mode_disabled"}
    assert set(named) == judged
