"""Syslog messages through an independent strict RFC 5424 parser (syslog-rfc5424-parser)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from syslog_rfc5424_parser import ParseError, SyslogMessage

from netverify.config import SyslogSink
from netverify.sinks.events import finding_schema
from netverify.sinks.formats import RENDERERS, as_text
from netverify.sinks.syslog import Syslog, structured_data
from tests.sinks.rfc5424 import SD_ID, parsed, sd_of


def syslog(**options: Any) -> Syslog:
    values = {"type": "syslog", "host": "127.0.0.1", **options}
    return Syslog(SyslogSink.model_validate(values), "agent-test")


@pytest.mark.parametrize("protocol", ["udp", "tcp"])
@pytest.mark.parametrize("fmt", ["json", "cef"])
def test_every_demo_event_parses_within_its_transports_size(
    demo_events: list[dict[str, Any]], protocol: str, fmt: str
) -> None:
    """Each demo finding and change event is one valid RFC 5424 message of at most 2048 octets
    (UDP) or 8192 (TCP/TLS), carrying its ids in netverify@32473; a trimmed one says so."""
    sink = syslog(protocol=protocol, format=fmt)
    limit = {"udp": 2048, "tcp": 8192}[protocol]
    trimmed = 0

    for event in demo_events:
        message = sink.message(event)
        result = parsed(message)

        assert len(message) <= limit
        params = result.sd[SD_ID]
        marker = {k: params.pop(k) for k in ("trimmed", "octets") if k in params}
        assert sd_of(event) == params
        if marker:
            trimmed += 1
            assert int(marker["octets"]) > limit
            assert set(marker["trimmed"].split()) <= {
                "evidence",
                "remediation",
                "references",
                "rationale",
                "message",
            }
        else:
            assert as_text(RENDERERS[fmt](event)) == result.msg
        if fmt == "json":
            assert event["event_id"] == json.loads(result.msg)["event_id"]
    # The demo has JSON findings larger than either limit, so the trimming is exercised (CEF
    # leaves evidence out, so its records are short).
    assert (0 < trimmed < len(demo_events)) if fmt == "json" else True


def test_trimmed_json_finding_differs_only_in_the_named_fields_and_stays_valid(
    demo_events: list[dict[str, Any]],
) -> None:
    """The demo's largest finding over UDP: the trimmed fields hold their stand-ins, every other
    field is as it was, and the event still validates against finding.schema.json."""
    largest = max((e for e in demo_events if "kind" not in e), key=lambda e: len(json.dumps(e)))

    result = parsed(syslog(protocol="udp").message(largest))

    sent = json.loads(result.msg)
    trimmed = result.sd[SD_ID]["trimmed"].split()
    assert ["evidence", "remediation"] == trimmed[:2]
    assert {k: v for k, v in largest.items() if k not in trimmed} == {
        k: v for k, v in sent.items() if k not in trimmed
    }
    assert (None, None) == (sent["evidence"], sent["remediation"])
    jsonschema.validate({k: v for k, v in sent.items() if k != "event_id"}, finding_schema())


def test_sd_param_values_are_escaped() -> None:
    """'"', '\\' and ']' in a value are escaped, so the parser reads the value back whole; the
    same element unescaped is rejected."""
    value = 'a"b\\c]d'
    element = structured_data(SD_ID, {"checkId": value})
    message = f"<134>1 2026-01-01T00:00:00.000000Z host netverify - finding {element} x"

    assert {"checkId": value} == parsed(message.encode()).sd[SD_ID]
    broken = (
        f'<134>1 2026-01-01T00:00:00.000000Z host netverify - finding [{SD_ID} checkId="{value}"] x'
    )
    with pytest.raises(ParseError):
        SyslogMessage.parse(broken)


def test_enterprise_number_names_the_sd_id(demo_events: list[dict[str, Any]]) -> None:
    """enterprise_number = 99999 sends [netverify@99999 ...]."""
    result = parsed(syslog(enterprise_number=99999).message(demo_events[0]))

    assert ["netverify@99999"] == list(result.sd)


def test_a_long_message_is_shortened_by_whole_characters(
    demo_events: list[dict[str, Any]],
) -> None:
    """Two-octet characters are cut between characters, the message ends in '…', and the SD says
    so; the MSG is valid UTF-8 JSON."""
    event = {**demo_events[0], "message": "é" * 3000}

    result = parsed(syslog(protocol="udp").message(event))

    text = json.loads(result.msg)["message"]
    assert text.endswith("\N{HORIZONTAL ELLIPSIS}") and set(text[:-1]) == {"é"}
    assert "message" == result.sd[SD_ID]["trimmed"].split()[-1]


def test_an_event_too_large_even_trimmed_is_refused(demo_events: list[dict[str, Any]]) -> None:
    """A message that cannot fit without cutting an identifier raises, naming both sizes."""
    event = {**demo_events[0], "subject": "x" * 3000}

    with pytest.raises(ValueError, match=r"octets trimmed, over max_message_bytes \(2048\)"):
        syslog(protocol="udp").message(event)
