"""A step's post file: how its wrapper recorded its end when it could not tell the supervisor.

A wrapper that lost its supervisor falls back to Tekton's file chain and records its end in its post
file, `<steps_dir>/step-<name>/out` (or `out.err`), a JSON object {exit_code, reason, started_at,
finished_at, results, message, failed}.  (To move to contracts/records.py.)
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

__all__ = ["read_post"]


def read_post(steps_dir: str, name: str) -> dict[str, Any] | None:
    """The step's recorded end, or None if it has not ended (as far as the files say)."""
    base = os.path.join(steps_dir, f"step-{name}", "out")
    for path, failed in ((base, False), (base + ".err", True)):
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError:
            continue
        try:
            data = json.loads(raw) if raw.strip() else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        if not isinstance(data.get("exit_code"), int):
            data["exit_code"] = _exit_code(os.path.dirname(base), failed)
        data.setdefault("reason", "Error" if failed else "Completed")
        return data
    return None


def _exit_code(step_dir: str, failed: bool) -> int:
    with contextlib.suppress(OSError, ValueError):
        with open(os.path.join(step_dir, "exitCode")) as f:
            return int(f.read().strip())
    return 1 if failed else 0
