"""The contracts between layers, in one place: what a check, a transport and an output format are.

Everything here is a type; nothing here does I/O. The configuration's sink union
(``netverify.config.Sink``) stays with the configuration schema it is part of.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from netverify.facts import Facts
    from netverify.model import CheckMeta, Finding

Format = Literal["json", "ocsf", "ecs", "cef"]
"""How a sink renders one event: netverify's JSON, OCSF 1.8 Compliance Finding, ECS 8.11, CEF."""

OutputFormat = Literal["table", "json", "jsonl"]
"""How ``netverify run``/``demo`` write findings to stdout."""


class Check(Protocol):
    """A ``checks/<id>/check.py`` module: its metadata and a pure function of the facts.

    ``evaluate`` reads only ``facts`` (no I/O) and yields at least one finding per resource it
    judges; a read that failed on the way becomes an error or skipped finding, never silence.
    """

    META: CheckMeta

    def evaluate(self, facts: Facts) -> Iterable[Finding]: ...


class Transport(Protocol):
    """Sends one batch of events; returns only once the receiver has taken all of them.

    Raises ``netverify.sinks.spool.RetryLater`` for a transient failure (the batch stays
    spooled) and ``Refused`` for events the receiver will never take, or that cannot be rendered
    (``netverify.sinks.formats.render_each``): the spool isolates each and sets it aside in its
    ``rejected`` table.
    """

    def send(self, events: Sequence[Mapping[str, Any]]) -> None: ...

    def abort(self) -> None:
        """From another thread: make a ``send`` in flight fail now (``RetryLater``, the batch
        stays spooled) instead of waiting for a receiver that does not answer."""

    def close(self) -> None: ...
