"""`doll run --report FILE`: refused up front when it could not be written, then the run as JSON."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path

from contracts.errors import UsageError
from generator.local.progress import RunView

__all__ = ["checking_report", "writing_report"]


def checking_report(path: str) -> None:
    """Refuse a --report FILE that could not be written, before anything runs."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"--report {path}: is a directory")
    if not target.parent.is_dir():
        raise UsageError(f"--report {path}: no such directory {target.parent}")
    if not os.access(target.parent, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise UsageError(f"--report {path}: not writable")


def writing_report(path: str, pod: str, code: int, wall: float, view: RunView) -> None:
    """The pod, the exit status, the wall time and the run's view; a failure to write is said, not fatal."""
    try:
        Path(path).write_text(json.dumps(
            {"pod": pod, "exit_code": code, "wall_seconds": wall, **dataclasses.asdict(view)}, indent=2))
    except OSError as exc:
        print(f"doll run: --report {path}: cannot write it: {exc.strerror}", file=sys.stderr)
