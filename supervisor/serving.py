"""The control sockets: newline-delimited JSON (contracts.wire), one listener per socket.

The admin socket, `<run_dir>/control.sock`, is mode 0660 and belongs to the run directory's group; it is
mounted in the supervisor's container only, so what reaches it may do everything.  Each step and sidecar has
its own channel, `<channels_dir>/<kind>-<name>/control.sock` (mode 0666: the container's wrapper connects
whatever uid it runs as), mounted in that container only; its listener's `owner` is that container, and a
hello there must be the owner's own (`gate.py` decides what else it may say).
Each connection's first message must be a `hello` the handler admits, or a `ctl` request; anything else, a
line that is not a message, an oversized line, or a connection that says nothing for `hello_timeout` seconds
(half-open; a `ctl` peer idle that long too) is dropped and counted (`drops.Drops`, which logs without
flooding).  After the hello, a bad line is counted and skipped; the conversation goes on.  Connections are
bounded per listener and in all (`drops.Limits`); one over the bound is closed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
from typing import Protocol

from contracts import wire
from contracts.wire import Ctl, Hello, Message, ProtocolError
from supervisor.drops import ADMIN_LIMIT, Drops, Limits
from supervisor.logs import Log

__all__ = ["ACCEPT_TROUBLE", "Connection", "ControlServer", "Handler", "HELLO_TIMEOUT", "Owner"]

HELLO_TIMEOUT = 10.0
ACCEPT_TROUBLE = "socket.accept() out of system resource"  # asyncio's context message (EMFILE, ENFILE, ...)
Owner = tuple[str, str]  # (kind, name) of the container whose channel a listener is


class Connection:
    """One peer; `send` never blocks the caller (messages are small and the peer reads them)."""

    _ids = itertools.count(1)

    def __init__(self, writer: asyncio.StreamWriter, owner: Owner | None = None) -> None:
        self.id = next(self._ids)
        self.owner = owner  # the container whose channel this came on; None: the admin socket
        self.kind = ""  # step | sidecar | ctl, once it said hello
        self.name = ""
        self._writer = writer

    @property
    def closed(self) -> bool:
        return self._writer.is_closing()

    def send(self, message: Message) -> None:
        if not self._writer.is_closing():
            self._writer.write(wire.encode(message))

    def close(self) -> None:
        self._writer.close()


class Handler(Protocol):
    def admit(self, conn: Connection, hello: Hello) -> tuple[str, str] | None:
        """None: the hello is accepted; else (why, detail): the connection is refused."""
    def on_message(self, conn: Connection, message: Message) -> None: ...
    def on_closed(self, conn: Connection) -> None: ...


class ControlServer:
    def __init__(self, path: str, handler: Handler, log: Log, hello_timeout: float = HELLO_TIMEOUT, *,
                 owner: Owner | None = None, drops: Drops | None = None, limits: Limits | None = None,
                 per_listener: int = ADMIN_LIMIT) -> None:
        self.path = path
        self.owner = owner
        self._handler = handler
        self._hello_timeout = hello_timeout
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.drops = drops if drops is not None else Drops(log)
        self.dropped = self.drops.counts  # why -> count, for the metrics
        self._limits = limits if limits is not None else Limits(1 << 16)
        self._per_listener = per_listener

    async def start(self) -> None:
        """Bind under a temporary name, set mode and group, listen, then rename into place: the socket
        never appears with looser permissions, and it accepts as soon as it appears."""
        tmp = f"{self.path}.{os.getpid()}.tmp"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            sock.bind(tmp)
            os.chmod(tmp, 0o660 if self.owner is None else 0o666)  # a channel: its container's wrapper, any uid
            with contextlib.suppress(OSError):  # not ours to give away: keep the default group
                os.chown(tmp, -1, os.stat(os.path.dirname(self.path) or ".").st_gid)
            sock.listen(128)
            self._server = await asyncio.start_unix_server(self._serve, sock=sock,
                                                           limit=wire.MAX_MESSAGE_BYTES + 1)
            os.replace(tmp, self.path)  # also replaces a socket left by a killed supervisor
        except BaseException:
            sock.close()
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def _drop(self, conn: Connection, why: str, detail: str) -> None:
        self.drops.drop(why, detail, conn=conn.id, peer=conn.name, socket=self.path)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        conn = Connection(writer, self.owner)
        if len(self._tasks) >= self._per_listener or self._limits.full():
            self._drop(conn, "too-many", f"{len(self._tasks)} connections open here, {self._limits.open} in all")
            writer.close()
            return
        task.set_name(f"control-conn-{conn.id}")
        self._tasks.add(task)
        self._limits.open += 1
        try:
            await self._converse(conn, reader)
        except asyncio.CancelledError:  # the server is closing: end quietly (asyncio 3.11 would log a
            pass                        # traceback for a cancelled connection task)
        except Exception as exc:  # the handler failed (the journal cannot be written): the loop's exception
            asyncio.get_running_loop().call_exception_handler(  # handler decides; supervise() ends the run
                {"message": f"control connection {conn.id} ({conn.name or 'no hello'}) failed", "exception": exc})
        finally:
            self._tasks.discard(task)
            self._limits.open -= 1
            if conn.kind:
                self._handler.on_closed(conn)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _converse(self, conn: Connection, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                if conn.kind in ("step", "sidecar"):
                    line = await reader.readuntil(b"\n")
                else:  # before the hello, and a ctl peer between requests
                    line = await asyncio.wait_for(reader.readuntil(b"\n"), self._hello_timeout)
            except asyncio.IncompleteReadError as exc:
                if exc.partial.strip():
                    self._drop(conn, "truncated", f"{len(exc.partial)} bytes without a newline before EOF")
                return
            except asyncio.LimitOverrunError:
                self._drop(conn, "oversized", f"a line over {wire.MAX_MESSAGE_BYTES} bytes")
                return
            except TimeoutError:
                if conn.kind:
                    self._drop(conn, "idle", f"no request within {self._hello_timeout}s")
                else:
                    self._drop(conn, "half-open", f"no hello within {self._hello_timeout}s")
                return
            except ConnectionError as exc:
                self._drop(conn, "reset", str(exc))
                return
            try:
                message = wire.decode(line)
            except ProtocolError as exc:
                self._drop(conn, "garbage", str(exc))
                if not conn.kind:
                    return
                continue
            if not conn.kind:
                if isinstance(message, Hello):
                    refused = self._handler.admit(conn, message)
                    if refused is not None:
                        self._drop(conn, *refused)
                        return
                    conn.kind, conn.name = message.kind, message.name
                elif isinstance(message, Ctl):
                    conn.kind, conn.name = "ctl", "ctl"
                else:
                    self._drop(conn, "no-hello", f"first message is {message.op!r}, not hello")
                    return
            self._handler.on_message(conn, message)
