"""End-to-end fixtures: podman, the locally built images, pods removed at teardown.

Where podman truly cannot run containers the tests skip, saying why, loudly; on the project's machines
it works (scripts/containers.conf).  Images are built by the project's scripts, never pulled.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.local import podman
from running_pods import BUSYBOX

ROOT = Path(__file__).resolve().parents[2]
DOLL = str(ROOT / ".venv" / "bin" / "doll")
DOLL_IMAGE = "localhost/doll:dev"


def _script(*args: str) -> None:
    done = subprocess.run(["bash", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")


@pytest.fixture(scope="session")
def podman_ready() -> None:
    problem = podman.checking_podman()
    if problem:
        print(f"\n*** SKIPPING END-TO-END PODS: {problem} ***", file=sys.stderr)
        pytest.skip(f"podman cannot run containers here: {problem}")


@pytest.fixture(scope="session")
def busybox_image(podman_ready: None) -> str:
    _script("scripts/make-busybox-image", BUSYBOX)
    return BUSYBOX


@pytest.fixture(scope="session")
def doll_image(podman_ready: None) -> str:
    """The doll image built from this checkout (DOLL_E2E_IMAGE names an already built one instead)."""
    image = os.environ.get("DOLL_E2E_IMAGE", "")
    if image:
        return image
    _script("scripts/build-image", DOLL_IMAGE)
    return DOLL_IMAGE


@pytest.fixture(scope="session")
def test_images(podman_ready: None) -> None:
    """localhost/doll-test-busybox:latest and localhost/doll-test-scratch:latest (an empty image)."""
    _script("scripts/make-test-images")


@pytest.fixture
def pods() -> Iterator[list[str]]:
    """Names of pods the test creates; each is removed at teardown, whatever happened."""
    names: list[str] = []
    yield names
    for name in names:
        subprocess.run(["podman", "pod", "rm", "--force", "--ignore", "--time", "0", name],
                       capture_output=True, check=False, timeout=120)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Pods run one at a time, on one xdist worker (`--dist loadgroup`), while the other workers take the
    unit tests: two cores do not play pods faster side by side, and a few tests watch timings."""
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.xdist_group("e2e-pods"))
