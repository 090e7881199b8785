"""`doll ctl`: human-readable and JSON output, refusals, usage errors, no supervisor."""

from __future__ import annotations

import json
import subprocess

from supervisor_rig import PY, ROOT, Pod, wait_for


def test_status_prints_a_table_and_json(pod: Pod) -> None:
    pod.plan(["build", "test"])
    pod.supervise()
    pod.steps({"build": "sleep 30", "test": "true"})
    wait_for(lambda: pod.order() == ["build"], what="build to start")
    text = pod.ctl("status")
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    assert lines[0] == "run: running"
    assert lines[1].split() == ["#", "STEP", "STATE", "EXIT", "DURATION", "REASON"]
    assert lines[2].split()[:3] == ["0", "build", "running"] and lines[3].split()[:3] == ["1", "test", "pending"]
    data = json.loads(pod.ctl("--json", "status").stdout)
    assert data["ok"] and [s["name"] for s in data["status"]["steps"]] == ["build", "test"]
    assert json.loads(pod.ctl("status", "--json").stdout)["status"]["steps"][0]["phase"] == "running"
    cancel = pod.ctl("cancel")
    assert cancel.returncode == 0 and cancel.stdout.strip() == "cancelling the run"
    pod.finish()


def test_bad_usage_is_one_line_and_exit_2(pod: Pod) -> None:
    for args in (["continue"], ["frobnicate"], []):
        done = pod.ctl(*args)
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_no_supervisor_at_the_socket_is_exit_3_naming_the_socket(pod: Pod) -> None:
    done = subprocess.run([PY, "-m", "generator.cli", "ctl", "--socket", str(pod.root / "none.sock"), "status"],
                          cwd=ROOT, capture_output=True, text=True, timeout=20)
    assert done.returncode == 3
    assert done.stderr.startswith(f"doll ctl: --socket {pod.root}/none.sock: no supervisor answered")
    assert len(done.stderr.strip().splitlines()) == 1
