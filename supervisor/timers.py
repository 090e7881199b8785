"""The run's timers behind a small interface: `Timers`, armed by key with a deadline on the run's clock.

The Runner arms a timer for each deadline it keeps (a step's or the task's timeout, a hold's timeout, a lost
wrapper, the hand-off's quiet window); re-arming a key replaces its timer.  `LoopTimers` runs them on the
event loop (`loop.call_later`); a test may pass its own `Timers` and fire them from a fake clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["LoopTimers", "Timers"]


class Timers(Protocol):
    def arm(self, key: str, deadline: float, fn: Callable[..., object], *args: Any) -> None:
        """Call `fn(*args)` once the clock reads `deadline` (at once if it is past), replacing `key`'s timer."""

    def disarm(self, key: str) -> None:
        """Forget `key`'s timer, if there is one."""

    def close(self) -> None:
        """Forget every timer."""


class LoopTimers:
    """`Timers` on the running event loop; deadlines are read on `clock` (the journal's: unix time)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._handles: dict[str, asyncio.TimerHandle] = {}

    def arm(self, key: str, deadline: float, fn: Callable[..., object], *args: Any) -> None:
        self.disarm(key)
        loop = asyncio.get_running_loop()
        self._handles[key] = loop.call_later(max(0.0, deadline - self._clock()), self._fire, key, fn, *args)

    def _fire(self, key: str, fn: Callable[..., object], *args: Any) -> None:
        self._handles.pop(key, None)
        fn(*args)

    def disarm(self, key: str) -> None:
        handle = self._handles.pop(key, None)
        if handle is not None:
            handle.cancel()

    def close(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
