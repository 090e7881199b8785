"""/metrics, /status, /healthz, /readyz, lingering and the Pushgateway, against real scrapes."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator

import leaks
import pytest
from prometheus_client.parser import text_string_to_metric_families

from supervisor_rig import Pod, free_port, wait_for


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _finished_run(pod: Pod) -> bool:
    return any(r["ev"] == "run_finished" for r in pod.journal())


def test_a_scrape_after_the_run_is_clean_under_promtool_and_holds_the_final_values(pod: Pod) -> None:
    pod.plan(["a", "b", "c"], linger_seconds=20)
    sup = pod.supervise()
    pod.steps({"a": "sleep 0.1", "b": "exit 2", "c": "true"})
    wait_for(lambda: _finished_run(pod), what="the end of the run")
    code, text = pod.http("/metrics")
    assert code == 200
    lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert lint.returncode == 0 and lint.stdout + lint.stderr == "", lint.stdout + lint.stderr
    m = _samples(text)
    assert m[("doll_task_outcome", (("outcome", "Failed"),))] == 1.0
    assert m[("doll_task_outcome", (("outcome", "Succeeded"),))] == 0.0
    assert m[("doll_step_state", (("state", "succeeded"), ("step", "a")))] == 1.0
    assert m[("doll_step_state", (("state", "failed"), ("step", "b")))] == 1.0
    assert m[("doll_step_state", (("state", "skipped"), ("step", "c")))] == 1.0
    assert m[("doll_step_exit_code", (("step", "b"),))] == 2.0
    finished = {r["step"]: r for r in pod.journal() if r["ev"] == "finished"}
    assert m[("doll_step_started_timestamp_seconds", (("step", "a"),))] == finished["a"]["started_at"]
    duration = m[("doll_step_duration_seconds_sum", (("outcome", "succeeded"), ("step", "a")))]
    assert duration == pytest.approx(finished["a"]["finished_at"] - finished["a"]["started_at"])
    assert 0.1 <= duration < 5
    assert m[("doll_step_duration_seconds_count", (("outcome", "failed"), ("step", "b")))] == 1.0
    assert m[("doll_step_handoff_seconds_count", ())] == 1.0  # a -> b; c was skipped, not released
    assert 0 < m[("doll_step_handoff_seconds_sum", ())] < 0.5
    assert ("doll_step_wait_seconds", (("step", "b"),)) in m
    assert not any(name.startswith("doll_step_started") and dict(labels).get("step") == "c" for name, labels in m)
    t0 = time.monotonic()
    sup.wait(15)  # the final scrape ends the linger at once, long before linger_seconds
    assert time.monotonic() - t0 < 10  # well before linger_seconds=20
    assert pod.finish() == 1


def test_without_a_scrape_the_supervisor_lingers_no_longer_than_linger_seconds(pod: Pod) -> None:
    pod.plan(["a"], linger_seconds=1.5)
    sup = pod.supervise()
    pod.step("a", 0)
    pod.http("/healthz")  # HTTP is up, so lingering applies
    wait_for(lambda: _finished_run(pod), what="the end of the run")
    t0 = time.monotonic()
    sup.wait(20)
    assert 1.0 <= time.monotonic() - t0 < 10.0  # bounded (without the bound it would wait forever)
    assert pod.finish() == 0


def test_status_healthz_and_readyz_answer_during_the_run(pod: Pod) -> None:
    pod.plan(["a", "b"], sidecars=[{"name": "side", "container": "sidecar-side"}])
    pod.supervise()
    pod.sidecar("side", ["sleep", "60"])
    pod.steps({"a": "sleep 30", "b": "true"})
    wait_for(lambda: pod.order() == ["a"], what="a to run")
    assert pod.http("/healthz") == (200, "ok\n")
    assert pod.http("/readyz") == (200, "ready\n")
    code, body = pod.http("/status")
    import json
    status = json.loads(body)
    assert code == 200 and status["pod"]["name"] == "pod-1" and status["phase"] == "running"
    assert [s["phase"] for s in status["steps"]] == ["running", "pending"]
    assert status["sidecars"][0]["phase"] == "ready"
    assert pod.ctl("cancel").returncode == 0
    pod.finish()


@pytest.fixture(scope="module")
def pushgateway() -> Iterator[str]:
    port = free_port()
    data = tempfile.mkdtemp(prefix="doll-pgw-")
    proc = subprocess.Popen(["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{port}",
                             f"--persistence.file={data}/pgw.data"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    leaks.allow_process(proc.pid)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            with urllib.request.urlopen(url + "/-/ready", timeout=1):
                return True
        except OSError:
            return False
    try:
        wait_for(up, 15, "the Pushgateway")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(data, ignore_errors=True)


def test_the_final_metrics_are_pushed_to_a_real_pushgateway(pod: Pod, pushgateway: str) -> None:
    pod.plan(["a", "b"], pushgateway=pushgateway, linger_seconds=0.1)
    pod.supervise()
    pod.steps({"a": "true", "b": "true"})
    assert pod.finish() == 0
    with urllib.request.urlopen(pushgateway + "/metrics", timeout=5) as r:
        m = _samples(r.read().decode())
    key = ("doll_task_outcome", (("instance", ""), ("job", "doll"), ("outcome", "Succeeded"), ("pod", "pod-1")))
    assert m.get(key) == 1.0, sorted(k for k in m if k[0] == "doll_task_outcome")
    assert m[("doll_step_state", (("instance", ""), ("job", "doll"), ("pod", "pod-1"), ("state", "succeeded"),
                                  ("step", "b")))] == 1.0
    assert any(r["event"] == "pushed" for r in pod.supervisor_log())
