"""Running the child: its own process group, signals forwarded, timeout and stop with grace then SIGKILL.

One select loop watches the child (a pidfd, readable once it has ended; SIGCHLD through the signal wake-up
fd where the kernel or a seccomp profile refuses pidfds), forwarded signals, the
supervisor's socket (`stop`, and whatever else the caller handles, such as sidecar probes) and the tee
pipes.  When the child ends, whatever is left of its process group (background jobs, grandchildren) is
killed too: in a container they would die with the wrapper anyway.
"""

from __future__ import annotations

import errno
import os
import selectors
import signal
import time
from collections.abc import Callable, Iterable, Sequence

from entrypoint import connecting
from contracts import exits, wire
from entrypoint.processes import (
    FORWARDED, drain_signals, drained_signals, killpg, noop, pidfd, reap, reap_orphans, spawn, terminate,
)
from entrypoint.teeing import Tee, Tees

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:  # mypy sees typing and the standard decorator; at run time they cost milliseconds
    from dataclasses import dataclass
    from types import FrameType
    from typing import Any, Protocol, TypeAlias

    Handler: TypeAlias = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None  # signal.signal's
else:
    from contracts.freezing import dataclass
    Protocol = object  # the protocols are for mypy: plain classes at run time

__all__ = ["RECONNECT_SECONDS", "Outcome", "Runner", "ChildRunner"]

_CAUGHT = (*FORWARDED, signal.SIGCHLD)  # the wrapper's own handlers while it runs a child
RECONNECT_SECONDS = 1.0
_LONGEST_WAIT = 86400.0  # seconds: the loop re-checks its deadlines at least daily


@dataclass(frozen=True)
class Outcome:
    """How the child ended: the step's exit code, reason and the child's own times."""

    exit_code: int
    reason: str  # one of wire.REASONS
    started_at: float | None
    finished_at: float
    message: str = ""
    stopped: bool = False  # ended because the supervisor said stop


class Runner(Protocol):
    def prepare(self, deferred: Sequence[int] = ()) -> None:
        """Get ready for `run` ahead of time; leave the handlers of the signals in `deferred` alone until then."""

    def run(self, command: Sequence[str], env: dict[str, str], channel: connecting.Channel | None) -> Outcome:
        """Run `command` to the end; a channel, if given, is watched for `stop` (it may break meanwhile)."""

    def close(self) -> None:
        """Release what `prepare` took."""


