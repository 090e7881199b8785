"""Reading a PipelineRun: which documents, which Pipeline and Tasks, which fields (docs/pipelineruns.md,
docs/pipelines.md; PipelineRunSpec / PipelineTask in pkg/apis/pipeline/v1)."""

from __future__ import annotations

import pytest
from pipeline_docs import ECHO, params, read, refused, run, task

from generator.tekton.pipelines.reading import read_pipeline

BUILDER = """
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: builder, labels: {team: a}}
spec:
  params: [{name: msg}]
  results: [{name: digest}, {name: list, type: array}, {name: info, type: object, properties: {url: {}, sha: {}}}]
  steps: [{name: b, image: busybox, script: echo $(params.msg)}]
"""
PIPELINE = """
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: release, labels: {from: pipeline}}
spec:
  params: [{name: who, default: world}]
  tasks:
    - name: build
      taskRef: {name: builder}
      params: [{name: msg, value: hello $(params.who)}]
"""


def test_documents_without_a_pipeline_or_pipeline_run_are_left_to_the_task_path() -> None:
    """None: a Task (and its TaskRun) is the Task path's."""
    assert read_pipeline([("task.yaml", BUILDER)], {}) is None


def test_a_pipeline_ref_names_a_pipeline_given_with_the_files_and_a_task_ref_a_task() -> None:
    """docs/pipelineruns.md "Specifying the target Pipeline"; docs/pipelines.md "Adding Tasks to the Pipeline"."""
    text = "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: r1, labels: {from: run}}\n" \
           "spec: {pipelineRef: {name: release}, params: [{name: who, value: doll}]}\n"
    parts = read_pipeline([("run.yaml", text), ("pipeline.yaml", PIPELINE), ("task.yaml", BUILDER)], {})
    assert parts is not None and parts.name == "r1" and parts.pipeline.name == "release"
    build = task(parts, "build")
    assert params(build) == {"msg": "hello doll"}
    assert build.run.task_name == "builder" and build.where == "pipeline.yaml: spec.tasks[0]"
    assert build.run.labels == {"team": "a"} and parts.labels == {"from": "run"}
    assert [r.name for r in build.plan.results] == ["digest", "list", "info"]
    assert build.plan.results[2].properties == ("url", "sha")


def test_a_bare_pipeline_runs_with_the_command_line_params_under_a_generated_name() -> None:
    """As a bare Task: no PipelineRun, a generated run name, -p params."""
    parts = read_pipeline([("pipeline.yaml", PIPELINE), ("task.yaml", BUILDER)], {"who": "cli"})
    assert parts is not None and parts.name.startswith("release-run-")
    assert params(task(parts, "build")) == {"msg": "hello cli"}


def test_an_embedded_task_spec_is_the_task_and_its_metadata_gives_labels() -> None:
    text = run(f"tasks: [{{name: a, taskSpec: {{metadata: {{labels: {{x: y}}}}, steps: [{{name: s, image: busybox}}]}}}}]")
    a = task(read(text), "a")
    assert a.run.embedded and a.run.task == {"steps": [{"name": "s", "image": "busybox"}]}
    assert a.run.labels == {"x": "y"} and a.run.task_where == "run.yaml: spec.pipelineSpec.tasks[0].taskSpec"


@pytest.mark.parametrize("ref, expected", [
    ("{name: x, resolver: git}", "taskRef.resolver: not supported (doll resolves Tasks from the files"),
    ("{name: x, bundle: reg/x}", "taskRef.bundle: not supported"),
    ("{name: x, kind: ClusterTask}", "taskRef.kind: 'ClusterTask' is not supported (ClusterTasks were removed"),
    ("{name: x, apiVersion: example.dev/v1, kind: Wait}", "custom tasks are not supported"),
    ("{name: missing}", "taskRef.name: task 'missing' is not among the given files"),
])
def test_task_refs_other_than_a_task_in_the_files_are_refused(ref: str, expected: str) -> None:
    """PipelineTask.Validate (custom tasks, resolvers, bundles); ClusterTask was removed in Tekton v0.64."""
    assert expected in refused(run(f"tasks: [{{name: a, taskRef: {ref}}}]"))


def test_a_pipeline_ref_with_a_resolver_is_refused() -> None:
    text = "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: r}\n" \
           "spec: {pipelineRef: {resolver: git, params: []}}\n"
    assert "spec.pipelineRef.resolver: not supported" in refused(text)


