"""The generator's own error: bad input, one line naming the file, the field and the value.

GenerateError is a contracts.errors.InputError (exit 2); the generator's mains map every DollError to an exit
status with contracts.errors.exit_code_for.
"""

from __future__ import annotations

from contracts.errors import InputError

__all__ = ["GenerateError", "quote"]


class GenerateError(InputError):
    """Bad input: `FILE: spec.steps[2].image: missing`; `doll generate` prints it and exits 2."""


def quote(value: object) -> str:
    """A value for an error message: short, on one line."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
