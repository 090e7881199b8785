"""`when` on pipeline tasks (docs/pipelines.md "Guard Task execution using when expressions") and the run's
timeouts (docs/pipelineruns.md "Configuring a failure timeout"; validateTimeoutFields, validatePipelineTimeout)."""

from __future__ import annotations

import pytest
from pipeline_docs import ECHO, read, refused, run

from contracts.task_plans import WhenSpec


def test_when_expressions_have_params_replaced_and_refs_left_for_the_supervisor() -> None:
    parts = read(run(f"""
        params: [{{name: envs, type: array, default: [dev, prod]}}, {{name: env, default: prod}}]
        tasks:
          - {{name: a, taskSpec: {{results: [{{name: r}}], steps: [{{name: s, image: busybox}}]}}}}
          - name: b
            when:
              - {{input: $(params.env), operator: in, values: ["$(params.envs[*])"]}}
              - {{input: $(tasks.a.results.r), operator: notin, values: [skip]}}
            taskSpec: {ECHO}
    """))
    b = parts.tasks[1].plan
    assert b.when == (WhenSpec("prod", "in", ("dev", "prod")), WhenSpec("$(tasks.a.results.r)", "notin", ("skip",)))
    assert b.run_after == ("a",)


@pytest.mark.parametrize("when, expected", [
    ("{cel: \"'a' == 'a'\"}", "when[0].cel: CEL when expressions need Tekton's CEL evaluator"),
    ("{input: a, operator: equals, values: [a]}", "when[0].operator: 'equals' is not in or notin"),
    ("{input: a, operator: in, values: []}", "when[0].values: expected a non-empty list"),
    ("{input: $(tasks.status), operator: in, values: [Failed]}", "only a finally task can use"),
])
def test_bad_when_expressions_are_refused_in_one_line(when: str, expected: str) -> None:
    """WhenExpression.validate; CEL needs Tekton's evaluator; status refs only in finally tasks."""
    assert expected in refused(run(f"tasks: [{{name: a, when: [{when}], taskSpec: {ECHO}}}]"))


def test_a_finally_task_s_when_may_use_the_tasks_status() -> None:
    parts = read(run(f"tasks: [{{name: a, taskSpec: {ECHO}}}]\nfinally: [{{name: f, when: [{{input: "
                     f"$(tasks.a.status), operator: in, values: [Failed]}}], taskSpec: {ECHO}}}]"))
    assert parts.tasks[1].plan.when[0].input == "$(tasks.a.status)"


def _timeouts(spec: str) -> str:
    return run(f"tasks: [{{name: a, taskSpec: {ECHO}}}]", spec)


def test_timeouts_of_the_pipeline_its_tasks_and_finally() -> None:
    parts = read(_timeouts("timeouts: {pipeline: 1h, tasks: 40m, finally: 20m}"))
    assert parts.timeout_seconds == 3600 and parts.timeout_given
    assert (parts.pipeline.tasks_timeout_seconds, parts.pipeline.finally_timeout_seconds) == (2400, 1200)
    assert not read(_timeouts("")).timeout_given


@pytest.mark.parametrize("timeouts, expected", [
    ("{pipeline: 1h, tasks: 2h}", "timeouts.tasks: 2h should be <= the pipeline's timeout"),
    ("{pipeline: 1h, tasks: 40m, finally: 30m}", "timeouts: tasks + finally (40m + 30m) should be <= the pipeline's"),
    ("{pipeline: 1h, finally: '0'}", "timeouts.finally: 0 (no timeout) should be <= the pipeline's timeout"),
    ("{tasks: 2h}", "timeouts.tasks: 2h should be <= the default timeout (60m)"),
    ("{pipline: 1h}", "timeouts.pipline: not supported (pipeline, tasks or finally)"),
])
def test_timeouts_are_checked_as_tekton_does(timeouts: str, expected: str) -> None:
    assert expected in refused(_timeouts(f"timeouts: {timeouts}"))


def test_no_pipeline_timeout_allows_any_tasks_timeout() -> None:
    assert read(_timeouts("timeouts: {pipeline: '0', tasks: 5h}")).pipeline.tasks_timeout_seconds == 5 * 3600


def test_v1beta1_s_timeout_is_the_pipeline_s_and_cannot_join_timeouts() -> None:
    text = _timeouts("timeout: 1h\ntimeouts: {tasks: 1m}").replace("tekton.dev/v1\n", "tekton.dev/v1beta1\n", 1)
    assert "spec: both timeout and timeouts (give one)" in refused(text)
