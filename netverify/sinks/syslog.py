"""Syslog RFC 5424 over UDP (RFC 5426), TCP with octet counting (RFC 6587) and TLS (RFC 5425).

Syslog has no acknowledgement, so over TCP and TLS a batch counts as delivered only when
(1) after the last frame netverify half-closes (TLS: sends close_notify) and the receiver
closes in turn, which it does after reading up to that point, and (2) the receiver then accepts
a new, empty session, so it did not close because it was shutting down with frames still
unparsed. A bare ``sendall`` reports success for bytes still in a kernel buffer when the
receiver dies: the outage tests lose events without (1), and over TLS without (2). UDP has no
confirmation at all: a datagram that was sent counts as delivered.

Every message carries one STRUCTURED-DATA element, ``[netverify@32473 eventId=… uid=…
checkId=… status=… severity=… region=…]`` (``region`` when the finding has one, ``change=…``
for a change event), so a receiver can route on
them without parsing MSG. 32473 is IANA's example Private Enterprise Number (RFC 5612): it is
the default SD-ID suffix, and ``enterprise_number`` sets an operator's own.

A message is kept within ``max_message_bytes`` (RFC 5426 3.2's 2048 octets over UDP, 8192 —
rsyslog's default ``maxMessageSize`` — over TCP and TLS): an event too large has, in this order,
its evidence, remediation, references and rationale (the check's, the same in every finding)
left out until it fits, then its message shortened by whole characters (never mid-UTF-8) to end
in "…"; its STRUCTURED-DATA says so (``trimmed="evidence remediation"``, ``octets=`` the size
it had). An event that still does not fit is refused (set aside, counted).
UDP datagrams are sent ``udp_pause_seconds`` apart, so a burst does not overflow the
receiver's socket buffer.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from netverify.config import SyslogSink
from netverify.secret import secret_file
from netverify.sinks.formats import RENDERERS, as_text, finding_of, is_change, render_each
from netverify.sinks.in_flight import InFlight
from netverify.sinks.spool import RetryLater

# RFC 5424 severities: a passing finding is informational, a failing one as grave as its check.
_SEVERITY = {"critical": 2, "high": 3, "medium": 4, "low": 5, "info": 6}
_NOTICE, _INFO = 5, 6
MSGID = "finding"
CHANGE_MSGID = "change"
_ELLIPSIS = "\N{HORIZONTAL ELLIPSIS}"
# What an oversized event loses, in order, until it fits: (field, the value it is left with).
# Each value keeps the event valid against schema/finding.schema.json.
_TRIM_ORDER: tuple[tuple[str, Any], ...] = (
    ("evidence", None),
    ("remediation", None),
    ("references", []),
    ("rationale", _ELLIPSIS),  # the check's own text: `netverify checks list`
)


def syslog_severity(change_or_finding: Mapping[str, Any]) -> int:
    """A finding's, or for a change event the severity of the finding as it is now."""
    event = finding_of(change_or_finding)
    if event["status"] == "fail":
        return _SEVERITY[event["severity"]]
    return _NOTICE if event["status"] == "error" else _INFO


def _header_field(value: str, limit: int) -> str:
    """PRINTUSASCII without spaces, at most ``limit`` characters; '-' when empty."""
    cleaned = "".join(c for c in value if 33 <= ord(c) <= 126)[:limit]
    return cleaned or "-"


