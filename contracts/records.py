"""The step's record, defined once: what the wrapper writes when its step ends and everyone else reads.

`<steps dir>/step-<name>/out` (or `out.err` when the failure cascades) holds `StepRecord` as one JSON object;
`exitCode` beside it holds the exit code alone (written first: the next step may read it at once).  The
supervisor reads post files to learn what happened while it could not hear a wrapper, and `doll run` to judge
a run whose supervisor died.  A step may lie about itself, so a post file is validated field by field: what
is not of its type is dropped, never trusted.  Standard library only: the wrapper imports this module.
"""

from __future__ import annotations

import json
import math
import os

from contracts import layout

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:  # mypy sees typing and the standard decorator; at run time they cost milliseconds
    from dataclasses import dataclass, field

    from contracts.journal import StepReport
else:
    from contracts.freezing import dataclass, field

__all__ = ["StepRecord", "read_post", "read_exit_code", "post_json", "report_of"]

_REASONS = ("Completed", "Error", "Skipped", "TimeoutExceeded", "Cancelled")
_MAX_TIME = 1e11  # unix seconds past year 5000: not a time (a 401-digit number must not reach the journal)


@dataclass(frozen=True)
class StepRecord:
    """The step's outcome as recorded in the post file, exitCode and termination message."""

    name: str
    exit_code: int  # the step's own code (the child's, or the wrapper's EXIT_*)
    reason: str
    started_at: float | None
    finished_at: float
    failed: bool  # True: `.err` (the next steps are skipped); onError continue records False
    results: dict[str, str] = field(default_factory=dict)
    message: str = ""
    termination: str = ""  # the rendered termination message (not in the post file)


def post_json(record: StepRecord) -> bytes:
    """The post file's content: the record without its termination message, one JSON line."""
    fields = dict(record.__dict__)  # the fields in order (dataclasses.asdict, without importing it)
    fields.pop("termination")
    return json.dumps(fields, separators=(",", ":")).encode() + b"\n"


def report_of(record: StepRecord) -> StepReport:
    """A post file's record as the report a wrapper would have sent (the supervisor's journal's shape)."""
    return {"exit_code": record.exit_code, "reason": record.reason, "started_at": record.started_at,
            "finished_at": record.finished_at or None, "results": dict(record.results), "message": record.message}


def read_exit_code(step_dir: str) -> int | None:
    """The step's `exitCode` file, if it holds an integer."""
    try:
        with open(os.path.join(step_dir, layout.EXIT_CODE_FILE)) as f:
            text = f.read(32).strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.lstrip("-").isdigit() and len(text) < 12 else None


def read_post(steps_dir: str, name: str) -> StepRecord | None:
    """The step's recorded end, or None if it has not ended (as far as its files say)."""
    base = layout.post_file(steps_dir, name)
    for path, failed in ((base, False), (base + layout.FAILED_SUFFIX, True)):
        try:
            with open(path, "rb") as f:
                raw = f.read(1 << 20)
        except OSError:
            continue
        try:
            data = json.loads(raw) if raw.strip() else {}
        except (ValueError, RecursionError):
            data = {}
        return _from_post(data if isinstance(data, dict) else {}, name, failed, os.path.dirname(base))
    return None


def _from_post(data: dict[str, object], name: str, failed: bool, step_dir: str) -> StepRecord:
    """A record from a post file's JSON, keeping only fields of the right type and range."""
    exit_code = data.get("exit_code")
    if not (isinstance(exit_code, int) and not isinstance(exit_code, bool) and -1 << 31 <= exit_code < 1 << 31):
        found = read_exit_code(step_dir)
        exit_code = found if found is not None else (1 if failed else 0)
    reason = data.get("reason")
    if reason not in _REASONS:
        reason = "Error" if failed else "Completed"
    results = data.get("results")
    clean = ({k: v for k, v in results.items() if isinstance(k, str) and isinstance(v, str)}
             if isinstance(results, dict) else {})
    message = data.get("message")
    return StepRecord(name=name, exit_code=exit_code, reason=str(reason), started_at=_time(data.get("started_at")),
                      finished_at=_time(data.get("finished_at")) or 0.0, failed=failed, results=clean,
                      message=message if isinstance(message, str) else "")


def _time(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value) if not isinstance(value, int) or abs(value) < _MAX_TIME else math.inf
    return number if 0 <= number < _MAX_TIME else None
