"""The wrapper's end of the supervisor's control socket: connect (waiting a bounded time), send, receive.

A missing socket is waited for up to `wait_seconds` (the supervisor may start after the step); a socket
that refuses (the supervisor was there and is gone) is retried for `reconnect_seconds`.  A path that can
never work (not a socket, too long, not reachable) raises `SocketPathError` at once.

The socket is `_socket.socket`, the C type the `socket` module's class wraps: this module needs only
connect, send and receive on one AF_UNIX stream, and importing `socket` (its Python class and the four
enums it builds from the C constants) costs about 2.5 ms of every start.  A `socket.socket` is one too.
"""

from __future__ import annotations

import errno
import os
import _socket
import stat
import sys
import time

from entrypoint import protocol

_RETRY_SECONDS = 0.01
_MAX_PATH_BYTES = 107  # sun_path is 108 bytes including the terminating NUL


class SocketPathError(Exception):
    """The socket path can never be connected to; main() maps it to EXIT_WRAPPER_ERROR."""


class Channel:
    """One connection to the supervisor, newline-delimited JSON both ways."""

    def __init__(self, sock: _socket.socket, path: str) -> None:
        self.sock = sock
        self.path = path
        self._buffer = b""
        self.closed = False

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, message: protocol.Message) -> bool:
        """Send one message; False when the supervisor has gone."""
        if self.closed:
            return False
        try:
            self.sock.sendall(protocol.encode(message))
            return True
        except OSError:
            self.close()
            return False

    def pending(self) -> protocol.Message | None:
        """A message already buffered, if any (no I/O)."""
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            if not line.strip():
                continue
            try:
                return protocol.decode(line)
            except protocol.ProtocolError as exc:
                print(f"entrypoint: dropped a message from the supervisor: {exc}", file=sys.stderr)
        return None

    def feed(self) -> bool:
        """Read what the socket has (one recv); False at EOF or on error (then the channel is closed)."""
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError, TimeoutError):
            return True
        except OSError:
            data = b""
        if not data:
            self.close()
            return False
        self._buffer += data
        if len(self._buffer) > protocol.MAX_MESSAGE_BYTES and b"\n" not in self._buffer:
            print("entrypoint: dropped an over-long message from the supervisor", file=sys.stderr)
            self._buffer = b""
        return True

    def receive(self, timeout: float | None = None) -> protocol.Message | None:
        """Block until one message arrives; None at EOF or after `timeout` seconds (check `closed`)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            message = self.pending()
            if message is not None:
                return message
            if self.closed:
                return None
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            # a blocking recv (bounded by the socket's timeout): when the message comes, it is the one wake-up
            self.sock.settimeout(left)
            try:
                self.feed()
            finally:
                if not self.closed:
                    self.sock.settimeout(None)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass


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
        time.sleep(_RETRY_SECONDS)
