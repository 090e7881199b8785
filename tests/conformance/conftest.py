"""Conformance tests: each follows a documented Tekton behaviour (its docstring cites the doc or Go function).

The generator's helpers (`generated`) and the end-to-end fixtures (podman, the doll image, pods removed at
teardown) are shared with tests/generator and tests/e2e, not copied.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
for _helpers in ("generator", "e2e"):
    if str(TESTS / _helpers) not in sys.path:
        sys.path.insert(0, str(TESTS / _helpers))

_spec = importlib.util.spec_from_file_location("e2e_fixtures", TESTS / "e2e" / "conftest.py")
assert _spec is not None and _spec.loader is not None
_e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_e2e)
podman_ready, busybox_image, doll_image, pods = _e2e.podman_ready, _e2e.busybox_image, _e2e.doll_image, _e2e.pods

__all__ = ["busybox_image", "doll_image", "podman_ready", "pods"]
