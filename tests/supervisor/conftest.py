"""Fixtures for the supervisor's tests: `pod`, a temporary Pod with real supervisor and wrapper processes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from supervisor_rig import Pod  # noqa: E402


@pytest.fixture
def pod() -> Iterator[Pod]:
    p = Pod()
    try:
        yield p
    finally:
        p.close()
