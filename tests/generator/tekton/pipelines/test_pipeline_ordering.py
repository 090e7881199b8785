"""The DAG: runAfter and result refs order the tasks, finally tasks last (docs/pipelines.md "Configuring the Task
execution order", "Adding Finally to the Pipeline"; dag.go Build, PipelineTask.Deps, validateFinalTasks)."""

from __future__ import annotations

from pipeline_docs import ECHO, read, refused, run

RESULT = "{results: [{name: r}], steps: [{name: s, image: busybox}]}"


def _order(spec: str) -> list[tuple[str, tuple[str, ...]]]:
    return [(t.plan.name, t.plan.run_after) for t in read(run(spec)).tasks]


def test_tasks_come_after_what_they_run_after_and_otherwise_as_written() -> None:
    assert _order(f"""
        tasks:
          - {{name: last, runAfter: [mid], taskSpec: {ECHO}}}
          - {{name: first, taskSpec: {ECHO}}}
          - {{name: mid, runAfter: [first], taskSpec: {ECHO}}}
          - {{name: free, taskSpec: {ECHO}}}
    """) == [("first", ()), ("mid", ("first",)), ("last", ("mid",)), ("free", ())]


def test_a_result_ref_in_params_or_when_makes_a_dependency() -> None:
    """PipelineTask.Deps: runAfter plus the tasks of every result ref (params, when, matrix)."""
    assert _order(f"""
        tasks:
          - name: use
            params: [{{name: p, value: $(tasks.make.results.r)}}]
            when: [{{input: $(tasks.check.results.r), operator: in, values: [ok]}}]
            taskSpec: {{params: [{{name: p}}], steps: [{{name: s, image: busybox}}]}}
          - {{name: make, taskSpec: {RESULT}}}
          - {{name: check, taskSpec: {RESULT}}}
    """) == [("make", ()), ("check", ()), ("use", ("make", "check"))]


def test_finally_tasks_come_last_waiting_for_the_tasks_whose_status_or_results_they_use() -> None:
    order = _order(f"""
        tasks: [{{name: a, taskSpec: {RESULT}}}, {{name: b, taskSpec: {ECHO}}}]
        finally:
          - name: f
            params: [{{name: s, value: "$(tasks.a.status) $(tasks.status) $(tasks.a.results.r)"}}]
            taskSpec: {{params: [{{name: s}}], steps: [{{name: s, image: busybox}}]}}
    """)
    assert order == [("a", ()), ("b", ()), ("f", ("a",))]
    assert read(run(f"tasks: [{{name: a, taskSpec: {ECHO}}}]\nfinally: [{{name: f, taskSpec: {ECHO}}}]")
                ).tasks[1].plan.is_finally


def test_a_cycle_is_refused_naming_it() -> None:
    message = refused(run(f"""
        tasks:
          - {{name: a, runAfter: [c], taskSpec: {ECHO}}}
          - {{name: b, runAfter: [a], taskSpec: {ECHO}}}
          - {{name: c, runAfter: [b], taskSpec: {ECHO}}}
    """))
    assert "spec.pipelineSpec.tasks[0]: a cycle: a -> c -> b -> a" in message


def test_a_task_that_depends_on_itself_is_refused() -> None:
    assert "'a' depends on itself" in refused(run(f"tasks: [{{name: a, runAfter: [a], taskSpec: {ECHO}}}]"))


def test_run_after_an_unknown_task_is_refused_naming_the_entry() -> None:
    message = refused(run(f"tasks: [{{name: a, runAfter: [x], taskSpec: {ECHO}}}]"))
    assert message.endswith("spec.pipelineSpec.tasks[0].runAfter[0]: no task named 'x'")


def test_a_task_cannot_run_after_or_use_the_results_of_a_finally_task() -> None:
    text = run(f"tasks: [{{name: a, runAfter: [f], taskSpec: {ECHO}}}]\nfinally: [{{name: f, taskSpec: {RESULT}}}]")
    assert "runAfter[0]: 'f' is a finally task" in refused(text)
    text = run(f"""
        tasks:
          - name: a
            params: [{{name: p, value: $(tasks.f.results.r)}}]
            taskSpec: {{params: [{{name: p}}], steps: [{{name: s, image: busybox}}]}}
        finally: [{{name: f, taskSpec: {RESULT}}}]
    """)
    assert "'f' is a finally task (a task cannot use a finally task's results)" in refused(text)


def test_a_finally_task_has_no_run_after() -> None:
    """validateFinalTasks: "no runAfter allowed under spec.finally"."""
    text = run(f"tasks: [{{name: a, taskSpec: {ECHO}}}]\nfinally: [{{name: f, runAfter: [a], taskSpec: {ECHO}}}]")
    assert "finally[0].runAfter: a finally task has no runAfter" in refused(text)


def test_a_pipeline_needs_tasks() -> None:
    assert "spec.pipelineSpec.tasks: missing" in refused(run(f"finally: [{{name: f, taskSpec: {ECHO}}}]"))
