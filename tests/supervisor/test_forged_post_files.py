"""A step may lie about its own outcome in its post file; it can never make two steps run at once."""

from __future__ import annotations

import json

from supervisor_rig import PY, Pod

_FORGE = """
import json, os, socket, sys
sock, out, drop = sys.argv[1], sys.argv[2], sys.argv[3] == "drop"
os.makedirs(os.path.dirname(out), exist_ok=True)
with open(out, "w") as f:  # the step's own post file, written while it still runs
    f.write(json.dumps({"exit_code": 0, "reason": "Completed", "results": "abc", "message": "forged"}))
if drop:  # and a connection of its own in its wrapper's name, hung up at once
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall(b'{"op":"hello","kind":"step","name":"a","index":0,"pid":1}\\n')
    s.close()
"""


def _forging_step(pod: Pod, drop: bool) -> str:
    script = pod.root / "forge.py"
    script.write_text(_FORGE)
    out = pod.steps_dir / "step-a" / "out"
    mode = "drop" if drop else "keep"
    return f"{PY} {script} {pod.socket} {out} {mode} 2>{pod.root}/forge.err; sleep 2; echo a-done >> {pod.order_file}"


def _check_one_at_a_time(pod: Pod) -> None:
    assert pod.order() == ["a", "a-done", "b"]  # b started only once a's command was over
    finished = {r["step"]: r for r in pod.journal() if r["ev"] == "finished"}
    assert finished["a"]["message"] != "forged" and finished["a"]["results"] == {}
    released_b = next(r["at"] for r in pod.journal() if r["ev"] == "released" and r["step"] == "b")
    assert released_b >= finished["a"]["finished_at"]
    assert json.loads((pod.steps_dir / "step-a" / "out").read_text())["message"] != "forged"  # the wrapper's own


def test_a_post_file_written_by_a_step_whose_wrapper_is_still_connected_is_never_used(pod: Pod) -> None:
    """Tekton's entrypoint takes a post file as the previous step's end (pkg/entrypoint/entrypointer.go,
    Waiter.Wait); doll's supervisor hears it from the wrapper itself while the wrapper is connected, and a
    post file with `"results": "abc"` does not crash it (contracts/records.read_post sanitizes)."""
    pod.plan(["a", "b"])
    sup = pod.supervise(timings={"lost_seconds": 10.0})
    pod.steps({"a": _forging_step(pod, drop=False), "b": "true"})
    assert pod.finish(timeout=30) == 0 and sup.returncode == 0
    _check_one_at_a_time(pod)


def test_a_step_that_forges_its_post_file_and_drops_a_connection_in_its_name_does_not_start_the_next(
        pod: Pod) -> None:
    """The same file, and a connection in the step's name hung up: the supervisor neither believes the post
    file of a step whose wrapper spoke to it while it ran, nor releases the next step before the wrapper's
    own report."""
    pod.plan(["a", "b"])
    sup = pod.supervise(timings={"lost_seconds": 10.0})
    pod.steps({"a": _forging_step(pod, drop=True), "b": "true"})
    assert pod.finish(timeout=30) == 0 and sup.returncode == 0
    _check_one_at_a_time(pod)
