"""Following podman's k8s-file container logs from the host, without a `podman logs -f` per container.

Each line of a k8s-file log is `<RFC 3339 time> <stdout|stderr> <P|F> <text>`: P marks a partial line
(the text continues on the next record), F a full one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


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
    partial: str = ""  # text of P records, waiting for its F record
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
            if parts[2] == "P":
                self.partial += text
                continue
            lines.append((sortable(parts[0]), self.partial + text))
            self.partial = ""
        return lines

    def flushing(self) -> list[tuple[str, str]]:
        """What is left once the container has exited: output that never ended with a newline."""
        lines = self.reading()
        if self.partial:
            lines.append(("9999", self.partial))  # sorts after every time
            self.partial = ""
        return lines
