"""Generated pods under podman, run with `doll run`: real containers, images built locally."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from running_pods import doll_run, taskrun
from generator.local import podman

pytestmark = pytest.mark.podman

BUSYBOX = "localhost/doll-busybox:1"


def test_steps_run_in_order_each_starting_after_the_previous_one_ended(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    steps = "\n".join(f"""
  - name: s{i}
    image: {BUSYBOX}
    script: |
      #!/bin/sh
      echo "step {i} says hi"
      sleep 0.2""" for i in range(4))
    run = doll_run(tmp_path, pods, doll_image, taskrun("e2e-order", f"steps:{steps}"))
    assert run.exit_code == 0, run.output + run.errors
    records = [run.record(f"s{i}") for i in range(4)]
    for before, after in zip(records, records[1:]):
        assert after["started_at"] >= before["finished_at"], (before, after)
    assert [r["exit_code"] for r in records] == [0, 0, 0, 0]
    assert all(run.logged(f"s{i}") == [f"step {i} says hi"] for i in range(4))
    assert run.report["outcome"] == "Succeeded"
    table = run.output[run.output.index("STEP "):]
    assert [line.split()[0] for line in table.splitlines()[1:5]] == ["s0", "s1", "s2", "s3"]
    assert podman.pod_containers("e2e-order-pod") == {}  # removed (no --keep)


def test_a_sidecar_that_is_ready_only_after_a_delay_gates_step_0(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    spec = f"""
sidecars:
  - name: web
    image: {BUSYBOX}
    script: |
      #!/bin/sh
      sleep 2
      exec httpd -f -p 8080 -h /www
    readinessProbe:
      httpGet: {{path: /index.html, port: 8080}}
steps:
  - name: first
    image: {BUSYBOX}
    script: |
      #!/bin/sh
      wget -q -O - http://127.0.0.1:8080/index.html
"""
    run = doll_run(tmp_path, pods, doll_image, taskrun("e2e-gate", spec))
    assert run.exit_code == 0, run.output + run.errors
    assert run.logged("first") == ["hello from the sidecar"]  # the server was up when step 0 ran
    ready_at, started_at = run.sidecar("web")["ready_at"], run.record("first")["started_at"]
    assert ready_at <= started_at
    assert started_at - run.report["started_at"] >= 2.0
    assert "doll: sidecar web: ready after" in run.output


def test_a_sidecar_that_never_becomes_ready_fails_the_task_and_no_step_runs(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    spec = f"""
sidecars:
  - name: deaf
    image: {BUSYBOX}
    script: |
      #!/bin/sh
      exec sleep 3600
    readinessProbe:
      tcpSocket: {{port: 8081}}
steps:
  - name: never
    image: {BUSYBOX}
    script: |
      #!/bin/sh
      echo this must not run
"""
    run = doll_run(tmp_path, pods, doll_image, taskrun("e2e-never-ready", spec, "timeout: 6s"))
    assert run.exit_code == 1, run.output + run.errors
    assert run.report["outcome"] in ("Failed", "TimedOut")
    assert run.step("never")["started_at"] is None
    assert "this must not run" not in run.output
    assert run.sidecar("deaf")["ready_at"] is None


def test_a_failing_step_skips_the_rest_and_the_pod_fails(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    spec = f"""
steps:
  - name: fine
    image: {BUSYBOX}
    command: [sh, -c, "echo fine"]
  - name: broken
    image: {BUSYBOX}
    command: [sh, -c, "echo broken; exit 3"]
  - name: later
    image: {BUSYBOX}
    command: [sh, -c, "echo this must not run"]
