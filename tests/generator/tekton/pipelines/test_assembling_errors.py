"""What one Pod cannot hold, refused in one line naming the field: names that meet, a task's own Pod settings."""

from __future__ import annotations

import dataclasses
import re

import pytest
from pipeline_parts import assemble, parts, task

from generator.errors import GenerateError

STEP = "{name: %s, image: busybox, command: ['true']}"


def _refused(*tasks: object, **fields: object) -> str:
    with pytest.raises(GenerateError) as caught:
        assemble(parts(*tasks, **fields))  # type: ignore[arg-type]
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_two_steps_named_alike_in_the_pod_are_refused_naming_both() -> None:
    """Task `a`'s step `b-c` and task `a-b`'s step `c` are both `a-b-c`: refused, never renamed (a name in the Pod
    says task and step, and stays what the user can predict)."""
    message = _refused(task("a", f"steps: [{STEP % 'b-c'}]", 0), task("a-b", f"steps: [{STEP % 'c'}]", 1))
    assert message == ("run.yaml: spec.pipelineSpec.tasks[1].taskSpec.steps[0].name: step 'c' of task 'a-b' is "
                       "'a-b-c' in the Pod, as is step 'b-c' of task 'a' (run.yaml: spec.pipelineSpec.tasks[0]"
                       ".taskSpec.steps[0]): rename one")


def test_two_sidecars_named_alike_in_the_pod_are_refused() -> None:
    spec = f"steps: [{STEP % 'x'}]\nsidecars: [{{name: %s, image: busybox, command: [sleep, '9']}}]"
    message = _refused(task("a", spec % "b-c", 0), task("a-b", spec % "c", 1))
    assert message.startswith("run.yaml: spec.pipelineSpec.tasks[1].taskSpec.sidecars[0].name: sidecar 'c' of "
                              "task 'a-b' is 'a-b-c' in the Pod, as is sidecar 'b-c' of task 'a'")


def test_two_tasks_volumes_named_alike_in_the_pod_are_refused() -> None:
    spec = f"steps: [{STEP % 'x'}]\nvolumes: [{{name: %s, emptyDir: {{}}}}]"
    message = _refused(task("a", spec % "b-c", 0), task("a-b", spec % "c", 1))
    assert message.startswith("run.yaml: spec.pipelineSpec.tasks[1].taskSpec.volumes[0].name: volume 'c' of task "
                              "'a-b' is 'a-b-c' in the Pod, as is volume 'b-c' of task 'a'")


def test_a_task_s_own_pod_template_is_refused() -> None:
    one = task("a", f"steps: [{STEP % 'x'}]", 0)
    one = dataclasses.replace(one, run=dataclasses.replace(one.run, pod_template={"nodeSelector": {"a": "b"}}))
    assert _refused(one) == ("run.yaml: spec.pipelineSpec.tasks[0]: podTemplate: one Pod has one podTemplate, the "
                             "PipelineRun's (a task's own is not supported by doll)")


def test_a_task_s_own_service_account_is_refused() -> None:
    one = task("a", f"steps: [{STEP % 'x'}]", 0)
    one = dataclasses.replace(one, run=dataclasses.replace(one.run, service_account="other"))
    assert re.match(r"run.yaml: spec.pipelineSpec.tasks\[0\]: serviceAccountName: 'other': one Pod has one "
                    r"ServiceAccount, the PipelineRun's", _refused(one, service_account="builder"))


def test_the_same_pod_template_and_service_account_as_the_run_s_are_taken() -> None:
    one = task("a", f"steps: [{STEP % 'x'}]", 0)
    one = dataclasses.replace(one, run=dataclasses.replace(one.run, pod_template={"nodeSelector": {"a": "b"}},
                                                           service_account="builder"))
    pod = assemble(parts(one, pod_template={"nodeSelector": {"a": "b"}}, service_account="builder"))[-1]
    assert pod["spec"]["nodeSelector"] == {"a": "b"} and pod["spec"]["serviceAccountName"] == "builder"
