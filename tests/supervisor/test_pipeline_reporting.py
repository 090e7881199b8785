"""A pipeline's tasks in the metrics (doll_task_duration_seconds, doll_tasks_total), the Pod's annotations and
Events, and its journal records as contracts.journal reads them back."""

from __future__ import annotations

import json

import pytest
from prometheus_client import CollectorRegistry

from contracts.errors import InputError
from contracts.journal import parse_record
from supervisor.metrics import RunCollector
from supervisor.publishing import TASKS_ANNOTATION_LIMIT, event_for, pod_annotations
from pipeline_rig import PipelineRig


def _ran() -> PipelineRig:
    rig = PipelineRig([{"name": "a"}, {"name": "b", "run_after": ["a"]}, {"name": "c", "run_after": ["b"]}]).begin()
    rig.timers.advance(2)
    rig.finish("a-run")
    rig.finish("b-run", exit_code=1)
    return rig


def test_each_task_s_duration_and_the_tasks_by_outcome_are_metrics() -> None:
    rig = _ran()
    registry = CollectorRegistry()
    registry.register(RunCollector(rig.state))
    assert registry.get_sample_value("doll_task_duration_seconds_sum", {"task": "a", "outcome": "Succeeded"}) == 2.0
    assert registry.get_sample_value("doll_task_duration_seconds_count", {"task": "b", "outcome": "Failed"}) == 1.0
    assert registry.get_sample_value("doll_tasks_total", {"outcome": "Skipped"}) == 1.0
    assert registry.get_sample_value("doll_tasks_total", {"outcome": "Failed"}) == 1.0
    assert registry.get_sample_value("doll_step_duration_seconds_count", {"step": "a-run", "outcome": "succeeded"}) == 1.0


def test_the_pod_annotation_carries_each_task_s_state_and_only_counts_when_too_many() -> None:
    rig = _ran()
    tasks = json.loads(pod_annotations(rig.state)["doll.dev/tasks"] or "")
    assert tasks == [{"name": "a", "state": "Succeeded", "reason": "Succeeded"},
                     {"name": "b", "state": "Failed", "reason": "Failed"},
                     {"name": "c", "state": "Skipped", "reason": "StoppingSkip"}]
    many = PipelineRig([{"name": f"task-with-a-long-name-{i}"} for i in range(200)]).begin()
    text = pod_annotations(many.state)["doll.dev/tasks"] or ""
    assert len(text) <= TASKS_ANNOTATION_LIMIT and json.loads(text) == {"counts": {"running": 200}}


def test_a_task_s_end_and_skip_are_events() -> None:
    rig = _ran()
    events = [event_for(r) for r in rig.journal if r["ev"].startswith("task_")]
    assert any(e is not None and e[:2] == ("Warning", "PipelineTaskFailed") and "task b failed" in e[2]
               for e in events)
    assert any(e is not None and e[1] == "PipelineTaskSkipped" and "StoppingSkip" in e[2] for e in events)


def test_task_records_are_checked_when_read_back() -> None:
    for rec in _ran().journal:
        assert parse_record(json.loads(json.dumps(rec))) == rec
    with pytest.raises(InputError, match="task_skipped.reason: missing"):
        parse_record({"ev": "task_skipped", "at": 1.0, "task": "a"})
    with pytest.raises(InputError, match="tasks_timeout.scope: expected scope"):
        parse_record({"ev": "tasks_timeout", "at": 1.0, "scope": "everything"})
    with pytest.raises(InputError, match="task_finished.outcome"):
        parse_record({"ev": "task_finished", "at": 1.0, "task": "a", "outcome": "Skipped", "reason": "x"})
