"""Ctrl-C and SIGTERM during `doll run`: the first one interrupts (exit 130), any later one only waits for the
cleanup it started, which no signal may cut short."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from types import FrameType

from contracts.exits import EXIT_INTERRUPTED
from contracts.errors import DollError

__all__ = ["Interrupted", "STOPPING_SIGNALS", "deferring", "interruptible"]

STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(DollError):
    """SIGINT or SIGTERM: `doll run` removes what it made, says `interrupted` and exits 130."""

    exit_code = EXIT_INTERRUPTED

    def __init__(self, message: str = "interrupted") -> None:
        super().__init__(message)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    for sig in STOPPING_SIGNALS:  # once: a second Ctrl-C must not abort the cleanup this one starts
        signal.signal(sig, _deferred)
    raise Interrupted()


_told_to_wait = False


def _deferred(signum: int, frame: FrameType | None) -> None:
    """SIGINT/SIGTERM while doll run removes what it made: noted, not obeyed."""
    global _told_to_wait
    if not _told_to_wait:
        _told_to_wait = True
        print("doll run: cleaning up, please wait", file=sys.stderr, flush=True)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """While inside, the first SIGINT/SIGTERM raises Interrupted; once interrupted, the process only exits:
    afterwards both signals are ignored, so more Ctrl-C cannot turn 130 into a death by signal."""
    global _told_to_wait
    previous = signal.signal(signal.SIGINT, _interrupt)
    term = signal.signal(signal.SIGTERM, _interrupt)
    _told_to_wait = False
    try:
        yield
    finally:
        interrupted = signal.getsignal(signal.SIGINT) is not _interrupt
        for sig, handler in ((signal.SIGINT, previous), (signal.SIGTERM, term)):
            signal.signal(sig, signal.SIG_IGN if interrupted else handler)


@contextlib.contextmanager
def deferring() -> Iterator[None]:
    """While inside, SIGINT/SIGTERM are noted (one `cleaning up, please wait`), not obeyed."""
    previous = {sig: signal.signal(sig, _deferred) for sig in STOPPING_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
