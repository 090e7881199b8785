"""Waiting for this step's turn: through the supervisor's socket, or along Tekton's file chain.

`SocketWaiter` says hello and blocks until told start / skip (a hold just keeps it waiting).  If the
supervisor goes away it reconnects briefly and announces again; when that fails it returns None and the
caller falls back to `FileWaiter`, which waits for the previous step's post file (`out`, or `out.err`,
which cascades the failure), so a dead supervisor never strands a step nor lets one run out of order.
Before the file chain, `FileWaiter` heeds the supervisor's verdict file for this step, if it left one
(`<run dir>/verdicts/<kind>-<name>`: skip, or failed before it ran): a supervisor that ended the run before this
step's container started is gone, and its word stands.
"""

from __future__ import annotations

import os
import sys
import time

from entrypoint import connecting
from contracts import layout, wire
from contracts.options import StepOptions

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:  # mypy sees typing and the standard decorator; at run time they cost milliseconds
    from dataclasses import dataclass
    from typing import Literal, Protocol
else:
    from contracts.freezing import dataclass
    Protocol = object  # the protocols are for mypy: plain classes at run time


@dataclass(frozen=True)
class Verdict:
    """What waiting decided: start, skip (cascade or cancel), or fail without running."""

    action: Literal["start", "skip", "fail"]  # fail: `debug fail-continue` at a beforeStep hold
    reason: str = ""
    cancelled: bool = False


class Waiter(Protocol):
    def wait(self) -> Verdict | None:
        """This step's verdict; None: this way of waiting is gone, try the next one."""


def log(text: str) -> None:
    print(f"entrypoint: {text}", file=sys.stderr, flush=True)


class SocketWaiter:
    def __init__(self, options: StepOptions, channel: connecting.Channel | None) -> None:
        self.options = options
        self.channel = channel

    def hello(self) -> wire.Hello:
        kind: wire.Kind = "sidecar" if self.options.sidecar else "step"
        return wire.Hello(kind=kind, name=self.options.name, index=self.options.index, pid=os.getpid())

    def reconnect(self) -> bool:
        """After a broken connection: connect again (briefly) and announce again."""
        o = self.options
        self.channel = connecting.connect(o.socket, o.reconnect_seconds, o.reconnect_seconds)
        return self.channel is not None and self.channel.send(self.hello())

    def wait(self) -> Verdict | None:
        if self.channel is None or not self.channel.send(self.hello()):
            if not self.reconnect():
                return None
        while True:
            assert self.channel is not None
            message = self.channel.receive()
            if message is None:
                log("the supervisor went away while this step waited; reconnecting")
                if not self.reconnect():
                    log("the supervisor is gone; falling back to the file chain")
                    return None
                continue
            if isinstance(message, wire.Start):
                return Verdict("start")
            if isinstance(message, wire.Skip):
                return Verdict("skip", message.reason, message.cancelled)
            if isinstance(message, wire.Hold):
                log(f"held by the supervisor ({message.reason or 'beforeStep'}); "
                    "`entrypoint debug continue` or `fail-continue` to go on")
            elif isinstance(message, wire.Ack) and message.verdict == "failed":
                return Verdict("fail", "marked failed by debug fail-continue")
            elif isinstance(message, wire.Stop):
                return Verdict("skip", message.reason or "cancelled", cancelled=True)


def verdict_path(options: StepOptions) -> str:
    """Where the supervisor leaves its verdict for this wrapper ("" without a socket: no supervisor)."""
    if not (options.socket and options.name):
        return ""
    kind = "sidecar" if options.sidecar else "step"
    return os.path.join(os.path.dirname(options.socket), layout.VERDICTS_NAME, f"{kind}-{options.name}")


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
