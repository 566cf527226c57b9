"""Splunk HEC (indexer acknowledgement) and webhook against HTTPS stand-ins: faults, no loss."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from netverify.config import SplunkHecSink, WebhookSink
from netverify.secret import REDACTED, redact
from netverify.sinks.events import event_id
from netverify.sinks.http import (
    SecretError,
    SplunkHec,
    Webhook,
    read_secret,
    retry_after_seconds,
)
from netverify.sinks.spool import Backoff, Courier, Spool
from netverify.testing import finding_events
from tests.servers.proxy import ConnectProxy
from tests.servers.receivers import Fault, SplunkHecStandIn, WebhookStandIn

TOKEN = "11111111-2222-3333-4444-555555555555"
FAST = Backoff(initial_seconds=0.02, max_seconds=0.2)


@pytest.fixture
def hec(tmp_path: Path) -> Iterator[SplunkHecStandIn]:
    server = SplunkHecStandIn(tmp_path / "hec", TOKEN)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def webhook(tmp_path: Path) -> Iterator[WebhookStandIn]:
    server = WebhookStandIn(tmp_path / "webhook", authorization="Bearer s3cret")
    server.start()
    yield server
    server.stop()


def stamped(count: int = 1) -> list[dict[str, Any]]:
    return [{**e, "event_id": event_id(e)} for e in finding_events(count)]


def hec_sink(server: SplunkHecStandIn, tmp_path: Path, **options: Any) -> SplunkHec:
    token = tmp_path / "hec-token"
    token.write_text(TOKEN + "\n")
    config = SplunkHecSink.model_validate(
        {
            "type": "splunk_hec",
            "url": server.url,
            "token_file": str(token),
            "ca_file": str(server.ca_pem),
            "index": "netverify",
            "ack_timeout_seconds": 2,
            **options,
        }
    )
    return SplunkHec(config, "hec-0", "agent-test")


def courier(transport: Any, tmp_path: Path, events: list[dict[str, Any]], **kw: Any) -> Courier:
    spool = Spool(tmp_path / "spool.sqlite", name="sink", max_events=100_000)
    spool.put(events)
    return Courier(spool, transport, backoff=FAST, **kw)


def indexed_ids(server: SplunkHecStandIn) -> list[str]:
    return [e["event"]["event_id"] for e in server.indexed]


def test_hec_delivers_once_indexed(hec: SplunkHecStandIn, tmp_path: Path) -> None:
    """Events go in one concatenated batch; the batch counts only after its ack comes back."""
    events = stamped(3)
    sender = courier(hec_sink(hec, tmp_path), tmp_path, events)

    assert sender.flush(10)
    assert [e["event_id"] for e in events] == indexed_ids(hec)
    assert {
        "index": "netverify",
        "sourcetype": "netverify:finding",
        "host": "agent-test",
    }.items() <= (hec.indexed[0].items())
    assert [200] == hec.statuses("/event$")
    assert hec.statuses("/ack$")


def test_hec_without_ack_resends_and_the_event_id_dedupes(
    hec: SplunkHecStandIn, tmp_path: Path
) -> None:
    """The indexer loses the first batch (never acked): it is sent again with the same ids."""
    events = stamped(1)
    hec.lose_acks = True
    sender = courier(hec_sink(hec, tmp_path, ack_timeout_seconds=0.3), tmp_path, events)

    assert not sender.flush(0.5)
    hec.lose_acks = False
    assert sender.flush(10)

    assert [e["event_id"] for e in events] == indexed_ids(hec)
    assert 2 <= len(hec.statuses("/event$"))
    assert 2 <= sender.spool.stats().retried


@pytest.mark.parametrize(
    "fault",
    [
        Fault(500, {"text": "Internal server error", "code": 8}),
        Fault(503, {"text": "Server is busy", "code": 9}),
        Fault(429, {"text": "Too many requests"}, {"Retry-After": "0"}),
    ],
    ids=["500", "503-busy", "429"],
)
def test_hec_retries_server_errors_and_throttling(
    hec: SplunkHecStandIn, tmp_path: Path, fault: Fault
) -> None:
    """500, 503 "Server is busy" and 429 are retried; every event is indexed once they pass."""
    events = stamped(2)
    hec.fail_next(fault, fault)

    assert courier(hec_sink(hec, tmp_path), tmp_path, events).flush(10)
    assert [fault.status, fault.status, 200] == hec.statuses("/event$")
    assert [e["event_id"] for e in events] == indexed_ids(hec)


def test_hec_413_splits_the_batch_and_sets_aside_what_is_too_large(
    hec: SplunkHecStandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """413 on a batch of 4 halves it; a single event refused with 413 is rejected, not lost."""
    events = stamped(2)
    too_large = Fault(413, {"text": "Content too large", "code": 413})
    hec.fail_next(too_large, too_large, too_large)  # batch of 4, then 2, then event 0 alone

    with caplog.at_level(logging.ERROR):
        sender = courier(hec_sink(hec, tmp_path), tmp_path, events, batch_size=4)
        assert sender.flush(10)

    assert [413, 413, 413, 200, 200] == hec.statuses("/event$")
    assert [e["event_id"] for e in events[1:]] == indexed_ids(hec)
    [(rejected, reason)] = sender.spool.rejected()
    assert events[0]["event_id"] == rejected["event_id"]
    assert "413" in reason
    assert 1 == sender.spool.stats().rejected


def test_hec_wrong_token_keeps_the_events_and_never_logs_the_token(
    hec: SplunkHecStandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A 401 is a configuration to fix: nothing is dropped, the events wait; no token in logs."""
    hec.token = "another-token"
    sender = courier(hec_sink(hec, tmp_path), tmp_path, stamped(1))

    with caplog.at_level(logging.DEBUG):
        assert not sender.flush(0.3)

    assert 2 == sender.spool.stats().backlog
    assert {401} == set(hec.statuses("/event$"))
    assert "401" in caplog.text
    assert TOKEN not in caplog.text


