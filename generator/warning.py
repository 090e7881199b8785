"""Warnings: harmless things doll does differently from Tekton, reported on stderr and never dropped."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

__all__ = ["LOGGER", "printed", "warn"]

LOGGER = logging.getLogger("doll.generate")


def warn(message: str) -> None:
    LOGGER.warning("%s", message)


class _Printing(logging.Handler):
    def __init__(self, prog: str) -> None:
        super().__init__()
        self.prog = prog

    def emit(self, record: logging.LogRecord) -> None:
        print(f"{self.prog}: warning: {record.getMessage()}", file=sys.stderr)


@contextlib.contextmanager
def printed(prog: str) -> Iterator[None]:
    """While inside: each warning is one line on stderr, `PROG: warning: ...` (and nothing else sees it)."""
    handler = _Printing(prog)
    LOGGER.addHandler(handler)
    propagate, LOGGER.propagate = LOGGER.propagate, False
    try:
        yield
    finally:
        LOGGER.removeHandler(handler)
        LOGGER.propagate = propagate