class ChildRunner:
    """The real runner; `on_message` receives every supervisor message other than `stop`.

    `prepare()` does ahead of the child's turn all that does not need the turn: the tee pipes, the wake-up
    pipe, the selector and the signal handlers, so that when the turn comes `run()` only opens the tee
    files, if any, and spawns.  Whoever prepares closes: a caller that called `prepare()` calls `close()` when it suits it (a
    step, once it has reported: restoring 19 signal handlers is not for the hand-off); otherwise `run()`
    prepares and closes itself.
    """

    def __init__(self, timeout_seconds: float | None = None, grace_seconds: float = 30.0, tee: Tee | None = None,
                 on_message: Callable[[wire.Message], None] | None = None,
                 on_started: Callable[[float], None] | None = None,
                 reconnect: Callable[[], connecting.Channel | wire.Stop | None] | None = None,
                 reap_orphans: bool = False, on_sigterm: Callable[[], None] | None = None) -> None:
        self.timeout_seconds, self.on_sigterm = timeout_seconds, on_sigterm  # on_sigterm: before it is passed on
        self.grace_seconds = grace_seconds
        self.tees = Tees(tee or Tee())
        self.on_message = on_message
        self.on_started = on_started
        # called every RECONNECT_SECONDS while the channel is down: a new channel, or the supervisor's `stop`
        # found some other way (a sidecar's verdict file), or None: try again later
        self.reconnect = reconnect
        # as PID 1 (a container's first process), also reap the orphans the kernel hands over (a step's
        # daemons, double forks): nothing else would, and their zombies would pile up while the step runs.
        # Not for a sidecar: its probes' processes are its own children, waited for by pid.
        self.reap_orphans = reap_orphans and os.getpid() == 1
        self._sel: selectors.BaseSelector | None = None  # None: not prepared
        self._wake = (-1, -1)  # the wake-up pipe (read end, write end): signals arrive on it as bytes
        self._old_wakeup = -1
        self._handlers: dict[int, Handler] = {}  # signal -> the handler it had before ours
        self._deferred: tuple[int, ...] = ()
        self._pidfds = False  # the child is watched through a pidfd, not SIGCHLD

    def prepare(self, deferred: Sequence[int] = ()) -> None:
        """Get ready to spawn.  The forwarded signals in `deferred` keep their handlers until the child is
        about to be spawned (a step waiting for its turn is cancelled by SIGTERM, SIGINT and SIGHUP); the
        others are caught from now on, and whatever of them arrives before the child exists is dropped."""
        if self._sel is not None:
            return
        self._sel = selectors.DefaultSelector()
        r, w = self._wake = os.pipe()
        os.set_blocking(r, False)
        os.set_blocking(w, False)
        self._sel.register(r, selectors.EVENT_READ, "signal")
        self.tees.prepare(self._sel)
        self._deferred = tuple(deferred)
        probe = pidfd(os.getpid())
        if probe >= 0:
            os.close(probe)
        self._pidfds = probe >= 0
        self._catch(sig for sig in _CAUGHT if sig not in self._deferred
                    and not (sig == signal.SIGCHLD and self._pidfds and not self.reap_orphans))
        self._old_wakeup = signal.set_wakeup_fd(self._wake[1], warn_on_full_buffer=False)

    def _catch(self, signals: Iterable[int]) -> None:
        for sig in signals:
            self._handlers[sig] = signal.signal(sig, noop)

    def close(self) -> None:
        """Give back the signal handlers and the wake-up fd, close the pipes and files (again: a no-op).  After
        `run()` the child and its process group are gone already."""
        if self._sel is None:
            return
        signal.set_wakeup_fd(self._old_wakeup)
        for sig, handler in self._handlers.items():
            signal.signal(sig, handler)
        self._handlers = {}
        self.tees.close()
        self._sel.close()
        self._sel = None
        for fd in self._wake:
            os.close(fd)

    def run(self, command: Sequence[str], env: dict[str, str], channel: connecting.Channel | None) -> Outcome:
        if self._sel is not None:
            return self._run(command, env, channel)
        self.prepare()
        try:
            return self._run(command, env, channel)
        finally:
            self.close()

    def _run(self, command: Sequence[str], env: dict[str, str], channel: connecting.Channel | None) -> Outcome:
        sel = self._sel
        assert sel is not None
        drain_signals(self._wake[0])  # signals that came before the child existed are not for it
        self._catch(self._deferred)  # a deferred signal still pending runs its own handler first
        # opened once SIGTERM is caught: one that comes while a slow file opens goes to the child, which
        # then ends and is recorded (under SIG_DFL it would end the wrapper with nothing recorded)
        error = self.tees.open()
        if error:
            return Outcome(exits.EXIT_WRAPPER_ERROR, "Error", None, time.time(), error)
        started_at = time.time()
        try:
            pid = spawn(command, env, stdout=self.tees.ends.get(1), stderr=self.tees.ends.get(2))
        except OSError as exc:
            code = exits.EXIT_NOT_FOUND if exc.errno == errno.ENOENT else exits.EXIT_NOT_EXECUTABLE
            what = "not found" if code == exits.EXIT_NOT_FOUND else f"cannot be executed: {exc.strerror}"
            return Outcome(code, "Error", started_at, time.time(), f"command {command[0]!r}: {what}")
        self.tees.spawned()
        child = _Child(pid, sel, self.timeout_seconds)
        child.pidfd = pidfd(pid) if self._pidfds else -1
        if child.pidfd >= 0:
            sel.register(child.pidfd, selectors.EVENT_READ, "child")
        elif self._pidfds:  # refused after all: SIGCHLD (the loop reaps before it first waits)
            self._catch((signal.SIGCHLD,))
        if self.on_started is not None:
            self.on_started(started_at)
        child.attach(channel)
        if self.reconnect is not None and (channel is None or channel.closed):
            child.retry_at = time.monotonic() + RECONNECT_SECONDS
        status = self._watch(child)
        return self._ended(child, status, started_at, time.time())

    def _watch(self, child: _Child) -> int:
        """The loop, until the child has ended: its wait status."""
        while (status := reap(child.pid)) is None:
            now = time.monotonic()
            if child.retry_at is not None and now >= child.retry_at and self.reconnect is not None:
                fresh = self.reconnect()
                child.retry_at = None if fresh is not None else now + RECONNECT_SECONDS
                if isinstance(fresh, wire.Stop):
                    child.stop(fresh)
                elif fresh is not None:
                    child.attach(fresh)
            if child.timeout_at is not None and now >= child.timeout_at:
                child.timeout_at = None
                child.reason, child.message = "TimeoutExceeded", f"step timed out after {self.timeout_seconds:g}s"
                child.kill_at = terminate(child.pid, self.grace_seconds)
            if child.kill_at is not None and now >= child.kill_at:
                killpg(child.pid, signal.SIGKILL)
                child.kill_at = None
            for key, _ in child.sel.select(child.wait(now)):
                self._readable(child, key.data, key.fd)
        return status

    def _readable(self, child: _Child, what: str, fd: int) -> None:
        """One ready file of the loop: a signal, the child's output, room in a tee, the supervisor."""
        if what == "signal":
            for signum in drain_signals(fd):
                if signum == signal.SIGCHLD:
                    if self.reap_orphans:
                        reap_orphans(child.pid)
                    continue
                if signum == signal.SIGTERM and self.on_sigterm is not None:
                    self.on_sigterm()  # a SIGTERM from outside (the kubelet): the supervisor hears it first
                killpg(child.pid, signum)
                if signum == signal.SIGTERM and child.kill_at is None:
                    child.kill_at = time.monotonic() + self.grace_seconds
        elif what == "output":
            self.tees.readable(fd)
        elif what == "room":
            self.tees.writable(fd)
        elif what == "channel" and child.channel is not None:
            alive = child.channel.feed()
            while (msg := child.channel.pending()) is not None:
                if isinstance(msg, wire.Stop):
                    child.stop(msg)
                elif self.on_message is not None:
                    self.on_message(msg)
            if not alive:
                child.sel.unregister(child.channel.sock)
                if self.reconnect is not None:
                    child.retry_at = time.monotonic() + min(RECONNECT_SECONDS, 0.05)

    def _ended(self, child: _Child, status: int, started_at: float, finished_at: float) -> Outcome:
        """Clean up after the child (what is left of its group, its pidfd, the tees): how it ended."""
        killpg(child.pid, signal.SIGKILL)  # leftovers of the group
        child.detach()
        self.tees.drain(drained_signals)
        code = os.waitstatus_to_exitcode(status)
        exit_code = 128 - code if code < 0 else code
        if child.reason == "TimeoutExceeded":
            return Outcome(exits.EXIT_TIMEOUT, child.reason, started_at, finished_at, child.message, child.stopped)
        if child.reason == "Cancelled":
            return Outcome(exits.EXIT_CANCELLED, child.reason, started_at, finished_at, child.message, child.stopped)
        return Outcome(exit_code, "Completed" if exit_code == 0 else "Error", started_at, finished_at,
                       "" if exit_code == 0 else f"command exited with code {exit_code}")


