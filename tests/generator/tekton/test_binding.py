"""Workspaces, results, step results, exit code paths and context variables."""

from __future__ import annotations

import pytest
from generated import container, gen, pod_of, wrapped_command

from generator.errors import GenerateError

RUN = """
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: ws, namespace: team, uid: 1234-abcd}
spec:
  workspaces:
    - {name: source, persistentVolumeClaim: {claimName: src-pvc}, subPath: repo}
    - {name: config, configMap: {name: settings}}
    - {name: creds, secret: {secretName: token}}
    - {name: scratch, emptyDir: {}}
  taskRef: {name: ws-task}
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: ws-task}
spec:
  workspaces:
    - {name: source}
    - {name: config, mountPath: /etc/app, readOnly: true}
    - {name: creds}
    - {name: scratch}
    - {name: cache, optional: true}
  results:
    - {name: digest}
  steps:
    - name: use
      image: busybox
      results: [{name: notes}]
      command: [echo]
      args:
        - $(workspaces.source.path)
        - $(workspaces.source.claim)
        - $(workspaces.config.path)
        - $(workspaces.cache.bound)/$(workspaces.cache.path)/
        - $(workspaces.source.bound)
        - $(results.digest.path)
        - $(step.results.notes.path)
        - $(context.taskRun.name)/$(context.taskRun.namespace)/$(context.taskRun.uid)/$(context.task.name)
        - $(context.task.retry-count)
    - name: after
      image: busybox
      command: [cat, $(steps.step-use.exitCode.path)]
"""


def test_workspace_variables_results_and_context_are_substituted() -> None:
    args = wrapped_command(container(pod_of(RUN), "step-use"))
    assert args == ["echo", "/workspace/source", "src-pvc", "/etc/app", "false//", "true",
                    "/tekton/results/digest", "/tekton/steps/step-use/results/notes", "ws/team/1234-abcd/ws-task",
                    "0"]


def test_exit_code_paths_of_earlier_steps_are_known() -> None:
    args = wrapped_command(container(pod_of(RUN), "step-after"))
    assert args == ["cat", "/tekton/steps/step-use/exitCode"]


def test_each_bound_workspace_is_a_volume_mounted_in_every_step() -> None:
    pod = pod_of(RUN)
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["doll-ws-source"]["persistentVolumeClaim"] == {"claimName": "src-pvc"}
    assert volumes["doll-ws-config"]["configMap"] == {"name": "settings"}
    assert volumes["doll-ws-creds"]["secret"] == {"secretName": "token"}
    assert volumes["doll-ws-scratch"]["emptyDir"] == {}
    assert "doll-ws-cache" not in volumes
    for step in ("step-use", "step-after"):
        mounts = {m["name"]: m for m in container(pod, step)["volumeMounts"]}
        assert mounts["doll-ws-source"] == {"name": "doll-ws-source", "mountPath": "/workspace/source",
                                            "subPath": "repo"}
        assert mounts["doll-ws-config"] == {"name": "doll-ws-config", "mountPath": "/etc/app", "readOnly": True}


def test_an_unbound_required_workspace_of_a_taskrun_is_refused() -> None:
    with pytest.raises(GenerateError, match="workspace 'creds' is not bound"):
        gen(RUN.replace("    - {name: creds, secret: {secretName: token}}\n", ""))


def test_a_binding_for_an_undeclared_workspace_is_refused() -> None:
    with pytest.raises(GenerateError, match=r"spec.workspaces\[4\].name: the task declares no workspace 'extra'"):
        gen(RUN.replace("  taskRef:", "    - {name: extra, emptyDir: {}}\n  taskRef:"))


TEMPLATE = ("{name: source, volumeClaimTemplate: {metadata: {labels: {team: ci}}, spec: {accessModes: "
            "[ReadWriteOnce], resources: {requests: {storage: 1Gi}}}}}")


