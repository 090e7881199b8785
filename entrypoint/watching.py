"""Waiting for files to appear: dnotify (`fcntl` F_NOTIFY, in the standard library) with a polling fallback.

`Watch` watches directories for entries being created, moved in, renamed, written or changed; `wait()`
returns when something changed or the timeout passed, so callers re-check their condition after each
wake-up.  A directory that does not exist yet is watched through its nearest existing ancestor.  Where
nothing can be watched (dnotify disabled, a directory that cannot be opened, not the main thread) it
degrades to sleeping for the polling interval.

dnotify reports a change as SIGIO to the process.  While a watch is open, SIGIO has a handler that does
nothing, and `signal.set_wakeup_fd` turns the signal into a byte on a pipe that `wait()` selects on (so a
change between a caller's check and its wait is never missed); `close()` puts back the previous handler
and wake-up fd.  Close the watch before starting a child: the runner forwards SIGIO to the child.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from entrypoint.running import Handler

__all__ = ["Watch"]

# DN_CREATE also covers an entry moved in (how a post file appears), DN_RENAME one renamed in place;
# DN_MULTISHOT keeps the watch after the first event
_EVENTS = fcntl.DN_CREATE | fcntl.DN_MODIFY | fcntl.DN_RENAME | fcntl.DN_ATTRIB | fcntl.DN_MULTISHOT


def _woken(signum: int, frame: object) -> None:
    """SIGIO's handler while watching: the wake-up fd has the news already."""


class Watch:
    """Directories under watch; `poll_seconds` > 0 forces polling at that interval."""

    def __init__(self, directories: list[str], poll_seconds: float = 0.0, fallback_seconds: float = 0.1):
        self.interval = poll_seconds if poll_seconds > 0 else fallback_seconds
        self._fds: dict[str, int] = {}  # watched directory -> its open fd (the dnotify lives as long as it)
        self._blind = False  # some directory has no watchable ancestor: poll
        self._wake_r = self._wake_w = -1  # the wake-up pipe; -1: not listening, poll
        self._previous: tuple[Handler, int] = (signal.SIG_DFL, -1)  # SIGIO's handler and the wake-up fd before
        self._pending = [] if poll_seconds > 0 else list(dict.fromkeys(directories))
        if self._pending and self._listen():
            self._add_pending()

    @property
    def notified(self) -> bool:
        """True when changes wake `wait()` (dnotify); False when it polls."""
        return bool(self._fds)

    def _listen(self) -> bool:
        """Route SIGIO to the wake-up pipe; False where signal handlers cannot be set (not the main thread)."""
        r, w = os.pipe()
        os.set_blocking(r, False)
        os.set_blocking(w, False)
        try:
            handler = signal.signal(signal.SIGIO, _woken)
        except ValueError:
            os.close(r)
            os.close(w)
            return False
        self._previous = (handler, signal.set_wakeup_fd(w, warn_on_full_buffer=False))
        self._wake_r, self._wake_w = r, w
        return True

    def _watch(self, path: str) -> bool:
        if path in self._fds:
            return True
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return False
        try:
            fcntl.fcntl(fd, fcntl.F_NOTIFY, _EVENTS)
        except OSError:  # EINVAL: dnotify disabled (fs.dir-notify-enable = 0)
            os.close(fd)
            return False
        self._fds[path] = fd
        return True

    def _add_pending(self) -> None:
        """Watch what exists; for a directory not there yet, watch its nearest existing ancestor instead
        (its DN_CREATE wakes us to try again).  Only when nothing can be watched do we poll."""
        still = []
        self._blind = False
        for directory in self._pending:
            chain = [os.path.abspath(directory or ".")]  # the directory, then its ancestors up to a watched one
            while not self._watch(chain[-1]):
                if chain[-1] == os.path.dirname(chain[-1]):
                    self._blind = True
                    break
                chain.append(os.path.dirname(chain[-1]))
            # back down: what was created meanwhile is watched now; the first still missing one's creation
            # will show in its (watched) parent
            for path in reversed(chain[:-1]):
                if not self._watch(path):
                    still.append(directory)
                    break
        self._pending = still

    def wait(self, timeout: float | None) -> None:
        """Block until a watched directory changes, or `timeout` (capped by the polling interval)."""
        cap = self.interval if not self._fds or self._blind else None
        if timeout is None:
            timeout = cap
        elif cap is not None:
            timeout = min(timeout, cap)
        if self._wake_r < 0:
            select.select([], [], [], timeout if timeout is not None else self.interval)
            return
        ready, _, _ = select.select([self._wake_r], [], [], timeout)
        if ready:
            try:
                while os.read(self._wake_r, 512):
                    pass
            except (BlockingIOError, InterruptedError):
                pass
        if self._pending:
            self._add_pending()

    def close(self) -> None:
        """Stop watching (no SIGIO comes after this: closing the fds ends the dnotify), then restore SIGIO."""
        for fd in self._fds.values():
            os.close(fd)
        self._fds = {}
        if self._wake_r >= 0:
            handler, wakeup_fd = self._previous
            signal.set_wakeup_fd(wakeup_fd)
            signal.signal(signal.SIGIO, signal.SIG_DFL if handler is None else handler)
            os.close(self._wake_r)
            os.close(self._wake_w)
            self._wake_r = self._wake_w = -1

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
