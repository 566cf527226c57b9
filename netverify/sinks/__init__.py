"""Where findings go besides the command's own output. Sinks know events, not Azure."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from netverify.config import JsonLinesFileSink, Sink


class EventSink(Protocol):
    def emit(self, events: Sequence[Mapping[str, Any]]) -> None: ...


class JsonLinesFile:
    """Appends one JSON object per line: what Azure Monitor Agent, Fluent Bit or Filebeat tail."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def emit(self, events: Sequence[Mapping[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One write per run keeps a run's lines together for a tailing collector.
        text = "".join(
            json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n" for e in events
        )
        with self.path.open("a", encoding="utf-8") as out:
            out.write(text)


def make_sink(config: Sink) -> EventSink:
    match config:
        case JsonLinesFileSink():
            return JsonLinesFile(config.path)
