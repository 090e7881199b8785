"""Workspaces bound once by the PipelineRun and mapped into each task (docs/workspaces.md "Using Workspaces in
Pipelines", docs/pipelineruns.md "Propagated Workspaces"), and the Pipeline's results (docs/pipelines.md
"Emitting Results from a Pipeline")."""

from __future__ import annotations

from pipeline_docs import read, refused, run

from contracts.task_plans import PipelineResultSpec

USES = "{workspaces: [{name: src}], steps: [{name: s, image: busybox}]}"


def test_a_task_maps_a_pipeline_workspace_under_its_own_name_with_sub_paths_joined() -> None:
    parts = read(run(f"""
        params: [{{name: dir, default: out}}]
        workspaces: [{{name: shared}}]
        tasks: [{{name: a, workspaces: [{{name: src, workspace: shared, subPath: $(params.dir)}}], taskSpec: {USES}}}]
    """, "workspaces: [{name: shared, emptyDir: {}, subPath: base}]"))
    a = parts.tasks[0]
    assert a.run.workspaces == (({"name": "src", "emptyDir": {}, "subPath": "base/out"},
                                 "run.yaml: spec.workspaces[0]"),)
    assert a.workspace_sources == (("src", "shared"),)
    assert parts.workspaces == (({"name": "shared", "emptyDir": {}, "subPath": "base"}, "run.yaml: spec.workspaces[0]"),)


def test_a_task_workspace_without_workspace_maps_the_pipeline_s_of_its_name() -> None:
    """TEP-0108: `workspace` defaults to the name."""
    parts = read(run(f"workspaces: [{{name: src}}]\ntasks: [{{name: a, workspaces: [{{name: src}}], taskSpec: {USES}}}]",
                     "workspaces: [{name: src, emptyDir: {}}]"))
    assert parts.tasks[0].workspace_sources == (("src", "src"),)


def test_an_embedded_task_gets_the_workspaces_it_uses_propagated() -> None:
    """docs/pipelineruns.md "Propagated Workspaces" (pipelinerun.go propagateWorkspaces)."""
    parts = read(run("tasks: [{name: a, taskSpec: {steps: [{name: s, image: busybox, script: ls $(workspaces.w.path)}]}}]",
                     "workspaces: [{name: w, emptyDir: {}}]"))
    assert parts.tasks[0].workspace_sources == (("w", "w"),)


def test_an_unbound_workspace_is_refused() -> None:
    message = refused(run(f"workspaces: [{{name: shared}}]\ntasks: [{{name: a, taskSpec: {USES}}}]"))
    assert "spec.workspaces: workspace 'shared' is not bound (declared at" in message


def test_an_optional_unbound_workspace_binds_nothing_and_a_bound_one_says_so() -> None:
    parts = read(run(f"""
        workspaces: [{{name: opt, optional: true}}]
        tasks:
          - name: a
            params: [{{name: p, value: $(workspaces.opt.bound)}}]
            workspaces: [{{name: src, workspace: opt}}]
            taskSpec: {{params: [{{name: p}}], workspaces: [{{name: src, optional: true}}], steps: [{{name: s, image: busybox}}]}}
    """))
    assert parts.tasks[0].run.workspaces == () and parts.tasks[0].run.params[0].value == "false"


def test_a_task_mapping_an_undeclared_workspace_is_refused() -> None:
    assert "workspaces[0].workspace: the pipeline declares no workspace 'nope'" in refused(
        run(f"tasks: [{{name: a, workspaces: [{{name: src, workspace: nope}}], taskSpec: {USES}}}]"))


def test_pipeline_results_hold_refs_string_array_and_object() -> None:
    parts = read(run("""
        results:
          - {name: one, value: "$(tasks.a.results.r)"}
          - {name: many, value: ["$(tasks.a.results.r)", "$(tasks.f.results.r)"]}
          - {name: obj, value: {k: "$(finally.f.results.r)"}}
          - {name: whole, type: array, value: "$(tasks.a.results.l[*])"}
        tasks: [{name: a, taskSpec: {results: [{name: r}, {name: l, type: array}], steps: [{name: s, image: busybox}]}}]
        finally: [{name: f, taskSpec: {results: [{name: r}], steps: [{name: s, image: busybox}]}}]
    """))
    assert parts.pipeline.results == (
        PipelineResultSpec("one", "string", text="$(tasks.a.results.r)"),
        PipelineResultSpec("many", "array", items=("$(tasks.a.results.r)", "$(tasks.f.results.r)")),
        PipelineResultSpec("obj", "object", fields=(("k", "$(tasks.f.results.r)"),)),
        PipelineResultSpec("whole", "array", text="$(tasks.a.results.l[*])"))


def test_a_pipeline_result_without_refs_or_to_an_undeclared_result_is_refused() -> None:
    """validatePipelineResults: "expected pipeline results to be task result expressions"."""
    base = "tasks: [{name: a, taskSpec: {results: [{name: r}], steps: [{name: s, image: busybox}]}}]\n"
    assert "results[0].value: 'plain': expected task result references" in refused(
        run(base + "results: [{name: x, value: plain}]"))
    assert "task 'a' declares no result 'q'" in refused(run(base + "results: [{name: x, value: $(tasks.a.results.q)}]"))
