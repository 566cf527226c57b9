"""Logs Ingestion (Sentinel) through the real azure-monitor-ingestion client and managed identity."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.identity import ManagedIdentityCredential

from netverify.azure.clouds import CloudName, cloud
from netverify.config import AzureMonitorSink
from netverify.sim.scenario import builtin_scenario
from netverify.sim.tenant import SimulatedTenant
from netverify.sinks.azure_monitor import AzureMonitorLogs
from netverify.sinks.events import event_id
from netverify.sinks.spool import Backoff, Courier, Spool
from netverify.testing import finding_events
from tests.conftest import TenantFactory
from tests.servers.receivers import Fault, LogsIngestionStandIn

RULE = "dcr-0123456789abcdef0123456789abcdef"
STREAM = "Custom-NetverifyFindings_CL"
FAST = Backoff(initial_seconds=0.02, max_seconds=0.2)


@pytest.fixture
def tenant(start_tenant: TenantFactory) -> SimulatedTenant:
    return start_tenant(builtin_scenario().model_copy(update={"cloud": CloudName.US_GOVERNMENT}))


@pytest.fixture
def ingestion(tenant: SimulatedTenant, tmp_path: Path) -> Iterator[LogsIngestionStandIn]:
    server = LogsIngestionStandIn(tmp_path / "ingestion", tenant.arm.tokens, RULE, STREAM)
    server.start()
    yield server
    server.stop()


def stamped(count: int = 1) -> list[dict[str, Any]]:
    return [{**e, "event_id": event_id(e)} for e in finding_events(count)]


def sender(
    server: LogsIngestionStandIn, tmp_path: Path, cloud_name: CloudName, **options: Any
) -> Courier:
    config = AzureMonitorSink.model_validate(
        {
            "type": "azure_monitor",
            "endpoint": server.url,
            "rule_id": RULE,
            "stream": STREAM,
            "ca_file": str(server.ca_pem),
            **options,
        }
    )
    transport = AzureMonitorLogs(config, cloud(cloud_name), ManagedIdentityCredential())
    spool = Spool(tmp_path / "spool.sqlite", name="sentinel", max_events=1000)
    return Courier(spool, transport, backoff=FAST)


def test_rows_arrive_with_a_token_for_the_clouds_monitor_audience(
    tenant: SimulatedTenant, ingestion: LogsIngestionStandIn, tmp_path: Path
) -> None:
    """US Government: the token is for https://monitor.azure.us; each row has TimeGenerated."""
    events = stamped(2)
    courier = sender(ingestion, tmp_path, CloudName.US_GOVERNMENT)
    courier.spool.put(events)

    assert courier.flush(10)

    assert [{"TimeGenerated": e["observed_at"], **e} for e in events] == ingestion.rows
    audiences = {r.query.get("resource") for r in tenant.identity.requests}
    assert {"https://monitor.azure.us"} == audiences


def test_a_token_for_another_clouds_audience_is_refused_and_nothing_is_lost(
    tenant: SimulatedTenant, ingestion: LogsIngestionStandIn, tmp_path: Path
) -> None:
    """Asking for the public cloud's audience in a US Government tenant fails; events stay."""
    courier = sender(ingestion, tmp_path, CloudName.PUBLIC)
    courier.spool.put(stamped(1))

    assert not courier.flush(0.3)
    assert 2 == courier.spool.stats().backlog
    assert [] == ingestion.rows


@pytest.mark.parametrize(
    "fault",
    [
        Fault(500, {"error": {"code": "InternalServerError", "message": "boom"}}),
        Fault(429, {"error": {"code": "TooManyRequests", "message": "slow"}}, {"Retry-After": "0"}),
        Fault(503, {"error": {"code": "ServiceUnavailable", "message": "later"}}),
    ],
    ids=["500", "429", "503"],
)
def test_server_errors_and_throttling_are_retried(
    ingestion: LogsIngestionStandIn, tmp_path: Path, fault: Fault
) -> None:
    """500/429/503 make the spool retry (the SDK's own retries are off); all rows arrive once."""
    events = stamped(1)
    ingestion.fail_next(fault)
    courier = sender(ingestion, tmp_path, CloudName.US_GOVERNMENT)
    courier.spool.put(events)

    assert courier.flush(10)
    assert [fault.status, 204] == ingestion.statuses("dataCollectionRules")
    assert [e["event_id"] for e in events] == [r["event_id"] for r in ingestion.rows]


def test_413_isolates_the_row_it_refuses(ingestion: LogsIngestionStandIn, tmp_path: Path) -> None:
    """413 on a batch of 2 then on the first row alone: that row is set aside, the other lands."""
    events = stamped(1)
    too_large = Fault(413, {"error": {"code": "ContentLengthLimitExceeded", "message": "big"}})
    ingestion.fail_next(too_large, too_large)
    courier = sender(ingestion, tmp_path, CloudName.US_GOVERNMENT)
    courier.spool.put(events)

    assert courier.flush(10)
    assert [events[1]["event_id"]] == [r["event_id"] for r in ingestion.rows]
    assert [events[0]["event_id"]] == [e["event_id"] for e, _ in courier.spool.rejected()]


def test_ocsf_rows(ingestion: LogsIngestionStandIn, tmp_path: Path) -> None:
    """format = ocsf sends OCSF findings, still with the TimeGenerated column."""
    courier = sender(ingestion, tmp_path, CloudName.US_GOVERNMENT, format="ocsf")
    courier.spool.put(stamped(1))

    assert courier.flush(10)
    assert [2003, 2003] == [r["class_uid"] for r in ingestion.rows]
    assert all("TimeGenerated" in r for r in ingestion.rows)
