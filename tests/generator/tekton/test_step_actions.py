"""StepActions: a step's `ref` and `params` become the StepAction's step (generator/tekton/step_actions.py)."""

from __future__ import annotations

from typing import Any

import pytest
from generated import container, gen, pod_of, wrapped_command

from contracts.options import from_argv
from generator.errors import GenerateError
from generator.tekton.generating import GenerateOptions, generate

ACTION = """
apiVersion: tekton.dev/v1beta1
kind: StepAction
metadata: {name: greet}
spec:
  image: busybox
  params:
    - {name: who}
    - {name: punct, default: "!"}
    - {name: extra, type: array, default: []}
  results: [{name: said}]
  env: [{name: WHO, value: $(params.who)}]
  securityContext: {runAsUser: 1000}
  command: [sh, -c, 'echo "hello $WHO$1" "$@" > $(step.results.said.path)', sh, "$(params.punct)", "$(params.extra[*])"]
"""
RUN = """
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: sa}
spec:
  params: [{name: name, value: world}]
  taskSpec:
    params: [{name: name}]
    results: [{name: greeting, value: $(steps.hi.results.said)}]
    steps:
      - name: hi
        ref: {name: greet}
        timeout: 10s
        params: [{name: who, value: "$(params.name)"}, {name: extra, value: [a, b]}]
      - name: after
        image: busybox
        command: [echo, "$(steps.hi.results.said)"]
"""


def _pod(run: str = RUN, action: str = ACTION) -> dict[str, Any]:
    return pod_of(run + "---" + action)


def test_a_step_becomes_its_step_action_with_the_steps_params_and_the_defaults() -> None:
    """Tekton: taskref.go resolveStepRef (image, securityContext replaced; command, args, script, env, results
    when given; ref and params gone) and apply.go applyStepActionParameters (the step's params over the
    StepAction's defaults, the task's params replaced in the step's first)."""
    hi = container(_pod(), "step-hi")
    assert hi["image"] == "busybox" and hi["securityContext"]["runAsUser"] == 1000
    assert wrapped_command(hi) == ["sh", "-c", 'echo "hello $WHO$1" "$@" > /tekton/steps/step-hi/results/said',
                                   "sh", "!", "a", "b"]
    assert {"name": "WHO", "value": "world"} in hi["env"]
    options = from_argv(hi["args"])
    assert options.timeout_seconds == 10.0  # the step's own fields stay
    assert options.result_files == ("greeting=/tekton/steps/step-hi/results/said",)


def test_its_results_are_usable_by_a_later_step() -> None:
    after = container(_pod(), "step-after")
    assert wrapped_command(after) == ["echo", "$(steps.hi.results.said)"]
    assert from_argv(after["args"]).result_refs == ("steps.hi.results.said=/tekton/steps/step-hi/results/said",)


def test_the_step_action_may_come_in_another_file() -> None:
    objects = generate([("run.yaml", RUN), ("action.yaml", ACTION)], {}, GenerateOptions(registry=None))
    assert wrapped_command(container(objects[-1], "step-hi"))[4] == "!"