"""
    run = doll_run(tmp_path, pods, doll_image, taskrun("e2e-fail", spec))
    assert run.exit_code == 1, run.output + run.errors
    assert run.report["outcome"] == "Failed"
    assert (run.step("fine")["exit_code"], run.step("broken")["exit_code"]) == (0, 3)
    assert run.step("broken")["reason"] == "Error"
    later = run.step("later")
    assert later["reason"] == "Skipped" and later["started_at"] is None
    assert "this must not run" not in run.output
    assert "task: Failed" in run.output


def test_on_error_continue_goes_on_to_the_next_step(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    spec = f"""
steps:
  - name: tolerated
    image: {BUSYBOX}
    onError: continue
    command: [sh, -c, "exit 5"]
  - name: next
    image: {BUSYBOX}
    command: [sh, -c, "echo next ran"]
"""
    run = doll_run(tmp_path, pods, doll_image, taskrun("e2e-continue", spec))
    assert run.exit_code == 0, run.output + run.errors
    assert run.report["outcome"] == "Succeeded"
    assert run.step("tolerated")["exit_code"] == 5
    assert run.logged("next") == ["next ran"]


def test_a_step_timeout_stops_the_step_and_fails_the_task(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    spec = f"""
steps:
  - name: slow
    image: {BUSYBOX}
    timeout: 1s
    command: [sh, -c, "echo sleeping; sleep 60"]
"""
    run = doll_run(tmp_path, pods, doll_image, taskrun("e2e-timeout", spec))
    assert run.exit_code == 1, run.output + run.errors
    slow = run.step("slow")
    assert (slow["reason"], slow["exit_code"]) == ("TimeoutExceeded", 124)
    assert 1.0 <= slow["finished_at"] - slow["started_at"] < 10.0
    assert run.report["wall_seconds"] < 60


def test_results_reach_the_supervisor_and_the_termination_message(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    spec = f"""
results:
  - name: answer
steps:
  - name: compute
    image: {BUSYBOX}
    script: |
      #!/bin/sh
      printf 42 > $(results.answer.path)
"""
    run = doll_run(tmp_path, pods, doll_image, taskrun("e2e-results", spec))
    assert run.exit_code == 0, run.output + run.errors
    assert run.step("compute")["results"] == {"answer": "42"}
    assert run.output.splitlines()[-3:-1] == ["results:", "  answer = 42"]  # after the table, before the wall time
    assert run.record("compute")["results"] == {"answer": "42"}
    termination = json.loads((run.workdir / "termination" / "step-compute").read_text())
    assert any(t["key"] == "answer" and t["value"] == "42" for t in termination), termination


def test_an_empty_dir_workspace_is_shared_by_the_steps_and_a_sidecar(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    spec = f"""
workspaces:
  - name: shared
sidecars:
  - name: writer
    image: {BUSYBOX}
    script: |
      #!/bin/sh
      echo from-sidecar > $(workspaces.shared.path)/sidecar.txt
      exec sleep 3600
    readinessProbe:
      exec: {{command: [cat, $(workspaces.shared.path)/sidecar.txt]}}
steps:
  - name: one
    image: {BUSYBOX}
    script: |
      #!/bin/sh
      cat $(workspaces.shared.path)/sidecar.txt
      echo from-one > $(workspaces.shared.path)/one.txt
  - name: two
    image: {BUSYBOX}
    script: |
      #!/bin/sh
      cat $(workspaces.shared.path)/one.txt
"""
    run = doll_run(tmp_path, pods, doll_image, taskrun(
        "e2e-workspace", spec, "timeout: 60s\nworkspaces:\n  - name: shared\n    emptyDir: {}"))
    assert run.exit_code == 0, run.output + run.errors
    assert run.logged("one") == ["from-sidecar"]
    assert run.logged("two") == ["from-one"]


def test_a_step_image_with_no_shell_no_python_and_no_libc_runs_its_command(
        tmp_path: Path, doll_image: str, test_images: None, pods: list[str]) -> None:
    spec = """
workspaces:
  - name: tools
steps:
  - name: place-tool
    image: localhost/doll-test-busybox:latest
    command: [cp, /bin/busybox, $(workspaces.tools.path)/busybox]
  - name: bare
    image: localhost/doll-test-scratch:latest
    command: [$(workspaces.tools.path)/busybox, echo, "ran in an empty image"]
