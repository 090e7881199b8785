"""A PipelineRun's Pod: every task's steps and sidecars in one Pod, one plan, the volumes each task needs."""

from __future__ import annotations

from typing import Any

import pytest
from generated import container, validate_strictly
from pipeline_parts import assemble, parts, plan_of, task

from contracts.options import from_argv
from contracts.task_plans import PipelinePlan
from generator.images.sources import ImageCommand, Platforms
from generator.tekton.pipelines.parts import PipelineParts
from generator.tekton.generate_options import GenerateOptions
from generator.tekton.translating import translate

BUILD = """
results: [{name: digest}]
workspaces: [{name: src}]
volumes: [{name: cache, emptyDir: {}}]
steps:
  - name: compile
    image: busybox
    script: echo built > $(workspaces.src.path)/out; printf d1 > $(results.digest.path)
    volumeMounts: [{name: cache, mountPath: /cache}]
    workingDir: build/here
    results: [{name: log}]
  - name: check
    image: busybox
    command: [sh, -c, "cat $(steps.step-compile.exitCode.path); echo $(steps.compile.results.log)"]
sidecars:
  - name: db
    image: postgres
    command: [postgres]
    ports: [{containerPort: 5432, name: pg}]
    readinessProbe: {tcpSocket: {port: pg}}
"""
TEST = """
params: [{name: digest}]
workspaces: [{name: code, mountPath: /code}]
volumes: [{name: cache, emptyDir: {}}]
steps:
  - name: run
    image: busybox
    command: [sh, -c, "cat /code/out; echo $(params.digest)"]
    volumeMounts: [{name: cache, mountPath: /cache}]
sidecars:
  - name: web
    image: busybox
    script: httpd -f -p 8080
"""
REPORT = """
params: [{name: build}, {name: all}]
steps:
  - name: say
    image: busybox
    script: echo "$(params.build) $(params.all)"
"""


def _pipeline(**fields: Any) -> PipelineParts:
    return parts(
        task("build", BUILD, 0, workspaces=[{"name": "src", "emptyDir": {}, "subPath": "tree"}],
             sources=(("src", "shared"),)),
        task("test", TEST, 1, params={"digest": "$(tasks.build.results.digest)"},
             workspaces=[{"name": "code", "emptyDir": {}, "subPath": "tree"}], sources=(("code", "shared"),),
             run_after=("build",)),
        task("report", REPORT, 2, params={"build": "$(tasks.build.status)", "all": "$(tasks.status)"},
             is_finally=True),
        **fields)


def _pod(**options: Any) -> dict[str, Any]:
    objects = assemble(_pipeline(), **options)
    for obj in objects:
        validate_strictly(obj)
    return objects[-1]


def _mounts(c: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["mountPath"]: m for m in c["volumeMounts"]}


@pytest.mark.parametrize("layout", ["native", "classic"])
def test_a_pipeline_of_several_tasks_makes_one_strictly_valid_pod(layout: str) -> None:
    """kubernetes-validate --strict (Kubernetes 1.29 and the newest schema), with its RBAC objects."""
    objects = assemble(_pipeline(), layout=layout, rbac=True, namespace="ci", pod_security="restricted")
    assert [o["kind"] for o in objects] == ["ServiceAccount", "Role", "RoleBinding", "Pod"]
    for obj in objects:
        validate_strictly(obj)


def test_each_task_s_steps_become_containers_named_after_task_and_step() -> None:
    pod = _pod()
    assert [c["name"] for c in pod["spec"]["containers"]] == ["step-build-compile", "step-build-check",
                                                            "step-test-run", "step-report-say"]
    plan = plan_of(pod)
    assert [(s.name, s.container, s.task, s.index) for s in plan.steps] == [
        ("build-compile", "step-build-compile", "build", 0), ("build-check", "step-build-check", "build", 1),
        ("test-run", "step-test-run", "test", 2), ("report-say", "step-report-say", "report", 3)]
    assert from_argv(container(pod, "step-test-run")["args"]).name == "test-run"


