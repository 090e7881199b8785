"""Go durations (`1h30m`, `90s`, `1.5h`, `0`) as Tekton's `timeout` fields spell them."""

from __future__ import annotations

import re

from generator.errors import GenerateError, quote

__all__ = ["seconds"]

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def seconds(text: object, where: str) -> float | None:
    """Parse a Go duration into seconds; 0 means "no timeout" and gives None."""
    if not isinstance(text, str) or not text:
        raise GenerateError(f"{where}: {quote(text)} is not a duration (like 90s, 1h30m)")
    if text == "0":
        return None
    pos, total = 0, 0.0
    while pos < len(text):
        match = _PART.match(text, pos)
        if not match:
            raise GenerateError(f"{where}: {quote(text)} is not a duration (like 90s, 1h30m)")
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    return total if total > 0 else None
