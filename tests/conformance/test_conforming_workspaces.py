"""Workspaces and volumes as Tekton mounts them: isolated, propagated, `$(workspaces.x.volume)`, sourceless."""

from __future__ import annotations

import pytest
from generated import container, gen, pod_of, wrapped_command

from generator.errors import GenerateError

RUN = """
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: ws}
spec:
  workspaces:
    - {name: src, emptyDir: {}}
    - {name: creds, secret: {secretName: creds}}
  taskSpec:
    workspaces: [{name: src}, {name: creds}]
    steps:
      - name: fetch
        image: busybox
        command: [cat, $(workspaces.creds.path)/token]
        workspaces: [{name: creds, mountPath: /creds}]
      - {name: build, image: busybox, command: [ls, $(workspaces.src.path)]}
    sidecars:
      - name: proxy
        image: busybox
        command: [cat, $(workspaces.creds.path)/token]
        workspaces: [{name: creds}]
"""


def _mounts(pod: dict[str, object], name: str) -> dict[str, str]:
    return {m["mountPath"]: m["name"] for m in container(pod, name)["volumeMounts"]  # type: ignore[index]
            if m["name"].startswith("doll-ws-")}


def test_an_isolated_workspace_is_mounted_only_in_the_steps_and_sidecars_that_list_it() -> None:
    """docs/workspaces.md "Isolating Workspaces to Specific Steps or Sidecars"; pkg/workspace/apply.go
    mountAsIsolatedWorkspace: a listed workspace goes to those containers only, at their own mountPath if they
    give one; every other workspace is shared by all steps and sidecars."""
    pod = pod_of(RUN)
    assert _mounts(pod, "step-fetch") == {"/workspace/src": "doll-ws-src", "/creds": "doll-ws-creds"}
    assert _mounts(pod, "step-build") == {"/workspace/src": "doll-ws-src"}
    assert _mounts(pod, "sidecar-proxy") == {"/workspace/src": "doll-ws-src", "/workspace/creds": "doll-ws-creds"}


def test_workspace_path_is_the_containers_own_mount_path() -> None:
    """pkg/reconciler/taskrun/resources/apply.go applyWorkspaceMountPath: `$(workspaces.x.path)` in a step that
    mounts x at its own mountPath is that path; elsewhere the declared one."""
    pod = pod_of(RUN)
    assert wrapped_command(container(pod, "step-fetch")) == ["cat", "/creds/token"]
    assert wrapped_command(container(pod, "sidecar-proxy")) == ["cat", "/workspace/creds/token"]


def test_a_step_listing_an_undeclared_workspace_is_refused() -> None:
    with pytest.raises(GenerateError, match=r"^run.yaml: spec.taskSpec.steps\[0\].workspaces\[0\].name: the task "
                                            "declares no workspace 'nope'$"):
        gen(RUN.replace("workspaces: [{name: creds, mountPath: /creds}]", "workspaces: [{name: nope}]"))


def test_a_workspace_listed_by_a_step_mounting_it_on_dolls_paths_is_refused() -> None:
    with pytest.raises(GenerateError, match=r"steps\[0\].workspaces\[0\].mountPath: '/tekton/steps' is reserved"):
        gen(RUN.replace("mountPath: /creds", "mountPath: /tekton/steps"))


def test_workspaces_bound_but_not_declared_by_an_embedded_spec_are_propagated() -> None:
    """docs/taskruns.md "Propagated Workspaces": with an embedded taskSpec, the TaskRun's workspaces are
    available without being declared, at /workspace/<name>."""
    text = RUN.replace("    workspaces: [{name: src}, {name: creds}]\n", "").replace(
        "        workspaces: [{name: creds, mountPath: /creds}]\n", "").replace(
        "        workspaces: [{name: creds}]\n", "")
    pod = pod_of(text)
    assert _mounts(pod, "step-build") == {"/workspace/src": "doll-ws-src", "/workspace/creds": "doll-ws-creds"}
    assert wrapped_command(container(pod, "step-build")) == ["ls", "/workspace/src"]


TASK_REF = """
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: t}
spec:
  steps: [{name: a, image: busybox, command: ['true']}]
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: r}
spec:
  taskRef: {name: t}
  workspaces: [{name: extra, emptyDir: {}}]
"""


def test_a_workspace_bound_for_a_referenced_task_that_does_not_declare_it_is_refused() -> None:
    """pkg/workspace/validate.go ValidateBindings: propagation is for embedded specs only; a referenced Task's
    TaskRun binding an undeclared workspace fails."""
    with pytest.raises(GenerateError, match=r"spec.workspaces\[0\].name: the task declares no workspace 'extra'"):
        gen(TASK_REF)


def test_a_workspace_volume_variable_names_the_workspaces_volume_in_a_volume_mount() -> None:
    """docs/variables.md: `$(workspaces.<name>.volume)` is the name of the volume the workspace is bound to; a
    step may mount it again elsewhere (here with a subPath)."""
    text = RUN.replace("      - {name: build, image: busybox, command: [ls, $(workspaces.src.path)]}\n",
                       "      - name: build\n        image: busybox\n        command: [ls, /cache]\n"
                       "        volumeMounts: [{name: $(workspaces.src.volume), mountPath: /cache, subPath: c}]\n")
    pod = pod_of(text)
    mounts = container(pod, "step-build")["volumeMounts"]
    assert {"name": "doll-ws-src", "mountPath": "/cache", "subPath": "c"} in mounts


def test_a_volume_with_no_source_is_an_empty_dir() -> None:
    """Kubernetes core/v1 SetDefaults_Volume: a volume that names no source is an emptyDir."""
    text = RUN.replace("    steps:\n", "    volumes: [{name: scratch}]\n    steps:\n", 1).replace(
        "command: [ls, $(workspaces.src.path)]}", "command: [ls], volumeMounts: [{name: scratch, mountPath: /s}]}")
    pod = pod_of(text)
    assert {"name": "scratch", "emptyDir": {}} in pod["spec"]["volumes"]
