"""Results and the termination message: read `<results_dir>/<name>`, render Tekton's JSON list.

Tekton's termination message is a JSON list of `{"key", "value", "type"}`: type 1 for a task result,
type 3 for Tekton's own keys (`StartedAt` with millisecond precision, `ExitCode`, `Reason`).  Kubernetes
keeps at most 4096 bytes of it; results that do not fit fail the step (`render` says so).
"""

from __future__ import annotations

import json
import os
import stat
import time

from contracts import exits, layout

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:  # mypy sees typing and the standard decorator; at run time they cost milliseconds
    from dataclasses import dataclass
    from typing import TypedDict
else:
    from contracts.freezing import dataclass

TASK_RESULT = 1  # Tekton's TaskRunResultType
INTERNAL = 3  # Tekton's InternalTektonResultType


if TYPE_CHECKING:
    class Entry(TypedDict):
        key: str
        value: str
        type: int

__all__ = ["TASK_RESULT", "INTERNAL", "read", "tekton_time", "Termination", "render"]


def read(results_dir: str, names: tuple[str, ...], files: tuple[str, ...] = ()) -> tuple[dict[str, str], str]:
    """The declared results the step wrote, and what was wrong with any that cannot be read ("": nothing).
    `files` are `NAME=FILE` (a task result whose value is one of this step's results, Tekton's TaskResult
    `value: $(steps.<step>.results.<name>)`).  Missing ones are left out (the supervisor notices).  A result
    that is not a regular file (a directory, a FIFO: opened without blocking) or cannot be read is a problem
    that fails the step."""
    found: dict[str, str] = {}
    problems: list[str] = []
    paths = [(name, os.path.join(results_dir, name)) for name in names] if results_dir else []
    paths += [(pair.partition("=")[0], pair.partition("=")[2]) for pair in files]
    for name, path in paths:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        except OSError as exc:
            problems.append(f"result {name!r}: cannot be read: {exc.strerror}")
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                problems.append(f"result {name!r}: {path} is not a regular file")
                continue
            with open(fd, "rb", closefd=False) as f:
                found[name] = f.read().decode("utf-8", errors="replace")
        except OSError as exc:
            problems.append(f"result {name!r}: cannot be read: {exc.strerror}")
        finally:
            os.close(fd)
    return found, "; ".join(problems)


def tekton_time(unix: float) -> str:
    """Go's "2006-01-02T15:04:05.000Z07:00" in UTC: milliseconds, a literal Z."""
    whole = int(unix)
    millis = int(round((unix - whole) * 1000))
    if millis == 1000:
        whole, millis = whole + 1, 0
    t = time.gmtime(whole)  # not strftime: glibc's calls tzset(), which reads /etc/localtime the first time
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{millis:03d}Z"


@dataclass(frozen=True)
class Termination:
    """The termination message to write, and whether the results fitted in it."""

    text: str  # what to write to the termination path
    fits: bool  # False: results left out because they did not fit; the step must fail
    message: str = ""


def render(results: dict[str, str], started_at: float | None, exit_code: int, reason: str,
           continued: bool = False) -> Termination:
    """The termination message; without the results (and `fits=False`) when they would exceed the limit."""
    internal: list[Entry] = [{"key": "StartedAt", "value": tekton_time(started_at or time.time()), "type": INTERNAL}]
    if continued or exit_code != 0:
        internal.append({"key": "ExitCode", "value": str(exit_code), "type": INTERNAL})
    if reason not in ("Completed", "Error"):
        internal.append({"key": "Reason", "value": reason, "type": INTERNAL})
    entries: list[Entry] = [{"key": k, "value": v, "type": TASK_RESULT} for k, v in sorted(results.items())]
    text = json.dumps(entries + internal, separators=(",", ":"), ensure_ascii=False)  # UTF-8, as Go writes it
    if len(text.encode()) <= layout.TERMINATION_MESSAGE_LIMIT:
        return Termination(text, True)
    size = len(text.encode())
    message = (f"results ({', '.join(sorted(results))}) make a termination message of {size} bytes, "
               f"over Kubernetes' limit of {layout.TERMINATION_MESSAGE_LIMIT}")
    internal = [e for e in internal if e["key"] != "ExitCode"]  # the step fails: with the child's own code
    code = exit_code or exits.EXIT_RESULTS_TOO_LARGE  # if it failed, else with "results too large"
    internal.append({"key": "ExitCode", "value": str(code), "type": INTERNAL})
    internal.append({"key": "Message", "value": message[:1024], "type": INTERNAL})
    return Termination(json.dumps(internal, separators=(",", ":"), ensure_ascii=False), False, message)
