"""Adapting a generated Pod to podman 4.3 (generator/localizing.py), on Pods `doll generate` makes from
real tasks; what podman then does with them is in tests/e2e/test_e2e_localizing.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from corpus import CORPUS
from generated import gen

from generator.localizing import localize


def _catalog_task_with_one_step(name: str) -> str:
    """The catalog task's own metadata (its annotations as published) with one plain step."""
    task = yaml.safe_load((CORPUS / name / f"{name}.yaml").read_text())
    task["spec"] = {"steps": [{"name": "s", "image": "busybox", "command": ["true"]}]}
    return yaml.safe_dump(task)


def test_annotations_podman_refuses_are_left_out_of_the_local_pod_only_with_one_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pod: dict[str, Any] = gen(_catalog_task_with_one_step("rhacs-m2m-authenticate"), layout="classic")[0]
    local = localize(pod, tmp_path, None)
    annotations = local.pod["metadata"]["annotations"]
    assert "tekton.dev/platforms" not in annotations and "tekton.dev/displayName" not in annotations
    assert annotations["tekton.dev/categories"] == "Security" and annotations["prometheus.io/scrape"] == "true"
    assert all(len(value.encode()) <= 63 for value in annotations.values())
    assert len(pod["metadata"]["annotations"]["tekton.dev/platforms"]) > 63  # what doll generate gives: unchanged
    warnings = [r.getMessage() for r in caplog.records if r.name == "doll.generate"]
    assert warnings == ["metadata.annotations tekton.dev/displayName, tekton.dev/platforms: values over 63 bytes, "
                        "which podman 4.3 kube play refuses; left out of the local pod (annotations do not "
                        "affect the run)"]


def test_a_pod_whose_annotations_podman_takes_is_localized_without_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pod: dict[str, Any] = gen(_catalog_task_with_one_step("git-clone"), layout="classic")[0]
    local = localize(pod, tmp_path, None)
    assert local.pod["metadata"]["annotations"] == pod["metadata"]["annotations"]
    assert [r for r in caplog.records if r.name == "doll.generate"] == []
