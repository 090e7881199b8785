"""Recording how a step ended: exitCode in the step dir, the termination message, the post file.

The post file is written last and atomically (write a temporary name, rename), because it is what the
next step waits for in file mode: `<post_file>` when the run may go on, `<post_file>.err` when the failure
cascades.  Its content is the record as one JSON object (so `--wait-file-content` works on it too).
"""

from __future__ import annotations

import os

from contracts import layout
from contracts.records import StepRecord, post_json

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:  # mypy sees typing; at run time it costs milliseconds
    from typing import Protocol
else:
    Protocol = object  # the protocols are for mypy: plain classes at run time

__all__ = ["PostWriter", "write_atomically", "FileRecorder"]


class PostWriter(Protocol):
    def write(self, record: StepRecord, early: bool = False) -> None:
        """Make the record durable where the supervisor, the next step and Kubernetes look.

        early=True writes only what must exist before the supervisor hears of the exit (it may release the
        next step at once): the exitCode.  The full write (termination message, exitCode, post file) follows.
        """


def write_atomically(path: str, data: bytes) -> None:
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        try:  # a full volume: leave no half-written temporary behind (contextlib is not imported at start)
            os.unlink(tmp)
        except OSError:
            pass
        raise


class FileRecorder:
    def __init__(self, step_dir: str, termination_path: str, post_file: str) -> None:
        self.step_dir = step_dir
        self.termination_path = termination_path
        self.post_file = post_file

    def write(self, record: StepRecord, early: bool = False) -> None:
        """Write everything it can; raise the first OSError at the end (after trying the rest)."""
        errors: list[OSError] = []
        writes: list[tuple[str, bytes]] = []
        if self.step_dir:
            writes.append((os.path.join(self.step_dir, layout.EXIT_CODE_FILE), str(record.exit_code).encode()))
        full = not early
        if self.termination_path and full:  # in place: it is usually a file Kubernetes mounted (no rename over it)
            try:
                os.makedirs(os.path.dirname(self.termination_path) or ".", exist_ok=True)
                with open(self.termination_path, "wb") as f:
                    f.write(record.termination.encode())
            except OSError as exc:
                errors.append(exc)
        if self.post_file and full:
            post_path = self.post_file + (layout.FAILED_SUFFIX if record.failed else "")
            writes.append((post_path, post_json(record)))
        for path, content in writes:
            try:
                write_atomically(path, content)
            except OSError as exc:
                errors.append(exc)
        if self.post_file and full:  # after a hold's verdict only the post file that is true is left
            stale = self.post_file + ("" if record.failed else layout.FAILED_SUFFIX)
            try:
                os.unlink(stale)
            except FileNotFoundError:
                pass
            except OSError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]
