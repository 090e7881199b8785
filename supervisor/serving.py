"""The control socket: newline-delimited JSON (contracts.wire) on `<run_dir>/control.sock`.

The socket is mode 0660 and belongs to the run directory's group (the Pod's fsGroup), so only the Pod's
own user or group can talk to it.  Each connection's first message must be a `hello` naming a known
step or sidecar, or a `ctl` request; anything else, a line that is not a message, an oversized line, or
a connection that says nothing for `hello_timeout` seconds (half-open) is logged and the connection
dropped.  After the hello, a bad line is logged and skipped; the conversation goes on.
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
from supervisor.logs import Log

__all__ = ["Connection", "ControlServer", "Handler", "HELLO_TIMEOUT"]

HELLO_TIMEOUT = 10.0


class Connection:
    """One peer; `send` never blocks the caller (messages are small and the peer reads them)."""

    _ids = itertools.count(1)

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.id = next(self._ids)
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
    def knows(self, hello: Hello) -> bool: ...
    def on_message(self, conn: Connection, message: Message) -> None: ...
    def on_closed(self, conn: Connection) -> None: ...


class ControlServer:
    def __init__(self, path: str, handler: Handler, log: Log, hello_timeout: float = HELLO_TIMEOUT) -> None:
        self.path = path
        self._handler = handler
        self._log = log
        self._hello_timeout = hello_timeout
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.dropped: dict[str, int] = {}  # why -> count, for the metrics

    async def start(self) -> None:
        """Bind under a temporary name, set mode and group, listen, then rename into place: the socket
        never appears with looser permissions, and it accepts as soon as it appears."""
        tmp = f"{self.path}.{os.getpid()}.tmp"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            sock.bind(tmp)
            os.chmod(tmp, 0o660)
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
        self.dropped[why] = self.dropped.get(why, 0) + 1
        self._log.warning("connection_dropped", why=why, detail=detail, conn=conn.id, peer=conn.name)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        conn = Connection(writer)
        task.set_name(f"control-conn-{conn.id}")
        self._tasks.add(task)
        try:
            await self._converse(conn, reader)
        except Exception as exc:  # the handler failed (the journal cannot be written): the loop's exception
            asyncio.get_running_loop().call_exception_handler(  # handler decides; supervise() ends the run
                {"message": f"control connection {conn.id} ({conn.name or 'no hello'}) failed", "exception": exc})
        finally:
            self._tasks.discard(task)
            if conn.kind:
                self._handler.on_closed(conn)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _converse(self, conn: Connection, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                if conn.kind:
                    line = await reader.readuntil(b"\n")
                else:
                    line = await asyncio.wait_for(reader.readuntil(b"\n"), self._hello_timeout)
            except asyncio.IncompleteReadError as exc:
                if exc.partial.strip():
                    self._drop(conn, "truncated", f"{len(exc.partial)} bytes without a newline before EOF")
                return
            except asyncio.LimitOverrunError:
                self._drop(conn, "oversized", f"a line over {wire.MAX_MESSAGE_BYTES} bytes")
                return
            except TimeoutError:
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
                    if not self._handler.knows(message):
                        self._drop(conn, "unknown", f"{message.kind} {message.name!r} is not in the plan")
                        return
                    conn.kind, conn.name = message.kind, message.name
                elif isinstance(message, Ctl):
                    conn.kind, conn.name = "ctl", "ctl"
                else:
                    self._drop(conn, "no-hello", f"first message is {message.op!r}, not hello")
                    return
            self._handler.on_message(conn, message)
