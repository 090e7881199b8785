"""A command line parser that raises `UsageError` instead of printing usage and exiting.

Every `main()` of doll (the wrapper, `entrypoint debug`, `doll supervise`, `doll ctl`, `doll run`) parses with
it and maps `UsageError` to its own exit code in one line.  Kept apart from `options` so that the wrapper's
common path does not import argparse.
"""

from __future__ import annotations

import argparse

from contracts.errors import UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from typing import NoReturn

__all__ = ["Parser"]


class Parser(argparse.ArgumentParser):
    """No abbreviations: `--time` is an unknown option, not `--timeout-seconds`."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)
