"""Azure Monitor Logs Ingestion API (Microsoft Sentinel) through azure-monitor-ingestion.

The token is asked for the cloud's Azure Monitor audience (``clouds.py``), with the agent's
managed identity. The SDK's own retries are off: the spool retries, with back-off and jitter,
and keeps the events on disk meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import HttpResponseError
from azure.monitor.ingestion import LogsIngestionClient, LogsUploadError

from netverify.azure.clouds import Cloud
from netverify.config import AzureMonitorSink
from netverify.sinks.formats import RENDERERS, render_each
from netverify.sinks.http import raise_for_status


class AzureMonitorLogs:
    def __init__(self, config: AzureMonitorSink, cloud: Cloud, credential: TokenCredential) -> None:
        self.config = config
        self.render = RENDERERS[config.format]
        extra: dict[str, Any] = {"connection_verify": str(config.ca_file)} if config.ca_file else {}
        self.client = LogsIngestionClient(
            config.endpoint,
            credential,
            credential_scopes=[f"{cloud.monitor_audience}/.default"],
            retry_total=0,
            connection_timeout=config.timeout_seconds,
            read_timeout=config.timeout_seconds,
            **extra,
        )

    def row(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """One row of the DCR stream: the rendered event plus the TimeGenerated column."""
        return {"TimeGenerated": event["observed_at"], **self.render(event)}

    def send(self, events: Sequence[Mapping[str, Any]]) -> None:
        failures: list[LogsUploadError] = []
        # Every failed chunk, token errors included, comes to on_error instead of raising.
        self.client.upload(
            self.config.rule_id,
            self.config.stream,
            render_each(self.row, events, f"Logs Ingestion {self.config.format}"),
            on_error=failures.append,
        )
        if not failures:
            return
        # The chunks that went through are sent again with the rest: the event id dedupes them.
        error = failures[0].error
        response = error.response if isinstance(error, HttpResponseError) else None
        raise_for_status(
            response.status_code if response is not None else None,
            getattr(response, "headers", {}),
            f"Logs Ingestion: {type(error).__name__}: {error}",
        )

    def abort(self) -> None:
        """Not available: an upload in flight ends within ``timeout_seconds`` (the SDK's
        connection and read timeouts)."""
        return

    def close(self) -> None:
        self.client.close()
