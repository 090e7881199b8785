"""The root of every error doll reports: one line of text, and the exit code a `main()` maps it to.

Each process translates at its boundary, in one table (as httpx maps transport errors): `exit_code_for(error,
overrides)` takes the error's own `exit_code` unless the process's table names one of its classes.
Standard library only: the wrapper imports this module.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from collections.abc import Mapping

from contracts.exits import EXIT_BAD_INPUT, EXIT_ENVIRONMENT

__all__ = ["DollError", "UsageError", "InputError", "exit_code_for"]


class DollError(Exception):
    """Something doll reports in one line and exits on; `exit_code` is its default exit status."""

    exit_code: int = EXIT_ENVIRONMENT


class UsageError(DollError):
    """A bad command line: the text says which option and why."""

    exit_code = EXIT_BAD_INPUT


class InputError(DollError):
    """Bad input (a file, a plan, a message): the text names the field and the value."""

    exit_code = EXIT_BAD_INPUT


def exit_code_for(error: DollError, overrides: Mapping[type[DollError], int] | None = None) -> int:
    """The exit status for `error`: the nearest class named in `overrides`, else the error's own."""
    for cls in type(error).__mro__:
        if overrides and cls in overrides:
            return overrides[cls]
    return error.exit_code
