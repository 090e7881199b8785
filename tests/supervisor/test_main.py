"""`doll supervise` itself: a bad plan, the plan from the environment, the Pod's name."""

from __future__ import annotations

import json
import os
import subprocess

from supervisor_rig import PY, ROOT, Pod


def _supervise(pod: Pod, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PY, "-m", "generator.cli", "supervise", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=30, env={**pod.env, **(env or {})})


def test_a_bad_plan_names_the_field_in_one_line_and_releases_nothing(pod: Pod) -> None:
    plan = pod.plan(["a", "b"])
    plan["steps"][1]["index"] = 5
    (pod.root / "plan.json").write_text(json.dumps(plan))
    done = _supervise(pod, "--plan", str(pod.root / "plan.json"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "doll supervise: bad plan: steps[1].index: 5 (steps must be numbered 0, 1, 2, ... in order)"]
    assert "Traceback" not in done.stderr
    assert not os.path.exists(pod.socket) and not (pod.run_dir / "journal.jsonl").exists()


def test_a_plan_that_is_not_json_is_refused(pod: Pod) -> None:
    (pod.root / "plan.json").write_text("{steps: nope")
    done = _supervise(pod, "--plan", str(pod.root / "plan.json"))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "plan: not JSON" in done.stderr


def test_a_missing_plan_file_is_named(pod: Pod) -> None:
    done = _supervise(pod, "--plan", str(pod.root / "nope.json"))
    assert done.returncode == 2
    assert done.stderr.strip() == f"doll supervise: bad plan: --plan: {pod.root}/nope.json: No such file or directory"


def test_an_unknown_option_is_a_usage_error(pod: Pod) -> None:
    done = _supervise(pod, "--plna", "x")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "--plna" in done.stderr


def test_an_unknown_kube_client_is_a_usage_error_naming_the_choices(pod: Pod) -> None:
    done = _supervise(pod, "--plan", str(pod.root / "plan.json"), "--kube-client", "client-go")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "'client-go'" in done.stderr and "'http', 'kubernetes-asyncio'" in done.stderr


def test_the_plan_can_come_from_the_environment_and_the_pod_name_from_pod_name(pod: Pod) -> None:
    plan = pod.plan(["a"])
    proc = pod.supervise(env={"DOLL_PLAN": json.dumps(plan), "POD_NAME": "from-env"}, args=[])
    # no --plan and no /doll/run/plan.json here: DOLL_PLAN is used
    pod.step("a", 0)
    assert pod.finish() == 0
    assert proc.returncode == 0
    assert pod.order() == ["a"]
    assert pod.supervisor_log()[0]["pod"] == "from-env"


def test_logs_are_one_json_object_per_line(pod: Pod) -> None:
    pod.plan(["a"])
    pod.supervise()
    pod.step("a", 0)
    assert pod.finish() == 0
    lines = (pod.root / "supervisor.0.log").read_text().splitlines()
    assert lines and all(isinstance(json.loads(line), dict) for line in lines)
    events = [json.loads(line)["event"] for line in lines]
    assert {"listening", "released", "finished", "run_finished", "exit"} <= set(events)


def test_an_unusable_run_dir_is_one_error_line_and_exit_3(pod: Pod) -> None:
    (pod.root / "a-file").write_text("")
    pod.plan(["a"], run_dir=str(pod.root / "a-file" / "run"))
    done = _supervise(pod, "--plan", str(pod.root / "plan.json"))
    assert done.returncode == 3
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    record = json.loads(lines[0])
    assert record["event"] == "supervisor_failed" and "a-file/run" in record["error"]
