"""The Tekton catalog corpus: each task with the params its own tests pass (or defaults).

For a task `T` in `<corpus>/T/T.yaml`, its tests (`T/tests/*.yaml`) are searched for a TaskRun with
`taskRef: {name: T}` (used as given: params and workspace bindings) or a Pipeline task referring to T
(its params, with the PipelineRun's `$(params.x)` filled in).  A required param still without a value
gets a placeholder (`corpus-value`, or `[corpus-value]` for an array) so the whole task renders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# shared/ lies beside the checkout (as CI lays it out); /work/shared is where a session finds it
_BESIDE = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "tekton-catalog"
CORPUS = _BESIDE if _BESIDE.is_dir() else Path("/work/shared/corpus/tekton-catalog")
_PIPELINE_PARAM = re.compile(r"\$\(params\.([\w.-]+)\)")


@dataclass
class CorpusTask:
    name: str
    path: Path
    sources: list[tuple[str, str]]  # the task, plus its test TaskRun when there is one
    params: dict[str, str] = field(default_factory=dict)


def tasks() -> list[Path]:
    return sorted(p / f"{p.name}.yaml" for p in CORPUS.iterdir() if (p / f"{p.name}.yaml").is_file())


def _docs(path: Path) -> list[dict[str, Any]]:
    try:
        return [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
    except yaml.YAMLError:
        return []


def _as_cli(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        import json
        return json.dumps([str(v) for v in value])
    return None


def load(path: Path) -> CorpusTask:
    name = path.stem
    task_text = path.read_text()
    found = CorpusTask(name, path, [(str(path), task_text)])
    test_docs = [d for t in sorted((path.parent / "tests").glob("*.yaml")) for d in _docs(t)]
    for doc in test_docs:
        if doc.get("kind") == "TaskRun" and (doc.get("spec") or {}).get("taskRef", {}).get("name") == name:
            run = dict(doc)
            run["spec"] = {k: v for k, v in doc["spec"].items() if k != "taskRef"} | {"taskRef": {"name": name}}
            found.sources.append((f"{path.parent.name}/tests (TaskRun)", yaml.safe_dump(run)))
            return _fill(found, task_text, given=True)
    run_params = {}
    for doc in test_docs:
        if doc.get("kind") == "PipelineRun":
            for p in (doc.get("spec") or {}).get("params") or []:
                if isinstance(p, dict) and isinstance(p.get("value"), str):
                    run_params[p["name"]] = p["value"]
    for doc in test_docs:
        if doc.get("kind") != "Pipeline":
            continue
        for pipeline_task in (doc.get("spec") or {}).get("tasks") or []:
            if (pipeline_task.get("taskRef") or {}).get("name") != name:
                continue
            for p in pipeline_task.get("params") or []:
                value = _as_cli(p.get("value"))
                if value is None:
                    continue
                value = _PIPELINE_PARAM.sub(lambda m: run_params.get(m.group(1), m.group(0)), value)
                if "$(" not in value:
                    found.params[p["name"]] = value
            return _fill(found, task_text)
    return _fill(found, task_text)


def _fill(found: CorpusTask, task_text: str, given: bool = False) -> CorpusTask:
    spec = (yaml.safe_load(task_text) or {}).get("spec") or {}
    run_params: set[str] = set()
    if given:
        run = yaml.safe_load(found.sources[1][1])
        run_params = {p["name"] for p in run["spec"].get("params") or []}
    for decl in spec.get("params") or []:
        name = decl.get("name")
        if "default" in decl or name in found.params or name in run_params:
            continue
        found.params[name] = '["corpus-value"]' if decl.get("type") == "array" else "corpus-value"
    return found


def images(paths: list[Path]) -> set[str]:
    """Every literal image (and param default that is an image) the corpus names, for an image map."""
    out: set[str] = set()
    for path in paths:
        for doc in _docs(path):
            spec = doc.get("spec") or {}
            for step in [*(spec.get("steps") or []), *(spec.get("sidecars") or [])]:
                if isinstance(step, dict) and isinstance(step.get("image"), str):
                    out.add(step["image"])
            for p in spec.get("params") or []:
                if isinstance(p, dict) and isinstance(p.get("default"), str):
                    out.add(p["default"])
    return out
