"""Syslog RFC 5424 over UDP (RFC 5426), TCP with octet counting (RFC 6587) and TLS (RFC 5425).

Syslog has no acknowledgement, so over TCP and TLS a batch counts as delivered only when
(1) after the last frame netverify half-closes (TLS: sends close_notify) and the receiver
closes in turn, which it does after reading up to that point, and (2) the receiver then accepts
a new, empty session, so it did not close because it was shutting down with frames still
unparsed. A bare ``sendall`` reports success for bytes still in a kernel buffer when the
receiver dies: the outage tests lose events without (1), and over TLS without (2). UDP has no
confirmation at all: a datagram that was sent counts as delivered.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from netverify.config import SyslogSink
from netverify.secret import secret_file
from netverify.sinks.formats import RENDERERS, as_text, finding_of, is_change, render_each
from netverify.sinks.in_flight import InFlight
from netverify.sinks.spool import Refused, RetryLater

# RFC 5424 severities: a passing finding is informational, a failing one as grave as its check.
_SEVERITY = {"critical": 2, "high": 3, "medium": 4, "low": 5, "info": 6}
_NOTICE, _INFO = 5, 6
MSGID = "finding"
CHANGE_MSGID = "change"
MAX_UDP_PAYLOAD = 65_507


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

    def message(self, event: Mapping[str, Any]) -> bytes:
        """``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG`` (MSG without a BOM)."""
        pri = self.config.facility * 8 + syslog_severity(event)
        timestamp = datetime.fromisoformat(event["observed_at"].replace("Z", "+00:00"))
        text = as_text(self.render(event))
        stamp = timestamp.isoformat(timespec="microseconds").replace("+00:00", "Z")
        # No BOM: CEF parsers (Sentinel's AMA, QRadar) expect "CEF:" first in MSG.
        msgid = CHANGE_MSGID if is_change(event) else MSGID
        return f"<{pri}>1 {stamp} {self.hostname} {self.app_name} - {msgid} - {text}".encode()

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
        # Checked before anything is sent, so the spool can set the one oversized event aside.
        if any(len(m) > MAX_UDP_PAYLOAD for m in messages):
            raise Refused(f"a message is larger than one UDP datagram ({MAX_UDP_PAYLOAD} bytes)")
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as udp:
            for message in messages:
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


def _wait_for_close(sock: socket.socket) -> None:
    """Returns when the peer closes (a syslog receiver sends nothing; anything read is skipped)."""
    while sock.recv(4096):
        pass
