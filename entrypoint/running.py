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

# every catchable asynchronous signal but SIGCHLD (ours), SIGPIPE (about our own stdout) and SIGURG (noise)
FORWARDED = tuple(getattr(signal, name) for name in (
    "SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGALRM", "SIGCONT",
    "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGIO", "SIGPWR")
    if hasattr(signal, name))
# reset to their defaults in the child: what the wrapper catches (exec resets those anyway) and what Python
# ignores (SIGPIPE, SIGXFSZ; ignored signals would stay ignored across exec)
_CHILD_DEFAULTS = tuple(dict.fromkeys((*FORWARDED, signal.SIGCHLD, signal.SIGPIPE, signal.SIGXFSZ)))
_CAUGHT = (*FORWARDED, signal.SIGCHLD)  # the wrapper's own handlers while it runs a child
RECONNECT_SECONDS = 1.0
_LONGEST_WAIT = 86400.0  # seconds: the loop re-checks its deadlines at least daily


def spawn(command: Sequence[str], env: dict[str, str], stdin: int | None = None, stdout: int | None = None,
          stderr: int | None = None) -> int:
    """Start `command` in its own process group with `env`, the given fds as its stdin / stdout / stderr, no
    blocked signals and default dispositions; its pid.  A name without a slash is looked for in the PATH of
    `env`, as exec does (and subprocess did): every existing candidate in turn, the first error other than
    "not there" wins.  Raises OSError (ENOENT: nowhere to be found)."""
    name = command[0]
    if not name:  # posix_spawn would raise ValueError; an image's `ENTRYPOINT [""]` can leave one
        raise FileNotFoundError(errno.ENOENT, "empty command name", name)
    if "/" in name:
        candidates = [name]
    else:  # skip what is not there before spawning: a failed spawn costs a clone, a stat microseconds
        candidates = [path for path in (os.path.join(d, name) for d in os.get_exec_path(env)) if _exists(path)]
    actions = [(os.POSIX_SPAWN_DUP2, fd, target) for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2))
               if fd is not None]
    error: OSError | None = None
    for path in candidates:
        try:
            return os.posix_spawn(path, list(command), env, file_actions=actions, setpgroup=0, setsigmask=(),
                                  setsigdef=_CHILD_DEFAULTS)
        except OSError as exc:
            if error is None and exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                error = exc
    raise error or FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), name)


