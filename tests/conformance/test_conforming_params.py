"""Params as Tekton substitutes them: propagated into embedded specs, extra ones ignored, defaults taken as
written, in a TaskRun's podTemplate too; artifacts variables, which doll does not have, refused."""

from __future__ import annotations

import logging

import pytest
from generated import container, gen, pod_of, wrapped_command

from generator.errors import GenerateError

EMBEDDED = """
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: prop}
spec:
  params:
    - {name: who, value: world}
    - {name: flags, value: [-n, -e]}
    - {name: target, value: {host: example.org, port: "443"}}
  taskSpec:
    steps:
      - name: show
        image: busybox
        command: [echo, '$(params.flags[*])', $(params.who), '$(params.target.host):$(params.target.port)']
"""


def test_params_given_to_an_embedded_spec_that_does_not_declare_them_are_propagated() -> None:
    """docs/taskruns.md "Propagated Parameters" and "Propagated Object Parameters": an embedded taskSpec sees
    the TaskRun's params without declaring them, strings, arrays and objects alike (typed by their value)."""
    pod = pod_of(EMBEDDED)
    assert wrapped_command(container(pod, "step-show")) == ["echo", "-n", "-e", "world", "example.org:443"]


TASK_REF = """
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: t}
spec:
  params: [{name: who}]
  steps: [{name: show, image: busybox, command: [echo, $(params.who)]}]
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: r}
spec:
  taskRef: {name: t}
  params: [{name: who, value: world}, {name: extra, value: x}]
"""


def test_an_extra_param_given_to_a_referenced_task_is_ignored_with_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    """pkg/reconciler/taskrun/validate_taskrun.go wrongTypeParamsNames: "Ignore any missing params - this
    happens when extra params were passed to the task that aren't being used".  doll says so, as it does
    for every TaskRun field it ignores."""
    caplog.set_level(logging.WARNING)
    pod = pod_of(TASK_REF)
    assert wrapped_command(container(pod, "step-show")) == ["echo", "world"]
    assert caplog.messages == ["run.yaml: document 2: spec.params[1]: param 'extra' ignored (the task declares no "
                               "such param)"]


def test_an_unknown_param_on_dolls_command_line_is_still_refused() -> None:
    """`-p` is doll's own option, not Tekton's: a typo there is refused rather than ignored."""
    with pytest.raises(GenerateError, match=r"^-p whom: unknown param 'whom' \(the task declares: who\)$"):
        gen(TASK_REF, {"whom": "x"})


def test_a_default_that_names_another_param_is_taken_as_written() -> None:
    """pkg/reconciler/taskrun/resources/apply.go replacementsFromDefaultParams takes a default's value as
    written, and substitution.ApplyReplacements replaces every variable in one pass (a strings.Replacer): a
    default `$(params.a)-x` reaches the step as `$(params.a)-x`, not as the value of `a`."""
    text = EMBEDDED.replace("    steps:", "    params: [{name: a, default: one}, {name: b, default: $(params.a)-x}]\n"
                            "    steps:").replace("$(params.who),", "$(params.b),")
    pod = pod_of(text)
    assert wrapped_command(container(pod, "step-show"))[3] == "$(params.a)-x"


def test_params_in_the_pod_template_are_substituted(caplog: pytest.LogCaptureFixture) -> None:
    """pkg/reconciler/taskrun/resources/apply.go ApplyPodTemplateReplacements (tektoncd/pipeline#8599): a
    TaskRun's podTemplate takes its params in its strings (nodeSelector keys and values, tolerations, env, ...);
    any other variable stays as written (a strings.Replacer over the params), and doll says so."""
    caplog.set_level(logging.WARNING)
    text = EMBEDDED.replace("  taskSpec:", "  podTemplate:\n"
                            "    nodeSelector: {arch: $(params.who), host: $(params.target.host)}\n"
                            "    env: [{name: RUN, value: $(context.taskRun.name)}]\n  taskSpec:")
    pod = pod_of(text)
    assert pod["spec"]["nodeSelector"] == {"arch": "world", "host": "example.org"}
    assert caplog.messages == ["run.yaml: spec.podTemplate: $(context.taskRun.name) is not substituted there (as in "
                               "Tekton: a TaskRun's podTemplate takes its params only); it reaches the Pod as written"]


@pytest.mark.parametrize("variable", ["$(artifacts.path)", "$(step.artifacts.path)"])
def test_an_artifacts_variable_is_refused_in_one_line(variable: str) -> None:
    """docs/artifacts.md: artifacts (TEP-0147) are an alpha feature doll does not provide; rather than leave the
    variable for a shell to misread, doll refuses it."""
    with pytest.raises(GenerateError) as error:
        gen(EMBEDDED.replace("$(params.who),", f"'{variable}',"))
    assert str(error.value) == (f"run.yaml: spec.taskSpec.steps[0].command[2]: {variable} cannot be resolved "
                                "(Tekton's artifacts (TEP-0147, alpha) are not supported by doll)")
