"""Following podman's k8s-file container logs from the host, without a `podman logs -f` per container.

Each line of a k8s-file log is `<RFC 3339 time> <stdout|stderr> <P|F> <text>`: P marks a partial line
(the text continues on the stream's next record), F a full one.  The two streams share the file, so a
stdout line left partial can be followed by stderr records before its own F record: each stream keeps
its own unfinished line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["LogTail", "sortable"]


def sortable(stamp: str) -> str:
    """An RFC 3339 time whose fraction Go trimmed (`.1677+00:00`) padded to 9 digits, so times sort as text."""
    head, dot, rest = stamp.partition(".")
    if not dot:
        return stamp
    digits = len(rest) - len(rest.lstrip("0123456789"))
    return f"{head}.{rest[:digits].ljust(9, '0')}{rest[digits:]}"


@dataclass
class LogTail:
    label: str  # what each line is prefixed with: the step or sidecar name
    path: Path
    offset: int = 0
    partials: dict[str, str] = field(default_factory=dict)  # stream -> text of its P records, waiting for its F record
    buffer: bytes = field(default=b"", repr=False)

    def reading(self) -> list[tuple[str, str]]:
        """The complete lines written since the last call, each with its RFC 3339 time."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except OSError:
            return []
        self.offset += len(chunk)
        data = self.buffer + chunk
        records = data.split(b"\n")
        self.buffer = records.pop()  # an incomplete record, finished by a later write
        lines: list[tuple[str, str]] = []
        for record in records:
            parts = record.decode("utf-8", errors="replace").split(" ", 3)
            if len(parts) < 3:
                continue
            text = parts[3] if len(parts) == 4 else ""
            stream = parts[1]
            if parts[2] == "P":
                self.partials[stream] = self.partials.get(stream, "") + text
                continue
            lines.append((sortable(parts[0]), self.partials.pop(stream, "") + text))
        return lines

    def flushing(self) -> list[tuple[str, str]]:
        """What is left once the container has exited: output that never ended with a newline."""
        lines = self.reading()
        for stream in list(self.partials):  # in the order the streams began their unfinished lines
            lines.append(("9999", self.partials.pop(stream)))  # sorts after every time
        return lines