def test_hec_channel_or_ack_set_up_errors_keep_the_events(
    hec: SplunkHecStandIn, tmp_path: Path
) -> None:
    """400 with code 14 ("ACK is disabled") blames the set-up, not the data: retried, not rejected."""
    hec.fail_next(Fault(400, {"text": "ACK is disabled", "code": 14}))
    sender = courier(hec_sink(hec, tmp_path), tmp_path, stamped(1))

    assert sender.flush(10)
    assert [400, 200] == hec.statuses("/event$")
    assert 0 == sender.spool.stats().rejected


def test_hec_ack_endpoint_errors_keep_the_events(hec: SplunkHecStandIn, tmp_path: Path) -> None:
    """A 400 from /ack ("ACK is disabled") is retried; the batch is never set aside for it."""
    hec.ack_disabled = True
    sender = courier(hec_sink(hec, tmp_path), tmp_path, stamped(1))

    assert not sender.flush(0.3)
    assert (0, 2) == (sender.spool.stats().rejected, sender.spool.stats().backlog)
    hec.ack_disabled = False
    assert sender.flush(10)
    assert 0 == sender.spool.stats().rejected


def test_hec_receiver_down_then_back_loses_nothing(hec: SplunkHecStandIn, tmp_path: Path) -> None:
    """Connection refused while HEC is down; once it is back every event is indexed."""
    events = stamped(5)
    hec.stop()
    sender = courier(hec_sink(hec, tmp_path), tmp_path, events, batch_size=3)

    assert not sender.flush(0.3)
    hec.start()
    assert sender.flush(10)

    assert sorted(e["event_id"] for e in events) == sorted(set(indexed_ids(hec)))


def test_hec_token_from_the_environment(
    hec: SplunkHecStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """token_env names the variable; an unset variable is an error naming it."""
    monkeypatch.setenv("NETVERIFY_HEC_TOKEN", TOKEN)
    config = SplunkHecSink.model_validate(
        {
            "type": "splunk_hec",
            "url": hec.url,
            "token_env": "NETVERIFY_HEC_TOKEN",
            "ca_file": str(hec.ca_pem),
        }
    )
    assert courier(SplunkHec(config, "hec", "agent"), tmp_path, stamped(1)).flush(10)

    monkeypatch.delenv("NETVERIFY_HEC_TOKEN")
    with pytest.raises(SecretError, match="environment variable NETVERIFY_HEC_TOKEN is not set"):
        SplunkHec(config, "hec", "agent")


def test_a_relative_token_file_is_a_systemd_credential(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """token_file = "siem-token" reads $CREDENTIALS_DIRECTORY/siem-token (LoadCredential=); the
    value read is redacted from then on."""
    (tmp_path / "siem-token").write_text("hec-token-from-systemd\n", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))

    assert "hec-token-from-systemd" == read_secret(Path("siem-token"), None, "Splunk HEC token")
    assert REDACTED == redact("hec-token-from-systemd")


def test_a_relative_token_file_outside_systemd_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without $CREDENTIALS_DIRECTORY a relative name is not looked up in the working directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "siem-token").write_text("in-the-working-directory", encoding="utf-8")
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)

    with pytest.raises(SecretError) as raised:
        read_secret(Path("siem-token"), None, "Splunk HEC token")

    assert (
        "cannot read Splunk HEC token from siem-token: a relative path names a LoadCredential= "
        "credential, and $CREDENTIALS_DIRECTORY is not set"
    ) == str(raised.value)


