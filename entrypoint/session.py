"""The wrapper's session with the supervisor, in one place: connect, hello, wait for the turn, reconnect, report.

A step or sidecar wrapper speaks to the supervisor only through its `Session`.  A missing socket is waited
for (`socket_wait_seconds`), a supervisor that went away is retried (`reconnect_seconds`); when it stays gone
the session says so (None) and the caller falls back to the file chain.  Every hello is built here, from the
wrapper's own options: a wrapper only ever speaks for itself.
"""

from __future__ import annotations

import os
import sys

from entrypoint import connecting
from contracts import wire

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:  # mypy sees typing and the standard decorator; at run time they cost milliseconds
    from dataclasses import dataclass
    from typing import Literal
else:
    from contracts.freezing import dataclass

__all__ = ["Session", "Verdict", "log"]

ACK_SECONDS = 30.0  # how long a finished step waits for the supervisor's ack (a hold waits as long as it takes)


def log(text: str) -> None:
    print(f"entrypoint: {text}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Verdict:
    """What waiting decided: start, skip (cascade or cancel), or fail without running."""

    action: Literal["start", "skip", "fail"]  # fail: `debug fail-continue` at a beforeStep hold
    reason: str = ""
    cancelled: bool = False


class Session:
    """One wrapper's conversation with the supervisor over `socket` ("" : there is none)."""

    def __init__(self, socket: str, kind: wire.Kind, name: str, index: int = -1, wait_seconds: float = 0.0,
                 reconnect_seconds: float = 0.0, await_supervisor: bool = False) -> None:
        self.socket, self.kind, self.name, self.index = socket, kind, name, index
        self.wait_seconds, self.reconnect_seconds = wait_seconds, reconnect_seconds
        # waiting for the turn: retry a missing or gone supervisor for ever (the kubelet restarts it)
        self.waiting_seconds = float("inf") if await_supervisor else reconnect_seconds
        self.channel: connecting.Channel | None = None
        self.supervised = False  # a supervisor answered at some point

    def hello(self) -> wire.Hello:
        return wire.Hello(kind=self.kind, name=self.name, index=self.index, pid=os.getpid())

    def live(self) -> connecting.Channel | None:
        """The channel while it is open."""
        return self.channel if self.channel is not None and not self.channel.closed else None

    def open(self) -> bool:
        """Connect at the start (waiting for the socket to appear) and say hello; SocketPathError for a path
        that can never work."""
        forever = self.waiting_seconds == float("inf")
        self.channel = connecting.connect(self.socket, self.waiting_seconds if forever else self.wait_seconds,
                                          self.waiting_seconds)
        return self.channel is not None and self.channel.send(self.hello())

    def reconnect(self, wait: float) -> connecting.Channel | None:
        """Connect again (retrying for `wait` seconds) and announce again; None if nobody answers."""
        try:
            return self._announce(wait)
        except connecting.SocketPathError:
            return None

    def _announce(self, wait: float) -> connecting.Channel | None:
        """`reconnect`, but a path that became unusable raises SocketPathError."""
        channel = connecting.connect(self.socket, wait, wait)
        if channel is None or not channel.send(self.hello()):
            return None
        self.channel = channel
        return channel

    def _rejoin(self) -> connecting.Channel | None:
        """`_announce` for `waiting_seconds`; with await_supervisor for ever, a hello lost to a supervisor that
        died as it accepted included."""
        while True:
            channel = self._announce(self.waiting_seconds)
            if channel is not None or self.waiting_seconds != float("inf"):
                return channel

    def wait_turn(self) -> Verdict | None:
        """Block until the supervisor says start, skip or fail; None: it is gone, use the file chain."""
        if self.live() is None and self._rejoin() is None:
            return None
        while True:
            assert self.channel is not None
            message = self.channel.receive()
            if message is None:
                log("the supervisor went away while this step waited; reconnecting")
                if self._rejoin() is None:
                    log("the supervisor is gone; falling back to the file chain")
                    return None
                continue
            verdict = _verdict(message)
            if verdict is not None:
                self.supervised = True
                return verdict

    def started(self, started_at: float) -> None:
        channel = self.live()
        if channel is not None:
            channel.send(wire.Started(name=self.name, started_at=started_at))

    def terminating(self) -> None:
        """This container got SIGTERM from outside (the kubelet deleting the Pod): say so before ending."""
        channel = self.live()
        if channel is not None:
            channel.send(wire.Ctl(action="terminating", step=self.name))

    def while_running(self) -> connecting.Channel | None:
        """While the child runs: reach a supervisor that went away again, so `stop` works."""
        if not self.supervised:
            return None  # none ever answered: this step runs on the file chain only
        channel = self.reconnect(0.0)
        if channel is not None:
            self.supervised = True
        return channel

    def report(self, finished: wire.Finished) -> str:
        """Send `finished` and wait for the ack; its verdict ("" if none, or no supervisor answered)."""
        channel = self.live()
        if channel is None and self.socket:
            channel = self.reconnect(self.reconnect_seconds if self.supervised else 0.0)
            if channel is not None:
                channel.receive(timeout=self.reconnect_seconds or 1.0)  # its answer to the new hello
        if channel is None or not channel.send(finished):
            return ""
        self.supervised = True
        held = False
        while True:
            message = channel.receive(timeout=None if held else ACK_SECONDS)
            if message is None:
                if not channel.closed:
                    log("no ack from the supervisor; recording anyway")
                self.supervised = False  # gone: file-mode breakpoints apply again
                return ""
            if isinstance(message, wire.Ack):
                channel.close()
                return message.verdict
            if isinstance(message, wire.Hold):
                held = True
                log(f"held by the supervisor ({message.reason or 'onFailure'}); "
                    "`entrypoint debug continue` or `fail-continue` to go on")

    def close(self) -> None:
        if self.channel is not None:
            self.channel.close()


def _verdict(message: wire.Message) -> Verdict | None:
    """What a message heard while waiting for the turn decides (None: keep waiting)."""
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
    return None
