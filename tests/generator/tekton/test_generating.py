"""The Pod as a whole: layouts, doll's own containers, volumes, validation, RBAC."""

from __future__ import annotations

import json
import re

import pytest
from generated import container, gen, pod_of, validate_strictly, wrapped_command

from contracts.options import from_argv
from generator.errors import GenerateError
from contracts.plans import Plan

RUN = """
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: hello
  namespace: ci
  labels: {team: a}
spec:
  timeout: 10m
  taskSpec:
    results:
      - name: greeting
    steps:
      - name: first
        image: busybox
        script: echo hi > $(results.greeting.path)
      - name: second
        image: busybox
        command: [cat, /tekton/steps/step-first/exitCode]
    sidecars:
      - name: db
        image: postgres
        command: [postgres]
        ports: [{containerPort: 5432, name: pg}]
        readinessProbe:
          tcpSocket: {port: pg}
"""


def _plan(pod: dict) -> Plan:
    env = {e["name"]: e["value"] for e in container(pod, "doll-init")["env"]}
    return Plan.from_json(env["DOLL_PLAN"])


def test_the_native_layout_runs_the_supervisor_and_sidecars_as_restartable_init_containers() -> None:
    pod = pod_of(RUN, layout="native")
    inits = pod["spec"]["initContainers"]
    assert [c["name"] for c in inits] == ["doll-init", "doll-supervisor", "sidecar-db"]
    assert [c["name"] for c in pod["spec"]["containers"]] == ["step-first", "step-second"]
    assert inits[1]["restartPolicy"] == "Always" and "startupProbe" in inits[1]
    assert inits[2]["restartPolicy"] == "Always"
    assert "restartPolicy" not in inits[0]
    assert _plan(pod).layout == "native"


def test_the_classic_layout_uses_plain_containers_supervisor_and_sidecars_first() -> None:
    """A kubelet starts a Pod's containers one after the other in spec order, each after its image pull
    (pkg/kubelet/kuberuntime/kuberuntime_manager.go SyncPod: `for _, idx := range
    podContainerChanges.ContainersToStart { start(...) }`; startContainer pulls first): sidecars listed
    after the steps would wait for every step's image."""
    pod = pod_of(RUN, layout="classic")
    assert [c["name"] for c in pod["spec"]["initContainers"]] == ["doll-init"]
    assert [c["name"] for c in pod["spec"]["containers"]] == ["doll-supervisor", "sidecar-db", "step-first",
                                                            "step-second"]
    assert all("restartPolicy" not in c for c in pod["spec"]["containers"])
    assert _plan(pod).layout == "classic"


def test_native_is_the_default_layout() -> None:
    assert [c["name"] for c in pod_of(RUN)["spec"]["initContainers"]][1] == "doll-supervisor"


def test_each_step_runs_the_wrapper_chained_to_the_previous_step() -> None:
    pod = pod_of(RUN)
    first, second = container(pod, "step-first"), container(pod, "step-second")
    assert first["command"] == ["/doll/bin/entrypoint"]
    options = from_argv(second["args"])
    assert options.name == "second" and options.index == 1
    assert options.wait_files == ("/tekton/steps/step-first/out",)
    assert options.post_file == "/tekton/steps/step-second/out"
    assert options.step_dir == "/tekton/steps/step-second"
    assert options.socket == "/doll/channel/control.sock"
    assert options.results_dir == "/tekton/results" and options.results == ("greeting",)
    assert options.termination_path == second["terminationMessagePath"] == "/tekton/termination"
    assert options.command == ("cat", "/tekton/steps/step-first/exitCode")
    assert from_argv(first["args"]).wait_files == ()
    env = {e["name"]: e.get("value") for e in second["env"]}
    assert env == {"DOLL_STEP_NAME": "second", "DOLL_STEP_DIR": "/tekton/steps/step-second",
                   "DOLL_SOCKET": "/doll/channel/control.sock"}


