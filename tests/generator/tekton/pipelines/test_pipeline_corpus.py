"""Every PipelineRun in the Tekton catalog corpus's tests reads, or is refused in one line, never a traceback.

Each is given with the Pipelines and Tasks of its own test file, its task (`<task>/<task>.yaml`) and every other
corpus Task its pipeline names by taskRef (git-clone, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from corpus import CORPUS

from generated import validate_strictly

from generator.errors import GenerateError
from generator.images.sources import ImageCommand, Platforms
from generator.tekton.generate_options import GenerateOptions
from generator.tekton.pipelines.reading import read_pipeline
from generator.tekton.translating import translate


def _docs(path: Path) -> list[dict[str, Any]]:
    try:
        return [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
    except yaml.YAMLError:
        return []


def _runs() -> list[tuple[Path, int]]:
    return [(path, i) for path in sorted(CORPUS.glob("*/tests/*.yaml"))
            for i, doc in enumerate(_docs(path)) if doc.get("kind") == "PipelineRun"]


RUNS = _runs()


def _task_refs(value: Any) -> set[str]:
    if isinstance(value, dict):
        ref = value.get("taskRef")
        own = {ref["name"]} if isinstance(ref, dict) and isinstance(ref.get("name"), str) else set()
        return own.union(*(_task_refs(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_task_refs(v) for v in value))
    return set()


def _sources(path: Path, index: int) -> list[tuple[str, str]]:
    docs = _docs(path)
    others = [d for d in docs if d.get("kind") in ("Pipeline", "Task")]
    sources = [(f"{path.parent.parent.name}/tests/{path.name}", yaml.safe_dump_all([docs[index], *others]))]
    names = {path.parent.parent.name} | _task_refs(docs)
    for name in sorted(names):
        task = CORPUS / name / f"{name}.yaml"
        if task.is_file():
            sources.append((str(task), task.read_text()))
    return sources


def test_the_corpus_has_pipeline_runs() -> None:
    assert len(RUNS) >= 20


@pytest.mark.parametrize("path, index", RUNS, ids=[f"{p.parent.parent.name}-{i}" for p, i in RUNS])
def test_a_corpus_pipeline_run_reads_or_is_refused_in_one_line(path: Path, index: int) -> None:
    sources = _sources(path, index)
    try:
        parts = read_pipeline(sources, {})
    except GenerateError as exc:
        assert "\n" not in str(exc) and any(str(exc).startswith(name) for name, _ in sources), str(exc)
        return
    assert parts is not None and parts.tasks
    assert all(t.run.task.get("steps") for t in parts.tasks)


class ShellImages:
    """Every image's entrypoint is /bin/sh: the registries these images live in cannot be reached from here, so
    the lookup is faked at its boundary (the ImageConfigSource protocol); what is tested is the Pod around it."""

    async def lookup(self, image: str) -> Platforms:
        return {"": ImageCommand(entrypoint=("/bin/sh",), cmd=())}


@pytest.mark.parametrize("path, index", RUNS, ids=[f"{p.parent.parent.name}-{i}" for p, i in RUNS])
def test_every_corpus_pipeline_run_becomes_one_strictly_valid_pod(path: Path, index: int) -> None:
    """The catalog's own test PipelineRuns (volumeClaimTemplate workspaces included: the Pod's ephemeral volume),
    each one Pod (and with --rbac its ServiceAccount, Role and RoleBinding) that the API server's schema takes."""
    objects = translate(_sources(path, index), {}, GenerateOptions(registry=None, image_source=ShellImages(),
                                                                   rbac=True))
    for obj in objects:
        validate_strictly(obj)
    pod = objects[-1]
    assert pod["kind"] == "Pod" and sum(c["name"].startswith("step-") for c in pod["spec"]["containers"]) >= 1
