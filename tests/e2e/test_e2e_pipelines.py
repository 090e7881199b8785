"""Whole PipelineRuns in one Pod, for real: `doll run` under podman, read back from the report and from the
wrappers' own records (their post files carry each child's real start and end)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from running_pods import BUSYBOX, ROOT, Run, doll_run


def pipeline_run(name: str, pipeline_spec: str, extra_spec: str = "") -> str:
    """A PipelineRun named `name` with an inline pipelineSpec (YAML text as under `pipelineSpec:`)."""
    spec = textwrap.indent(textwrap.dedent(pipeline_spec).strip("\n"), "    ")
    extra = textwrap.indent(textwrap.dedent(extra_spec).strip("\n"), "  ") + "\n" if extra_spec else ""
    return f"apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata:\n  name: {name}\nspec:\n{extra}  pipelineSpec:\n{spec}\n"


def task(run: Run, name: str) -> dict[str, Any]:
    return next(t for t in run.report["tasks"] if t["name"] == name)


def test_the_example_pipeline_passes_results_between_tasks_through_the_supervisor(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    """examples/pipeline-run.yaml, the README's demo: results travel at run time (docs/pipelines.md "Passing
    one Task's Results into the Parameters or when expressions of another"), an emptyDir workspace carries the
    file between tasks, and the finally task reads `$(tasks.status)` and `$(tasks.<name>.status)` (docs/pipelines.md
    "Using Execution Status of pipelineTask", "Using Aggregate Execution Status of All Tasks")."""
    run = doll_run(tmp_path, pods, doll_image, (ROOT / "examples" / "pipeline-run.yaml").read_text())
    assert run.exit_code == 0, run.output + run.errors
    assert {t["name"]: t["outcome"] for t in run.report["tasks"]} == {
        "fetch": "Succeeded", "count-words": "Succeeded", "count-lines": "Succeeded", "checksum": "Succeeded",
        "summarize": "Succeeded", "report": "Succeeded"}
    summary = run.report["pipeline_results"]["summary"]
    assert summary.startswith("18 words, 2 lines, md5 ") and len(summary.rsplit(" ", 1)[1]) == 32
    assert run.report["pipeline_results"]["words"] == "18"
    assert run.logged("report/report") == ["pipeline: Succeeded; summarize: Succeeded"]


PARALLEL = f"""
tasks:
  - name: first
    taskSpec:
      steps: [{{name: go, image: {BUSYBOX}, command: [sleep, "2"]}}]
  - name: left
    runAfter: [first]
    taskSpec:
      steps: [{{name: work, image: {BUSYBOX}, command: [sleep, "2"]}}]
  - name: middle
    runAfter: [first]
    taskSpec:
      steps: [{{name: work, image: {BUSYBOX}, command: [sleep, "2"]}}]
  - name: right
    runAfter: [first]
    taskSpec:
      steps: [{{name: work, image: {BUSYBOX}, command: [sleep, "2"]}}]
  - name: last
    runAfter: [left, middle, right]
    taskSpec:
      steps: [{{name: go, image: {BUSYBOX}, command: ["true"]}}]
"""


def test_independent_tasks_run_at_the_same_time_and_a_task_waits_for_all_it_runs_after(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    """docs/pipelines.md "Using the runAfter field": tasks with no order between them run in parallel;
    `last` starts only after all three (pkg/reconciler/pipeline/dag/dag.go GetCandidateTasks).  `first` takes
    2 s, by when podman, which starts a Pod's containers one by one, has started every container."""
    run = doll_run(tmp_path, pods, doll_image, pipeline_run("e2e-pipe-parallel", PARALLEL))
    assert run.exit_code == 0, run.output + run.errors
    spans = {t: (run.record(f"{t}-work")["started_at"], run.record(f"{t}-work")["finished_at"])
             for t in ("left", "middle", "right")}
    latest_start = max(start for start, _ in spans.values())
    earliest_end = min(end for _, end in spans.values())
    assert latest_start < earliest_end, f"the three branches did not overlap: {spans}"
    assert latest_start - min(start for start, _ in spans.values()) < 1.0, spans
    assert run.record("first-go")["finished_at"] <= min(start for start, _ in spans.values())
    assert run.record("last-go")["started_at"] >= max(end for _, end in spans.values())