@pytest.mark.parametrize("old, new, in_action, message", [
    ("ref: {name: greet}", "ref: {name: nope}", False,
     r"spec.taskSpec.steps\[0\].ref.name: StepAction 'nope' is not among the given files"),
    ("ref: {name: greet}", "ref: {resolver: git, params: []}", False, r"steps\[0\].ref.resolver: not supported"),
    ("{name: who, value: \"$(params.name)\"}", "{name: whom, value: x}", False,
     r"steps\[0\].params\[0\].name: the StepAction has no param 'whom' \(it declares: extra, punct, who\)"),
    ("{name: who, value: \"$(params.name)\"}, ", "", False,
     r"steps\[0\].params: StepAction param 'who' has no value and no default"),
    ("timeout: 10s", "image: alpine", False, r"steps\[0\].image: cannot be used with ref"),
    ("{name: extra, value: [a, b]}", "{name: extra, value: notalist}", False, r"params\[1\].value: type mismatch"),
    ("$(params.punct)", "$(params.nope)", True, r"action.yaml: spec.command\[4\]: \$\(params.nope\) cannot be "
     r"resolved \(no param 'nope'\)"),
    ("  results: [{name: said}]\n", "  results: [{name: said}]\n  sidecars: []\n", True,
     r"action.yaml: spec.sidecars: not supported by doll"),
])
def test_a_bad_step_action_or_ref_is_refused_in_one_line(old: str, new: str, in_action: bool, message: str) -> None:
    """Tekton refuses these too: task_validation.go validateStep ("image cannot be used with Ref", ...),
    taskref.go resolveStepRef (validateStepHasStepActionParameters: a param the StepAction lacks, one with no
    value), the StepAction's own validation (an undeclared `$(params...)`); doll also takes no resolver."""
    run, action = (RUN, ACTION.replace(old, new, 1)) if in_action else (RUN.replace(old, new, 1), ACTION)
    assert old in (ACTION if in_action else RUN)
    with pytest.raises(GenerateError, match=message) as caught:
        generate([("run.yaml", run), ("action.yaml", action)], {}, GenerateOptions(registry=None))
    assert "\n" not in str(caught.value)


def test_a_file_of_step_actions_alone_is_no_run() -> None:
    with pytest.raises(GenerateError, match="no Task, TaskRun, Pipeline or PipelineRun found"):
        gen(ACTION)


def test_array_and_object_params_given_a_step_result_become_its_references() -> None:
    """Tekton: apply.go replacementsFromStepResults maps `$(params.p[*])`, `$(params.p[i])` and `$(params.p.key)`
    of a param given `$(steps.<step>.results.<name>)` to that step result's `[*]`, `[i]` and `.key` forms, which
    the entrypoint replaces at run time (entrypointer.go applyStepResultSubstitutions)."""
    action = """
apiVersion: tekton.dev/v1alpha1
kind: StepAction
metadata: {name: show}
spec:
  image: busybox
  params:
    - {name: items, type: array}
    - {name: obj, type: object, properties: {k: {type: string}}}
  command: [echo, "$(params.items[*])", "$(params.items[0])", "k=$(params.obj.k)"]
"""
    run = """
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: sa}
spec:
  taskSpec:
    steps:
      - name: make
        image: busybox
        results: [{name: list, type: array}, {name: map, type: object, properties: {k: {type: string}}}]
        script: "true"
      - name: show
        ref: {name: show}
        params: [{name: items, value: $(steps.make.results.list)}, {name: obj, value: "$(steps.make.results.map)"}]
"""
    show = container(pod_of(run + "---" + action), "step-show")
    assert wrapped_command(show) == ["echo", "$(steps.make.results.list[*])", "$(steps.make.results.list[0])",
                                     "k=$(steps.make.results.map.k)"]
    assert from_argv(show["args"]).result_refs == ("steps.make.results.list=/tekton/steps/step-make/results/list",
                                                   "steps.make.results.map=/tekton/steps/step-make/results/map")


def test_the_tasks_params_are_replaced_in_the_step_params_first_arrays_included() -> None:
    """Tekton: apply.go applyStepActionParameters replaces the task's params in the step's params
    (getTaskParameters) before it applies them to the StepAction; a whole `$(params.x[*])` is the array."""
    run = RUN.replace("params: [{name: name, value: world}]", "params: [{name: name, value: world}, "
                      "{name: more, value: [m1, m2]}]").replace(
        "params: [{name: name}]", "params: [{name: name}, {name: more, type: array}]").replace(
        "{name: extra, value: [a, b]}", "{name: extra, value: \"$(params.more[*])\"}")
    hi = container(_pod(run), "step-hi")
    assert wrapped_command(hi)[-3:] == ["!", "m1", "m2"]
    listed = run.replace("{name: extra, value: \"$(params.more[*])\"}", "{name: extra, value: [\"$(params.more[*])\", "
                         "\"x-$(params.name)\"]}")
    assert wrapped_command(container(_pod(listed), "step-hi"))[-4:] == ["!", "m1", "m2", "x-world"]
