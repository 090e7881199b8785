"""File-mode breakpoints: hold in the step dir until `entrypoint debug continue | fail-continue`.

While held, `<step_dir>/breakpoint` says why ("beforeStep" or "onFailure"); the debug command answers by
creating `<step_dir>/debug-continue` or `<step_dir>/debug-fail-continue`.
"""

from __future__ import annotations

import os
import sys

from entrypoint.recording import write_atomically
from entrypoint.watching import Watch

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)

BREAKPOINT = "breakpoint"
CONTINUE = "debug-continue"
FAIL_CONTINUE = "debug-fail-continue"

if TYPE_CHECKING:  # typing costs milliseconds at every wrapper start
    from typing import Literal

    Decision = Literal["continue", "fail-continue"]

__all__ = ["BREAKPOINT", "CONTINUE", "FAIL_CONTINUE", "hold", "held"]


def hold(step_dir: str, reason: str, poll_seconds: float = 0.0) -> Decision:
    """Block until the user decides; returns their decision."""
    for name in (CONTINUE, FAIL_CONTINUE):
        _remove(os.path.join(step_dir, name))
    write_atomically(os.path.join(step_dir, BREAKPOINT), reason.encode() + b"\n")
    print(f"entrypoint: breakpoint ({reason}): run `entrypoint debug continue` or `entrypoint debug "
          "fail-continue` in this container", file=sys.stderr, flush=True)
    try:
        with Watch([step_dir], poll_seconds) as watch:
            while True:
                for name, decision in ((CONTINUE, "continue"), (FAIL_CONTINUE, "fail-continue")):
                    path = os.path.join(step_dir, name)
                    if os.path.exists(path):
                        _remove(path)
                        return decision  # type: ignore[return-value]
                watch.wait(None)
    finally:
        _remove(os.path.join(step_dir, BREAKPOINT))


def held(step_dir: str) -> str | None:
    """Why this step is held, or None when it is not."""
    try:
        with open(os.path.join(step_dir, BREAKPOINT)) as f:
            return f.read().strip() or "held"
    except OSError:
        return None


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
