"""Params in a pipeline: the Pipeline's values replaced in each pipeline task's params, propagation into embedded
specs, context variables, and refs to other tasks' results left as text for the supervisor (docs/pipelines.md
"Specifying Parameters", docs/pipelineruns.md "Propagated Parameters", docs/variables.md; apply.go ApplyParameters,
ApplyContexts, propagateParams)."""

from __future__ import annotations

import pytest
from pipeline_docs import ECHO, params, read, refused, run, task

from generator.tekton.resolving import resolve
from generator.tekton.substituting import EXPANDABLE, param_variables, walk

PRODUCER = "{results: [{name: r}, {name: list, type: array}, " \
           "{name: info, type: object, properties: {url: {}, sha: {}}}], steps: [{name: s, image: busybox}]}"


def test_string_array_and_object_params_are_replaced_with_run_values_and_defaults() -> None:
    parts = read(run(f"""
        params:
          - {{name: s, default: dflt}}
          - {{name: a, type: array, default: [x]}}
          - {{name: o, type: object, properties: {{k: {{}}}}, default: {{k: v}}}}
        tasks:
          - name: t
            params:
              - {{name: one, value: "$(params.s)-$(params.a[0])-$(params.o.k)"}}
              - {{name: many, value: "$(params.a[*])"}}
              - {{name: more, value: [first, "$(params.a[*])"]}}
              - {{name: whole, value: "$(params.o[*])"}}
            taskSpec: {ECHO}
    """, "params: [{name: a, value: [p, q]}]"))
    given = params(task(parts, "t"))
    assert given["one"] == "dflt-p-v" and given["many"] == ["p", "q"]
    assert given["more"] == ["first", "p", "q"] and given["whole"] == {"k": "v"}


def test_command_line_params_override_the_run_s() -> None:
    text = run(f"params: [{{name: s}}]\ntasks: [{{name: t, params: [{{name: x, value: $(params.s)}}], taskSpec: {ECHO}}}]",
               "params: [{name: s, value: run}]")
    assert params(task(read(text, {"s": "cli"}), "t"))["x"] == "cli"


def test_an_unknown_param_or_a_missing_value_is_refused_in_one_line() -> None:
    """validatePipelineParameterUsage; a param without default and without value (the run's spec.params)."""
    text = run(f"tasks: [{{name: t, params: [{{name: x, value: $(params.nope)}}], taskSpec: {ECHO}}}]")
    assert "tasks[0].params[0].value: $(params.nope) cannot be resolved (no param 'nope')" in refused(text)
    text = run(f"params: [{{name: need}}]\ntasks: [{{name: t, taskSpec: {ECHO}}}]")
    assert "param 'need': no value" in refused(text)


def test_an_enum_guards_the_pipeline_s_param() -> None:
    """docs/pipelines.md "Param Enum"."""
    text = run(f"params: [{{name: m, enum: [a, b]}}]\ntasks: [{{name: t, taskSpec: {ECHO}}}]",
               "params: [{name: m, value: c}]")
    assert "is not in enum" in refused(text)


def test_the_run_s_params_propagate_into_embedded_specs_the_task_s_own_win() -> None:
    """docs/pipelineruns.md "Propagated Parameters"; propagateParams: the pipeline task's params shadow them."""
    parts = read(run("""
        tasks:
          - name: t
            params: [{name: HELLO, value: mine}]
            taskSpec: {steps: [{name: s, image: busybox, script: echo $(params.HELLO) $(params.BYE)}]}
    """, "params: [{name: HELLO, value: hi}, {name: BYE, value: bye}]"))
    t = task(parts, "t")
    assert resolve(t.run) == {"HELLO": "mine", "BYE": "bye"}


def test_context_variables_are_replaced_in_params_and_in_embedded_specs() -> None:
    """docs/variables.md: context.pipelineRun.name|namespace|uid, context.pipeline.name, context.pipelineTask.retries;
    ApplyContexts reaches embedded specs through propagateParams."""
    parts = read(run("""
        tasks:
          - name: t
            params: [{name: p, value: "$(context.pipelineRun.name)/$(context.pipeline.name)/$(context.pipelineTask.retries)"}]
            taskSpec:
              params: [{name: p}]
              steps: [{name: s, image: busybox, script: "echo $(context.pipelineRun.namespace) $(context.pipelineRun.uid)"}]
    """).replace("metadata: {name: demo}", "metadata: {name: demo, namespace: ci, uid: u-1}"))
    t = task(parts, "t")
    assert params(t)["p"] == "demo/demo/0"
    assert t.run.task["steps"][0]["script"] == "echo ci u-1"


