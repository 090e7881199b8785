"""Following podman's k8s-file container logs from the host, without a `podman logs -f` per container.

Each line of a k8s-file log is `<RFC 3339 time> <stdout|stderr> <P|F> <text>`: P marks a partial line
(the text continues on the stream's next record), F a full one.  The two streams share the file, so a
stdout line left partial can be followed by stderr records before its own F record: each stream keeps
its own unfinished line.

Linear time, bounded memory: the file is read at most READ_BYTES per call (`behind` says there is more),
an unfinished line's pieces are kept in a list and joined once, and a line longer than MAX_LINE_CHARS is
shown in pieces of that size (conmon writes a long line as 8 KiB P records: one 100 MB line is 12,800 of
them, and joining them as they came was quadratic).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["LogTail", "MAX_LINE_CHARS", "READ_BYTES", "sortable"]

READ_BYTES = 1 << 20  # read at most this much of a log file per call
MAX_LINE_CHARS = 1 << 20  # a longer line is shown in pieces of this size


def sortable(stamp: str) -> str:
    """An RFC 3339 time whose fraction Go trimmed (`.1677+00:00`) padded to 9 digits, so times sort as text."""
    head, dot, rest = stamp.partition(".")
    if not dot:
        return stamp
    digits = len(rest) - len(rest.lstrip("0123456789"))
    return f"{head}.{rest[:digits].ljust(9, '0')}{rest[digits:]}"


@dataclass
class _Unfinished:
    """One stream's line so far: its decoded pieces (a P record may end inside a UTF-8 character)."""

    decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace"))
    pieces: list[str] = field(default_factory=list)
    size: int = 0
    shown: bool = False  # a first piece of it was shown already (it was over MAX_LINE_CHARS)

    def adding(self, data: bytes, final: bool = False) -> None:
        text = self.decoder.decode(data, final)
        if text:
            self.pieces.append(text)
            self.size += len(text)

    def taking(self) -> str:
        text = "".join(self.pieces)
        self.pieces, self.size = [], 0
        return text


@dataclass
class LogTail:
    label: str  # what each line is prefixed with: the step or sidecar name
    path: Path
    offset: int = 0
    partials: dict[str, _Unfinished] = field(default_factory=dict)  # stream -> its line waiting for its F record
    buffer: list[bytes] = field(default_factory=list, repr=False)  # an incomplete record, in pieces
    behind: bool = False  # the last call stopped at READ_BYTES: there is more to read now

    def reading(self) -> list[tuple[str, str]]:
        """The complete lines written since the last call (at most READ_BYTES of the file), each with its
        RFC 3339 time."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read(READ_BYTES)
        except OSError:
            return []
        self.offset += len(chunk)
        self.behind = len(chunk) == READ_BYTES
        records = chunk.split(b"\n")
        last = records.pop()  # an incomplete record, finished by a later write
        if records and self.buffer:
            records[0] = b"".join([*self.buffer, records[0]])
            self.buffer = []
        if last:
            self.buffer.append(last)
        lines: list[tuple[str, str]] = []
        for record in records:
            self._taking_record(record, lines)
        return lines

    def _taking_record(self, record: bytes, lines: list[tuple[str, str]]) -> None:
        parts = record.split(b" ", 3)
        if len(parts) < 3:
            return
        at, stream = sortable(parts[0].decode("ascii", errors="replace")), parts[1].decode("ascii", errors="replace")
        line = self.partials.setdefault(stream, _Unfinished())
        line.adding(parts[3] if len(parts) == 4 else b"", final=parts[2] != b"P")
        if parts[2] != b"P":
            text = self.partials.pop(stream).taking()
            if text or not line.shown:
                lines.append((at, text))
        elif line.size >= MAX_LINE_CHARS:
            lines.append((at, line.taking()))
            line.shown = True

    def flushing(self) -> list[tuple[str, str]]:
        """Once the container has exited: the next lines, and when the file is read to its end (not
        `behind`), the output that never ended with a newline."""
        lines = self.reading()
        if self.behind:
            return lines
        for stream in list(self.partials):  # in the order the streams began their unfinished lines
            line = self.partials.pop(stream)
            line.adding(b"", final=True)
            lines.append(("9999", line.taking()))  # sorts after every time
        return lines