"""
    run = doll_run(tmp_path, pods, doll_image, taskrun(
        "e2e-scratch", spec, "workspaces:\n  - name: tools\n    emptyDir: {}"))
    assert run.exit_code == 0, run.output + run.errors
    assert run.logged("bare") == ["ran in an empty image"]
    assert run.record("bare")["exit_code"] == 0


def test_sidecars_are_stopped_at_the_end_so_the_pod_completes_on_its_own(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    spec = f"""
sidecars:
  - name: forever
    image: {BUSYBOX}
    script: |
      #!/bin/sh
      exec httpd -f -p 8082 -h /www
steps:
  - name: only
    image: {BUSYBOX}
    command: [sh, -c, "echo done"]
"""
    run = doll_run(tmp_path, pods, doll_image, taskrun("e2e-stop", spec), "--keep")
    assert run.exit_code == 0, run.output + run.errors
    states = {s.name.removeprefix("e2e-stop-pod-"): s for s in podman.inspecting(
        [f"e2e-stop-pod-{c}" for c in ("doll-supervisor", "step-only", "sidecar-forever")])}
    assert {name: s.status for name, s in states.items()} == {
        "doll-supervisor": "exited", "step-only": "exited", "sidecar-forever": "exited"}
    assert states["doll-supervisor"].exit_code == 0
    assert run.sidecar("forever")["phase"] == "stopped"
    assert run.report["wall_seconds"] < 30


def test_each_step_reads_the_previous_steps_exit_code_from_tekton_steps_as_soon_as_it_starts(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    steps = f"""
  - name: s0
    image: {BUSYBOX}
    command: [sh, -c, "exit 0"]"""
    steps += "".join(f"""
  - name: s{i}
    image: {BUSYBOX}
    command: [sh, -c, "cat /tekton/steps/step-s{i - 1}/exitCode; echo; cat /tekton/steps/{i - 1}/exitCode; echo"]"""
                     for i in range(1, 6))
    run = doll_run(tmp_path, pods, doll_image, taskrun("e2e-exit-codes", f"steps:{steps}"))
    assert run.exit_code == 0, run.output + run.errors
    for i in range(1, 6):
        assert run.logged(f"s{i}") == ["0", "0"], run.output


def test_a_sidecar_that_does_its_setup_and_exits_0_does_not_fail_the_task(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    """Tekton docs/tasks.md "Specifying Sidecars" and pkg/pod/status.go (SidecarsReady counts a terminated
    sidecar as ready; DidTaskRunFail looks at the steps only)."""
    spec = f"""
sidecars:
  - name: setup
    image: {BUSYBOX}
    script: |
      #!/bin/sh
      echo set up > /workspace/ready
steps:
  - name: uses-it
    image: {BUSYBOX}
    script: |
      #!/bin/sh
      sleep 2
      cat /workspace/ready
"""
    run = doll_run(tmp_path, pods, doll_image, taskrun("e2e-setup-car", spec))
    assert run.exit_code == 0, run.output + run.errors
    assert run.report["outcome"] == "Succeeded"
    assert run.logged("uses-it") == ["set up"]


def test_an_array_result_that_is_not_json_fails_the_task_with_reason_task_run_validation_failed(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    """Tekton pkg/reconciler/taskrun/taskrun.go: validateTaskRunResults fails the TaskRun with
    TaskRunValidationFailed once its Pod is done; every step has run."""
    spec = f"""
results:
  - name: files
    type: array
steps:
  - name: list
    image: {BUSYBOX}
    script: |
      #!/bin/sh
      printf '[a.txt, b.txt' > $(results.files.path)
"""
    run = doll_run(tmp_path, pods, doll_image, taskrun("e2e-bad-array", spec))
    assert run.exit_code == 1, run.output + run.errors
    assert run.report["outcome"] == "Failed" and run.step("list")["exit_code"] == 0
    assert "TaskRunValidationFailed" in run.output + json.dumps(run.report), run.output
