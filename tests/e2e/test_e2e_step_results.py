"""Step results used by value, for real: `doll run` of a TaskRun whose later step reads an earlier step's results,
and `doll generate`'s one-line refusals."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from running_pods import BUSYBOX
from running_pods import DOLL, doll_run, taskrun

SPEC = f"""
results:
  - {{name: greeting, value: $(steps.make.results.word)}}
  - {{name: list, type: array, value: $(steps.make.results.items)}}
steps:
  - name: make
    image: {BUSYBOX}
    results:
      - {{name: word}}
      - {{name: items, type: array}}
    script: |
      #!/bin/sh
      printf 'hello world' > $(step.results.word.path)
      printf '["a b", "c"]' > $(step.results.items.path)
  - name: use
    image: {BUSYBOX}
    env:
      - {{name: WORD, value: "<$(steps.make.results.word)>"}}
    command: [sh, -c, 'printf "%s|" "$WORD" "$@"; echo', sh]
    args: ["$(steps.make.results.items[*])", "$(steps.make.results.items[0])!", "$(steps.make.results.word)"]
"""


def test_a_later_step_gets_an_earlier_steps_results_and_a_task_result_takes_one(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    """Tekton: the entrypoint replaces them before it runs the step (pkg/entrypoint/entrypointer.go
    applyStepResultSubstitutions: replaceCommandAndArgs, replaceEnv), and the TaskRun's result takes the step
    result's value (pkg/pod/status.go createTaskResultsFromStepResults)."""
    run = doll_run(tmp_path, pods, doll_image, taskrun("e2e-stepres", SPEC))
    assert run.exit_code == 0, run.output + run.errors
    assert run.logged("use") == ["<hello world>|a b|c|a b!|hello world|"]
    assert run.step("make")["results"] == {"greeting": "hello world", "list": '["a b", "c"]'}
    assert "  greeting = hello world" in run.output.splitlines()
    termination = json.loads((run.workdir / "termination" / "step-make").read_text())
    assert {"key": "greeting", "value": "hello world", "type": 1} in termination


def test_a_step_result_that_was_never_written_fails_the_step_that_uses_it(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    """Tekton's entrypoint only logs this ("Error while substituting step results") and runs the command with the
    reference in it; doll fails the step (exit 125) before its command runs."""
    spec = SPEC.replace("printf 'hello world' > $(step.results.word.path)", "true")
    run = doll_run(tmp_path, pods, doll_image, taskrun("e2e-stepres-missing", spec))
    assert run.exit_code == 1
    use = run.step("use")
    assert use["exit_code"] == 125 and use["reason"] == "Error"
    assert "step results: $(steps.make.results.word): no such step result" in run.record("use")["message"]
    assert run.logged("use") == ["entrypoint: step use: step results: $(steps.make.results.word): no such step "
                                 "result (/tekton/steps/step-make/results/word does not exist)"]


@pytest.mark.parametrize("old, new, error", [
    ('"$(steps.make.results.items[0])!"', '"$(steps.use.results.word)"',
     "spec.taskSpec.steps[1].args[1]: $(steps.use.results.word): step 'use' does not run before this one (a step "
     "can use only an earlier step's results)"),
    ('"$(steps.make.results.items[0])!"', '"$(steps.build.results.word)"',
     "spec.taskSpec.steps[1].args[1]: $(steps.build.results.word): no step 'build'"),
    ('"$(steps.make.results.items[0])!"', '"$(steps.make.results.digest)"',
     "spec.taskSpec.steps[1].args[1]: $(steps.make.results.digest): step 'make' declares no result 'digest' (it "
     "declares: items, word)"),
    ("value: $(steps.make.results.word)", "value: $(steps.make.results.nope)",
     "spec.taskSpec.results[0].value: $(steps.make.results.nope): step 'make' declares no result 'nope' (it "
     "declares: items, word)"),
])
def test_doll_generate_refuses_a_bad_reference_in_one_line(tmp_path: Path, old: str, new: str, error: str) -> None:
    """Tekton checks the fields at admission (task_validation.go validateStepResultReference); doll also checks
    that the step and the result exist and that the step comes earlier."""
    source = tmp_path / "run.yaml"
    source.write_text(taskrun("bad", SPEC.replace(old, new, 1)))
    done = subprocess.run([DOLL, "generate", str(source)], capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines()[-1] == f"doll generate: {source}: {error}"


ACTION = f"""
apiVersion: tekton.dev/v1beta1
kind: StepAction
metadata: {{name: greet}}
spec:
  image: {BUSYBOX}
  params:
    - {{name: who}}
    - {{name: punct, default: "!"}}
  results: [{{name: said}}]
  env: [{{name: WHO, value: $(params.who)}}]
  command: [sh, -c, 'printf "hello %s%s" "$WHO" "$1" | tee $(step.results.said.path); echo', sh, "$(params.punct)"]
"""
ACTION_SPEC = f"""
params: [{{name: name, default: world}}]
results: [{{name: greeting, value: $(steps.hi.results.said)}}]
steps:
  - name: hi
    ref: {{name: greet}}
    params: [{{name: who, value: "$(params.name)"}}]
  - name: after
    image: {BUSYBOX}
    command: [echo, "got <$(steps.hi.results.said)>"]
"""


def test_a_step_action_given_with_f_runs_with_its_params_and_its_result_reaches_the_next_step(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    """Tekton: the step becomes the StepAction (pkg/reconciler/taskrun/resources/taskref.go resolveStepRef, its
    params applied by apply.go applyStepActionParameters), whose result a later step reads at run time."""
    (tmp_path / "action.yaml").write_text(ACTION)
    run = doll_run(tmp_path, pods, doll_image, taskrun("e2e-stepaction", ACTION_SPEC), "-f",
                   str(tmp_path / "action.yaml"))
    assert run.exit_code == 0, run.output + run.errors
    assert run.logged("hi") == ["hello world!"]
    assert run.logged("after") == ["got <hello world!>"]
    assert "  greeting = hello world!" in run.output.splitlines()