def test_an_unknown_context_variable_is_refused() -> None:
    text = run(f"tasks: [{{name: t, params: [{{name: x, value: $(context.pipelineRun.color)}}], taskSpec: {ECHO}}}]")
    assert "(no such context variable in a Pipeline)" in refused(text)


def _refs_run(value: str, declared: str) -> str:
    return run(f"""
        tasks:
          - {{name: a, taskSpec: {PRODUCER}}}
          - name: b
            params: [{{name: p, value: "{value}"}}]
            taskSpec: {{params: [{declared}], steps: [{{name: s, image: busybox, args: ["$(params.p[*])"]}}]}}
    """)


def test_a_string_result_ref_stays_text_and_makes_the_task_wait() -> None:
    """`$(tasks.a.results.r)`: resolved at run time by the supervisor (resultrefresolution.go), a dependency."""
    b = task(read(_refs_run("v=$(tasks.a.results.r)", "{name: p}")), "b")
    assert params(b)["p"] == "v=$(tasks.a.results.r)" and b.plan.run_after == ("a",)


def test_an_array_param_given_a_whole_array_result_is_the_one_element_list_of_the_ref() -> None:
    """parts.PipelineTask: `["$(tasks.X.results.Y[*])"]`, which the step's wrapper expands in command and args."""
    b = task(read(_refs_run("$(tasks.a.results.list[*])", "{name: p, type: array}")), "b")
    assert params(b)["p"] == ["$(tasks.a.results.list[*])"]


def test_an_object_param_given_a_whole_object_result_is_a_ref_per_key_the_result_declares() -> None:
    """As Tekton replaces the param with the whole object the result holds."""
    b = task(read(_refs_run("$(tasks.a.results.info[*])", "{name: p, type: object, properties: {url: {}}}")), "b")
    assert params(b)["p"] == {"url": "$(tasks.a.results.info.url)", "sha": "$(tasks.a.results.info.sha)"}


def test_the_task_path_s_substitution_leaves_refs_intact_in_command_args_and_scripts() -> None:
    """What assembling does next: resolving.resolve and substituting.walk over `$(params.p)` (re.sub does not
    rescan what it put in), an array ref expanding as one element of args."""
    b = task(read(_refs_run("$(tasks.a.results.list[*])", "{name: p, type: array}")), "b")
    variables = param_variables(resolve(b.run))
    step = walk(b.run.task["steps"][0], variables, "step", EXPANDABLE)
    assert step["args"] == ["$(tasks.a.results.list[*])"]
    text = task(read(_refs_run("$(tasks.a.results.info.url)", "{name: p}")), "b")
    assert walk({"script": "echo $(params.p)"}, param_variables(resolve(text.run)), "s") == \
        {"script": "echo $(tasks.a.results.info.url)"}


@pytest.mark.parametrize("value, expected", [
    ("$(tasks.zz.results.r)", "$(tasks.zz.results.r): no task named 'zz' in the pipeline"),
    ("$(tasks.a.results.nope)", "task 'a' declares no result 'nope' (it declares: info, list, r)"),
    ("$(tasks.a.status)", "only a finally task can use a task's execution status"),
    ("$(tasks.a.reason)", "not supported (doll gives a finally task $(tasks.<task>.status), not the reason)"),
])
def test_bad_refs_are_refused_in_one_line_naming_the_field(value: str, expected: str) -> None:
    """pipeline_validation.go: result refs to known tasks and declared results; status only in finally."""
    message = refused(_refs_run(value, "{name: p}"))
    assert "spec.pipelineSpec.tasks[1].params[0].value: " in message and expected in message


def test_a_task_param_without_a_value_is_refused_naming_the_pipeline_task() -> None:
    text = run("tasks: [{name: t, taskSpec: {params: [{name: need}], steps: [{name: s, image: busybox}]}}]")
    assert "tasks[0].params: the task's param 'need' has no value" in refused(text)
