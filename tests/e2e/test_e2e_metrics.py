"""A real Prometheus server (Debian's) scrapes a doll pod; step durations come back through its query API."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import leaks
import pytest

from running_pods import doll_run, taskrun

pytestmark = [pytest.mark.podman, pytest.mark.prometheus]

BUSYBOX = "localhost/doll-busybox:1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Prometheus:
    def __init__(self, port: int, target_port: int) -> None:
        self.port, self.target_port = port, target_port

    def query(self, promql: str) -> list[dict[str, Any]]:
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=5) as response:
            data = json.loads(response.read())
        assert data["status"] == "success", data
        result: list[dict[str, Any]] = data["data"]["result"]
        return result


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Prometheus]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("Debian's prometheus is not installed (scripts/bootstrap installs it)")
    port, target = _free_port(), _free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(f"""
global:
  scrape_interval: 500ms
  scrape_timeout: 400ms
scrape_configs:
  - job_name: doll
    static_configs:
      - targets: ["127.0.0.1:{target}"]
""")
    log = open(tmp_path / "prometheus.log", "wb")
    proc = subprocess.Popen([binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    leaks.allow_process(proc.pid)
    server = Prometheus(port, target)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("prometheus did not start:\n" + (tmp_path / "prometheus.log").read_text())
                time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_step_durations_scraped_by_a_real_prometheus_match_the_wrappers_records(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str], prometheus: Prometheus) -> None:
    spec = f"""
steps:
  - name: short
    image: {BUSYBOX}
    command: [sleep, "1"]
  - name: long
    image: {BUSYBOX}
    command: [sleep, "2"]
"""
    run = doll_run(tmp_path, pods, doll_image, taskrun("e2e-metrics", spec),
                   "--metrics-port", str(prometheus.target_port))
    assert run.exit_code == 0, run.output + run.errors
    # the pod is gone, so its series are stale now: read the last value each had
    sums = {r["metric"]["step"]: float(r["value"][1])
            for r in prometheus.query('last_over_time(doll_step_duration_seconds_sum{job="doll"}[5m])')}
    counts = {r["metric"]["step"]: float(r["value"][1]) for r in prometheus.query(
        'last_over_time(doll_step_duration_seconds_count{outcome="succeeded"}[5m])')}
    assert counts == {"short": 1.0, "long": 1.0}
    for step in ("short", "long"):
        record = run.record(step)
        assert sums[step] == pytest.approx(record["finished_at"] - record["started_at"], abs=0.01)
    assert 1.0 <= sums["short"] < 2.0 <= sums["long"] < 3.0


def test_task_durations_and_outcomes_of_a_pipeline_are_scraped_by_a_real_prometheus(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str], prometheus: Prometheus) -> None:
    """Issue 14 "Seeing it": `doll_task_*` labelled by pipeline task, from the supervisor of a PipelineRun's Pod."""
    yaml_text = f"""apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: e2e-metrics-pipe
spec:
  pipelineSpec:
    tasks:
      - name: short
        taskSpec:
          steps: [{{name: go, image: {BUSYBOX}, command: [sleep, "1"]}}]
      - name: broken
        runAfter: [short]
        onError: continue
        taskSpec:
          steps: [{{name: go, image: {BUSYBOX}, command: [sh, -c, "exit 2"]}}]
"""
    run = doll_run(tmp_path, pods, doll_image, yaml_text, "--metrics-port", str(prometheus.target_port))
    assert run.exit_code == 0, run.output + run.errors
    counts = {(r["metric"]["task"], r["metric"]["outcome"]): float(r["value"][1]) for r in prometheus.query(
        'last_over_time(doll_task_duration_seconds_count{job="doll"}[5m])')}
    assert counts == {("short", "Succeeded"): 1.0, ("broken", "Failed"): 1.0}
    sums = {r["metric"]["task"]: float(r["value"][1]) for r in prometheus.query(
        'last_over_time(doll_task_duration_seconds_sum{job="doll"}[5m])')}
    assert 1.0 <= sums["short"] < 3.0
    totals = {r["metric"]["outcome"]: float(r["value"][1]) for r in prometheus.query(
        'last_over_time(doll_tasks_total{job="doll"}[5m])')}
    assert totals == {"Succeeded": 1.0, "Failed": 1.0, "Skipped": 0.0, "TimedOut": 0.0, "Cancelled": 0.0}