def test_every_task_s_sidecars_join_the_pod_s_sidecars() -> None:
    pod = _pod()
    assert [c["name"] for c in pod["spec"]["initContainers"]] == ["doll-init", "doll-supervisor", "sidecar-build-db",
                                                                "sidecar-test-web"]
    sidecars = plan_of(pod).sidecars
    assert [(s.name, s.container) for s in sidecars] == [("build-db", "sidecar-build-db"),
                                                         ("test-web", "sidecar-test-web")]
    assert sidecars[0].probe is not None and sidecars[0].probe.port == 5432
    assert _mounts(container(pod, "sidecar-test-web"))["/doll/channel"]["name"] == "doll-ch-c1"


@pytest.mark.parametrize("layout", ["native", "classic"])
def test_every_step_waits_for_the_supervisor_and_chains_only_to_its_own_task_s_previous_step(layout: str) -> None:
    pod = _pod(layout=layout)
    options = {c["name"]: from_argv(c["args"]) for c in pod["spec"]["containers"] if c["name"].startswith("step-")}
    assert all(o.await_supervisor for o in options.values())
    assert options["step-build-check"].wait_files == ("/tekton/steps/step-build-compile/out",)
    assert options["step-test-run"].wait_files == () and options["step-report-say"].wait_files == ()
    assert {o.container_count for o in options.values()} == {8}  # init, supervisor, 2 sidecars, 4 steps


def test_each_task_has_its_own_results_volume() -> None:
    pod = _pod()
    results = {c["name"]: _mounts(c)["/tekton/results"]["name"] for c in pod["spec"]["containers"]}
    assert results == {"step-build-compile": "doll-results-t0", "step-build-check": "doll-results-t0",
                       "step-test-run": "doll-results-t1", "step-report-say": "doll-results-t2"}
    volumes = [v["name"] for v in pod["spec"]["volumes"]]
    assert {"doll-results-t0", "doll-results-t1", "doll-results-t2"} <= set(volumes)
    assert "doll-results" not in volumes
    assert "/tekton/results" not in _mounts(container(pod, "doll-supervisor"))


def test_a_pipeline_workspace_is_one_volume_shared_by_every_task_that_maps_it_with_its_sub_path() -> None:
    pod = _pod()
    build, test = _mounts(container(pod, "step-build-compile")), _mounts(container(pod, "step-test-run"))
    assert build["/workspace/src"] == {"name": "doll-ws-shared", "mountPath": "/workspace/src", "subPath": "tree"}
    assert test["/code"] == {"name": "doll-ws-shared", "mountPath": "/code", "subPath": "tree"}
    assert [v for v in pod["spec"]["volumes"] if v["name"].startswith("doll-ws-")] == [
        {"name": "doll-ws-shared", "emptyDir": {}}]
    assert _mounts(container(pod, "sidecar-build-db"))["/workspace/src"]["name"] == "doll-ws-shared"


def test_a_task_s_own_volumes_are_named_after_the_task_and_never_meet_another_task_s() -> None:
    pod = _pod()
    assert _mounts(container(pod, "step-build-compile"))["/cache"]["name"] == "build-cache"
    assert _mounts(container(pod, "step-test-run"))["/cache"]["name"] == "test-cache"
    names = [v["name"] for v in pod["spec"]["volumes"]]
    assert "build-cache" in names and "test-cache" in names and "cache" not in names


def test_step_results_and_exit_codes_inside_a_task_point_at_its_qualified_step_dirs() -> None:
    check = container(_pod(), "step-build-check")
    options = from_argv(check["args"])
    assert options.command[-1] == "cat /tekton/steps/step-build-compile/exitCode; echo $(steps.compile.results.log)"
    assert options.result_refs == ("steps.compile.results.log=/tekton/steps/step-build-compile/results/log",)
    assert options.step_dir == "/tekton/steps/step-build-check"
    assert _mounts(check)["/tekton/steps/step-build-check"]["subPath"] == "step-build-check"


