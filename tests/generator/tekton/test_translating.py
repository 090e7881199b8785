"""translate: a PipelineRun's path or a Task's; a Task's Pod is the one it always was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.tekton.generating import GenerateOptions, generate
from generator.tekton.translating import translate

GOLDEN = Path(__file__).parent / "golden"
CASES = {"native": {}, "classic rbac restricted": {"layout": "classic", "rbac": True, "pod_security": "restricted"}}


def _sources() -> list[tuple[str, str]]:
    return [("full-taskrun.yaml", (GOLDEN / "full-taskrun.yaml").read_text())]


@pytest.mark.parametrize("case", CASES)
def test_a_task_run_generates_the_objects_it_generated_before_the_task_path_was_split(case: str) -> None:
    """golden/full-taskrun.pods.json was written by the generator as it stood before task_parts and
    rendering.PodSource (commit 9465218): a TaskRun with sidecars, probes, results, step results, workspaces
    with subPath, volumes, a podTemplate and a stepTemplate."""
    expected = json.loads((GOLDEN / "full-taskrun.pods.json").read_text())[case]
    assert generate(_sources(), {}, GenerateOptions(registry=None, **CASES[case])) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("case", CASES)
def test_translate_gives_a_task_run_the_objects_of_the_task_path(case: str) -> None:
    options = GenerateOptions(registry=None, **CASES[case])  # type: ignore[arg-type]
    assert translate(_sources(), {}, options) == generate(_sources(), {}, options)
