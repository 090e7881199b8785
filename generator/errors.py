"""The generator's errors and how its mains turn them into an exit status and one line.

GenerateError: bad input (a file, a field, a value, an option), a contracts.errors.InputError (exit 2).
`exit_status` is contracts.errors.exit_code_for, also taking the UsageError of entrypoint.arguments.Parser,
which is not yet a DollError (it moves to contracts.errors).
"""

from __future__ import annotations

from collections.abc import Mapping

from contracts.errors import EXIT_USAGE, DollError, InputError, exit_code_for
from entrypoint.options import UsageError

__all__ = ["GenerateError", "REPORTED", "exit_status", "quote"]

REPORTED = (DollError, UsageError)  # what a generator main prints in one line and exits on


class GenerateError(InputError):
    """Bad input: `FILE: spec.steps[2].image: missing`; `doll generate` prints it and exits 2."""


def exit_status(error: DollError | UsageError, overrides: Mapping[type[DollError], int] | None = None) -> int:
    """The exit status of a main that stops on `error`: `overrides` first, else the error's own."""
    if isinstance(error, DollError):
        return exit_code_for(error, overrides)
    return EXIT_USAGE  # a bad command line, as contracts.errors.UsageError


def quote(value: object) -> str:
    """A value for an error message: short, on one line."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
