"""Refs between tasks in a task's steps: the plan's TaskPlan.refs and each step's `--result-ref` to its channel.

Tekton resolves `$(tasks.X.results.Y)` in a pipeline task's params once X is done (docs/pipelines.md "Passing one
Task's Results into the Parameters or when expressions of another"; pkg/reconciler/pipelinerun/resources
resultrefresolution.go), `$(tasks.X.status)` and `$(tasks.status)` in finally tasks only (docs/pipelines.md "Using
Execution Status of pipelineTask", pipeline_validation.go validateExecutionStatusVariables).  doll resolves them as
the task starts: the supervisor writes each value into the step's channel, the step's wrapper replaces it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from generated import container
from pipeline_parts import assemble, parts, plan_of, task

from contracts.layout import channel_value_path
from contracts.options import from_argv
from generator.errors import GenerateError

PRODUCER = """
results: [{name: digest}, {name: files, type: array}, {name: a.b}, {name: meta, type: object, properties: {k: {}}}]
steps: [{name: make, image: busybox, script: "true"}]
"""


def _consumer(steps: str, params: dict[str, Any], **plan: Any) -> Any:
    declared = "".join(f"  - {{name: {name}{', type: array' if isinstance(value, list) else ''}}}\n"
                       for name, value in params.items())
    return task("use", f"params:\n{declared}steps:\n{steps}", 1, params=params, **plan)


def _pod(steps: str, params: dict[str, Any], **plan: Any) -> dict[str, Any]:
    plan.setdefault("run_after", ("make",))
    return assemble(parts(task("make", PRODUCER, 0), _consumer(steps, params, **plan)))[-1]


def test_a_task_s_refs_are_those_its_steps_use_in_command_args_env_and_script() -> None:
    steps = """
  - {name: a, image: busybox, command: [echo, $(params.d)], args: ["$(params.f)"]}
  - {name: b, image: busybox, command: [env], env: [{name: M, value: $(params.m)}]}
  - {name: c, image: busybox, script: echo $(params.x)}
  - {name: d, image: busybox, command: [echo, plain]}
"""
    pod = _pod(steps, {"d": "$(tasks.make.results.digest)", "f": ["$(tasks.make.results.files[*])"],
                       "m": "$(tasks.make.results.meta.k)", "x": "$(tasks.make.results.a.b)"})
    plan = plan_of(pod)
    assert plan.tasks[0].refs == ()
    assert plan.tasks[1].refs == ("tasks.make.results.a.b", "tasks.make.results.digest", "tasks.make.results.files",
                                  "tasks.make.results.meta")
    refs = {c["name"]: from_argv(c["args"]).result_refs for c in pod["spec"]["containers"]}
    assert refs["step-use-a"] == (f"tasks.make.results.digest={channel_value_path('tasks.make.results.digest')}",
                                  f"tasks.make.results.files={channel_value_path('tasks.make.results.files')}")
    assert refs["step-use-b"] == ("tasks.make.results.meta=/doll/channel/values/tasks.make.results.meta",)
    assert refs["step-use-c"] == ("tasks.make.results.a.b=/doll/channel/values/tasks.make.results.a.b",)
    assert refs["step-use-d"] == ()
    assert from_argv(container(pod, "step-use-a")["args"]).command == (
        "echo", "$(tasks.make.results.digest)", "$(tasks.make.results.files[*])")


def test_a_step_s_result_refs_come_after_its_step_results() -> None:
    steps = """
  - {name: first, image: busybox, command: [sh, -c, "true"], results: [{name: r}]}
  - {name: second, image: busybox, command: [echo, $(steps.first.results.r), $(params.d)]}