def test_the_scripts_and_working_dirs_of_every_task_go_to_the_one_init_container() -> None:
    pod = _pod()
    env = {e["name"]: e["value"] for e in container(pod, "doll-init")["env"]}
    assert env["DOLL_STEPS"] == '["build-compile","build-check","test-run","report-say"]'
    assert env["DOLL_SCRIPT_NAMES"] == '["step-build-compile","step-report-say","sidecar-test-web"]'
    assert env["DOLL_WORKING_DIRS"] == '["/workspace/build/here"]'
    assert "/tekton/results/digest" in env["DOLL_SCRIPT_0"]


def test_the_plan_holds_the_tasks_in_order_and_the_pipeline() -> None:
    plan = plan_of(_pod())
    assert [(t.name, t.run_after, t.is_finally) for t in plan.tasks] == [
        ("build", (), False), ("test", ("build",), False), ("report", (), True)]
    assert [r.name for r in plan.tasks[0].results] == ["digest"]
    assert plan.pipeline == PipelinePlan(name="", run="ci")
    assert plan.results == ()


def test_the_pod_names_the_pipeline_run_and_carries_tekton_s_pipeline_labels() -> None:
    """Tekton labels each TaskRun (and so its Pod) tekton.dev/pipeline, the Pipeline's name or, for an embedded
    pipelineSpec, the PipelineRun's (pkg/reconciler/pipelinerun propagatePipelineNameLabelToPipelineRun, which
    keeps one the run sets), tekton.dev/pipelineRun and tekton.dev/pipelineRunUID (getTaskrunLabels)."""
    pod = _pod(namespace="ci")
    assert pod["metadata"]["name"] == "ci-pod" and pod["metadata"]["namespace"] == "ci"
    assert pod["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "doll", "tekton.dev/pipeline": "ci",
                                         "tekton.dev/pipelineRun": "ci",
                                         "tekton.dev/pipelineRunUID": "5b1c6c1e-0000-4000-8000-000000000001"}
    identity = plan_of(pod).pod
    assert (identity.name, identity.namespace, identity.task_run) == ("ci-pod", "ci", "ci")
    named = assemble(_pipeline(pipeline=PipelinePlan(name="release", run="ci"), labels={"team": "a"}))[-1]
    assert named["metadata"]["labels"]["tekton.dev/pipeline"] == "release"
    assert named["metadata"]["labels"]["team"] == "a"


def test_the_run_s_timeout_or_the_default_bounds_the_pod() -> None:
    assert plan_of(_pod()).timeout_seconds == 3600.0
    pod = assemble(_pipeline(timeout_seconds=120.0, timeout_given=True))[-1]
    assert plan_of(pod).timeout_seconds == 120.0 and pod["spec"]["activeDeadlineSeconds"] == 180


class _Images:
    """The image config source, a boundary (a registry or podman's store): records what it is asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.closed = 0

    async def lookup(self, image: str) -> Platforms:
        self.asked.append(image)
        return {"": ImageCommand(entrypoint=(f"/bin/{image.split('/')[-1]}",), cmd=())}

    async def close(self) -> None:
        self.closed += 1


def test_the_images_of_every_task_are_looked_up_in_one_batch() -> None:
    no_command = "steps: [{name: go, image: %s}]"
    source = _Images()
    pipeline = parts(task("a", no_command % "tool/x", 0), task("b", no_command % "tool/y", 1),
                     task("c", no_command % "tool/x", 2))
    pod = assemble(pipeline, image_source=source)[-1]
    assert sorted(source.asked) == ["tool/x", "tool/y"] and source.closed == 1
    assert from_argv(container(pod, "step-b-go")["args"]).command == ("/bin/y",)


def test_long_task_and_step_names_are_fitted_to_dns_labels() -> None:
    long_task, long_step = "t" * 50, "s" * 50
    pod = assemble(parts(task(long_task, f"steps: [{{name: {long_step}, image: busybox, command: ['true']}}]", 0)))[-1]
    validate_strictly(pod)
    step = plan_of(pod).steps[0]
    assert len(step.name) == 63 and step.name.startswith(f"{long_task}-sss")
    assert len(step.container) <= 63 and step.container.startswith("step-ttt")


def test_the_pod_asks_for_what_its_dag_can_run_at_once_not_the_sum_of_its_steps() -> None:
    """resources.fit_tasks: inside a task only its largest request stays (its steps run one at a time); two
    tasks that may run at once each keep theirs, a task that runs after another asks nothing more."""
    spec = """
