"""The wrapper's dealings with processes: spawn a child in its own process group, watch, reap, signal it.

Standard library only (the wrapper); no state: `running` keeps that.
"""

from __future__ import annotations

import errno
import os
import signal
import time
import selectors
from collections.abc import Sequence

__all__ = ["FORWARDED", "spawn", "pidfd", "reap", "reap_orphans", "drain_signals", "killpg", "terminate", "noop",
           "drained_signals"]

# every catchable asynchronous signal but SIGCHLD (ours), SIGPIPE (about our own stdout) and SIGURG (noise)
FORWARDED = tuple(getattr(signal, name) for name in (
    "SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGALRM", "SIGCONT",
    "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGIO", "SIGPWR")
    if hasattr(signal, name))
# reset to their defaults in the child: what the wrapper catches (exec resets those anyway) and what Python
# ignores (SIGPIPE, SIGXFSZ; ignored signals would stay ignored across exec)
_CHILD_DEFAULTS = tuple(dict.fromkeys((*FORWARDED, signal.SIGCHLD, signal.SIGPIPE, signal.SIGXFSZ)))


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


def pidfd(pid: int) -> int:
    """A pidfd for `pid`, or -1 where there are none (Linux < 5.3, or a seccomp profile without pidfd_open)."""
    try:
        return os.pidfd_open(pid)
    except OSError:
        return -1


def reap(pid: int) -> int | None:
    """The child's wait status once it has ended (its pidfd or SIGCHLD wakes the loop that asks), else None."""
    done, status = os.waitpid(pid, os.WNOHANG)
    return status if done else None


def reap_orphans(child: int) -> None:
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


def drain_signals(fd: int) -> list[int]:
    data = b""
    try:
        while chunk := os.read(fd, 512):
            data += chunk
    except (BlockingIOError, InterruptedError):
        pass
    return list(data)


def killpg(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def terminate(pgid: int, grace: float) -> float:
    killpg(pgid, signal.SIGTERM)
    killpg(pgid, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
    return time.monotonic() + grace


def noop(signum: int, frame: object) -> None:
    """Python-level handler so the signal is caught; the loop reads it from the wake-up fd."""


def drained_signals(key: selectors.SelectorKey) -> None:
    """While the tees drain after the child: signals have no child left to go to."""
    if key.data == "signal":
        drain_signals(key.fd)