def test_steps_read_every_step_dir_but_write_only_their_own() -> None:
    mounts = container(pod_of(RUN), "step-second")["volumeMounts"]
    steps = [m for m in mounts if m["name"] == "doll-steps"]
    assert {"name": "doll-steps", "mountPath": "/tekton/steps", "readOnly": True} in steps
    assert {"name": "doll-steps", "mountPath": "/tekton/steps/step-second", "subPath": "step-second"} in steps
    assert len(steps) == 2
    by_path = {m["mountPath"]: m for m in mounts}
    assert by_path["/doll/bin"]["readOnly"] and by_path["/tekton/scripts"]["readOnly"]
    assert "/doll/run" not in by_path  # the admin socket, plan and journal: the supervisor's alone
    assert by_path["/doll/channel"] == {"name": "doll-ch-s1", "mountPath": "/doll/channel", "readOnly": True}
    assert not by_path["/tekton/results"].get("readOnly") and not by_path["/workspace"].get("readOnly")
    assert "/tekton/home" in by_path


def test_each_container_mounts_its_own_channel_and_the_supervisor_mounts_them_all() -> None:
    """Replays the forgery through the shared socket: no step mounts another's channel nor doll-run."""
    pod = pod_of(RUN)
    steps = [c for c in pod["spec"]["containers"] if c["name"].startswith("step-")]
    channels = [[m["name"] for m in c["volumeMounts"] if m["name"].startswith("doll-ch-")] for c in steps]
    assert channels == [["doll-ch-s0"], ["doll-ch-s1"]]
    assert all(m["name"] != "doll-run" for c in steps for m in c["volumeMounts"])
    supervisor = {m["mountPath"]: m for m in container(pod, "doll-supervisor")["volumeMounts"]}
    assert supervisor["/doll/channels/step-first"] == {"name": "doll-ch-s0", "mountPath": "/doll/channels/step-first"}
    assert supervisor["/doll/channels/step-second"]["name"] == "doll-ch-s1"
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["doll-ch-s0"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "1Mi"}
    assert _plan(pod).channels_dir == "/doll/channels"


def test_dolls_own_containers_are_locked_down_and_the_pod_sets_no_fs_group() -> None:
    """No fsGroup of doll's own: the kubelet re-owns every PVC, configMap and secret volume of a Pod with one
    (pkg/volume/volume_linux.go SetVolumeOwnership); doll's volumes are emptyDirs the kubelet makes 0777."""
    pod = pod_of(RUN)
    for name in ("doll-init", "doll-supervisor"):
        sc = container(pod, name)["securityContext"]
        assert sc["runAsNonRoot"] and sc["runAsUser"] == 65532 and sc["readOnlyRootFilesystem"]
        assert sc["capabilities"] == {"drop": ["ALL"]} and sc["allowPrivilegeEscalation"] is False
    assert "securityContext" not in pod["spec"]
    assert pod["spec"]["restartPolicy"] == "Never"


def test_the_supervisor_exposes_metrics_and_knows_its_pod_name() -> None:
    pod = pod_of(RUN)
    supervisor = container(pod, "doll-supervisor")
    assert supervisor["command"] == ["doll", "supervise", "--plan", "/doll/run/plan.json"]
    assert supervisor["ports"][0]["name"] == "doll-metrics" and supervisor["ports"][0]["containerPort"] == 9090
    assert supervisor["env"] == [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                                 {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == "9090"


def test_the_plan_travels_to_init_and_describes_steps_sidecars_and_pod() -> None:
    pod = pod_of(RUN)
    plan = _plan(pod)
    assert [s.container for s in plan.steps] == ["step-first", "step-second"]
    assert plan.sidecars[0].container == "sidecar-db"
    assert plan.sidecars[0].probe is not None and plan.sidecars[0].probe.port == 5432
    assert plan.pod.name == pod["metadata"]["name"] == "hello-pod"
    assert plan.pod.namespace == "ci" and plan.pod.task_run == "hello"
    assert plan.timeout_seconds == 600
    assert pod["spec"]["activeDeadlineSeconds"] == 660
    env = {e["name"]: e["value"] for e in container(pod, "doll-init")["env"]}
    assert json.loads(env["DOLL_STEPS"]) == ["first", "second"]
    assert json.loads(env["DOLL_SCRIPT_NAMES"]) == ["step-first"]
    assert json.loads(env["DOLL_SCRIPT_0"]) == "#!/bin/sh\nset -e\necho hi > /tekton/results/greeting"
    assert wrapped_command(container(pod, "step-first")) == ["/tekton/scripts/step-first"]


def test_the_taskruns_labels_reach_the_pod() -> None:
    labels = pod_of(RUN)["metadata"]["labels"]
    assert labels["team"] == "a" and labels["tekton.dev/taskRun"] == "hello"
    assert labels["app.kubernetes.io/managed-by"] == "doll"


def test_rbac_allows_getting_and_patching_the_pod_alone_and_creating_core_events() -> None:
    """Exactly the three calls the supervisor makes (supervisor/kube_api.py): GET and PATCH its Pod, POST a
    core/v1 Event; no `list` or `watch`, no events.k8s.io."""
    objects = gen(RUN, rbac=True)
    for obj in objects:
        validate_strictly(obj)
    account, role, binding, pod = objects
    assert pod["spec"]["serviceAccountName"] == account["metadata"]["name"]
    pods_rule, events_rule = role["rules"]
    assert pods_rule == {"apiGroups": [""], "resources": ["pods"], "resourceNames": ["hello-pod"],
                         "verbs": ["get", "patch"]}
    assert events_rule == {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["metadata"]["name"],
                                    "namespace": "ci"}]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]