def test_an_absolute_token_file_ignores_the_credentials_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An absolute token_file is read where it is, under systemd too."""
    token = tmp_path / "hec-token"
    token.write_text("absolute-hec-token", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "elsewhere"))

    assert "absolute-hec-token" == read_secret(token, None, "Splunk HEC token")


def webhook_sink(server: WebhookStandIn, tmp_path: Path, **options: Any) -> Webhook:
    secret = tmp_path / "authorization"
    secret.write_text("Bearer s3cret\n")
    return Webhook(
        WebhookSink.model_validate(
            {
                "type": "webhook",
                "url": f"{server.url}/hooks/netverify",
                "authorization_file": str(secret),
                "ca_file": str(server.ca_pem),
                **options,
            }
        )
    )


def test_webhook_posts_rendered_events_with_the_secret(
    webhook: WebhookStandIn, tmp_path: Path
) -> None:
    """format = ocsf posts a JSON array of OCSF findings with the Authorization from the file."""
    events = stamped(1)

    assert courier(webhook_sink(webhook, tmp_path, format="ocsf"), tmp_path, events).flush(10)

    assert [2003, 2003] == [r["class_uid"] for r in webhook.received]
    assert [e["event_id"] for e in events] == [r["metadata"]["uid"] for r in webhook.received]


@pytest.mark.parametrize("status", [500, 502, 429])
def test_webhook_retries_until_accepted(
    webhook: WebhookStandIn, tmp_path: Path, status: int
) -> None:
    """5xx and 429 are retried; the events arrive once the receiver takes them."""
    webhook.fail_next(Fault(status), Fault(status))

    assert courier(webhook_sink(webhook, tmp_path), tmp_path, stamped(1)).flush(10)
    assert [status, status, 202] == webhook.statuses("")
    assert 2 == len(webhook.received)


def test_webhook_tls_is_verified(webhook: WebhookStandIn, tmp_path: Path) -> None:
    """Without the receiver's CA nothing is sent and the events stay spooled."""
    sender = courier(
        Webhook(WebhookSink.model_validate({"type": "webhook", "url": webhook.url})),
        tmp_path,
        stamped(1),
    )

    assert not sender.flush(0.3)
    assert 2 == sender.spool.stats().backlog
    assert [] == webhook.received


def test_webhook_goes_through_https_proxy(
    webhook: WebhookStandIn, tmp_path: Path, proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTPS_PROXY (user:password included) carries the POST in a CONNECT tunnel, TLS verified."""
    monkeypatch.setenv("HTTPS_PROXY", proxy.url.replace("http://", "http://ops:p%40ss@"))

    assert courier(webhook_sink(webhook, tmp_path), tmp_path, stamped(1)).flush(10)

    assert [(f"127.0.0.1:{webhook.port}", "Basic b3BzOnBAc3M=")] == proxy.tunnels
    assert 2 == len(webhook.received)


def test_hec_goes_through_lowercase_https_proxy(
    hec: SplunkHecStandIn, tmp_path: Path, proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """https_proxy works too; the event and its acknowledgement each take the tunnel."""
    monkeypatch.setenv("https_proxy", proxy.url)
    events = stamped(1)

    assert courier(hec_sink(hec, tmp_path), tmp_path, events).flush(10)

    assert {f"127.0.0.1:{hec.port}"} == {target for target, _ in proxy.tunnels}
    assert [e["event_id"] for e in events] == indexed_ids(hec)


def test_no_proxy_sends_direct(
    webhook: WebhookStandIn, tmp_path: Path, proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A receiver NO_PROXY names is reached directly, HTTPS_PROXY notwithstanding."""
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "example.org,127.0.0.1")

    assert courier(webhook_sink(webhook, tmp_path), tmp_path, stamped(1)).flush(10)

    assert [] == proxy.tunnels
    assert 2 == len(webhook.received)


NOW = datetime(2026, 10, 21, 7, 26, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Wed, 21 Oct 2026 07:28:00 GMT", 120.0),  # IMF-fixdate
        ("Wednesday, 21-Oct-26 07:28:00 GMT", 120.0),  # obsolete RFC 850 form
        ("Wed Oct 21 07:28:00 2026", 120.0),  # obsolete asctime form
        ("Wed, 21 Oct 2026 07:00:00 GMT", 0.0),  # already past
        ("soon", None),
        ("-5", None),
        (None, None),
    ],
)
def test_retry_after_reads_both_forms(value: str | None, seconds: float | None) -> None:
    """Retry-After as delta-seconds or an HTTP-date (RFC 9110 10.2.3); anything else is ignored."""
    assert seconds == retry_after_seconds(value, NOW)


def test_webhook_waits_for_an_http_date_retry_after(
    webhook: WebhookStandIn, tmp_path: Path
) -> None:
    """A 503 with an HTTP-date Retry-After two seconds ahead holds the retry until then."""
    later = datetime.now(UTC).timestamp() + 2
    date = datetime.fromtimestamp(later, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    webhook.fail_next(Fault(503, headers={"Retry-After": date}))
    spool = Spool(tmp_path / "spool.sqlite", name="sink", max_events=100)
    spool.put(stamped(1))
    sender = Courier(spool, webhook_sink(webhook, tmp_path), backoff=Backoff(0.02, 5))

    assert sender.flush(10)
    assert datetime.now(UTC).timestamp() >= int(later)
    assert [503, 202] == webhook.statuses("")


def test_proxy_without_a_host_is_a_one_line_error(
    webhook: WebhookStandIn, tmp_path: Path, proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTPS_PROXY=http://:3128 is refused, naming the variable and its value."""
    monkeypatch.setenv("HTTPS_PROXY", "http://:3128")

    with pytest.raises(ValueError, match=r"^HTTPS_PROXY='http://:3128' names no proxy host$"):
        webhook_sink(webhook, tmp_path)
