"""`doll run` checks the supervisor's word against what the containers left: their exit codes, their
termination messages (generator/local/cross_checking.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from running_pods import doll_run, taskrun

pytestmark = pytest.mark.podman


def test_a_step_whose_wrapper_could_not_record_its_outcome_is_not_reported_succeeded(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    # a directory where the post file goes: the wrapper reports success, then cannot record it (exit 125),
    # as with a full steps volume
    run = doll_run(tmp_path, pods, doll_image, taskrun("e2e-rec-norecord", f"""
        steps:
          - {{name: s1, image: {busybox_image}, script: 'mkdir $DOLL_STEP_DIR/out $DOLL_STEP_DIR/out.err'}}
          - {{name: s2, image: {busybox_image}, command: ['true']}}
        """))
    assert run.exit_code == 1, run.output + run.errors
    assert "doll: step s1: the supervisor recorded Completed (exit 0), but its container exited 125\n" in run.output
    assert (run.step("s1")["exit_code"], run.step("s1")["reason"]) == (125, "Error")
    assert run.report["outcome"] == "Failed" and "\ntask: Failed (StepContainerFailed)\n" in run.output


def test_a_result_that_did_not_fit_the_termination_message_is_not_listed(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    run = doll_run(tmp_path, pods, doll_image, taskrun("e2e-rec-toolarge", f"""
        results: [{{name: small}}, {{name: big}}]
        steps:
          - {{name: fits, image: {busybox_image}, script: 'printf ok > $(results.small.path)'}}
          - name: over
            image: {busybox_image}
            script: head -c 5000 /dev/zero | tr '\\0' x > $(results.big.path)
        """))
    assert run.exit_code == 1 and run.step("over")["exit_code"] == 123, run.output + run.errors
    assert run.step("over")["results"] == {} and run.step("fits")["results"] == {"small": "ok"}
    assert "results:\n  small = ok\n" in run.output and "big =" not in run.output
