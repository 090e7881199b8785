"""Waiting for files to appear: inotify (through ctypes on libc's inotify_*) with a polling fallback.

`Watch` watches directories for entries being created, moved in, written or closed; `wait()` returns
when something changed or the timeout passed, so callers re-check their condition after each wake-up.
A directory that does not exist yet is watched through its nearest existing ancestor.  Where inotify
is not available (no libc symbol, no inotify instances) it degrades to sleeping for the polling interval.
"""

from __future__ import annotations

import os
import select

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:  # typing costs milliseconds at every wrapper start
    from typing import Any


IN_MODIFY = 0x00000002
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_ATTRIB = 0x00000004
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
_MASK = IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB

_libc: Any = None  # ctypes.CDLL, imported only when a file is watched (not on the socket path)


def _load_libc() -> Any:
    global _libc
    if _libc is None:
        try:
            import ctypes
            lib = ctypes.CDLL(None, use_errno=True)
            lib.inotify_init1.argtypes = [ctypes.c_int]
            lib.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
            _libc = lib
        except (OSError, AttributeError):
            return None
    return _libc


class Watch:
    """Directories under watch; `poll_seconds` > 0 forces polling at that interval."""

    def __init__(self, directories: list[str], poll_seconds: float = 0.0, fallback_seconds: float = 0.1):
        self.fd = -1
        self._blind = False  # some directory has no watchable ancestor: poll
        self.interval = poll_seconds if poll_seconds > 0 else fallback_seconds
        self._pending = list(dict.fromkeys(directories))
        if poll_seconds > 0:
            self._pending = []
            return
        lib = _load_libc()
        if lib is None:
            return
        fd = lib.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            return
        self.fd = fd
        self._add_pending()

    @property
    def inotify(self) -> bool:
        return self.fd >= 0

    def _add_pending(self) -> None:
        """Watch what exists; for a directory not there yet, watch its nearest existing ancestor instead
        (its IN_CREATE wakes us to try again).  Only when nothing can be watched do we poll."""
        lib = _libc
        if self.fd < 0 or lib is None:
            return
        still = []
        self._blind = False
        for directory in self._pending:
            chain = [os.path.abspath(directory or ".")]  # the directory, then its ancestors up to a watched one
            while lib.inotify_add_watch(self.fd, os.fsencode(chain[-1]), _MASK) < 0:
                if chain[-1] == os.path.dirname(chain[-1]):
                    self._blind = True
                    break
                chain.append(os.path.dirname(chain[-1]))
            # back down: what was created meanwhile is watched now; the first still missing one's creation
            # will show in its (watched) parent
            for path in reversed(chain[:-1]):
                if lib.inotify_add_watch(self.fd, os.fsencode(path), _MASK) < 0:
                    still.append(directory)
                    break
        self._pending = still

    def wait(self, timeout: float | None) -> None:
        """Block until a watched directory changes, or `timeout` (capped by the polling interval)."""
        cap = self.interval if self.fd < 0 or self._blind else None
        if timeout is None:
            timeout = cap
        elif cap is not None:
            timeout = min(timeout, cap)
        if self.fd < 0:
            select.select([], [], [], timeout if timeout is not None else self.interval)
            return
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
            try:
                while os.read(self.fd, 65536):
                    pass
            except (BlockingIOError, InterruptedError):
                pass
        if self._pending:
            self._add_pending()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
