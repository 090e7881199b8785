"""`entrypoint [options] -- CMD ARGS` (a step or, with --sidecar, a sidecar) and `entrypoint debug ...`.

Errors of the command line become exit codes here and only here: bad options -> EXIT_USAGE, one line on
stderr and the step recorded as failed where it can be.  Once the options parse, the wrapper's exit code is
the step's recorded outcome: the child's code, or an EXIT_* the step ended with (an unusable socket path
is EXIT_WRAPPER_ERROR), through the one outcome rule (contracts/outcome.py `Judgement.wrapper_exit_code`).
"""

from __future__ import annotations

import os
import sys
import time

from entrypoint import results
from entrypoint.session import Session
from contracts import exits, wire
from contracts.errors import UsageError
from contracts.layout import CREDS_DIR
from contracts.options import from_argv
from contracts.records import StepRecord
from entrypoint.recording import FileRecorder

__all__ = ["salvage", "record_failure", "main"]

# flags whose values let a step with bad options still be recorded as failed
_SALVAGED = ("--name", "--index", "--socket", "--post-file", "--step-dir", "--termination-path")


def salvage(argv: list[str]) -> dict[str, str]:
    """Best-effort values of the recording flags from a command line that did not parse."""
    head = argv[:argv.index("--")] if "--" in argv else argv
    found: dict[str, str] = {}
    for i, arg in enumerate(head):
        flag, eq, value = arg.partition("=")
        if flag in _SALVAGED:
            if eq:
                found[flag] = value
            elif i + 1 < len(head):
                found[flag] = head[i + 1]
    return found


def record_failure(argv: list[str], code: int, message: str) -> None:
    """Write the failed step's records and tell the supervisor, if it can be found; never raises."""
    got = salvage(argv)
    name = got.get("--name", "")
    now = time.time()
    termination = results.render({}, now, code, "Error").text
    record = StepRecord(name=name, exit_code=code, reason="Error", started_at=None, finished_at=now, failed=True,
                    message=message, termination=termination)
    try:
        FileRecorder(got.get("--step-dir", ""), got.get("--termination-path", ""),
                     got.get("--post-file", "")).write(record)
    except OSError as exc:
        print(f"entrypoint: cannot record the failure: {exc}", file=sys.stderr)
    if not (name and got.get("--socket")):
        return
    index = got.get("--index", "-1")
    channel = Session(got["--socket"], "step", name, int(index) if index.isdigit() else -1).reconnect(0.0)
    if channel is not None:
        channel.send(wire.Finished(name=name, exit_code=code, reason="Error", started_at=None, finished_at=now,
                                   message=message))
        channel.receive(timeout=1.0)
        channel.close()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["debug"]:
        from entrypoint import debugging
        return debugging.main(args[1:])
    try:
        options = from_argv(args)
    except UsageError as exc:
        message = f"usage: {exc}"
        print(f"entrypoint: {message}", file=sys.stderr)
        record_failure(args, exits.EXIT_USAGE, message)
        return exits.EXIT_USAGE
    try:
        if options.sidecar:
            from entrypoint import sidecars
            return sidecars.main(options)
        from entrypoint import stepping
        if os.path.isdir(CREDS_DIR):  # Tekton's CopyCredsToHome, before the step waits its turn
            from entrypoint.credentials import copy_to_home
            copy_to_home()
        return stepping.main(options)
    finally:
        if sys.stdout is not None:  # None when the wrapper was started with fd 1 closed
            sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
