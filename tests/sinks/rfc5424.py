"""Syslog messages as an independent strict RFC 5424 parser (syslog-rfc5424-parser) reads them."""

from __future__ import annotations

import re
from typing import Any

from syslog_rfc5424_parser import SyslogMessage

from netverify.sinks.formats import finding_of

SD_ID = "netverify@32473"


def parsed(message: bytes | str) -> SyslogMessage:
    """The parsed message, SD-PARAM values unescaped (RFC 5424 6.3.3; the parser leaves them).

    Raises ``syslog_rfc5424_parser.ParseError`` for a message that is not RFC 5424.
    """
    text = message.decode("utf-8") if isinstance(message, bytes) else message
    result = SyslogMessage.parse(text)
    for params in result.sd.values():
        for name, value in params.items():
            params[name] = re.sub(r'\\([\\"\]])', r"\1", value)
    return result


def sd_of(event: dict[str, Any]) -> dict[str, str]:
    """The netverify@32473 SD-PARAMs an event is sent with, untrimmed."""
    finding = finding_of(event)
    expected = {"eventId": event["event_id"], "uid": finding["uid"]}
    expected |= {"checkId": finding["check_id"], "status": finding["status"]}
    expected |= {"severity": finding["severity"]}
    expected |= {"region": finding["region"]} if finding.get("region") else {}
    return expected | ({"change": event["change"]} if event.get("kind") == "change" else {})
