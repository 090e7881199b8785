"""The journal: torn writes, replay, and a real supervisor SIGKILLed at random points of real runs."""

from __future__ import annotations

import concurrent.futures
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

from supervisor.journaling import Journal
from contracts.plans import Plan
from supervisor.states import RunState
from supervisor_rig import ROOT, Pod


def test_a_torn_last_line_is_dropped_and_later_records_stay_one_per_line(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b'{"ev":"run","at":1.0}\n{"ev":"released","at":2.0,"st')
    journal, records = Journal.open(str(path))
    assert records == [{"ev": "run", "at": 1.0}]
    journal.append({"ev": "released", "at": 3.0, "step": "a"})
    journal.close()
    lines = path.read_text().splitlines()
    assert [json.loads(line)["at"] for line in lines] == [1.0, 3.0]


def test_replaying_the_records_rebuilds_the_same_state(tmp_path: Path) -> None:
    plan = Plan.from_dict({"steps": [{"name": "a", "index": 0, "container": "a"},
                                     {"name": "b", "index": 1, "container": "b"}]})
    live = RunState.from_plan(plan)
    journal, _ = Journal.open(str(tmp_path / "j"))
    for rec in ({"ev": "run", "at": 1.0}, {"ev": "released", "at": 1.1, "step": "a", "handoff": None},
                {"ev": "started", "at": 1.2, "step": "a"},
                {"ev": "finished", "at": 2.0, "step": "a", "outcome": "failed", "reason": "Error", "exit_code": 2,
                 "started_at": 1.2, "finished_at": 1.9, "results": {}, "message": ""},
                {"ev": "skipped", "at": 2.1, "step": "b", "reason": "an earlier step failed", "cancelled": False}):
        journal.append(rec)
        live.apply(rec)
    journal.close()
    _, records = Journal.open(str(tmp_path / "j"))
    replayed = RunState.from_plan(plan)
    for rec in records:
        replayed.apply(rec)
    assert replayed.to_status() == live.to_status()
    assert replayed.failed and replayed.step("b").started_at is None  # type: ignore[union-attr]


STEPS = ["a", "b", "c", "d"]


def _check_run(pod: Pod, label: str) -> None:
    journal = pod.journal()
    assert pod.order() == STEPS, f"{label}: ran {pod.order()}"
    for ev in ("released", "finished"):
        steps = [r["step"] for r in journal if r["ev"] == ev]
        assert sorted(steps) == sorted(set(steps)), f"{label}: a step {ev} twice: {steps}"
    finished = {r["step"]: r for r in journal if r["ev"] == "finished"}
    assert sorted(finished) == STEPS, f"{label}: lost steps: {sorted(finished)}"
    for name in STEPS:
        rec = finished[name]
        assert rec["outcome"] == "succeeded", f"{label}: {name} {rec}"
        assert rec["started_at"] is not None and rec["finished_at"] >= rec["started_at"]
        started = [r["at"] for r in journal if r["ev"] == "started" and r["step"] == name]
        assert started in ([], [rec["started_at"]]), f"{label}: {name}'s start time changed"
    for prev, nxt in zip(STEPS, STEPS[1:]):
        assert finished[nxt]["started_at"] >= finished[prev]["finished_at"], f"{label}: {nxt} overlapped {prev}"
    assert [r["ev"] for r in journal].count("run") == 1
    ends = [r for r in journal if r["ev"] == "run_finished"]
    assert len(ends) == 1 and ends[0]["outcome"] == "Succeeded", f"{label}: {ends}"


def test_a_supervisor_sigkilled_at_random_points_resumes_every_run_in_order() -> None:
    """20 real runs of 4 steps (every third with a sidecar); each time the supervisor is SIGKILLed at a
    random moment (sometimes twice) and restarted at once, as the kubelet restarts a native sidecar; every
    run must end correctly, and its sidecar must be stopped at the end.  The runs are independent Pods, four
    at a time (each mostly waits on its processes); DOLL_KILL_SEED replays the same kills."""
    seed = int(os.environ.get("DOLL_KILL_SEED", str(time.time_ns() % 100000)))
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for done in [pool.submit(_killed_run, run, seed) for run in range(20)]:
            done.result()  # the first failing run's assertion


