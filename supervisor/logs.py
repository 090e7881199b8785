"""Structured logs: one JSON object per line on stderr, e.g. {"ts":..., "level":"info", "event":"released", "step":"build"}."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

__all__ = ["Log"]


class Log:
    """A tiny structured logger; `stream` is injectable so tests can read what was written."""

    def __init__(self, stream: TextIO | None = None, **context: Any) -> None:
        self._stream = stream
        self._context = context

    def _write(self, level: str, event: str, fields: dict[str, Any]) -> None:
        record = {"ts": round(time.time(), 6), "level": level, "event": event, **self._context, **fields}
        stream = self._stream or sys.stderr
        try:
            stream.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")
            stream.flush()
        except (OSError, ValueError):
            pass  # stderr gone: logging must never take the run down

    def info(self, event: str, **fields: Any) -> None:
        self._write("info", event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._write("warning", event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._write("error", event, fields)
