"""The child's environment: the container's own, without what a bundler's launcher put there.

A PyInstaller build prepends its directory to LD_LIBRARY_PATH (keeping the container's value, if any, as
LD_LIBRARY_PATH_ORIG) and sets `_PYI_*` / `_MEIPASS*` variables; staticx sets `STATICX_*`.  None of that
may reach the user's command: prefixed variables go, and loader variables get their original values back.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

__all__ = ["clean"]

_PREFIXES = ("_PYI_", "_MEIPASS", "STATICX_", "PYINSTALLER_")
_LOADER_VARIABLES = ("LD_LIBRARY_PATH",)


def clean(environ: Mapping[str, str] | None = None, frozen: bool | None = None) -> dict[str, str]:
    """A copy of `environ` fit for the child; `frozen` (default: running as a bundle) restores loader vars."""
    env = dict(os.environ if environ is None else environ)
    frozen = bool(getattr(sys, "frozen", False)) if frozen is None else frozen
    for key in list(env):
        if key.startswith(_PREFIXES):
            del env[key]
    for key in _LOADER_VARIABLES:
        original = env.pop(key + "_ORIG", None)
        if original is not None:
            env[key] = original
        elif frozen:
            env.pop(key, None)  # the launcher set it from nothing
    return env