def _killed_run(run: int, seed: int) -> None:
    rng = random.Random(f"{seed}-{run}")
    pod = Pod()
    try:
        with_sidecar = run % 3 == 0
        pod.plan(STEPS, linger_seconds=0.1,
                 sidecars=[{"name": "side", "container": "s", "stop_grace_seconds": 1}] if with_sidecar else [])
        sup = pod.supervise()
        car = pod.sidecar("side", ["sleep", "600"]) if with_sidecar else None
        pod.steps({name: f"sleep {rng.choice([0, 0.05, 0.1, 0.2])}" for name in STEPS})
        kills = []
        for _ in range(rng.choice([1, 1, 2])):
            at = rng.uniform(0.0, 1.2)
            time.sleep(at)
            kills.append(round(at, 3))
            sup.kill()
            sup.wait()
            sup = pod.supervise()
        code = pod.finish(timeout=60)
        label = f"run {run} (seed {seed}, killed after {kills}s)"
        assert code == 0, f"{label}: supervisor exit {code}"
        _check_run(pod, label)
        if car is not None:
            assert car.returncode == 0, f"{label}: the sidecar was not stopped ({car.returncode})"
    finally:
        pod.close()


_SHORT_WRITE = """
import json, resource, sys
from supervisor.journaling import Journal, JournalError
path = sys.argv[1]
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
journal, _ = Journal.open(path)
journal.append({"ev": "run", "at": 1.0})
resource.setrlimit(resource.RLIMIT_FSIZE, (60, hard))  # the disk fills up in the middle of the next record
try:
    journal.append({"ev": "released", "at": 2.0, "step": "a" * 100})
except JournalError as exc:
    print(exc)
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space again
journal.append({"ev": "released", "at": 3.0, "step": "b"})
"""


def test_a_short_write_is_taken_back_so_the_next_record_is_not_glued_to_it(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    done = subprocess.run([sys.executable, "-c", _SHORT_WRITE, str(path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=20)
    assert done.returncode == 0, done.stderr
    assert "short write" in done.stdout
    _, records = Journal.open(str(path))
    assert [r["at"] for r in records] == [1.0, 3.0]
    assert len(path.read_text().splitlines()) == 2


def test_a_journal_that_cannot_be_written_mid_run_ends_the_supervisor_with_exit_3(pod: Pod) -> None:
    pod.plan(["a", "b"])
    limit = (pod.run_dir / "journal.jsonl").stat().st_size if (pod.run_dir / "journal.jsonl").exists() else 0
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    with open(pod.root / "supervisor.0.log", "wb") as err:
        sup = subprocess.Popen([sys.executable, "-m", "generator.cli", "supervise", "--plan", str(pod.root / "plan.json")],
                               cwd=ROOT, env=pod.env, stderr=err,
                               preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit + 2000, hard)))
    pod.supervisors.append(sup)
    pod.procs.append(sup)
    rdir = pod.root / "results"
    rdir.mkdir()
    # a's `finished` record carries a 5000-byte result: past the 2000 bytes the journal may still grow
    a = pod.step("a", 0, f"head -c 5000 /dev/zero | tr '\\0' x > {rdir}/r",
                 extra=("--results-dir", str(rdir), "--result", "r"))
    assert sup.wait(20) == 3  # not a run stalled with a swallowed error
    errors = [r for r in pod.supervisor_log(0) if r.get("level") == "error"]
    assert [r["event"] for r in errors] == ["supervisor_failed"] and "short write" in errors[0]["error"]
    assert "Traceback" not in (pod.root / "supervisor.0.log").read_text()
    a.wait(20)
    assert pod.order() == ["a"]
