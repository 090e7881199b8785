"""Steps as Tekton reads them: unnamed steps, displayName, workingDir, a command from the image, `when`, kind."""

from __future__ import annotations

import json
import logging

import pytest
from generated import container, gen, pod_of, wrapped_command

from contracts.options import from_argv
from generator.errors import GenerateError
from generator.images.sources import ImageCommand, Platforms
from generator.tekton.generate_options import GenerateOptions
from generator.tekton.translating import translate

RUN = """
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: steps}
spec:
  params: [{name: mode, value: fast}]
  taskSpec:
    params: [{name: mode}]
    steps:
"""


def _run(steps: str) -> str:
    return RUN + "".join(f"      {line}\n" for line in steps.strip("\n").splitlines())


class _Image:
    """An image with a Cmd and no Entrypoint, like busybox (Cmd ["sh"])."""

    def __init__(self, entrypoint: tuple[str, ...], cmd: tuple[str, ...]) -> None:
        self.command = ImageCommand(entrypoint, cmd)

    async def lookup(self, image: str) -> Platforms:
        return {"": self.command}


def test_an_unnamed_step_is_named_unnamed_and_its_index() -> None:
    """pkg/pod/pod.go StepName: a step without a name runs in container `step-unnamed-<index>`."""
    pod = pod_of(_run("- {name: first, image: busybox, command: ['true']}\n- {image: busybox, command: ['true']}"))
    step = container(pod, "step-unnamed-1")
    assert from_argv(step["args"]).name == "unnamed-1"
    assert [s["name"] for s in json.loads(_plan(pod))["steps"]] == ["first", "unnamed-1"]


def _plan(pod: dict[str, object]) -> str:
    init = container(pod, "doll-init")
    return str(next(e["value"] for e in init["env"] if e["name"] == "DOLL_PLAN"))


def test_a_steps_display_name_is_accepted_and_stays_out_of_the_container() -> None:
    """docs/tasks.md "Defining Steps": displayName is a step's human-readable name, shown by tools only."""
    pod = pod_of(_run("- {name: a, displayName: Build it, image: busybox, command: ['true']}"))
    assert "displayName" not in container(pod, "step-a")


def test_a_relative_working_dir_is_below_workspace_and_doll_init_creates_it() -> None:
    """pkg/pod/workingdir_init.go: Tekton's working-dir-initializer creates the steps' relative workingDirs and
    those under /workspace/ before any step runs; doll init does it, world-writable (a step runs as any user)."""
    pod = pod_of(_run("- {name: a, image: busybox, workingDir: src/app, command: ['true']}\n"
                      "- {name: b, image: busybox, workingDir: /workspace/out/, command: ['true']}\n"
                      "- {name: c, image: busybox, workingDir: /opt/tool, command: ['true']}\n"
                      "- {name: d, image: busybox, command: ['true']}"))
    assert [container(pod, f"step-{n}")["workingDir"] for n in "abcd"] == [
        "/workspace/src/app", "/workspace/out", "/opt/tool", "/workspace"]
    init = container(pod, "doll-init")
    assert json.loads(next(e["value"] for e in init["env"] if e["name"] == "DOLL_WORKING_DIRS")) == [
        "/workspace/out", "/workspace/src/app"]
    assert {"name": "doll-workspace", "mountPath": "/workspace"} in init["volumeMounts"]


def test_args_without_a_command_run_after_the_images_cmd_when_it_has_no_entrypoint() -> None:
    """pkg/pod/entrypoint_lookup_impl.go imageInfo: the command is the image's Entrypoint, or its Cmd when it
    has none; the step's args follow.  busybox (Cmd ["sh"]) with args [-c, ...] runs `sh -c ...`."""
    pod = pod_of(_run("- {name: a, image: busybox, args: [-c, echo hi]}"), image_source=_Image((), ("sh",)))
    assert wrapped_command(container(pod, "step-a")) == ["sh", "-c", "echo hi"]


def test_an_images_cmd_is_not_run_after_its_entrypoint() -> None:
    """pkg/pod/entrypoint_lookup_impl.go imageInfo: with an Entrypoint, Tekton runs it and the step's args;
    the image's Cmd is not used."""
    pod = pod_of(_run("- {name: a, image: tool}\n- {name: b, image: tool, args: [--x]}"),
                 image_source=_Image(("/bin/tool",), ("--help",)))
    assert wrapped_command(container(pod, "step-a")) == ["/bin/tool"]
    assert wrapped_command(container(pod, "step-b")) == ["/bin/tool", "--x"]


