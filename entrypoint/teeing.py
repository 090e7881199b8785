"""Teeing the child's output: its stdout / stderr go through pipes, copied to the wrapper's own and to files.

The runner's loop calls `readable` and `writable` as its selector reports the pipes and the targets, and
the copy never blocks that loop: a target that cannot take more now (the wrapper's own stdout is a pipe
whose reader stopped draining it) keeps what it could not take and is watched for room; while it holds
more than HIGH_WATER bytes its source pipe is not read, so the child blocks on its own writes, as it would
without a tee.  Timeouts, forwarded signals and `stop` keep working whatever the readers do.  Regular files
(the tee files, a stdout redirected to a file) are written straight away: a disk does not stall for ever.
"""

from __future__ import annotations

import os
import select
import selectors
import stat
import time

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:  # mypy sees typing and the standard decorator; at run time they cost milliseconds
    from collections.abc import Callable
    from dataclasses import dataclass
else:
    from contracts.freezing import dataclass

__all__ = ["HIGH_WATER", "Tee", "Tees"]

HIGH_WATER = 1 << 16  # bytes a target may hold back before its source pipe stops being read
_CHUNK = select.PIPE_BUF  # at most this much per write to a pipe that polled writable: never blocks
_DRAIN_SECONDS = 1.0


@dataclass
class Tee:
    """Files the child's stdout / stderr are copied to (besides the wrapper's own)."""

    stdout_path: str = ""
    stderr_path: str = ""


class Tees:
    """The pipes of one run: made by `prepare`, files opened by `open`, copied by the loop, `close`d."""

    def __init__(self, tee: Tee) -> None:
        self.tee = tee
        self.ends: dict[int, int] = {}  # 1 / 2 -> the pipe's write end: the child's stdout / stderr
        self._sel: selectors.BaseSelector | None = None
        self._targets: dict[int, list[int]] = {}  # pipe read end -> fds to copy to (1 or 2, then the file)
        self._paths: dict[int, str] = {}  # pipe read end -> the tee file's path
        self._files: list[int] = []  # the tee files' fds
        self._pending: dict[int, bytearray] = {}  # target -> what it could not take yet
        self._regular: set[int] = set()  # targets that are regular files: written at once
        self._paused: set[int] = set()  # read ends not read while a target of theirs is full

    def prepare(self, sel: selectors.BaseSelector) -> None:
        """The pipes now; the files themselves only if the child runs (a skipped step leaves none)."""
        self._sel = sel
        for stream, path in ((1, self.tee.stdout_path), (2, self.tee.stderr_path)):
            if path:
                r, w = os.pipe()
                os.set_blocking(r, False)
                self._targets[r] = [stream]
                self._paths[r] = path
                self.ends[stream] = w
                sel.register(r, selectors.EVENT_READ, "output")

    def open(self) -> str:
        """Open the tee files (appending); what went wrong, if anything."""
        for r, path in self._paths.items():
            try:
                os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
                # without blocking: a FIFO nobody reads is refused (ENXIO) instead of hanging the step
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC, 0o666)
            except OSError as exc:
                flag = "--stdout-path" if self._targets[r][0] == 1 else "--stderr-path"
                return f"{flag}: cannot open {path!r}: {exc.strerror}"
            os.set_blocking(fd, True)
            self._files.append(fd)
            self._targets[r].append(fd)
        for targets in self._targets.values():
            for fd in targets:
                self._pending[fd] = bytearray()
                try:
                    if stat.S_ISREG(os.fstat(fd).st_mode):
                        self._regular.add(fd)
                except OSError:
                    pass
        return ""

    def spawned(self) -> None:
        """The child has the write ends now: close ours, so the pipes reach EOF when it (and its own) are done."""
        for fd in self.ends.values():
            os.close(fd)
        self.ends = {}

    def readable(self, source: int, pause: bool = True) -> bool:
        """Copy what the pipe has to its targets; False at EOF (the pipe is no longer watched)."""
        assert self._sel is not None
        try:
            data = os.read(source, 65536)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            data = b""
        if not data:
            self._sel.unregister(source)
            return False
        for target in self._targets[source]:
            self._pending[target] += data
            self._flush(target)
        if pause and any(len(self._pending[t]) > HIGH_WATER for t in self._targets[source]):
            self._sel.unregister(source)
            self._paused.add(source)
        return True

    def writable(self, target: int) -> None:
        """A target that was full has room: give it what it holds; read its sources again once it is empty."""
        self._flush(target)
        if self._pending[target]:
            return
        for source in list(self._paused):
            if all(not self._pending[t] for t in self._targets[source]):
                self._paused.discard(source)
                assert self._sel is not None
                self._sel.register(source, selectors.EVENT_READ, "output")

    def _flush(self, target: int) -> None:
        pending = self._pending[target]
        try:
            while pending:
                if target not in self._regular and not _room(target):
                    break
                n = os.write(target, pending if target in self._regular else pending[:_CHUNK])
                del pending[:n]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:  # the reader is gone (EPIPE), the disk is full: what it cannot take is dropped
            pending.clear()
        self._watch(target, bool(pending))

    def _watch(self, target: int, wanted: bool) -> None:
        assert self._sel is not None
        watched = target in self._sel.get_map()
        if wanted and not watched:
            self._sel.register(target, selectors.EVENT_WRITE, "room")
        elif watched and not wanted:
            self._sel.unregister(target)

    def drain(self, other: Callable[[selectors.SelectorKey], object]) -> int:
        """After the child: copy what is left, for at most a second (a stray holder of a pipe or a stalled
        reader cannot hang us); `other` gets the selector's other keys meanwhile.  The number of bytes left
        undelivered."""
        sel = self._sel
        assert sel is not None
        deadline = time.monotonic() + _DRAIN_SECONDS
        for source in self._paused:  # the child is gone: what its pipes still hold is read to the end
            sel.register(source, selectors.EVENT_READ, "output")
        self._paused = set()
        while time.monotonic() < deadline and any(k.data in ("output", "room") for k in sel.get_map().values()):
            for key, _ in sel.select(deadline - time.monotonic()):
                if key.data == "output":
                    self.readable(key.fd, pause=False)
                elif key.data == "room":
                    self._flush(key.fd)
                else:
                    other(key)
        return sum(len(p) for p in self._pending.values())

    def close(self) -> None:
        """Close the pipes and the files (again: a no-op)."""
        sel = self._sel
        for fd in (*self._targets, *self.ends.values(), *self._files):
            if sel is not None and fd in sel.get_map():
                sel.unregister(fd)
            os.close(fd)
        if sel is not None:
            for fd in (1, 2):
                if fd in sel.get_map():
                    sel.unregister(fd)
        self._targets, self._paths, self.ends, self._files = {}, {}, {}, []
        self._pending, self._paused = {}, set()


def _room(fd: int) -> bool:
    """Whether a pipe, socket or terminal can take a write of up to PIPE_BUF bytes without blocking."""
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return bool(poller.poll(0))