steps:
  - {name: one, image: busybox, command: ["true"], computeResources: {requests: {cpu: 300m}}}
  - {name: two, image: busybox, command: ["true"], computeResources: {requests: {cpu: 100m}}}
"""
    pod = assemble(parts(task("a", spec, 0), task("b", spec, 1)))[-1]
    cpu = {c["name"]: c["resources"]["requests"]["cpu"] for c in pod["spec"]["containers"]}
    assert cpu == {"step-a-one": "300m", "step-a-two": "0", "step-b-one": "300m", "step-b-two": "0"}
    pod = assemble(parts(task("a", spec, 0), task("b", spec, 1, run_after=("a",))))[-1]
    cpu = {c["name"]: c["resources"]["requests"]["cpu"] for c in pod["spec"]["containers"]}
    assert sorted(cpu.values()) == ["0", "0", "0", "300m"]


def test_the_pipeline_run_s_service_account_and_pod_template_reach_the_pod() -> None:
    pipeline = _pipeline(service_account="builder", pod_template={"nodeSelector": {"disk": "ssd"},
                                                                   "env": [{"name": "E", "value": "1"}]})
    pod = assemble(pipeline, rbac=True)[-1]
    validate_strictly(pod)
    assert pod["spec"]["serviceAccountName"] == "builder" and pod["spec"]["nodeSelector"] == {"disk": "ssd"}
    assert {"name": "E", "value": "1"} in container(pod, "step-test-run")["env"]



CLAIM_TEMPLATE = """
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: vct}
spec:
  workspaces:
    - name: shared
      volumeClaimTemplate:
        spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
  pipelineSpec:
    workspaces: [{name: shared}]
    tasks:
      - name: a
        workspaces: [{name: w, workspace: shared}]
        taskSpec:
          workspaces: [{name: w}]
          steps: [{name: s, image: busybox, command: [echo, "$(workspaces.w.claim)"]}]
      - name: b
        runAfter: [a]
        workspaces: [{name: w, workspace: shared, subPath: sub}]
        taskSpec:
          workspaces: [{name: w}]
          steps: [{name: s, image: busybox, command: ["true"]}]
"""


def test_a_claim_template_is_one_ephemeral_volume_every_task_shares() -> None:
    """docs/workspaces.md "volumeClaimTemplate": one PVC for the PipelineRun, shared by its tasks, deleted with
    the run; in one Pod that is one generic ephemeral volume, deleted with the Pod."""
    pod = translate([("run.yaml", CLAIM_TEMPLATE)], {}, GenerateOptions(registry=None))[-1]
    validate_strictly(pod)
    shared = [v for v in pod["spec"]["volumes"] if "ephemeral" in v]
    assert [v["name"] for v in shared] == ["doll-ws-shared"]
    assert container(pod, "step-a-s")["args"][-1] == "vct-pod-doll-ws-shared"
    mounts = {m["mountPath"]: m.get("subPath", "") for m in container(pod, "step-b-s")["volumeMounts"]
              if m["name"] == "doll-ws-shared"}
    assert mounts == {"/workspace/w": "sub"}
