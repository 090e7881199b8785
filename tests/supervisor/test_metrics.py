"""The collector computes every metric from the run's state, into whatever registry it is given."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from supervisor.metrics import RunCollector
from contracts.plans import Plan
from supervisor.states import RunState


def test_metrics_follow_the_state_into_an_injected_registry() -> None:
    plan = Plan.from_dict({"steps": [{"name": "a", "index": 0, "container": "a"},
                                     {"name": "b", "index": 1, "container": "b"}],
                           "sidecars": [{"name": "db", "container": "db"}]})
    state = RunState.from_plan(plan)
    registry = CollectorRegistry()
    registry.register(RunCollector(state, lambda: {"garbage": 2}))
    for rec in ({"ev": "run", "at": 100.0}, {"ev": "sidecar_ready", "sidecar": "db", "at": 100.25},
                {"ev": "announced", "step": "a", "at": 100.0}, {"ev": "released", "step": "a", "at": 100.5},
                {"ev": "started", "step": "a", "at": 100.6},
                {"ev": "finished", "step": "a", "at": 103.0, "outcome": "succeeded", "reason": "Completed",
                 "exit_code": 0, "started_at": 100.6, "finished_at": 102.6},
                {"ev": "released", "step": "b", "at": 103.002, "handoff": 0.0015},
                {"ev": "held", "step": "b", "at": 104.0, "reason": "beforeStep"}):
        state.apply(rec)
    got = {s.name + str(sorted(s.labels.items())): s.value
           for m in registry.collect() for s in m.samples}
    assert got["doll_step_duration_seconds_sum[('outcome', 'succeeded'), ('step', 'a')]"] == 2.0
    assert got["doll_step_duration_seconds_bucket[('le', '1.0'), ('outcome', 'succeeded'), ('step', 'a')]"] == 0
    assert got["doll_step_duration_seconds_bucket[('le', '5.0'), ('outcome', 'succeeded'), ('step', 'a')]"] == 1
    assert got["doll_step_wait_seconds[('step', 'a')]"] == 0.5
    assert got["doll_step_handoff_seconds_bucket[('le', '0.002')]"] == 1
    assert got["doll_step_handoff_seconds_bucket[('le', '0.001')]"] == 0
    assert got["doll_sidecar_ready_seconds[('sidecar', 'db')]"] == 0.25
    assert got["doll_step_held[('reason', 'beforeStep'), ('step', 'b')]"] == 1
    assert got["doll_step_state[('state', 'held'), ('step', 'b')]"] == 1
    assert got["doll_holds_total[('reason', 'beforeStep')]"] == 1
    assert got["doll_control_dropped_total[('why', 'garbage')]"] == 2
    assert got["doll_task_outcome[('outcome', 'Succeeded')]"] == 0
    assert b"doll_step_started_timestamp_seconds{step=\"b\"}" not in generate_latest(registry)
