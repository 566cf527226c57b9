"""Sink tests; ``DATA`` is tests/data, where the independent validators' schemas live."""

from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
