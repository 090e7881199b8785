"""How a PipelineRun ends: its outcome, reason and message from its tasks, and its results.

As Tekton's pipelinerunstate.go GetPipelineConditionStatus: the pipeline's timeout -> TimedOut
(PipelineRunTimeout); cancelled -> Cancelled; a failed task (not onError: continue; a timed-out one too) ->
Failed; else Succeeded, with reason Completed when some tasks were skipped and Succeeded when none were;
the message counts them ("Tasks Completed: 3 (Failed: 1, Cancelled 0), Skipped: 2").  The Pipeline's results
(docs/pipelines.md "Emitting results from a Pipeline") are computed from the task results at the end; one
that refers to a result no task gave is left out, and the message says which and why.
"""

from __future__ import annotations

import json

from contracts.plans import Plan
from contracts.ref_values import Unresolved, form_of, substitute
from contracts.task_plans import PipelineResultSpec
from supervisor.states import RunState
from supervisor.task_refs import RefLookup

__all__ = ["pipeline_outcome", "pipeline_results"]


def pipeline_outcome(state: RunState, plan: Plan) -> tuple[str, str, str]:
    """(outcome, reason, message) of a pipeline whose tasks have all ended."""
    tasks = state.tasks
    skipped = sum(1 for t in tasks if t.outcome == "Skipped")
    failed = [t for t in tasks if t.outcome in ("Failed", "TimedOut") and t.reason != "FailureIgnored"]
    cancelled = sum(1 for t in tasks if t.outcome == "Cancelled")
    counts = f"Tasks Completed: {len(tasks) - skipped} (Failed: {len(failed)}, Cancelled {cancelled}), Skipped: {skipped}"
    if state.cancel_reason == "TimeoutExceeded":
        return "TimedOut", "PipelineRunTimeout", state.cancel_message or counts
    if state.cancel_reason == "Cancelled":
        return "Cancelled", "Cancelled", f"{state.cancel_message}: {counts}" if state.cancel_message else counts
    if state.cancel_reason:
        return "Failed", state.cancel_reason, f"{state.cancel_message}: {counts}"
    if failed:
        return "Failed", "Failed", f"{counts}; task {failed[0].name!r}: {failed[0].message or failed[0].reason}"
    return "Succeeded", "Completed" if skipped else "Succeeded", counts


def _value(spec: PipelineResultSpec, lookup: RefLookup) -> str:
    where = f"results {spec.name}"
    if spec.type == "string":
        return substitute(spec.text, lookup.pattern, lookup.value, where)
    whole = lookup.pattern.fullmatch(spec.text) if spec.text else None
    if whole is not None:  # `$(tasks.x.results.y[*])`: the whole array or object
        value = lookup.value(whole.group(1))
        if spec.type == "array":
            return json.dumps(form_of(whole.group(0), "[*]", value))
        if not isinstance(value, dict):
            raise Unresolved(f"{where}: {whole.group(0)} is not an object")
        return json.dumps(value)
    if spec.type == "array":
        return json.dumps([substitute(i, lookup.pattern, lookup.value, where) for i in spec.items])
    return json.dumps({k: substitute(v, lookup.pattern, lookup.value, where) for k, v in spec.fields})


def pipeline_results(plan: Plan, lookup: RefLookup) -> tuple[dict[str, str], list[str]]:
    """The Pipeline's results (a string's text, an array's or object's JSON) and why any was left out."""
    if plan.pipeline is None:
        return {}, []
    values, notes = {}, []
    for spec in plan.pipeline.results:
        try:
            values[spec.name] = _value(spec, lookup)
        except Unresolved as exc:
            notes.append(f"result {spec.name!r} left out: {exc}")
    return values, notes
