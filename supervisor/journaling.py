"""The durable journal: append-only JSON lines in `<run_dir>/journal.jsonl`, fsync'd at each decision.

Every record is written at once (so a killed process loses nothing: the page cache outlives it); decisions
(released, skipped, held, finished, cancel, ...) are also fsync'd before anyone acts on them, while
observations (a hello, a start time, a sidecar's readiness) ride on the next fsync.

A supervisor killed at any moment leaves at worst one torn last line; `Journal.open` drops it (and
truncates the file back to the last full line so later appends stay one record per line) and returns the
records before it, which the caller replays through `RunState.apply`.
"""

from __future__ import annotations

import json
import os
from typing import Any

from supervisor.states import Record


class JournalError(OSError):
    """The journal cannot be read or written; main() maps it to the supervisor's error exit code."""


class Journal:
    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self._fd = fd
        self._dirty = False

    @classmethod
    def open(cls, path: str) -> tuple[Journal, list[Record]]:
        """Open (creating) the journal; return it with the records already in it."""
        records: list[Record] = []
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
            with open(fd, "rb", closefd=False) as f:
                data = f.read()
        except OSError as exc:
            raise JournalError(f"journal {path}: {exc.strerror or exc}") from None
        good = data.rfind(b"\n") + 1  # everything after the last newline is a torn write
        for line in data[:good].splitlines():
            try:
                rec: Any = json.loads(line)
            except ValueError:
                continue  # cannot happen with whole lines we wrote; never fatal
            if isinstance(rec, dict) and isinstance(rec.get("ev"), str):
                records.append(rec)
        if good != len(data):
            os.ftruncate(fd, good)
            os.fsync(fd)
        return cls(path, fd), records

    def append(self, rec: Record, sync: bool = True) -> None:
        """Append one record; durable on return unless `sync=False` (then `sync()` before acting on it)."""
        line = json.dumps(rec, separators=(",", ":"), sort_keys=True).encode() + b"\n"
        try:
            os.write(self._fd, line)
        except OSError as exc:
            raise JournalError(f"journal {self.path}: {exc.strerror or exc}") from None
        self._dirty = True
        if sync:
            self.sync()

    def sync(self) -> None:
        if self._dirty:
            try:
                os.fsync(self._fd)
            except OSError as exc:
                raise JournalError(f"journal {self.path}: {exc.strerror or exc}") from None
            self._dirty = False

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
