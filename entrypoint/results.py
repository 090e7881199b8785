"""Results and the termination message: read `<results_dir>/<name>`, render Tekton's JSON list.

Tekton's termination message is a JSON list of `{"key", "value", "type"}`: type 1 for a task result,
type 3 for Tekton's own keys (`StartedAt` with millisecond precision, `ExitCode`, `Reason`).  Kubernetes
takes at most 4096 bytes of it; results that do not fit fail the step (`render` says so).  Of that the Pod's
status keeps only its share of 12 KiB (`layout.termination_share`: 2 KiB each for 6 containers, 409 B for 30),
cutting the JSON anywhere: a message over the share keeps, in name order, the results that fit and says in
`Message` which were left out (the step does not fail: its wrapper gave every result to the supervisor, and
its post file has them too).
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
           continued: bool = False, share: int = layout.TERMINATION_MESSAGE_LIMIT) -> Termination:
    """The termination message; without the results (and `fits=False`) when they would exceed the limit."""
    internal: list[Entry] = [{"key": "StartedAt", "value": tekton_time(started_at or time.time()), "type": INTERNAL}]
    if continued or exit_code != 0:
        internal.append({"key": "ExitCode", "value": str(exit_code), "type": INTERNAL})
    if reason not in ("Completed", "Error"):
        internal.append({"key": "Reason", "value": reason, "type": INTERNAL})
    entries: list[Entry] = [{"key": k, "value": v, "type": TASK_RESULT} for k, v in sorted(results.items())]
    text = json.dumps(entries + internal, separators=(",", ":"), ensure_ascii=False)  # UTF-8, as Go writes it
    size = len(text.encode())
    if size <= share:
        return Termination(text, True)
    if size <= layout.TERMINATION_MESSAGE_LIMIT:  # taken, but the Pod's status would cut it: what fits, valid
        budget = share - 160  # room for the note's beginning, at least
        kept = [e for e in entries if len(_dumps([e, *internal])) <= budget]
        while kept and len(_dumps(kept + internal)) > budget:
            kept.pop()
        left = sorted(set(results) - {e["key"] for e in kept})
        note = (f"results left out of this {size}-byte message, over the {share} bytes the Pod status keeps "
                f"of each container's: {', '.join(left)} (in full: doll ctl status, the step's post file)")
        return Termination(_fit(kept + internal, note, share), True)
    message = (f"results ({', '.join(sorted(results))}) make a termination message of {size} bytes, "
               f"over Kubernetes' limit of {layout.TERMINATION_MESSAGE_LIMIT}")
    internal = [e for e in internal if e["key"] != "ExitCode"]  # the step fails: with the child's own code
    code = exit_code or exits.EXIT_RESULTS_TOO_LARGE  # if it failed, else with "results too large"
    internal.append({"key": "ExitCode", "value": str(code), "type": INTERNAL})
    return Termination(_fit(internal, message[:1024], share), False, message)


def _dumps(entries: list[Entry]) -> bytes:
    return json.dumps(entries, separators=(",", ":"), ensure_ascii=False).encode()  # UTF-8, as Go writes it


def _fit(entries: list[Entry], note: str, share: int) -> str:
    """`entries` and a `Message` entry holding as much of `note` as fits in `share` bytes (none if nothing)."""
    while note:
        text = _dumps([*entries, {"key": "Message", "value": note, "type": INTERNAL}])
        if len(text) <= share:
            return text.decode()
        note = note[:max(0, len(note) - max(8, len(text) - share))]
    return _dumps(entries).decode()
