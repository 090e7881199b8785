"""Matrix: a task fanned out into copies `<task>-<index>` in Tekton's order (docs/matrix.md; Matrix.FanOut in
pkg/apis/pipeline/v1/matrix_types.go), bounded by contracts.task_plans.MAX_TASKS."""

from __future__ import annotations

from pipeline_docs import params, read, refused, run

from contracts.task_plans import MAX_TASKS
from generator.tekton.pipelines.matrix import fan_out

TWO = "{params: [{name: platform}, {name: browser}], steps: [{name: s, image: busybox}]}"


def test_params_fan_out_each_new_param_the_outer_loop() -> None:
    """distribute(): for each value of the next param, for each combination so far."""
    assert fan_out([("platform", ["linux", "mac"]), ("browser", ["safari", "chrome"])], []) == [
        {"platform": "linux", "browser": "safari"}, {"platform": "mac", "browser": "safari"},
        {"platform": "linux", "browser": "chrome"}, {"platform": "mac", "browser": "chrome"}]


def test_include_overwrites_matching_combinations_or_adds_its_own() -> None:
    """docs/matrix.md "Explicit Combinations": overwriteCombinations, then addNewCombinations."""
    combos = fan_out([("GOARCH", ["amd64", "arm64"])],
                     [{"GOARCH": "arm64", "flags": "-race"}, {"GOARCH": "s390x", "flags": "-cover"}])
    assert combos == [{"GOARCH": "amd64"}, {"GOARCH": "arm64", "flags": "-race"},
                      {"GOARCH": "s390x", "flags": "-cover"}]
    assert fan_out([], [{"a": "1"}, {"a": "2"}]) == [{"a": "1"}, {"a": "2"}]


def test_each_combination_is_a_copy_of_the_task_with_its_params() -> None:
    parts = read(run(f"""
        params: [{{name: browsers, type: array, default: [chrome, firefox]}}]
        tasks:
          - name: test
            matrix: {{params: [{{name: browser, value: $(params.browsers)}}]}}
            params: [{{name: platform, value: linux}}]
            taskSpec: {TWO}
          - {{name: after, runAfter: [test], taskSpec: {{steps: [{{name: s, image: busybox}}]}}}}
    """))
    copies = [t for t in parts.tasks if t.plan.matrix == "test"]
    assert [t.plan.name for t in copies] == ["test-0", "test-1"]
    assert [(params(t)["platform"], params(t)["browser"]) for t in copies] == [("linux", "chrome"),
                                                                               ("linux", "firefox")]
    assert copies[1].where.endswith("tasks[0] (matrix combination 1)")
    assert parts.tasks[-1].plan.run_after == ("test-0", "test-1")


def test_a_matrix_over_a_whole_result_is_refused_saying_why() -> None:
    message = refused(run(f"""
        tasks:
          - {{name: a, taskSpec: {{results: [{{name: l, type: array}}], steps: [{{name: s, image: busybox}}]}}}}
          - name: b
            matrix: {{params: [{{name: platform, value: "$(tasks.a.results.l[*])"}}]}}
            taskSpec: {TWO}
    """))
    assert "matrix.params[0].value: $(tasks.a.results.l[*]): a matrix over a whole result cannot be fanned out" \
        in message and "known only at run time" in message


def test_a_string_result_in_a_matrix_element_stays_text() -> None:
    parts = read(run(f"""
        tasks:
          - {{name: a, taskSpec: {{results: [{{name: r}}], steps: [{{name: s, image: busybox}}]}}}}
          - name: b
            matrix: {{params: [{{name: platform, value: [x, "$(tasks.a.results.r)"]}}]}}
            params: [{{name: browser, value: any}}]
            taskSpec: {TWO}
    """))
    assert params(parts.tasks[2])["platform"] == "$(tasks.a.results.r)" and parts.tasks[2].plan.run_after == ("a",)


def test_more_copies_than_a_pod_holds_are_refused() -> None:
    values = ", ".join(str(i) for i in range(MAX_TASKS + 1))
    message = refused(run(f"tasks: [{{name: t, matrix: {{params: [{{name: platform, value: [{values}]}}]}}, "
                          f"params: [{{name: browser, value: x}}], taskSpec: {TWO}}}]"))
    assert f"{MAX_TASKS + 1} tasks, matrix copies included (a Pod holds at most {MAX_TASKS})" in message


def test_a_param_in_both_matrix_and_params_is_refused() -> None:
    """validateParameterInOneOfMatrixOrParams."""
    message = refused(run(f"tasks: [{{name: t, matrix: {{params: [{{name: platform, value: [a]}}]}}, "
                          f"params: [{{name: platform, value: b}}, {{name: browser, value: c}}], taskSpec: {TWO}}}]"))
    assert "param 'platform' is given both in matrix and in params" in message
