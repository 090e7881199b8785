"""Prometheus metrics, computed from the run's state at each scrape (so a replayed journal keeps them).

Registered into an injected CollectorRegistry.  Labels are low-cardinality: step, sidecar, task (a
pipeline's), outcome, state, reason; the step metrics keep their labels (a step's name already says its task); the pod comes from
the scrape target (or the Pushgateway grouping key).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from supervisor.states import STEP_OUTCOMES, STEP_PHASES, TASK_OUTCOMES, RunState

__all__ = ["DURATION_BUCKETS", "HANDOFF_BUCKETS", "RunCollector", "STEP_STATES"]

DURATION_BUCKETS = (0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 10800.0)
HANDOFF_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
STEP_STATES = tuple(p for p in STEP_PHASES if p != "done") + STEP_OUTCOMES


def _buckets(values: list[float], bounds: tuple[float, ...]) -> list[tuple[str, float]]:
    out = [(repr(b), float(sum(1 for v in values if v <= b))) for b in bounds]
    return out + [("+Inf", float(len(values)))]


class RunCollector(Collector):
    def __init__(self, state: RunState, dropped: Callable[[], dict[str, int]] = dict) -> None:
        self._state = state
        self._dropped = dropped

    def collect(self) -> Iterator[Metric]:
        st = self._state
        duration = HistogramMetricFamily(
            "doll_step_duration_seconds", "Step run time (child start to exit), by step and outcome.",
            labels=["step", "outcome"])
        started = GaugeMetricFamily("doll_step_started_timestamp_seconds",
                                    "Unix time the step's command started.", labels=["step"])
        finished = GaugeMetricFamily("doll_step_finished_timestamp_seconds",
                                     "Unix time the step ended (or was skipped).", labels=["step"])
        wait = GaugeMetricFamily("doll_step_wait_seconds",
                                 "Time from the step's wrapper announcing itself to its release.", labels=["step"])
        exit_code = GaugeMetricFamily("doll_step_exit_code", "The step's exit code.", labels=["step"])
        state = GaugeMetricFamily("doll_step_state", "1 for the step's current state.", labels=["step", "state"])
        held = GaugeMetricFamily("doll_step_held", "1 while the step is held at a breakpoint.",
                                 labels=["step", "reason"])
        handoffs: list[float] = []
        for s in st.steps:
            if s.duration_seconds is not None:
                d = s.duration_seconds
                duration.add_metric([s.name, s.outcome], _buckets([d], DURATION_BUCKETS), d)
            if s.started_at is not None:
                started.add_metric([s.name], s.started_at)
            if s.finished_at is not None:
                finished.add_metric([s.name], s.finished_at)
            if s.wait_seconds is not None:
                wait.add_metric([s.name], s.wait_seconds)
            if s.exit_code is not None:
                exit_code.add_metric([s.name], s.exit_code)
            if s.handoff_seconds is not None:
                handoffs.append(s.handoff_seconds)
            current = s.outcome if s.phase == "done" else s.phase
            for name in STEP_STATES:
                state.add_metric([s.name, name], 1.0 if name == current else 0.0)
            if s.phase == "held":
                held.add_metric([s.name, s.hold_reason], 1.0)
        handoff = HistogramMetricFamily(
            "doll_step_handoff_seconds", "Latency from a step's exit report to the next step's release.")
        handoff.add_metric([], _buckets(handoffs, HANDOFF_BUCKETS), sum(handoffs))
        yield from (duration, started, finished, wait, exit_code, state, held, handoff)
        yield from self._sidecars()
        yield from self._task()
        yield from self._pipeline_tasks()

    def _pipeline_tasks(self) -> Iterator[Metric]:
        """A pipeline's tasks (a TaskRun has none): how long each took, and how many ended how."""
        st = self._state
        if not st.is_pipeline:
            return
        duration = HistogramMetricFamily(
            "doll_task_duration_seconds", "Pipeline task run time (its start to its end), by task and outcome.",
            labels=["task", "outcome"])
        ended = CounterMetricFamily("doll_tasks", "Pipeline tasks ended, by outcome (Skipped included).",
                                    labels=["outcome"])
        for t in st.tasks:
            if t.started_at is not None and t.finished_at is not None:
                d = max(0.0, t.finished_at - t.started_at)
                duration.add_metric([t.name, t.outcome], _buckets([d], DURATION_BUCKETS), d)
        for outcome in TASK_OUTCOMES + ("Skipped",):
            ended.add_metric([outcome], float(sum(1 for t in st.tasks if t.outcome == outcome)))
        yield duration
        yield ended

    def _sidecars(self) -> Iterator[Metric]:
        st = self._state
        ready = GaugeMetricFamily("doll_sidecar_ready_seconds",
                                  "Time from the run's start to the sidecar's first readiness.", labels=["sidecar"])
        state = GaugeMetricFamily("doll_sidecar_state", "1 for the sidecar's current state.",
                                  labels=["sidecar", "state"])
        for car in st.sidecars:
            if car.ready_at is not None and st.started_at is not None:
                ready.add_metric([car.name], max(0.0, car.ready_at - st.started_at))
            for name in ("pending", "announced", "ready", "unready", "failed", "stopped"):
                state.add_metric([car.name, name], 1.0 if car.phase == name else 0.0)
        yield ready
        yield state

    def _task(self) -> Iterator[Metric]:
        st = self._state
        outcome = GaugeMetricFamily("doll_task_outcome", "1 for the task's outcome once it ended.",
                                    labels=["outcome"])
        for name in TASK_OUTCOMES:
            outcome.add_metric([name], 1.0 if st.outcome == name else 0.0)
        yield outcome
        if st.started_at is not None:
            yield GaugeMetricFamily("doll_task_started_timestamp_seconds", "Unix time the run began.",
                                    value=st.started_at)
        if st.finished_at is not None:
            yield GaugeMetricFamily("doll_task_finished_timestamp_seconds", "Unix time the run ended.",
                                    value=st.finished_at)
        holds = CounterMetricFamily("doll_holds", "Debug holds so far, by reason.", labels=["reason"])
        for reason in ("beforeStep", "onFailure"):
            holds.add_metric([reason], float(sum(1 for h in st.holds if h.reason == reason)))
        yield holds
        dropped = CounterMetricFamily("doll_control_dropped", "Control connections dropped, by why.",
                                      labels=["why"])
        for why, count in sorted(self._dropped().items()):
            dropped.add_metric([why], float(count))
        yield dropped
        yield CounterMetricFamily("doll_journal_records", "Records written to or replayed from the journal.",
                                  value=float(st.records))