class _Child:
    """The running child as the loop sees it (it leads its own process group: pid = pgid), and when the loop
    must act next: the step's timeout, the SIGKILL after a grace, the next try to reach the supervisor."""

    def __init__(self, pid: int, sel: selectors.BaseSelector, timeout_seconds: float | None) -> None:
        self.pid, self.sel = pid, sel
        self.pidfd = -1
        self.channel: connecting.Channel | None = None
        self.timeout_at = None if timeout_seconds is None else time.monotonic() + timeout_seconds
        self.kill_at: float | None = None
        self.retry_at: float | None = None
        self.reason: str | None = None  # set when the wrapper ends the child: TimeoutExceeded / Cancelled
        self.message = ""
        self.stopped = False  # ended because the supervisor said stop

    def attach(self, channel: connecting.Channel | None) -> None:
        if channel is not None and not channel.closed:
            self.channel = channel
            self.sel.register(channel.sock, selectors.EVENT_READ, "channel")

    def detach(self) -> None:
        if self.pidfd >= 0:
            self.sel.unregister(self.pidfd)
            os.close(self.pidfd)
        if self.channel is not None:
            try:
                self.sel.unregister(self.channel.sock)
            except (KeyError, ValueError):
                pass

    def stop(self, msg: wire.Stop) -> None:
        """The supervisor's `stop` (the first one counts)."""
        if self.reason is None:
            self.stopped = True
            self.reason, self.message, self.kill_at = _stopping(msg, self.pid)

    def wait(self, now: float) -> float | None:
        """How long the loop may sleep; bounded: a timeout of weeks (840h) or a huge grace is more than epoll
        can wait at once."""
        deadlines = [t for t in (self.timeout_at, self.kill_at, self.retry_at) if t is not None]
        return min(max(0.0, min(deadlines) - now), _LONGEST_WAIT) if deadlines else None


def _stopping(msg: wire.Stop, pgid: int) -> tuple[str, str, float]:
    """Act on the supervisor's `stop`: SIGTERM to the group; the reason, the message and when to SIGKILL."""
    if msg.reason == "TimeoutExceeded":  # the step's or the task's timeout, on the supervisor's clock (it may
        reason, message = "TimeoutExceeded", "step timed out (stopped by the supervisor)"  # beat ours)
    else:
        reason, message = "Cancelled", f"stopped by the supervisor: {msg.reason}".rstrip(": ")
    return reason, message, terminate(pgid, msg.grace_seconds)
