"""/status holds the steps' results: it answers the Pod's own containers (loopback), never the Pod network."""

from __future__ import annotations

import json

import socket
import urllib.error
import urllib.request

import pytest

from supervisor.exporting import without_results
from supervisor_rig import Pod, wait_for


def _non_loopback_address() -> str:
    """This machine's address on its default route (no packet is sent: a UDP connect only picks the route)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1
        except OSError:
            pytest.skip("no default route: no address other than loopback")
        address: str = s.getsockname()[0]
    if address.startswith("127."):
        pytest.skip("no address other than loopback")
    return address


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_status_answers_loopback_only_while_metrics_and_health_answer_the_pod_network(pod: Pod) -> None:
    """Tekton keeps results in the TaskRun's status, readable only through the API server's RBAC
    (docs/tasks.md "Emitting results"); doll's /status must not hand them to anyone who can reach the Pod's
    IP.  A Prometheus scrape needs /metrics (and probes /healthz, /readyz) there."""
    address = _non_loopback_address()
    pod.plan(["a"])
    pod.supervise()
    pod.steps({"a": "sleep 30"})
    wait_for(lambda: pod.order() == ["a"], what="a to start")
    assert pod.http("/status")[0] == 200  # waits for the HTTP server
    assert _get(f"http://{address}:{pod.port}/status") == 403
    for path in ("/metrics", "/healthz", "/readyz"):
        assert _get(f"http://{address}:{pod.port}{path}") == 200
    assert pod.ctl("cancel").returncode == 0
    pod.finish(timeout=20)


def test_status_over_http_names_the_results_but_never_gives_their_values_or_messages(pod: Pod) -> None:
    """Every container of the Pod shares its loopback, so the loopback check alone would let one step read
    another's results (issue 13.9; the threat model: a step never reads what is not its own).  Over HTTP a
    step's results are named, never given; the admin socket (`doll ctl status --json`) has them."""
    results = pod.root / "results"
    results.mkdir()
    pod.plan([{"name": "a", "results": ["token"]}, "b"])
    pod.supervise()
    pod.step("a", 0, f"printf ghp_SECRETRESULTVALUE > {results}/token",
             extra=("--results-dir", str(results), "--result", "token"))
    pod.step("b", 1, "sleep 30", prev="a")
    wait_for(lambda: pod.order() == ["a", "b"], what="b to start")
    code, body = pod.http("/status")
    assert code == 200 and "ghp_SECRETRESULTVALUE" not in body
    step_a = json.loads(body)["steps"][0]
    assert step_a["result_names"] == ["token"] and "results" not in step_a and "message" not in step_a
    assert "ghp_SECRETRESULTVALUE" in pod.ctl("--json", "status").stdout
    assert pod.ctl("cancel").returncode == 0
    pod.finish(timeout=20)


def test_status_over_http_names_a_pipelines_results_but_never_gives_their_values() -> None:
    """A Pipeline's results are built from its tasks' results: /status names them, as it names a step's."""
    status = {"steps": [], "message": "", "pipeline_results": ["digest"],
              "pipeline_result_values": {"digest": "sha256:SECRETVALUE"}}
    shown = without_results(status)
    assert shown["pipeline_results"] == ["digest"]
    assert "SECRETVALUE" not in json.dumps(shown)
