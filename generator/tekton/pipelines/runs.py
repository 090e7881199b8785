"""A bound pipeline task as the Task runs it: one `PipelineTask` (a Run and its TaskPlan), or one per matrix
combination, named `<task>-<index>` (docs/matrix.md)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from contracts.task_plans import TaskPlan
from generator.errors import GenerateError, quote
from generator.tekton.loading import DNS_LABEL
from generator.tekton.pipelines.binding import Bound
from generator.tekton.pipelines.parts import PipelineTask
from generator.tekton.pipelines.refs import found
from generator.tekton.resolving import declarations
from generator.tekton.specs import ParamValue, RawObject, Run
from generator.tekton.substituting import Key, known

__all__ = ["Context", "copy_names", "pipeline_tasks"]


@dataclass(frozen=True)
class Context:
    """What every task's Run shares: the PipelineRun's."""

    run_name: str
    namespace: str
    context: Mapping[Key, str]  # context.pipelineRun.*, context.pipeline.name, context.pipelineTask.retries
    pod_template: RawObject = field(default_factory=dict)
    service_account: str = ""
    step_actions: tuple[tuple[RawObject, str], ...] = ()


def copy_names(bound: Bound) -> list[str]:
    """The task's names in the plan: its own, or `<task>-<index>` for each matrix combination."""
    if not bound.combos:
        return [bound.written.name]
    names = [f"{bound.written.name}-{i}" for i in range(len(bound.combos))]
    if not DNS_LABEL.match(names[-1]):
        raise GenerateError(f"{bound.written.where}.name: {quote(names[-1])}, the name of its last matrix copy, is "
                            "not a DNS-1123 label (at most 63 characters)")
    return names


def _task_spec(bound: Bound, ctx: Context) -> RawObject:
    """An embedded taskSpec gets the context variables (ApplyContexts reaches embedded specs through
    propagateParams); a result ref in it is refused: Tekton replaces those only in params, when and matrix."""
    w = bound.written
    if not w.embedded:
        return w.task
    spec: RawObject = known(w.task, ctx.context)
    refs = found(spec)
    if refs:
        raise GenerateError(f"{w.task_where}: {refs[0][0]}: Tekton replaces task results only in a pipeline task's "
                            "params, when and matrix (give it to the task as a param)")
    return spec


def _check_given(bound: Bound, params: tuple[ParamValue, ...], where: str) -> None:
    names = {p.name for p in params}
    for decl, _, pw in declarations(bound.written.task, bound.written.task_where):
        if decl["name"] not in names and "default" not in decl:
            raise GenerateError(f"{where}.params: the task's param {quote(decl['name'])} has no value (declared at "
                                f"{pw} without a default)")


def pipeline_tasks(bound: Bound, run_after: tuple[str, ...], ctx: Context) -> list[PipelineTask]:
    """The task's PipelineTasks, each waiting for `run_after` (the plan's names of the tasks it depends on)."""
    w = bound.written
    spec = _task_spec(bound, ctx)
    names = copy_names(bound)
    out = []
    for i, name in enumerate(names):
        combo = bound.combos[i] if bound.combos else {}
        where = f"{w.where} (matrix combination {i})" if bound.combos else w.where
        params = bound.params + tuple(ParamValue(k, v, f"{w.where}.matrix ({k})") for k, v in sorted(combo.items()))
        _check_given(bound, params, w.where)
        run = Run(task=spec, task_where=w.task_where, task_name=w.task_name, run_where=w.where,
                  name=f"{ctx.run_name}-{name}", namespace=ctx.namespace, uid=str(uuid.uuid4()),
                  labels=dict(w.labels), annotations=dict(w.annotations), params=params, workspaces=bound.workspaces,
                  pod_template=ctx.pod_template, service_account=ctx.service_account,
                  timeout_seconds=bound.timeout_seconds, timeout_given=bound.timeout_given, embedded=w.embedded,
                  step_actions=ctx.step_actions)
        plan = TaskPlan(name=name, run_after=run_after, is_finally=w.is_finally, when=bound.when,
                        timeout_seconds=bound.timeout_seconds,
                        on_error="continue" if bound.on_error == "continue" else "stopAndFail",
                        results=w.results, display_name=bound.display_name, matrix=w.name if bound.combos else "")
        out.append(PipelineTask(plan=plan, run=run, where=where, workspace_sources=bound.sources))
    return out
