"""The framing of the wire protocol on a blocking unix socket: one message per line, both ways.

The wrapper and the command-line clients (`entrypoint debug`, `doll ctl`) speak through a `Channel`; the
supervisor's asyncio server frames the same lines with `wire.encode` / `wire.decode`.  The socket is
`_socket.socket`, the C type the `socket` module's class wraps (importing `socket` costs ~2.5 ms of every
wrapper start); a `socket.socket` is one too.  Standard library only: the wrapper imports this module.
"""

from __future__ import annotations

import _socket
import sys
import time

from contracts import wire

__all__ = ["Channel"]


class Channel:
    """One connection to the supervisor, newline-delimited JSON both ways."""

    def __init__(self, sock: _socket.socket, path: str, who: str = "entrypoint") -> None:
        self.sock = sock
        self.path = path
        self.who = who  # the prefix of what it logs: the process it speaks for
        self._buffer = b""
        self.closed = False

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, message: wire.Message) -> bool:
        """Send one message; False when the supervisor has gone."""
        if self.closed:
            return False
        try:
            self.sock.sendall(wire.encode(message))
            return True
        except OSError:
            self.close()
            return False

    def pending(self) -> wire.Message | None:
        """A message already buffered, if any (no I/O)."""
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            if not line.strip():
                continue
            try:
                return wire.decode(line)
            except wire.ProtocolError as exc:
                print(f"{self.who}: dropped a message from the supervisor: {exc}", file=sys.stderr)
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
        if len(self._buffer) > wire.MAX_MESSAGE_BYTES and b"\n" not in self._buffer:
            print(f"{self.who}: dropped an over-long message from the supervisor", file=sys.stderr)
            self._buffer = b""
        return True

    def receive(self, timeout: float | None = None) -> wire.Message | None:
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
