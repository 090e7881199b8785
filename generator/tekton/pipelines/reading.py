"""Reading a PipelineRun (or a bare Pipeline) into `PipelineParts`: its tasks found, bound, checked and ordered.

`read_pipeline` answers None when the documents hold no PipelineRun and no Pipeline: the Task path applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from contracts.task_plans import MAX_TASKS, PipelinePlan
from generator.errors import GenerateError, quote
from generator.tekton.loading import Documents, by_kind
from generator.tekton.pipelines.binding import Bound, Scope, bind
from generator.tekton.pipelines.heading import PIPELINE_FIELDS, Heading, bare, heading
from generator.tekton.pipelines.ordering import order
from generator.tekton.pipelines.params import pipeline_values, variables
from generator.tekton.pipelines.parts import PipelineParts, PipelineTask
from generator.tekton.pipelines.refs import Known
from generator.tekton.pipelines.results import pipeline_results
from generator.tekton.pipelines.runs import Context, copy_names, pipeline_tasks
from generator.tekton.pipelines.tasks import written
from generator.tekton.pipelines.workspaces import bound
from generator.tekton.specs import ParamValue

__all__ = ["read_documents", "read_pipeline"]


def _check_pipeline(h: Heading) -> None:
    for key in h.spec:
        if key == "resources":
            raise GenerateError(f"{h.spec_where}.resources: not supported (PipelineResources were removed from "
                                "Tekton)")
        if key not in PIPELINE_FIELDS:
            raise GenerateError(f"{h.spec_where}.{key}: not supported by doll")


def _context(h: Heading) -> dict[str, str]:
    """docs/variables.md: the Pipeline's context variables (an embedded pipeline is named after its run, as
    Tekton's reconciler names it)."""
    return {"context.pipelineRun.name": h.name, "context.pipelineRun.namespace": h.namespace or "default",
            "context.pipelineRun.uid": h.uid, "context.pipeline.name": h.pipeline_name or h.name,
            "context.pipelineTask.retries": "0"}


def _bound_all(h: Heading, docs: Documents) -> list[Bound]:
    _check_pipeline(h)
    tasks = written(h.spec, h.spec_where, docs)
    values = pipeline_values(h.spec, h.spec_where, h.params, h.where, h.embedded)
    workspaces = bound(h.spec, h.spec_where, h.workspaces, h.where, h.embedded)
    known = Known({t.name: t.results for t in tasks}, frozenset(t.name for t in tasks if t.is_finally))
    scope = Scope(variables=variables(values, _context(h), {n: b is not None for n, b in workspaces.items()}),
                  known=known, values=values, workspaces=workspaces, embedded=h.embedded)
    return [bind(t, scope) for t in tasks]


def _ordered(bounds: list[Bound]) -> list[Bound]:
    """The DAG tasks in an order where each follows what it waits for, then the finally tasks as written."""
    dag = [b for b in bounds if not b.written.is_finally]
    by_name = {b.written.name: b for b in dag}
    names = order([b.written.name for b in dag], {b.written.name: b.deps for b in dag},
                  {b.written.name: b.written.where for b in dag})
    return [by_name[n] for n in names] + [b for b in bounds if b.written.is_finally]


def _tasks(h: Heading, bounds: list[Bound], ctx: Context) -> tuple[PipelineTask, ...]:
    copies = {b.written.name: copy_names(b) for b in bounds}
    total = sum(len(c) for c in copies.values())
    if total > MAX_TASKS:
        raise GenerateError(f"{h.spec_where}: {total} tasks, matrix copies included (a Pod holds at most "
                            f"{MAX_TASKS})")
    out: list[PipelineTask] = []
    for b in _ordered(bounds):
        run_after = tuple(name for dep in b.deps for name in copies[dep])
        out.extend(pipeline_tasks(b, run_after, ctx))
    return tuple(out)


def read_pipeline(sources: Sequence[tuple[str, str]], cli_params: Mapping[str, str],
                  run_name: str = "") -> PipelineParts | None:
    """The PipelineRun (or bare Pipeline) in `sources`, read; None when they hold neither."""
    return read_documents(by_kind(sources), cli_params, run_name)


def read_documents(docs: Documents, cli_params: Mapping[str, str], run_name: str = "") -> PipelineParts | None:
    """The PipelineRun (or bare Pipeline) among the documents, read; None when they hold neither."""
    if not docs.runs and not docs.pipelines:
        return None
    if docs.task_runs:
        raise GenerateError(f"{docs.task_runs[0][1]}: a TaskRun given with a Pipeline or PipelineRun (give doll one "
                            "run at a time)")
    if len(docs.runs) > 1:
        raise GenerateError(f"{docs.runs[1][1]}: a second PipelineRun (give doll one PipelineRun at a time)")
    cli = tuple(ParamValue(n, v, f"-p {n}") for n, v in cli_params.items())
    h = heading(docs.runs[0], docs, cli, run_name) if docs.runs else bare(docs.pipelines, cli, run_name)
    bounds = _bound_all(h, docs)
    ctx = Context(run_name=h.name, namespace=h.namespace, pod_template=h.pod_template,
                  service_account=h.service_account, step_actions=docs.actions,
                  context={tuple(k.split(".")): v for k, v in _context(h).items()})
    tasks = _tasks(h, bounds, ctx)
    plan = PipelinePlan(name=h.pipeline_name, run=h.name, tasks_timeout_seconds=h.timeouts.tasks,
                        finally_timeout_seconds=h.timeouts.finally_,
                        results=pipeline_results(h.spec, h.spec_where, {b.written.name: b.written.results
                                                                         for b in bounds}))
    if not tasks:
        raise GenerateError(f"{h.spec_where}.tasks: no task to run ({quote(h.spec.get('tasks'))})")
    return PipelineParts(name=h.name, namespace=h.namespace, uid=h.uid, where=h.where or h.spec_where,
                         pipeline=plan, tasks=tasks, timeout_seconds=h.timeouts.pipeline,
                         timeout_given=h.timeouts.given, labels=h.labels, annotations=h.annotations,
                         pod_template=h.pod_template, service_account=h.service_account, workspaces=h.workspaces)
