"""`doll run` building its image: a build (about a minute) is announced before it starts."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from generator.local import building, podman


def test_a_build_is_announced_first_and_its_failure_is_its_last_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "build-image"
    script.write_text('echo "build-image: building $1 (0123abcd): sources changed" >&2\n'
                      'echo "STEP 1/2: noise" >&2\n'
                      'echo "Error: boom" >&2\nexit 1\n')
    monkeypatch.setattr(building, "BUILD_SCRIPT", script)
    out = io.StringIO()
    with pytest.raises(podman.PodmanError) as caught:
        building.ensuring_image("localhost/doll:t", build=True, out=out)
    assert out.getvalue() == "doll: building the doll image localhost/doll:t (sources changed); about a minute\n"
    assert str(caught.value) == "building localhost/doll:t failed: Error: boom"


def test_an_image_that_is_up_to_date_is_not_announced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "build-image"
    script.write_text('echo "build-image: $1 is up to date (0123abcd)" >&2\n')
    monkeypatch.setattr(building, "BUILD_SCRIPT", script)
    monkeypatch.setattr(podman, "image_exists", lambda image: True)
    out = io.StringIO()
    building.ensuring_image("localhost/doll:t", build=True, out=out)
    assert out.getvalue() == ""
