"""The wrapper's way to the supervisor's control socket: connect, waiting a bounded time (`Channel` frames).

A missing socket is waited for up to `wait_seconds` (the supervisor may start after the step); a socket
that refuses (the supervisor was there and is gone) is retried for `reconnect_seconds`.  A path that can
never work (not a socket, too long, not reachable) raises `SocketPathError` at once.

The socket is `_socket.socket`, the C type the `socket` module's class wraps: importing `socket` (its Python
class and the four enums it builds from the C constants) costs about 2.5 ms of every start.
"""

from __future__ import annotations

import errno
import os
import _socket
import stat
import time

from contracts.channel import Channel
from contracts.errors import DollError

__all__ = ["Channel", "SocketPathError", "check_path", "connect"]

_RETRY_SECONDS = 0.01
_SLOW_RETRY_SECONDS = 0.1  # after a second of trying (a supervisor restarted after a back-off: minutes)
_MAX_PATH_BYTES = 107  # sun_path is 108 bytes including the terminating NUL


class SocketPathError(DollError):
    """The socket path can never be connected to; main() maps it to EXIT_WRAPPER_ERROR."""


def check_path(path: str) -> None:
    """Raise SocketPathError when `path` can never be a usable socket (a missing one is fine)."""
    if len(os.fsencode(path)) > _MAX_PATH_BYTES:
        raise SocketPathError(f"--socket: {path!r} is longer than {_MAX_PATH_BYTES} bytes")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise SocketPathError(f"--socket: {path!r}: {exc.strerror}") from None
    if not stat.S_ISSOCK(st.st_mode):
        raise SocketPathError(f"--socket: {path!r} exists and is not a socket")


def connect(path: str, wait_seconds: float, reconnect_seconds: float) -> Channel | None:
    """Connect to the supervisor; None when it does not appear in time or keeps refusing."""
    check_path(path)
    start = time.monotonic()
    refused_since: float | None = None
    while True:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return Channel(sock, path)
        except OSError as exc:
            sock.close()
            now = time.monotonic()
            if exc.errno in (errno.ECONNREFUSED, errno.EAGAIN):
                refused_since = now if refused_since is None else refused_since
                if now - refused_since >= reconnect_seconds:
                    return None
            elif exc.errno == errno.ENOENT:
                refused_since = None
                if now - start >= wait_seconds:
                    return None
            else:
                check_path(path)  # became a non-socket?
                raise SocketPathError(f"--socket: {path!r}: {exc.strerror}") from None
        time.sleep(_RETRY_SECONDS if time.monotonic() - start < 1.0 else _SLOW_RETRY_SECONDS)