def _exists(path: str) -> bool:
    try:
        os.stat(path)
    except OSError:
        return False
    return True


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
                 reap_orphans: bool = False) -> None:
        self.timeout_seconds = timeout_seconds
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
        probe = _pidfd(os.getpid())
        if probe >= 0:
            os.close(probe)
        self._pidfds = probe >= 0
        self._catch(sig for sig in _CAUGHT if sig not in self._deferred
                    and not (sig == signal.SIGCHLD and self._pidfds and not self.reap_orphans))
        self._old_wakeup = signal.set_wakeup_fd(self._wake[1], warn_on_full_buffer=False)

    def _catch(self, signals: Iterable[int]) -> None:
        for sig in signals:
            self._handlers[sig] = signal.signal(sig, _noop)

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
        wake_r = self._wake[0]
        _drain_signals(wake_r)  # signals that came before the child existed are not for it
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
        pgid = pid  # the child leads its own process group
        pidfd = _pidfd(pid) if self._pidfds else -1
        if pidfd >= 0:
            sel.register(pidfd, selectors.EVENT_READ, "child")
        elif self._pidfds:  # refused after all: SIGCHLD (the loop reaps before it first waits)
            self._catch((signal.SIGCHLD,))
        if self.on_started is not None:
            self.on_started(started_at)
        if channel is not None and not channel.closed:
            sel.register(channel.sock, selectors.EVENT_READ, "channel")
        timeout_at = None if self.timeout_seconds is None else time.monotonic() + self.timeout_seconds
        kill_at: float | None = None
        reason: str | None = None  # set when we end the child: TimeoutExceeded / Cancelled
        message = ""
        stopped = False
        retry_at: float | None = None
        if self.reconnect is not None and (channel is None or channel.closed):
            retry_at = time.monotonic() + RECONNECT_SECONDS
        while (status := _reap(pid)) is None:
            now = time.monotonic()
            if retry_at is not None and now >= retry_at and self.reconnect is not None:
                fresh = self.reconnect()
                retry_at = None if fresh is not None else now + RECONNECT_SECONDS
                if isinstance(fresh, wire.Stop):
                    if reason is None:
                        stopped = True
                        reason, message, kill_at = _stopping(fresh, pgid)
                elif fresh is not None:
                    channel = fresh
                    sel.register(channel.sock, selectors.EVENT_READ, "channel")
            if timeout_at is not None and now >= timeout_at:
                timeout_at = None
                reason, message = "TimeoutExceeded", f"step timed out after {self.timeout_seconds:g}s"
                kill_at = _terminate(pgid, self.grace_seconds)
            if kill_at is not None and now >= kill_at:
                _killpg(pgid, signal.SIGKILL)
                kill_at = None
            deadlines = [t for t in (timeout_at, kill_at, retry_at) if t is not None]
            # bounded: a timeout of weeks (840h) or a huge grace is more than epoll can wait at once
            wait = min(max(0.0, min(deadlines) - now), _LONGEST_WAIT) if deadlines else None
            for key, _ in sel.select(wait):
                if key.data == "signal":
                    for signum in _drain_signals(wake_r):
                        if signum == signal.SIGCHLD:
                            if self.reap_orphans:
                                _reap_orphans(pid)
                            continue
                        _killpg(pgid, signum)
                        if signum == signal.SIGTERM and kill_at is None:
                            kill_at = time.monotonic() + self.grace_seconds
                elif key.data == "output":
                    self.tees.readable(key.fd)
                elif key.data == "room":
                    self.tees.writable(key.fd)
                elif key.data == "channel" and channel is not None:
                    alive = channel.feed()
                    while (msg := channel.pending()) is not None:
                        if isinstance(msg, wire.Stop):
                            if reason is None:
                                stopped = True
                                reason, message, kill_at = _stopping(msg, pgid)
                        elif self.on_message is not None:
                            self.on_message(msg)
                    if not alive:
                        sel.unregister(channel.sock)
                        if self.reconnect is not None:
                            retry_at = time.monotonic() + min(RECONNECT_SECONDS, 0.05)
        finished_at = time.time()
        _killpg(pgid, signal.SIGKILL)  # leftovers of the group
        if pidfd >= 0:
            sel.unregister(pidfd)
            os.close(pidfd)
        if channel is not None:
            try:
                sel.unregister(channel.sock)
            except (KeyError, ValueError):
                pass
        self.tees.drain(_drained_signals)
        code = os.waitstatus_to_exitcode(status)
        exit_code = 128 - code if code < 0 else code
        if reason == "TimeoutExceeded":
            return Outcome(exits.EXIT_TIMEOUT, reason, started_at, finished_at, message, stopped=stopped)
        if reason == "Cancelled":
            return Outcome(exits.EXIT_CANCELLED, reason, started_at, finished_at, message, stopped=stopped)
        return Outcome(exit_code, "Completed" if exit_code == 0 else "Error", started_at, finished_at,
                       "" if exit_code == 0 else f"command exited with code {exit_code}")


def _pidfd(pid: int) -> int:
    """A pidfd for `pid`, or -1 where there are none (Linux < 5.3, or a seccomp profile without pidfd_open)."""
    try:
        return os.pidfd_open(pid)
    except OSError:
        return -1


def _reap(pid: int) -> int | None:
    """The child's wait status once it has ended (its pidfd or SIGCHLD wakes the loop that asks), else None."""
    done, status = os.waitpid(pid, os.WNOHANG)
    return status if done else None


def _reap_orphans(child: int) -> None:
    """Reap every ended process but `child` (whose status the loop wants): orphans reparented to PID 1."""
    while True:
        try:  # WNOWAIT: look without reaping, so the child's own status is left for `_reap`
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if info is None or info.si_pid == child:
            return
        try:
            os.waitpid(info.si_pid, 0)
        except ChildProcessError:
            pass


def _noop(signum: int, frame: object) -> None:
    """Python-level handler so the signal is caught; the loop reads it from the wake-up fd."""


def _drain_signals(fd: int) -> list[int]:
    data = b""
    try:
        while chunk := os.read(fd, 512):
            data += chunk
    except (BlockingIOError, InterruptedError):
        pass
    return list(data)


def _killpg(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _stopping(msg: wire.Stop, pgid: int) -> tuple[str, str, float]:
    """Act on the supervisor's `stop`: SIGTERM to the group; the reason, the message and when to SIGKILL."""
    if msg.reason == "TimeoutExceeded":  # the step's or the task's timeout, on the supervisor's clock (it may
        reason, message = "TimeoutExceeded", "step timed out (stopped by the supervisor)"  # beat ours)
    else:
        reason, message = "Cancelled", f"stopped by the supervisor: {msg.reason}".rstrip(": ")
    return reason, message, _terminate(pgid, msg.grace_seconds)


def _terminate(pgid: int, grace: float) -> float:
    _killpg(pgid, signal.SIGTERM)
    _killpg(pgid, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
    return time.monotonic() + grace


def _drained_signals(key: selectors.SelectorKey) -> None:
    """While the tees drain after the child: signals have no child left to go to."""
    if key.data == "signal":
        _drain_signals(key.fd)
