"""Fixtures every test gets: a test that leaks processes or asyncio tasks fails."""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # `import leaks`, `import helpers` from any test module
import leaks  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# podman on these machines needs the project's containers.conf (runc, cgroupfs, file events, ulimits).
os.environ.setdefault("CONTAINERS_CONF", str(ROOT / "scripts" / "containers.conf"))


def pytest_configure(config: pytest.Config) -> None:
    leaks.become_subreaper()


def _fail_on_leaked_tasks(fn):  # type: ignore[no-untyped-def]
    @functools.wraps(fn)
    async def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = await fn(*args, **kwargs)
        current = asyncio.current_task()
        for _ in range(20):  # let tasks that are finishing finish
            pending = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
            if not pending:
                return result
            await asyncio.sleep(0.01)
        for task in pending:
            task.cancel()
        names = ", ".join(sorted(t.get_name() for t in pending))
        pytest.fail(f"test leaked asyncio tasks: {names}")
    return wrapper


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        obj = getattr(item, "obj", None)
        if obj is not None and inspect.iscoroutinefunction(obj):
            item.obj = _fail_on_leaked_tasks(obj)  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def no_leaked_processes() -> Iterator[None]:
    before = leaks.children()
    yield
    leaked = leaks.leaked_processes(before)
    if leaked:
        pytest.fail("test leaked processes (now killed): " + "; ".join(leaked))
