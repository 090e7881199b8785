"""Waiting for this step's turn along Tekton's file chain, when the supervisor is missing or gone.

`FileWaiter` waits for the previous step's post file (`out`, or `out.err`, which cascades the failure), so
a dead supervisor never strands a step nor lets one run out of order (the socket's way to wait is the
wrapper's `Session`).
Before the file chain, `FileWaiter` heeds the supervisor's verdict file for this step, if it left one
(`verdict` next to its socket, in its own channel: skip, or failed before it ran): a supervisor that ended the run before this
step's container started is gone, and its word stands.
"""

from __future__ import annotations

import os
import time

from contracts import layout, wire
from contracts.options import StepOptions
from entrypoint.session import Verdict

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:  # mypy sees typing; at run time it costs milliseconds
    from typing import Protocol
else:
    Protocol = object  # the protocols are for mypy: plain classes at run time

__all__ = ["Waiter", "verdict_path", "read_verdict", "FileWaiter"]


class Waiter(Protocol):
    def wait(self) -> Verdict | None:
        """This step's verdict; None: this way of waiting is gone, try the next one."""


def verdict_path(options: StepOptions) -> str:
    """Where the supervisor leaves its verdict for this wrapper ("" without a socket: no supervisor)."""
    if not (options.socket and options.name):
        return ""
    return layout.verdict_path(options.socket)


def read_verdict(path: str) -> wire.Message | None:
    """The message in a verdict file, if there is one (a file that cannot be read or decoded is none)."""
    if not path:
        return None
    try:
        with open(path, "rb") as f:
            return wire.decode(f.read().strip())
    except (OSError, wire.ProtocolError):
        return None


class FileWaiter:
    """Tekton's chain: every wait file must exist (and be non-empty if asked); `<file>.err` cascades.  The
    supervisor's verdict file, if any, comes first."""

    def __init__(self, options: StepOptions, timeout: float | None = None) -> None:
        self.options = options
        self.timeout = timeout
        self.verdict = verdict_path(options)

    def wait(self) -> Verdict | None:
        files = list(self.options.wait_files)
        if not files:
            return self.check(files)  # the verdict, else start: nothing to wait for
        from entrypoint.watching import Watch  # only the file chain watches: not imported in socket mode

        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        # watched from before the first check, so a file appearing in between is not missed; closed as soon as
        # the wait is over, before the child starts (closing a dnotify watch is cheap, and the runner would
        # forward its SIGIO to the child)
        watched = [os.path.dirname(f) for f in [*files, self.verdict] if f]
        with Watch(watched, self.options.poll_seconds) as watch:
            while True:
                verdict = self.check(files)
                if verdict is not None:
                    return verdict
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                watch.wait(left)

    def check(self, files: list[str]) -> Verdict | None:
        word = read_verdict(self.verdict)
        if isinstance(word, wire.Skip):
            return Verdict("skip", word.reason or "skipped by the supervisor", word.cancelled)
        if isinstance(word, wire.Ack) and word.verdict == "failed":
            return Verdict("fail", "failed by the supervisor before it ran (at a breakpoint)")
        for f in files:
            if os.path.exists(f + ".err"):
                return Verdict("skip", f"a previous step failed ({f}.err)")
        for f in files:
            try:
                size = os.stat(f).st_size
            except OSError:
                return None
            if self.options.wait_file_content and size == 0:
                return None
        return Verdict("start")
