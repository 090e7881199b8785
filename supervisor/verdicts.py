"""The supervisor's last word to a wrapper it may not be there to tell: `<channel>/verdict`, in that container's
own channel (`<channels dir>/<kind>-<name>/verdict`, which the container sees as /doll/channel/verdict and no
other container sees at all).  Without channels (one host, tests and benchmarks: every wrapper on the admin
socket) there is no place that is one wrapper's own, so nothing is written: the socket carries the word.

A step that will not run (skipped, or failed at a breakpoint before it ran) and, once a classic run is
over, every sidecar get their message in a file as well as on the socket.  In the classic layout the
supervisor exits with the run; a container that starts after that (a slow image pull) finds no supervisor,
and its wrapper reads this file before it falls back to the file chain (entrypoint/waiting.py,
entrypoint/sidecars.py), so it does not run a step the supervisor decided not to run, nor a sidecar that
nothing would ever stop.
"""

from __future__ import annotations

import os
from typing import Protocol

from contracts import layout, wire
from contracts.wire import Ack, Skip, Stop
from supervisor.logs import Log

__all__ = ["VerdictSink", "Verdicts"]


class VerdictSink(Protocol):
    """Where the last words go (`Verdicts`: files; a test may keep them)."""

    def write(self, kind: str, name: str, message: Skip | Ack | Stop) -> None: ...


class Verdicts:
    def __init__(self, channels_dir: str, log: Log) -> None:
        self.channels_dir = channels_dir
        self._log = log

    def path(self, kind: str, name: str) -> str:
        return os.path.join(layout.channel_dir(self.channels_dir, kind, name), layout.VERDICT_NAME)

    def write(self, kind: str, name: str, message: Skip | Ack | Stop) -> None:
        """Write the verdict for the `kind` ("step" or "sidecar") `name` atomically (a reader sees all of it or
        none); a failure is logged: the socket, when the wrapper is there, still carries the message."""
        if not self.channels_dir:
            return
        path = self.path(kind, name)
        tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp")
        try:
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(wire.encode(message))
            os.replace(tmp, path)
        except OSError as exc:
            self._log.warning("verdict_not_written", name=name, error=str(exc))