def test_rbac_puts_the_pod_last_so_kubectl_apply_creates_its_service_account_first() -> None:
    """kubectl applies objects in order, and the ServiceAccount admission plugin refuses a Pod whose
    serviceAccountName does not exist yet (kubernetes plugin/pkg/admission/serviceaccount/admission.go:
    "It ensures the ServiceAccount referenced by the pod exists")."""
    assert [o["kind"] for o in gen(RUN, rbac=True)] == ["ServiceAccount", "Role", "RoleBinding", "Pod"]
    assert [o["kind"] for o in gen(RUN)] == ["Pod"]


def test_rbac_binds_the_taskruns_own_service_account_instead_of_making_one() -> None:
    objects = gen(RUN.replace("  timeout: 10m", "  timeout: 10m\n  serviceAccountName: builder"), rbac=True)
    assert [o["kind"] for o in objects] == ["Role", "RoleBinding", "Pod"]
    assert objects[2]["spec"]["serviceAccountName"] == "builder"
    assert objects[1]["subjects"][0]["name"] == "builder"


def test_rbac_without_a_namespace_leaves_every_object_in_kubectls_namespace() -> None:
    objects = gen(RUN.replace("  namespace: ci\n", ""), rbac=True)
    for obj in objects:
        validate_strictly(obj)
        assert "namespace" not in obj["metadata"]
    assert objects[2]["subjects"] == [{"kind": "ServiceAccount", "name": objects[0]["metadata"]["name"]}]