def test_a_volume_claim_template_becomes_the_pods_ephemeral_volume_and_names_its_claim() -> None:
    """docs/workspaces.md "volumeClaimTemplate": Tekton makes a PVC from the template for the run and deletes it
    with the run; a Pod's generic ephemeral volume is exactly that, for the Pod (core/v1 EphemeralVolumeSource,
    its claim named <pod>-<volume>), so `$(workspaces.x.claim)` names it."""
    pod = pod_of(RUN.replace("{name: source, persistentVolumeClaim: {claimName: src-pvc}, subPath: repo}", TEMPLATE))
    volume = next(v for v in pod["spec"]["volumes"] if v["name"] == "doll-ws-source")
    assert volume == {"name": "doll-ws-source", "ephemeral": {"volumeClaimTemplate": {
        "metadata": {"labels": {"team": "ci"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}}}
    assert wrapped_command(container(pod, "step-use"))[2] == "ws-pod-doll-ws-source"


def test_a_volume_claim_template_without_a_spec_is_refused() -> None:
    with pytest.raises(GenerateError, match=r"spec.workspaces\[3\].volumeClaimTemplate.spec: missing"):
        gen(RUN.replace("{name: scratch, emptyDir: {}}", "{name: scratch, volumeClaimTemplate: {spec: {}}}"))


def test_a_bare_task_gets_an_emptydir_for_each_unbound_workspace_with_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    task = RUN.split("---\n")[1]
    pod = pod_of(task, name="bare")
    assert {"name": "doll-ws-creds", "emptyDir": {}} in pod["spec"]["volumes"]
    assert "workspace 'creds' is not bound; using an emptyDir" in caplog.text


def test_a_step_result_used_by_value_is_left_for_the_wrapper() -> None:
    """Tekton replaces it at run time, in the entrypoint (entrypointer.go applyStepResultSubstitutions); more in
    test_step_results.py."""
    text = RUN.replace("[cat, $(steps.step-use.exitCode.path)", "[cat, $(steps.use.results.notes)")
    assert wrapped_command(container(pod_of(text), "step-after")) == ["cat", "$(steps.use.results.notes)"]


def test_params_reach_workspace_bindings_mount_paths_and_task_volumes() -> None:
    text = """
    apiVersion: tekton.dev/v1
    kind: TaskRun
    metadata: {name: subst}
    spec:
      params: [{name: claim, value: pvc-7}, {name: dir, value: /data}, {name: cm, value: settings-v2}]
      workspaces: [{name: src, persistentVolumeClaim: {claimName: $(params.claim)}, subPath: $(params.claim)}]
      taskSpec:
        params: [{name: claim}, {name: dir}, {name: cm}]
        workspaces: [{name: src, mountPath: $(params.dir)}]
        volumes: [{name: conf, configMap: {name: $(params.cm)}}]
        steps:
          - {name: s, image: busybox, command: [ls, $(workspaces.src.path), $(workspaces.src.claim)],
             volumeMounts: [{name: conf, mountPath: /conf}]}
    """
    pod = pod_of(text)
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["doll-ws-src"]["persistentVolumeClaim"] == {"claimName": "pvc-7"}
    assert volumes["conf"]["configMap"] == {"name": "settings-v2"}
    step = container(pod, "step-s")
    assert {"name": "doll-ws-src", "mountPath": "/data", "subPath": "pvc-7"} in step["volumeMounts"]
    assert wrapped_command(step) == ["ls", "/data", "pvc-7"]


def test_tektons_old_inputs_params_spelling_still_resolves() -> None:
    text = RUN.replace("$(context.task.retry-count)", "$(inputs.params.mode)").replace(
        "  results:\n    - {name: digest}", "  params: [{name: mode, default: quick}]\n  results:\n    - {name: digest}")
    assert wrapped_command(container(pod_of(text), "step-use"))[-1] == "quick"


def test_a_workspace_sub_path_that_escapes_is_refused() -> None:
    with pytest.raises(GenerateError, match=r"spec.workspaces\[0\].subPath: '../etc' is not a relative path"):
        gen(RUN.replace("subPath: repo", "subPath: ../etc"))


def test_a_claim_without_a_name_is_refused() -> None:
    with pytest.raises(GenerateError, match=r"spec.workspaces\[0\].persistentVolumeClaim.claimName: missing"):
        gen(RUN.replace("persistentVolumeClaim: {claimName: src-pvc}", "persistentVolumeClaim: {}"))


def test_the_namespace_variable_without_a_namespace_is_default_with_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    args = wrapped_command(container(pod_of(RUN.replace(", namespace: team", "")), "step-use"))
    assert args[8] == "ws/default/1234-abcd/ws-task"
    assert "$(context.taskRun.namespace) becomes 'default'" in caplog.text


def test_sidecars_mount_the_tasks_workspaces_and_the_implicit_workspace_like_steps() -> None:
    pod = pod_of(RUN.replace("  steps:\n", "  sidecars:\n    - {name: db, image: postgres, command: [postgres]}\n  steps:\n", 1))
    step_mounts = {m["mountPath"]: m for m in container(pod, "step-use")["volumeMounts"]}
    sidecar_mounts = {m["mountPath"]: m for m in container(pod, "sidecar-db")["volumeMounts"]}
    for path in ("/workspace/source", "/etc/app", "/workspace/creds", "/workspace/scratch", "/workspace"):
        assert sidecar_mounts[path] == step_mounts[path]
    assert "/tekton/home" not in sidecar_mounts and "/tekton/results" not in sidecar_mounts


def test_two_workspaces_at_one_mount_path_are_refused() -> None:
    with pytest.raises(GenerateError, match=r"^run.yaml: document 2: spec.workspaces\[2\].mountPath: duplicate "
                                            r"'/etc/app/' \(workspace 'config' is mounted there\)$"):
        gen(RUN.replace("    - {name: creds}\n", "    - {name: creds, mountPath: /etc/app/}\n"))


@pytest.mark.parametrize("path", ["/tekton/results", "/doll/bin", "/tekton/steps/x", "/data/../doll", "//doll/bin",
                                  "//tekton//results/"])
def test_a_workspace_on_a_path_doll_reserves_is_refused(path: str) -> None:
    """Tekton reserves its own paths (pkg/apis/pipeline/v1, validateStep: "volumeMount cannot be mounted under
    /tekton/"); doll compares a path once normalized, `//doll/bin` being `/doll/bin` to the kernel."""
    with pytest.raises(GenerateError, match=rf"^run.yaml: document 2: spec.workspaces\[2\].mountPath: "
                                            rf"'{path}' is reserved for doll$"):
        gen(RUN.replace("    - {name: creds}\n", f"    - {{name: creds, mountPath: {path}}}\n"))


def test_a_workspace_at_the_implicit_paths_replaces_dolls_mount_there() -> None:
    text = RUN.replace("    - {name: creds}\n", "    - {name: creds, mountPath: /workspace}\n").replace(
        "    - {name: scratch}\n", "    - {name: scratch, mountPath: /tekton/home/}\n")
    pod = pod_of(text.replace("  steps:\n", "  sidecars:\n    - {name: db, image: postgres, command: [postgres]}\n  steps:\n", 1))
    for name in ("step-use", "step-after", "sidecar-db"):
        mounts = container(pod, name)["volumeMounts"]
        paths = [m["mountPath"].rstrip("/") for m in mounts]
        assert len(paths) == len(set(paths)), paths
        by_path = {m["mountPath"]: m["name"] for m in mounts}
        assert by_path["/workspace"] == "doll-ws-creds" and by_path["/tekton/home/"] == "doll-ws-scratch"
        assert "doll-workspace" not in by_path.values() and "doll-home" not in by_path.values()


def test_a_step_mount_on_a_workspaces_path_is_refused() -> None:
    text = RUN.replace("  steps:\n", "  volumes: [{name: v, emptyDir: {}}]\n  steps:\n", 1).replace(
        "      results: [{name: notes}]\n", "      results: [{name: notes}]\n      volumeMounts: [{name: v, mountPath: /etc/app/}]\n")
    with pytest.raises(GenerateError, match=r"^run.yaml: document 2: spec.steps\[0\].volumeMounts\[0\].mountPath: "
                                            r"'/etc/app/' is where workspace volume doll-ws-config is mounted$"):
        gen(text)