FAILING = f"""
tasks:
  - name: broken
    taskSpec:
      steps: [{{name: fail, image: {BUSYBOX}, command: [sh, -c, "exit 3"]}}]
  - name: after-broken
    runAfter: [broken]
    taskSpec:
      steps: [{{name: never, image: {BUSYBOX}, command: ["true"]}}]
  - name: slow
    taskSpec:
      steps: [{{name: work, image: {BUSYBOX}, command: [sleep, "1"]}}]
finally:
  - name: cleanup
    params: [{{name: seen, value: "$(tasks.broken.status) $(tasks.status)"}}]
    taskSpec:
      params: [{{name: seen}}]
      steps: [{{name: say, image: {BUSYBOX}, command: [echo, "$(params.seen)"]}}]
"""


def test_a_failed_task_skips_its_dependents_while_a_running_branch_finishes_and_finally_runs(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    """docs/pipelines.md "Adding Finally to the Pipeline": finally runs whatever the outcome; a failed task
    stops the run from scheduling new tasks while running ones finish (pipelinerunstate.go, the
    PipelineRunStopping path; skipping reason StoppingSkip in pipelinerun_types.go)."""
    run = doll_run(tmp_path, pods, doll_image, pipeline_run("e2e-pipe-failing", FAILING))
    assert run.exit_code != 0
    assert task(run, "broken")["outcome"] == "Failed"
    assert task(run, "after-broken")["outcome"] == "Skipped"
    assert task(run, "slow")["outcome"] == "Succeeded"
    assert run.record("slow-work")["exit_code"] == 0
    assert task(run, "cleanup")["outcome"] == "Succeeded"
    assert run.logged("cleanup/say") == ["Failed Failed"]


GUARDED = f"""
params: [{{name: deploy, default: "no"}}]
tasks:
  - name: gate
    when: [{{input: "$(params.deploy)", operator: in, values: ["yes"]}}]
    taskSpec:
      results: [{{name: out}}]
      steps: [{{name: go, image: {BUSYBOX}, command: [sh, -c, "printf x > $(results.out.path)"]}}]
  - name: after-gate
    runAfter: [gate]
    taskSpec:
      steps: [{{name: go, image: {BUSYBOX}, command: ["true"]}}]
"""


def test_a_task_whose_when_is_false_is_skipped_and_what_runs_after_it_still_runs(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    """docs/pipelines.md "Guarding a Task only": when expressions guard the task, not the tasks ordered after
    it by runAfter (skipping reason WhenExpressionsSkip)."""
    run = doll_run(tmp_path, pods, doll_image, pipeline_run("e2e-pipe-when", GUARDED))
    assert run.exit_code == 0, run.output + run.errors
    assert task(run, "gate")["outcome"] == "Skipped"
    assert "WhenExpressionsSkip" in task(run, "gate")["reason"]
    assert task(run, "after-gate")["outcome"] == "Succeeded"


VALUES = f"""
tasks:
  - name: make
    taskSpec:
      results:
        - {{name: word}}
        - {{name: list, type: array}}
        - {{name: info, type: object, properties: {{os: {{type: string}}, arch: {{type: string}}}}}}
      steps:
        - name: write
          image: {BUSYBOX}
          script: |
            #!/bin/sh
            printf 'hello world' > $(results.word.path)
            printf '["a b", "c"]' > $(results.list.path)
            printf '{{"os": "linux", "arch": "amd64"}}' > $(results.info.path)
  - name: use
    params:
      - {{name: word, value: "$(tasks.make.results.word)"}}
      - {{name: list, value: ["$(tasks.make.results.list[*])"]}}
      - {{name: os, value: "$(tasks.make.results.info.os)"}}
      - {{name: second, value: "$(tasks.make.results.list[1])"}}
    taskSpec:
      params: [{{name: word}}, {{name: list, type: array}}, {{name: os}}, {{name: second}}]
      steps:
        - name: args
          image: {BUSYBOX}
          env: [{{name: WORD, value: "<$(params.word)>"}}]
          command: [sh, -c, 'printf "%s|" "$WORD" "$@"; echo', sh]
          args: ["$(params.list[*])", "$(params.os)", "$(params.second)"]
        - name: script
          image: {BUSYBOX}
          script: |
            #!/bin/sh
            echo "script sees $(params.word) on $(params.os)"
"""


def test_results_of_every_type_reach_a_later_tasks_args_env_and_script_at_run_time(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    """docs/pipelines.md "Passing one Task's Results into the Parameters or when expressions of another"
    (string, array `[*]` and `[i]`, object `.key`); docs/variables.md "Variables available in a Pipeline"."""
    run = doll_run(tmp_path, pods, doll_image, pipeline_run("e2e-pipe-values", VALUES))
    assert run.exit_code == 0, run.output + run.errors
    assert run.logged("use/args") == ["<hello world>|a b|c|linux|c|"]
    assert run.logged("use/script") == ["script sees hello world on linux"]


MATRIX = f"""
tasks:
  - name: build
    matrix:
      params: [{{name: arch, value: [amd64, arm64, s390x]}}]
    taskSpec:
      params: [{{name: arch}}]
      results: [{{name: image}}]
      steps:
        - name: go
          image: {BUSYBOX}
          command: [sh, -c, 'printf "img-$(params.arch)" > $(results.image.path)']
  - name: publish
    params: [{{name: images, value: "$(tasks.build.results.image[*])"}}]
    taskSpec:
      params: [{{name: images, type: array}}]
      steps:
        - name: go
          image: {BUSYBOX}
          command: [echo]
          args: ["$(params.images[*])"]
"""


def test_a_matrix_fans_out_into_copies_whose_results_are_gathered_into_an_array(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    """docs/matrix.md "Fan Out" (one TaskRun per combination, here one copy of the task's containers each)
    and "Results from fanned out Matrixed PipelineTasks" (a string result becomes an array, in order)."""
    run = doll_run(tmp_path, pods, doll_image, pipeline_run("e2e-pipe-matrix", MATRIX))
    assert run.exit_code == 0, run.output + run.errors
    copies = [t for t in run.report["tasks"] if t["name"].startswith("build-")]
    assert len(copies) == 3 and all(t["outcome"] == "Succeeded" for t in copies)
    assert run.logged("publish/go") == ["img-amd64 img-arm64 img-s390x"]


TIMEOUT = f"""
tasks:
  - name: slow
    timeout: 1s
    taskSpec:
      steps:
        - {{name: sleep, image: {BUSYBOX}, command: [sleep, "30"]}}
        - {{name: never, image: {BUSYBOX}, command: ["true"]}}
finally:
  - name: after
    taskSpec:
      steps: [{{name: go, image: {BUSYBOX}, command: ["true"]}}]
"""


def test_a_task_over_its_timeout_is_stopped_and_fails_the_run_and_finally_still_runs(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    """docs/pipelines.md "Configuring the failure timeout": a pipeline task's `timeout` is its TaskRun's
    (reason TaskRunTimeout); the finally task runs after it."""
    run = doll_run(tmp_path, pods, doll_image, pipeline_run("e2e-pipe-timeout", TIMEOUT))
    assert run.exit_code != 0
    slow = task(run, "slow")
    assert slow["outcome"] in ("TimedOut", "Failed") and "Timeout" in slow["reason"], slow
    assert slow["finished_at"] - slow["started_at"] < 15
    assert task(run, "after")["outcome"] == "Succeeded"


WORKSPACES = f"""
workspaces: [{{name: shared}}, {{name: scratch}}]
tasks:
  - name: produce
    workspaces: [{{name: out, workspace: shared, subPath: produced}}, {{name: tmp, workspace: scratch}}]
    taskSpec:
      workspaces: [{{name: out}}, {{name: tmp}}]
      steps:
        - {{name: go, image: {BUSYBOX}, command: [sh, -c, "echo made > $(workspaces.out.path)/file; echo t > $(workspaces.tmp.path)/t"]}}
  - name: consume
    runAfter: [produce]
    workspaces: [{{name: all, workspace: shared}}, {{name: tmp, workspace: scratch}}]
    taskSpec:
      workspaces: [{{name: all}}, {{name: tmp}}]
      steps:
        - {{name: go, image: {BUSYBOX}, command: [sh, -c, "cat $(workspaces.all.path)/produced/file $(workspaces.tmp.path)/t"]}}
"""


def test_a_workspace_passes_files_between_tasks_with_a_tasks_sub_path_and_a_claim_template(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    """docs/pipelines.md "Specifying Workspaces in PipelineTasks" (`subPath`) and docs/workspaces.md
    "volumeClaimTemplate" (one PVC for the PipelineRun, shared by its tasks: in one Pod, one emptyDir)."""
    extra = """
workspaces:
  - {name: shared, emptyDir: {}}
  - name: scratch
    volumeClaimTemplate:
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Mi}}}
"""
    run = doll_run(tmp_path, pods, doll_image, pipeline_run("e2e-pipe-workspaces", WORKSPACES, extra))
    assert run.exit_code == 0, run.output + run.errors
    assert run.logged("consume/go") == ["made", "t"]


REFERENCED_PIPELINE = f"""apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {{name: greet-pipeline}}
spec:
  params: [{{name: who, default: world}}]
  tasks:
    - name: hello
      taskRef: {{name: greet}}
      params: [{{name: who, value: "$(params.who)"}}]
    - name: again
      taskRef: {{name: greet}}
      params: [{{name: who, value: "$(tasks.hello.results.said)"}}]
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {{name: greet}}
spec:
  params: [{{name: who}}]
  results: [{{name: said}}]
  steps:
    - name: say
      image: {BUSYBOX}
      script: |
        #!/bin/sh
        printf 'hello %s' "$(params.who)" | tee $(results.said.path)
        echo
"""


def test_a_pipeline_ref_and_task_refs_are_found_among_the_files_given_with_f(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    """docs/pipelineruns.md "Specifying the target Pipeline" (pipelineRef) and docs/pipelines.md "Adding Tasks to
    the Pipeline" (taskRef): doll resolves both among the documents given with -f, and one Task may be used twice."""
    (tmp_path / "pipeline.yaml").write_text(REFERENCED_PIPELINE)
    run_text = ("apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata:\n  name: e2e-pipe-refs\nspec:\n"
                "  pipelineRef: {name: greet-pipeline}\n  params: [{name: who, value: doll}]\n")
    run = doll_run(tmp_path, pods, doll_image, run_text, "-f", str(tmp_path / "pipeline.yaml"))
    assert run.exit_code == 0, run.output + run.errors
    assert run.logged("hello/say") == ["hello doll"]
    assert run.logged("again/say") == ["hello hello doll"]


TIMEOUTS = f"""
tasks:
  - name: quick
    taskSpec:
      steps: [{{name: go, image: {BUSYBOX}, command: ["true"]}}]
  - name: slow
    taskSpec:
      steps: [{{name: sleep, image: {BUSYBOX}, command: [sleep, "30"]}}]
  - name: after-slow
    runAfter: [slow]
    taskSpec:
      steps: [{{name: go, image: {BUSYBOX}, command: ["true"]}}]
finally:
  - name: tidy
    params: [{{name: slow, value: "$(tasks.slow.status)"}}]
    taskSpec:
      params: [{{name: slow}}]
      steps: [{{name: say, image: {BUSYBOX}, command: [echo, "slow was $(params.slow)"]}}]
"""


def test_the_tasks_timeout_stops_the_dag_and_the_finally_tasks_still_run(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    """docs/pipelineruns.md "Configuring a failure timeout": `timeouts.tasks` bounds the DAG tasks, after which
    the finally tasks run in what is left of `timeouts.pipeline`; the run fails."""
    extra = "timeouts: {pipeline: 2m, tasks: 3s}"
    run = doll_run(tmp_path, pods, doll_image, pipeline_run("e2e-pipe-timeouts", TIMEOUTS, extra))
    assert run.exit_code != 0
    assert task(run, "quick")["outcome"] == "Succeeded"
    assert task(run, "slow")["outcome"] in ("TimedOut", "Failed")
    assert task(run, "after-slow")["outcome"] == "Skipped"
    assert task(run, "tidy")["outcome"] == "Succeeded"
    assert run.logged("tidy/say") == ["slow was Failed"]
    assert task(run, "slow")["finished_at"] - task(run, "slow")["started_at"] < 15


MISSING = f"""
tasks:
  - name: forgetful
    taskSpec:
      results: [{{name: answer}}]
      steps: [{{name: go, image: {BUSYBOX}, command: ["true"]}}]
  - name: asker
    params: [{{name: answer, value: "$(tasks.forgetful.results.answer)"}}]
    taskSpec:
      params: [{{name: answer}}]
      steps: [{{name: go, image: {BUSYBOX}, command: [echo, "$(params.answer)"]}}]
"""


def test_a_result_its_task_never_wrote_fails_the_task_that_uses_it_before_it_runs(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    """Tekton fails the PipelineRun with InvalidTaskResultReference (pipelinerun.go, resolveResultRefs); doll
    fails the consuming task, naming the ref, and never runs its steps."""
    run = doll_run(tmp_path, pods, doll_image, pipeline_run("e2e-pipe-missing", MISSING))
    assert run.exit_code != 0
    asker = task(run, "asker")
    assert asker["outcome"] == "Failed" and "tasks.forgetful.results.answer" in asker["message"], asker
    assert run.logged("asker/go") == ["entrypoint: step asker-go: task failed (InvalidTaskResultReference): "
                                      "$(tasks.forgetful.results.answer): task 'forgetful' did not give it"]
