"""Step results used by value: kept for the wrapper, checked at generate time, and task results taken from them."""

from __future__ import annotations

from typing import Any

import pytest
from generated import container, gen, pod_of, wrapped_command

from contracts.options import from_argv
from generator.errors import GenerateError

RUN = """
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: sr}
spec:
  taskSpec:
    results:
      - {name: greeting, value: $(steps.make.results.word)}
      - {name: list, type: array, value: $(steps.make.results.items)}
      - {name: plain}
    steps:
      - name: make
        image: busybox
        results:
          - {name: word}
          - {name: items, type: array}
          - {name: obj, properties: {k: {type: string}}}
        script: "true"
      - name: use
        image: busybox
        env: [{name: WORD, value: "<$(steps.make.results.word)>"}, {name: KEY, value: "$(steps.make.results.obj.k)"}]
        command: [sh, -c, 'echo "$@"', sh]
        args: ["$(steps.make.results.items[*])", "$(steps.make.results.items[1])", "x-$( steps.make.results[\\"word\\"] )"]
"""


def _options(pod: dict[str, Any], name: str) -> Any:
    return from_argv(container(pod, name)["args"])


def test_references_stay_in_command_args_and_env_normalized_and_the_wrapper_gets_their_files() -> None:
    """Tekton leaves them to the entrypoint, which replaces them in command, args and env before it runs the
    step (pkg/entrypoint/entrypointer.go applyStepResultSubstitutions, replaceCommandAndArgs, replaceEnv)."""
    pod = pod_of(RUN)
    use = container(pod, "step-use")
    assert wrapped_command(use) == ["sh", "-c", 'echo "$@"', "sh", "$(steps.make.results.items[*])",
                                    "$(steps.make.results.items[1])", "x-$(steps.make.results.word)"]
    env = {e["name"]: e.get("value") for e in use["env"]}
    assert env["WORD"] == "<$(steps.make.results.word)>" and env["KEY"] == "$(steps.make.results.obj.k)"
    assert _options(pod, "step-use").result_refs == (
        "steps.make.results.items=/tekton/steps/step-make/results/items",
        "steps.make.results.obj=/tekton/steps/step-make/results/obj",
        "steps.make.results.word=/tekton/steps/step-make/results/word")
    assert _options(pod, "step-make").result_refs == ()


def test_a_task_result_from_a_step_result_is_reported_by_that_steps_wrapper() -> None:
    """The TaskRun status takes it from the step's own results (pkg/pod/status.go createTaskResultsFromStepResults,
    findStepResultsFetchedByTask: per step container)."""
    pod = pod_of(RUN)
    assert _options(pod, "step-make").result_files == ("greeting=/tekton/steps/step-make/results/word",
                                                       "list=/tekton/steps/step-make/results/items")
    assert _options(pod, "step-use").result_files == ()


@pytest.mark.parametrize("old, new, message", [
    ("$(steps.make.results.items[1])", "$(steps.use.results.word)",
     r"steps\[1\].args\[1\]: \$\(steps.use.results.word\): step 'use' does not run before this one"),
    ("$(steps.make.results.items[1])", "$(steps.later.results.word)", r"args\[1\]: .*: no step 'later'"),
    ("$(steps.make.results.items[1])", "$(steps.make.results.nope)",
     r"args\[1\]: \$\(steps.make.results.nope\): step 'make' declares no result 'nope' \(it declares: items, obj, "
     r"word\)"),
    ('script: "true"', 'script: "echo $(steps.make.results.word)"', r"steps\[0\].script: .*: step results can be used "
     "only in a step's env, command and args"),
    ("image: busybox\n        env:", "image: busybox\n        workingDir: $(steps.make.results.word)\n        env:",
     r"steps\[1\].workingDir: .*: step results can be used only in a step's env, command and args"),
    ('"$(steps.make.results.items[*])"', '"-$(steps.make.results.items[*])"',
     r"args\[0\]: .*: a whole array can only be a whole element of command or args"),
    ('"$(steps.make.results.obj.k)"', '"$(steps.make.results.items[*])"',
     r"env\[1\].value: .*: a whole array can only be a whole element"),
    ('"$(steps.make.results.items[1])"', '"$(steps.make.results.items)"', r"an array result: use \[\*\] or \[i\]"),
    ('"$(steps.make.results.items[1])"', '"$(steps.make.results.word[0])"', r"an index of a string result"),
])
def test_a_bad_reference_is_refused_in_one_line(old: str, new: str, message: str) -> None:
    """Tekton refuses them at admission: the field (task_validation.go validateStepResultReference: "only allowed
    in env, command and args"), an array used where a string goes (entrypointer.go replaceCommandAndArgs); doll
    also refuses a step or result that does not exist or does not come earlier."""
    assert old in RUN
    text = RUN.replace(old, new, 1)
    with pytest.raises(GenerateError, match=message) as caught:
        gen(text)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("value, message", [
    ("$(steps.nope.results.word)", r"results\[0\].value: .*: no step 'nope'"),
    ("$(steps.make.results.nope)", r"step 'make' declares no result 'nope'"),
    ("x-$(steps.make.results.word)", r"is not \$\(steps.<step>.results.<name>\)"),
    ("$(steps.make.results.items)", r"the task result is string, the step result array"),
])
def test_a_bad_task_result_value_is_refused_in_one_line(value: str, message: str) -> None:
    """Tekton: a task result's value is `$(steps.<step>.results.<name>)` (v1 ExtractStepResultName)."""
    text = RUN.replace("{name: greeting, value: $(steps.make.results.word)}", f"{{name: greeting, value: '{value}'}}")
    with pytest.raises(GenerateError, match=message):
        gen(text)


def test_a_sidecar_cannot_use_step_results() -> None:
    text = RUN.replace("    steps:\n", "    sidecars:\n      - {name: side, image: busybox, args: "
                       "[$(steps.make.results.word)]}\n    steps:\n", 1)
    with pytest.raises(GenerateError, match=r"sidecars\[0\].args\[0\]: \$\(steps.make.results.word\) cannot be "
                                            "resolved"):
        gen(text)
