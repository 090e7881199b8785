"""The durable journal: append-only JSON lines in `<run_dir>/journal.jsonl`, one write per record.

Every record is written at once, before anyone acts on it, so a supervisor killed at any moment loses
nothing: the page cache outlives the process, and a restarted supervisor (the kubelet restarts a native
sidecar) reads it all.  There is no fsync: it would only guard against the node itself crashing, which
ends the Pod anyway (restartPolicy Never), and it cost a disk flush per hand-off (~0.2 ms here, several
ms on network-attached node disks) on the critical path between two steps.

A supervisor killed at any moment leaves at worst one torn last line; `Journal.open` drops it (and
truncates the file back to the last full line so later appends stay one record per line) and returns the
records before it, which the caller replays through `RunState.apply`.  A line that is not a valid record
(contracts.journal.parse_record) is skipped with a warning: one bad line never stops every restart.
"""

from __future__ import annotations

import contextlib
import json
import os

from contracts.errors import DollError, InputError
from contracts.journal import JournalRecord, parse_record
from typing import Protocol

from supervisor.logs import Log

__all__ = ["Journal", "JournalError", "RecordSink"]


class RecordSink(Protocol):
    """Where the Runner writes its records (the `Journal`; a list in a test)."""

    def append(self, rec: JournalRecord) -> None: ...


class JournalError(DollError, OSError):
    """The journal cannot be read or written; main() maps it to the supervisor's error exit code."""


class Journal:
    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self._fd = fd

    @classmethod
    def open(cls, path: str, log: Log | None = None) -> tuple[Journal, list[JournalRecord]]:
        """Open (creating) the journal; return it with the (valid) records already in it."""
        records: list[JournalRecord] = []
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
            with open(fd, "rb", closefd=False) as f:
                data = f.read()
        except OSError as exc:
            raise JournalError(f"journal {path}: {exc.strerror or exc}") from None
        good = data.rfind(b"\n") + 1  # everything after the last newline is a torn write
        for number, line in enumerate(data[:good].splitlines(), 1):
            try:
                records.append(parse_record(json.loads(line)))
            except (ValueError, InputError) as exc:  # never fatal: skipped, and said
                (log or Log()).warning("journal_record_skipped", path=path, line=number, error=str(exc))
        if good != len(data):
            os.ftruncate(fd, good)
        return cls(path, fd), records

    def append(self, rec: JournalRecord) -> None:
        """Append one record (one write: a killed process leaves it whole or, at worst, torn at the end)."""
        line = json.dumps(rec, separators=(",", ":"), sort_keys=True).encode() + b"\n"
        try:
            written = os.write(self._fd, line)
        except OSError as exc:
            raise JournalError(f"journal {self.path}: {exc.strerror or exc}") from None
        if written != len(line):  # a full disk: take the torn part back, so that no later record is glued to it
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, os.lseek(self._fd, 0, os.SEEK_END) - written)
            raise JournalError(f"journal {self.path}: short write ({written} of {len(line)} bytes)")

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