class Syslog:
    def __init__(self, config: SyslogSink, default_hostname: str) -> None:
        self.config = config
        self.render = RENDERERS[config.format]
        self.hostname = _header_field(config.hostname or default_hostname, 255)
        self.app_name = _header_field(config.app_name, 48)
        self.address = (config.host, config.effective_port)
        self._tls: ssl.SSLContext | None = None
        self._in_flight = InFlight()  # the TCP/TLS connection of a send, for ``abort``
        if config.protocol == "tls":
            self._tls = ssl.create_default_context(
                cafile=str(config.ca_file) if config.ca_file else None
            )
            self._tls.minimum_version = ssl.TLSVersion.TLSv1_2
            if config.client_cert_file:
                key = config.client_key_file
                self._tls.load_cert_chain(
                    secret_file(config.client_cert_file, "client_cert_file"),
                    secret_file(key, "client_key_file") if key else None,
                )

    @property
    def sd_id(self) -> str:
        return f"netverify@{self.config.enterprise_number}"

    def message(self, event: Mapping[str, Any]) -> bytes:
        """``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG`` (MSG without a BOM), at
        most ``max_message_bytes`` octets: see the module docstring for what is trimmed.

        Raises ``ValueError`` for an event that does not fit even trimmed.
        """
        limit = self.config.effective_max_message_bytes
        message = self._message(event, {})
        octets = str(len(message))
        trimmed: list[str] = []
        for field, value in _TRIM_ORDER:
            if len(message) <= limit:
                return message
            event = _with_finding_field(event, field, value)
            trimmed.append(field)
            marker = {"trimmed": " ".join(trimmed), "octets": octets}
            message = self._message(event, marker)
        marker = {"trimmed": " ".join([*trimmed, "message"]), "octets": octets}
        text = finding_of(event)["message"]
        while len(message) > limit and len(text) > 1:
            # At least the octets over go, cut back to a character boundary; JSON or CEF
            # escaping can leave it over still, so again until it fits.
            keep = len(text.encode()) - (len(message) - limit) - len(_ELLIPSIS.encode())
            text = text.encode()[: max(0, keep)].decode(errors="ignore") + _ELLIPSIS
            event = _with_finding_field(event, "message", text)
            message = self._message(event, marker)
        if len(message) > limit:
            raise ValueError(f"{len(message)} octets trimmed, over max_message_bytes ({limit})")
        return message

    def _message(self, event: Mapping[str, Any], marker: Mapping[str, str]) -> bytes:
        pri = self.config.facility * 8 + syslog_severity(event)
        timestamp = datetime.fromisoformat(event["observed_at"].replace("Z", "+00:00"))
        text = as_text(self.render(event))
        stamp = timestamp.isoformat(timespec="microseconds").replace("+00:00", "Z")
        # No BOM: CEF parsers (Sentinel's AMA, QRadar) expect "CEF:" first in MSG.
        msgid = CHANGE_MSGID if is_change(event) else MSGID
        sd = structured_data(self.sd_id, {**_sd_params(event), **marker})
        header = f"<{pri}>1 {stamp} {self.hostname} {self.app_name} - {msgid} {sd}"
        return f"{header} {text}".encode()

    def send(self, events: Sequence[Mapping[str, Any]]) -> None:
        messages = render_each(self.message, events, f"syslog {self.config.format}")
        try:
            if self.config.protocol == "udp":
                self._send_datagrams(messages)
            else:
                self._send_stream(messages)
        except (OSError, TimeoutError) as exc:  # ssl.SSLError is an OSError
            raise RetryLater(f"{self.config.protocol} {self.address}: {exc}") from exc

    def abort(self) -> None:
        self._in_flight.abort()

    def close(self) -> None:
        return

    def _send_datagrams(self, messages: Sequence[bytes]) -> None:
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        pause = self.config.udp_pause_seconds
        with socket.socket(family, socket.SOCK_DGRAM) as udp:
            for index, message in enumerate(messages):
                if index and pause:
                    time.sleep(pause)
                udp.sendto(message, self.address)

    def _send_stream(self, messages: Sequence[bytes]) -> None:
        self._session(b"".join(b"%d %s" % (len(m), m) for m in messages))
        # A receiver that is shutting down also closes, without reading what it had buffered
        # (rsyslog with TLS loses the last frames of the batch in flight). A receiver that is
        # still up after the close accepts a new, empty session: only then is the batch taken.
        self._session(b"")

    def _session(self, framed: bytes) -> None:
        """One connection: send, close our side, return once the receiver has closed too."""
        with socket.create_connection(self.address, timeout=self.config.timeout_seconds) as raw:
            held = self._in_flight.hold(raw)
            try:
                self._frames(raw, framed)
            finally:
                self._in_flight.release(held)

    def _frames(self, raw: socket.socket, framed: bytes) -> None:
        if self._tls is None:
            raw.sendall(framed)
            raw.shutdown(socket.SHUT_WR)
            _wait_for_close(raw)
            return
        server_name = self.config.server_name or self.config.host
        with self._tls.wrap_socket(raw, server_hostname=server_name) as tls:
            tls.sendall(framed)
            # rsyslog answers close_notify by dropping the connection without its own.
            with contextlib.suppress(ssl.SSLEOFError, ssl.SSLZeroReturnError):
                tls.unwrap()
                _wait_for_close(raw)


def _sd_params(event: Mapping[str, Any]) -> dict[str, str]:
    finding = finding_of(event)
    params = {
        "eventId": event["event_id"],
        "uid": finding["uid"],
        "checkId": finding["check_id"],
        "status": finding["status"],
        "severity": finding["severity"],
    }
    if finding.get("region"):
        params["region"] = finding["region"]
    return {**params, "change": event["change"]} if is_change(event) else params


def structured_data(sd_id: str, params: Mapping[str, str]) -> str:
    r"""One RFC 5424 SD-ELEMENT; ``"``, ``\`` and ``]`` in values escaped (RFC 5424 6.3.3)."""
    pairs = "".join(f' {name}="{_sd_escape(value)}"' for name, value in params.items())
    return f"[{sd_id}{pairs}]"


def _sd_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _with_finding_field(event: Mapping[str, Any], field: str, value: Any) -> dict[str, Any]:
    """``event`` with ``field`` of its finding (a change event's: the one it wraps) replaced."""
    if is_change(event):
        return {**event, "finding": {**event["finding"], field: value}}
    return {**event, field: value}


def _wait_for_close(sock: socket.socket) -> None:
    """Returns when the peer closes (a syslog receiver sends nothing; anything read is skipped)."""
    while sock.recv(4096):
        pass
