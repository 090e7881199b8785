"""Building a PipelineParts by hand, as reading a PipelineRun hands it over: each task a TaskRun with its taskSpec."""

from __future__ import annotations

import dataclasses
import textwrap
from typing import Any

import yaml

from contracts.plans import Plan
from contracts.task_plans import PipelinePlan, TaskPlan
from generator.tekton.generating import GenerateOptions
from generator.tekton.loading import load
from generator.tekton.pipelines.assembling import generate_pipeline
from generator.tekton.pipelines.parts import PipelineParts, PipelineTask

__all__ = ["assemble", "parts", "plan_of", "task"]


def task(name: str, spec: str, index: int, params: dict[str, Any] | None = None,
         workspaces: list[dict[str, Any]] | None = None, sources: tuple[tuple[str, str], ...] = (),
         **plan: Any) -> PipelineTask:
    """Pipeline task `name` (the `index`th): its Task's spec (YAML), params and workspace bindings as reading gives
    them (`sources`: (task workspace, pipeline workspace)), its plan's fields."""
    where = f"run.yaml: spec.pipelineSpec.tasks[{index}]"
    run_doc = {"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": {"name": f"ci-{name}"},
               "spec": {"taskSpec": yaml.safe_load(textwrap.dedent(spec)),
                        "params": [{"name": k, "value": v} for k, v in (params or {}).items()],
                        "workspaces": workspaces or []}}
    run = load([("run.yaml", yaml.safe_dump(run_doc))], {})
    run = dataclasses.replace(run, task_where=f"{where}.taskSpec", run_where=where)
    return PipelineTask(plan=TaskPlan(name=name, **plan), run=run, where=where, workspace_sources=sources)


def parts(*tasks: PipelineTask, **fields: Any) -> PipelineParts:
    fields.setdefault("pipeline", PipelinePlan(name="", run="ci"))
    return PipelineParts(**{"name": "ci", "namespace": "", "uid": "5b1c6c1e-0000-4000-8000-000000000001",
                            "where": "run.yaml: spec", "tasks": tuple(tasks), **fields})


def assemble(pipeline: PipelineParts, **options: Any) -> list[dict[str, Any]]:
    options.setdefault("registry", None)
    return generate_pipeline(pipeline, GenerateOptions(**options))


def plan_of(pod: dict[str, Any]) -> Plan:
    init = next(c for c in pod["spec"]["initContainers"] if c["name"] == "doll-init")
    return Plan.from_json(next(e["value"] for e in init["env"] if e["name"] == "DOLL_PLAN"))
