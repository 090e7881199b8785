"""The one error the generator raises: a single line naming the file, the field and the value."""

from __future__ import annotations


class GenerateError(Exception):
    """Bad input: `FILE: spec.steps[2].image: missing`; `doll generate` prints it and exits 2."""


def quote(value: object) -> str:
    """A value for an error message: short, on one line."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