"""
    pod = _pod(steps, {"d": "$(tasks.make.results.digest)"})
    assert from_argv(container(pod, "step-use-second")["args"]).result_refs == (
        "steps.first.results.r=/tekton/steps/step-use-first/results/r",
        "tasks.make.results.digest=/doll/channel/values/tasks.make.results.digest")


def test_a_finally_task_reads_the_statuses() -> None:
    steps = "  - {name: say, image: busybox, script: 'echo $(params.one) $(params.all)'}\n"
    pod = _pod(steps, {"one": "$(tasks.make.status)", "all": "$(tasks.status)"}, run_after=(), is_finally=True)
    assert plan_of(pod).tasks[1].refs == ("tasks.make.status", "tasks.status")


def test_a_matrix_copy_s_results_are_named_by_their_pipeline_task() -> None:
    copies = [task(f"make-{i}", PRODUCER, i, matrix="make") for i in range(2)]
    use = task("use", "params: [{name: d, type: array}]\nsteps: [{name: a, image: busybox, command: [echo, "
               "'$(params.d[*])']}]", 2, params={"d": ["$(tasks.make.results.digest[*])"]},
               run_after=("make-0", "make-1"))
    plan = plan_of(assemble(parts(*copies, use))[-1])
    assert plan.tasks[2].refs == ("tasks.make.results.digest",)


@pytest.mark.parametrize(("steps", "params", "plan", "error"), [
    ("  - {name: a, image: $(params.d), command: [x]}\n", {"d": "$(tasks.make.results.digest)"}, {},
     "tasks[1].taskSpec.steps[0].image: $(tasks.make.results.digest): a pipeline task's result or status reaches "
     "only a step's command, args, env and script"),
    ("  - {name: a, image: busybox, command: [x], workingDir: $(params.d)}\n", {"d": "$(tasks.make.results.digest)"},
     {}, "tasks[1].taskSpec.steps[0].workingDir: $(tasks.make.results.digest): a pipeline task's result"),
    ("  - {name: a, image: busybox, command: [x], env: [{name: E, valueFrom: {configMapKeyRef: {name: $(params.d), "
     "key: k}}}]}\n", {"d": "$(tasks.make.results.digest)"}, {},
     "steps[0].env[0].valueFrom.configMapKeyRef.name: $(tasks.make.results.digest): a pipeline task's result"),
    ("  - {name: a, image: busybox, command: [echo, $(params.d)]}\n", {"d": "$(tasks.make.results.nope)"}, {},
     "steps[0].command[1]: $(tasks.make.results.nope): task 'make' declares no result 'nope' (it declares: digest, "
     "files, a.b, meta)"),
    ("  - {name: a, image: busybox, command: [echo, $(params.d)]}\n", {"d": "$(tasks.make.results.digest)"},
     {"run_after": ()}, "steps[0].command[1]: $(tasks.make.results.digest): task 'use' does not run after 'make'"),
    ("  - {name: a, image: busybox, command: [echo, $(params.d)]}\n", {"d": "$(tasks.make.status)"}, {},
     "steps[0].command[1]: $(tasks.make.status): only a finally task can read a task's status"),
    ("  - {name: a, image: busybox, command: [echo, $(params.d)]}\n", {"d": "$(tasks.make.matrix.length)"}, {},
     "steps[0].command[1]: $(tasks.make.matrix.length): not a pipeline task's result or status"),
])
def test_a_ref_nothing_could_replace_at_run_time_is_refused_in_one_line(steps: str, params: dict[str, Any],
                                                                        plan: dict[str, Any], error: str) -> None:
    with pytest.raises(GenerateError) as caught:
        _pod(steps, params, **plan)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("run.yaml: spec.pipelineSpec.tasks[1].taskSpec.steps[0]")
    assert error in message


def test_a_ref_in_a_sidecar_is_refused_in_one_line() -> None:
    """A sidecar starts before any task: nothing could hand it a task's result."""
    spec = "params: [{name: d}]\nsteps: [{name: a, image: busybox, command: ['true']}]\n" \
           "sidecars: [{name: s, image: busybox, command: [echo, $(params.d)]}]"
    use = task("use", spec, 1, params={"d": "$(tasks.make.results.digest)"}, run_after=("make",))
    with pytest.raises(GenerateError, match=re.escape(
            "run.yaml: spec.pipelineSpec.tasks[1].taskSpec.sidecars[0].command[1]: $(tasks.make.results.digest): "
            "a pipeline task's result or status reaches only a step's command")):
        assemble(parts(task("make", PRODUCER, 0), use))
