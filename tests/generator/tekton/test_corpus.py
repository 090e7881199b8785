"""Every task of the Tekton catalog corpus generates a strictly valid Pod, or is refused in one clear line.

Offline (no registry lookup), the tasks whose steps need an image's entrypoint are refused naming the
step and image; with an image map covering the corpus's images every task but those using removed
Tekton features (PipelineResources) generates.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from generated import validate_strictly
from corpus import CorpusTask, images, load, tasks

from generator.errors import GenerateError
from generator.tekton.generating import GenerateOptions, generate

TASKS = tasks()
REFUSED_WITH_A_MAP = {"buildkit-daemonless": "spec.resources: not supported by doll (PipelineResources"}


def _generate(task: CorpusTask, **options: object) -> list[dict]:
    return generate(task.sources, task.params, GenerateOptions(registry=None, name="corpus-run",
                                                               **options))  # type: ignore[arg-type]


def test_the_corpus_is_there() -> None:
    assert len(TASKS) >= 50


@pytest.mark.parametrize("path", TASKS, ids=[p.stem for p in TASKS])
def test_a_corpus_task_generates_a_valid_pod_or_is_refused_in_one_line_offline(path: Path) -> None:
    task = load(path)
    try:
        objects = _generate(task, layout="native")
    except GenerateError as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith(str(path))
        assert ("has no command or script and image lookup is off" in message
                or path.parent.name in REFUSED_WITH_A_MAP), message
        return
    validate_strictly(objects[0])


@pytest.fixture(scope="module")
def image_map(tmp_path_factory: pytest.TempPathFactory) -> str:
    names = images(TASKS)
    for path in TASKS:
        names.update(v for v in load(path).params.values())
    path = tmp_path_factory.mktemp("map") / "images.yaml"
    path.write_text(yaml.safe_dump({name: {"entrypoint": ["/usr/bin/tool"], "cmd": ["--default"]}
                                    for name in names}))
    return str(path)


@pytest.mark.parametrize("path", TASKS, ids=[p.stem for p in TASKS])
def test_with_an_image_map_every_corpus_task_generates_in_both_layouts(path: Path, image_map: str) -> None:
    task = load(path)
    if path.parent.name in REFUSED_WITH_A_MAP:
        with pytest.raises(GenerateError, match=re.escape(REFUSED_WITH_A_MAP[path.parent.name])):
            _generate(task, image_map=image_map)
        return
    for layout in ("native", "classic"):
        objects = _generate(task, image_map=image_map, layout=layout, rbac=True, namespace="ci")
        for obj in objects:
            validate_strictly(obj)
        json.dumps(objects)
