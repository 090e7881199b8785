"""A pipeline's tasks driven by a real supervisor with real wrapper processes: branches really overlap."""

from __future__ import annotations

from typing import Any

from contracts import exits
from supervisor_rig import Pod, wait_for


def _pipeline(pod: Pod, tasks: list[dict[str, Any]]) -> None:
    pod.plan([{"name": f"{t['name']}-run", "task": t["name"]} for t in tasks], tasks=tasks,
             pipeline={"run": "pr-1"})


def _finished(pod: Pod) -> dict[str, dict[str, Any]]:
    return {r["step"]: r for r in pod.journal() if r["ev"] == "finished"}


def test_two_independent_tasks_run_at_the_same_time_and_their_dependent_after_both(pod: Pod) -> None:
    _pipeline(pod, [{"name": "a"}, {"name": "b"}, {"name": "c", "run_after": ["a", "b"]}])
    pod.supervise()
    wrappers = [pod.step("a-run", 0, "sleep 0.6"), pod.step("b-run", 1, "sleep 0.6"), pod.step("c-run", 2)]
    assert pod.finish() == 0
    assert [w.returncode for w in wrappers] == [0, 0, 0]
    done = _finished(pod)
    a, b, c = done["a-run"], done["b-run"], done["c-run"]
    # the children's own start and end times: each started before the other ended
    assert a["started_at"] < b["finished_at"] and b["started_at"] < a["finished_at"]
    assert c["started_at"] >= max(a["finished_at"], b["finished_at"])
    assert pod.outcome() == "Succeeded"
    ended = [(r["task"], r["outcome"]) for r in pod.journal() if r["ev"] == "task_finished"]
    assert sorted(ended) == [("a", "Succeeded"), ("b", "Succeeded"), ("c", "Succeeded")]


def test_a_failed_task_skips_its_dependent_while_the_independent_branch_finishes(pod: Pod) -> None:
    _pipeline(pod, [{"name": "bad"}, {"name": "slow"}, {"name": "after", "run_after": ["bad"]}])
    pod.supervise()
    wrappers = [pod.step("bad-run", 0, "exit 3"), pod.step("slow-run", 1, "sleep 0.5"),
                pod.step("after-run", 2)]
    assert pod.finish() == 1
    assert [w.returncode for w in wrappers] == [3, 0, exits.EXIT_SKIPPED]
    assert sorted(pod.order()) == ["bad-run", "slow-run"]
    skipped = {r["task"]: r for r in pod.journal() if r["ev"] == "task_skipped"}
    assert skipped["after"]["reason"] == "StoppingSkip"
    assert _finished(pod)["slow-run"]["outcome"] == "succeeded"
    last = pod.ended()
    assert (last["outcome"], last["reason"]) == ("Failed", "Failed")


def test_a_supervisor_killed_mid_pipeline_is_restarted_and_carries_on_from_its_journal(pod: Pod) -> None:
    """The replayed journal gives the restarted supervisor the same tasks: a running branch is not started
    again, the waiting dependent starts once both branches have ended."""
    pod.plan([{"name": f"{t}-run", "task": t} for t in "abc"], layout="native",
             tasks=[{"name": "a"}, {"name": "b"}, {"name": "c", "run_after": ["a", "b"]}], pipeline={"run": "pr-1"})
    sup = pod.supervise()
    flag = pod.root / "go"
    extra = ("--await-supervisor", "--reconnect-seconds", "0.3")
    steps = [pod.step("a-run", 0, "true", extra=extra),
             pod.step("b-run", 1, f"while [ ! -f {flag} ]; do sleep 0.05; done", extra=extra),
             pod.step("c-run", 2, extra=extra)]
    wait_for(lambda: any(r["ev"] == "task_finished" and r["task"] == "a" for r in pod.journal()), what="a's end")
    sup.kill()
    sup.wait(5)
    pod.supervise()
    flag.touch()
    wait_for(lambda: any(r["ev"] == "run_finished" for r in pod.journal()), timeout=20, what="the end of the run")
    assert [s.wait(10) for s in steps] == [0, 0, 0]
    assert sorted(pod.order()) == ["a-run", "b-run", "c-run"] and pod.order()[-1] == "c-run"  # each once
    started = [r["task"] for r in pod.journal() if r["ev"] == "task_started"]
    assert sorted(started) == ["a", "b", "c"]
    assert pod.outcome() == "Succeeded"
