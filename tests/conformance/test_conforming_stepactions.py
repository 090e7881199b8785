"""StepActions (docs/stepactions.md): `kind: StepAction` documents given with the Task, a step's `ref` and
`params`, the StepAction's params, defaults and results."""

from __future__ import annotations

import logging

import pytest
from generated import container, gen, pod_of, wrapped_command

from contracts.options import from_argv
from generator.errors import GenerateError

ACTION = """
apiVersion: tekton.dev/v1alpha1
kind: StepAction
metadata: {name: clone}
spec:
  params:
    - name: repo
      type: object
      properties: {url: {type: string}, commit: {type: string}}
    - {name: flags, type: array}
    - {name: output, default: /workspace}
  results: [{name: sha}]
  image: busybox
  env: [{name: OUT, value: $(params.output)}]
  command: [clone]
  args: [-url=$(params.repo.url), -rev=$(params.repo.commit), '$(params.flags[*])', $(step.results.sha.path)]
---
"""
RUN = """
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: act}
spec:
  params: [{name: url, value: https://example.org/r.git}]
  taskSpec:
    params: [{name: url}]
    steps:
      - name: fetch
        ref: {name: clone}
        params:
          - {name: repo, value: {url: $(params.url), commit: main}}
          - {name: flags, value: [--depth, "1"]}
        timeout: 5m
"""


def test_a_step_referencing_a_step_action_runs_it_with_the_steps_params(caplog: pytest.LogCaptureFixture) -> None:
    """docs/stepactions.md "Passing Params to StepAction" and "Emitting Results"; apply.go
    applyStepActionParameters: the step's param values (task params substituted) replace the StepAction's
    `$(params...)`, defaults fill the rest, `$(step.results.x.path)` is the step's own result file."""
    caplog.set_level(logging.WARNING)
    pod = pod_of(ACTION + RUN)
    step = container(pod, "step-fetch")
    assert step["image"] == "busybox"
    assert wrapped_command(step) == ["clone", "-url=https://example.org/r.git", "-rev=main", "--depth", "1",
                                     "/tekton/steps/step-fetch/results/sha"]
    assert {"name": "OUT", "value": "/workspace"} in step["env"]
    assert from_argv(step["args"]).timeout_seconds == 300  # the step's own fields stay the step's


@pytest.mark.parametrize("field", ["image: busybox", "command: [x]", "script: x", "env: []"])
def test_a_step_with_ref_may_not_give_what_the_step_action_gives(field: str) -> None:
    """docs/stepactions.md "Referencing a StepAction": image, command, args, script, env and volumeMounts
    with ref are a validation error ("image cannot be used with Ref")."""
    key = field.split(":")[0]
    with pytest.raises(GenerateError, match=rf"steps\[0\].{key}: cannot be used with ref \(it comes from the StepAction\)$"):
        gen(ACTION + RUN.replace("timeout: 5m", field))


def test_params_on_a_step_without_ref_are_refused() -> None:
    """docs/stepactions.md: "If a Step declares params for an inlined Step, it will also lead to a validation
    error"."""
    text = RUN.replace("        ref: {name: clone}\n", "        image: busybox\n        command: ['true']\n")
    with pytest.raises(GenerateError, match=r"steps\[0\].params: not supported by doll \(only a step with ref takes params\)"):
        gen(text)


def test_a_step_action_that_is_not_given_is_refused_naming_it() -> None:
    with pytest.raises(GenerateError, match=r"^run.yaml: spec.taskSpec.steps\[0\].ref.name: StepAction 'clone' "
                                            "is not among the given files$"):
        gen(RUN)


def test_a_remote_step_action_is_refused_in_one_line() -> None:
    """docs/stepactions.md "Specifying Remote StepActions": a resolver fetches it; doll resolves nothing remote."""
    text = RUN.replace("ref: {name: clone}", "ref: {resolver: git, params: [{name: url, value: x}]}")
    with pytest.raises(GenerateError, match=r"steps\[0\].ref.resolver: not supported \(doll takes StepActions from the given files"):
        gen(ACTION + text)


def test_a_step_action_param_without_value_or_default_is_refused() -> None:
    text = RUN.replace("          - {name: flags, value: [--depth, \"1\"]}\n", "")
    with pytest.raises(GenerateError, match=r"steps\[0\].params: StepAction param 'flags' has no value and no default"):
        gen(ACTION + text)