@pytest.mark.parametrize("field, expected", [
    ("status: Cancelled", "spec.status: not supported (doll starts the run"),
    ("taskRunSpecs: [{pipelineTaskName: a}]", "spec.taskRunSpecs: not supported (every task runs in one Pod"),
    ("podTemplate: {}", "spec.podTemplate: not a tekton.dev/v1 field (v1 spells it taskRunTemplate.podTemplate)"),
    ("timeout: 1h", "spec.timeout: not a tekton.dev/v1 field (v1 spells it timeouts.pipeline)"),
    ("surprise: 1", "spec.surprise: not supported by doll"),
])
def test_unsupported_pipeline_run_fields_are_refused_in_one_line(field: str, expected: str) -> None:
    """Nothing silently dropped: PipelineRunSpec's fields doll cannot honour are refused."""
    assert expected in refused(run(f"tasks: [{{name: a, taskSpec: {ECHO}}}]", field))


@pytest.mark.parametrize("field, expected", [
    ("retries: 2", "retries: 2: not supported (a Pod cannot run a container again once it has exited"),
    ("pipelineRef: {name: p}", "pipelineRef: not supported (Pipelines in Pipelines"),
    ("resources: {}", "resources: not supported (PipelineResources were removed"),
    ("onError: maybe", "onError: 'maybe' is not continue or stopAndFail"),
    ("bogus: 1", "tasks[0].bogus: not supported by doll"),
])
def test_unsupported_pipeline_task_fields_are_refused_in_one_line(field: str, expected: str) -> None:
    assert expected in refused(run(f"tasks: [{{name: a, {field}, taskSpec: {ECHO}}}]"))


def test_v1beta1_gives_the_pod_template_service_account_and_timeout_at_the_top() -> None:
    """v1beta1 PipelineRunSpec: podTemplate, serviceAccountName, timeout (v1: taskRunTemplate, timeouts)."""
    text = run(f"tasks: [{{name: a, taskSpec: {ECHO}}}]",
               "podTemplate: {nodeSelector: {a: b}}\nserviceAccountName: builder\ntimeout: 90s")
    parts = read(text.replace("tekton.dev/v1\n", "tekton.dev/v1beta1\n", 1))
    assert parts.pod_template == {"nodeSelector": {"a": "b"}} and parts.service_account == "builder"
    assert parts.timeout_seconds == 90 and parts.timeout_given
    assert task(parts, "a").run.service_account == "builder"


def test_v1_gives_them_in_the_task_run_template() -> None:
    parts = read(run(f"tasks: [{{name: a, taskSpec: {ECHO}}}]",
                     "taskRunTemplate: {serviceAccountName: sa, podTemplate: {hostNetwork: true}}"))
    assert parts.service_account == "sa" and parts.pod_template == {"hostNetwork": True}


def test_options_of_a_pipeline_task_reach_its_plan() -> None:
    """displayName (params replaced), onError, timeout: PipelineTask fields."""
    parts = read(run(f"""
        params: [{{name: who, default: you}}]
        tasks: [{{name: a, displayName: "for $(params.who)", onError: continue, timeout: 2m, taskSpec: {ECHO}}}]
    """))
    plan = task(parts, "a").plan
    assert (plan.display_name, plan.on_error, plan.timeout_seconds) == ("for you", "continue", 120)
    assert task(parts, "a").run.timeout_seconds == 120


@pytest.mark.parametrize("name, expected", [
    ("Build", "tasks[0].name: 'Build' is not a DNS-1123 label"),
    ("a", "tasks[1].name: duplicate 'a'"),
])
def test_task_names_are_unique_dns_labels(name: str, expected: str) -> None:
    """PipelineTaskList.Validate: ValidateName (IsDNS1123Label) and unique names."""
    text = run(f"tasks: [{{name: {name}, taskSpec: {ECHO}}}, {{name: a, taskSpec: {ECHO}}}]")
    assert expected in refused(text)


def test_a_second_pipeline_run_or_a_task_run_beside_it_is_refused() -> None:
    text = run(f"tasks: [{{name: a, taskSpec: {ECHO}}}]")
    assert "a second PipelineRun" in refused(text + "---\n" + text)
    taskrun = "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: t}\nspec: {taskRef: {name: x}}\n"
    assert "a TaskRun given with a Pipeline or PipelineRun" in refused(text + "---\n" + taskrun)


def test_a_result_ref_in_an_embedded_task_s_steps_is_refused_saying_where_tekton_replaces_them() -> None:
    """ApplyTaskResults replaces refs in params, when and matrix only: a step's text keeps them."""
    text = run(f"""
        tasks:
          - {{name: a, taskSpec: {{results: [{{name: r}}], steps: [{{name: s, image: busybox}}]}}}}
          - name: b
            taskSpec: {{steps: [{{name: s, image: busybox, script: "echo $(tasks.a.results.r)"}}]}}
    """)
    assert "only in a pipeline task's params, when and matrix" in refused(text)
