"""Fixtures for the supervisor's tests: `pod`, a temporary Pod with real supervisor and wrapper processes;
`api`, the HTTP-level fake Kubernetes API server, and `client`, each of the supervisor's two API clients."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fake_kube_api import FakeApi, Served  # noqa: E402
from supervisor.kube_api import KUBE_CLIENTS  # noqa: E402
from supervisor_rig import Pod  # noqa: E402


@pytest.fixture
def pod() -> Iterator[Pod]:
    p = Pod()
    try:
        yield p
    finally:
        p.close()


@pytest.fixture(params=KUBE_CLIENTS)
def client(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Served]:
    fake = FakeApi(tmp_path)
    env = await fake.start()
    try:
        yield fake, env
    finally:
        await fake.close()