def test_a_step_whose_when_is_false_is_left_out_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """docs/stepactions.md "Controlling Step Execution with when expressions": a step runs only when every
    expression holds (`in`/`notin` over values).  Params are known when doll generates the Pod, so doll
    decides there, and leaves a skipped step out."""
    caplog.set_level(logging.WARNING)
    pod = pod_of(_run("- {name: a, image: busybox, command: ['true'],\n"
                      "   when: [{input: $(params.mode), operator: in, values: [slow]}]}\n"
                      "- {name: b, image: busybox, command: ['true'],\n"
                      "   when: [{input: $(params.mode), operator: notin, values: [slow, lazy]}]}"))
    assert [c["name"] for c in pod["spec"]["containers"]] == ["step-b"]
    assert caplog.messages == ["run.yaml: spec.taskSpec.steps[0]: step 'a' is skipped: its when 'fast' in "
                               "['slow'] is false (doll decides a step's when as it generates the Pod, and leaves "
                               "the step out)"]


def test_when_values_expand_an_array_param() -> None:
    """docs/pipelines.md "Guard Task execution using when expressions": values may be `$(params.arr[*])`."""
    text = RUN.replace("params: [{name: mode}]", "params: [{name: mode}, {name: ok, default: [fast, slow]}]")
    pod = pod_of(text + "      - {name: a, image: busybox, command: ['true'],\n"
                        "         when: [{input: $(params.mode), operator: in, values: ['$(params.ok[*])']}]}\n")
    assert [c["name"] for c in pod["spec"]["containers"]] == ["step-a"]


REFUSED_WHEN = {
    "cel": ("[{cel: \"'$(params.mode)' == 'fast'\"}]",
            "steps[0].when[0].cel: CEL in a step's when is not supported by doll (write it as input, operator "
            "and values)"),
    "a step result": ("[{input: $(steps.x.results.r), operator: in, values: [a]}]",
                      "steps[0].when[0]: a when on step results is decided at run time, which doll does not do "
                      "(doll decides a step's when from params and context when it generates the Pod)"),
    "an unknown operator": ("[{input: a, operator: eq, values: [a]}]", "steps[0].when[0].operator: 'eq' is not "
                            "in or notin"),
    "no values": ("[{input: a, operator: in, values: []}]",
                  "steps[0].when[0].values: expected a non-empty list of strings"),
}


@pytest.mark.parametrize("case", REFUSED_WHEN, ids=list(REFUSED_WHEN))
def test_a_when_doll_cannot_decide_is_refused_in_one_line(case: str) -> None:
    """docs/pipelines.md (when expressions: operator in/notin, values non-empty) and TEP-0145 (CEL)."""
    when, message = REFUSED_WHEN[case]
    with pytest.raises(GenerateError) as error:
        gen(_run(f"- {{name: a, image: busybox, command: ['true'], when: {when}}}"))
    assert str(error.value) == f"run.yaml: spec.taskSpec.{message}"


def test_when_every_steps_when_is_false_nothing_runs_and_it_is_refused() -> None:
    with pytest.raises(GenerateError, match=r"steps: every step's when is false: nothing to run$"):
        gen(_run("- {name: a, image: busybox, command: ['true'], when: [{input: a, operator: in, values: [b]}]}"))


@pytest.mark.parametrize("kind", ["task", "taskrun", "TASK", "pipelinerun", "PIPELINE"])
def test_a_lower_case_kind_is_refused_saying_kinds_are_case_sensitive(kind: str) -> None:
    """Kubernetes kinds are case-sensitive: `kubectl apply` of `kind: task` finds no kind `task` in tekton.dev
    ("no matches for kind"), so Tekton never sees it; doll says what the kind is called."""
    spelled = {"taskrun": "TaskRun", "pipelinerun": "PipelineRun", "PIPELINE": "Pipeline"}.get(kind, "Task")
    text = "apiVersion: tekton.dev/v1\nkind: " + kind + "\nmetadata: {name: t}\nspec: {steps: []}\n"
    with pytest.raises(GenerateError) as error:
        translate([("run.yaml", text)], {}, GenerateOptions(registry=None))
    assert str(error.value) == (f"run.yaml: kind: '{kind}' is not supported (doll runs a Task, TaskRun, Pipeline or "
                                f"PipelineRun; kinds "
                                f"are case-sensitive: {spelled})")