def test_the_native_startup_probe_succeeds_once_a_real_supervisor_listens(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The supervisor's startupProbe command, run for real against `doll supervise` on a temp run dir."""
    import dataclasses
    import os
    import subprocess
    import sys
    import time

    from registries import free_port
    pod = pod_of(RUN, layout="native")
    probe = container(pod, "doll-supervisor")["startupProbe"]["exec"]["command"]
    plan = dataclasses.replace(_plan(pod), run_dir=str(tmp_path / "run"), publish_to_api=False,
                               metrics_port=free_port(), linger_seconds=0.0)
    (tmp_path / "plan.json").write_text(plan.to_json())
    socket_path = str(tmp_path / "run" / "control.sock")
    command = [socket_path if part == "/doll/run/control.sock" else part for part in probe]
    bindir = os.path.dirname(sys.executable)
    command[0] = os.path.join(bindir, command[0])
    env = {**os.environ, "POD_NAME": "hello-pod"}
    assert subprocess.run(command, capture_output=True, timeout=30).returncode != 0  # nobody listens yet
    supervisor = subprocess.Popen([os.path.join(bindir, "doll"), "supervise", "--plan", str(tmp_path / "plan.json")],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            result = subprocess.run(command, capture_output=True, text=True, timeout=30)
            if result.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert result.returncode == 0, result.stderr
    finally:
        supervisor.kill()  # how it stops is the supervisor's business; here it only has to listen
        supervisor.wait()


def test_the_strict_validation_the_tests_rely_on_rejects_an_unknown_field() -> None:
    import kubernetes_validate
    pod = pod_of(RUN)
    pod["spec"]["containers"][1]["entrypoint"] = ["x"]
    with pytest.raises(Exception, match="entrypoint"):
        validate_strictly(pod)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(pod, "1.29.0", strict=True)


def test_v1_compute_resources_become_the_containers_resources() -> None:
    text = RUN.replace("command: [cat, /tekton/steps/step-first/exitCode]",
                       "command: [cat]\n        computeResources: {limits: {cpu: '2'}}")
    assert container(pod_of(text), "step-second")["resources"] == {"limits": {"cpu": "2"}}


@pytest.mark.parametrize("name", ["../../etc/passwd", "../run/plan.json", "a/b", ".hidden", "x-", "", "é"])
def test_a_result_name_that_is_not_tektons_is_refused_before_it_becomes_a_path(name: str) -> None:
    error = "name: missing" if not name else f"name: {name!r} is not a result name"
    with pytest.raises(GenerateError, match="^" + re.escape(f"run.yaml: spec.taskSpec.results[0].{error}")):
        gen(RUN.replace("      - name: greeting\n", f"      - name: {json.dumps(name)}\n")
            .replace("$(results.greeting.path)", "x"))


def test_result_names_tekton_accepts_reach_the_wrappers() -> None:
    text = RUN.replace("      - name: greeting\n", "      - name: greeting\n      - name: IMAGE_DIGEST\n"
                                                  "      - name: a.b-c\n      - name: x\n")
    options = from_argv(container(pod_of(text), "step-first")["args"])
    assert options.results == ("greeting", "IMAGE_DIGEST", "a.b-c", "x")


def test_the_plan_carries_the_declared_types_and_properties_of_the_task_results() -> None:
    """Tekton docs/tasks.md "Emitting results": a result's `type` (string, array, object) and an object's
    `properties`; the supervisor checks the values against them at the end (validateTaskRunResults)."""
    text = RUN.replace("      - name: greeting\n", "      - name: greeting\n      - name: list\n        type: array\n"
                       "      - name: image\n        type: object\n        properties: {url: {type: string}}\n")
    specs = {r.name: (r.type, r.properties) for r in _plan(pod_of(text)).results}
    assert specs == {"greeting": ("string", ()), "list": ("array", ()), "image": ("object", ("url",))}
    with pytest.raises(GenerateError, match=r"results\[0\].type: 'number' is not one of string, array, object"):
        gen(RUN.replace("      - name: greeting\n", "      - name: greeting\n        type: number\n"))


@pytest.mark.parametrize("layout", ["native", "classic"])
def test_rbac_mounts_doll_s_account_token_in_the_supervisor_only(layout: str) -> None:
    """Kubernetes docs "Configure Service Accounts for Pods" (opt out of API credential automounting, and the
    projected volume the kubelet would make): with `--rbac` the token may patch the Pod and create Events, so
    no step gets it; Tekton's own Pods likewise carry only the TaskRun's serviceAccountName."""
    pod = gen(RUN, rbac=True, layout=layout)[-1]
    validate_strictly(pod)
    assert pod["spec"]["automountServiceAccountToken"] is False
    volume = next(v for v in pod["spec"]["volumes"] if v["name"] == "doll-sa-token")
    assert volume["projected"]["sources"][0]["serviceAccountToken"]["path"] == "token"
    every = [*pod["spec"].get("initContainers", []), *pod["spec"]["containers"]]
    mounting = [c["name"] for c in every if any(m["name"] == "doll-sa-token" for m in c.get("volumeMounts", []))]
    assert mounting == ["doll-supervisor"]
    mount = next(m for m in container(pod, "doll-supervisor")["volumeMounts"] if m["name"] == "doll-sa-token")
    assert mount == {"name": "doll-sa-token", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                     "readOnly": True}


def test_rbac_with_the_taskruns_own_account_leaves_its_token_to_every_container() -> None:
    """The TaskRun's serviceAccountName is for its steps (Tekton docs/taskruns.md "Specifying ServiceAccount
    credentials"): Kubernetes mounts its token as usual."""
    pod = gen(RUN.replace("  timeout: 10m", "  timeout: 10m\n  serviceAccountName: builder"), rbac=True)[-1]
    assert "automountServiceAccountToken" not in pod["spec"]
    assert all(v["name"] != "doll-sa-token" for v in pod["spec"]["volumes"])
