"""The TaskRun's podTemplate, service account, timeout and breakpoints; names that never collide."""

from __future__ import annotations

import json

import pytest
from generated import container, gen, pod_of, wrapped_command

from contracts.options import from_argv
from generator.errors import GenerateError
from contracts.plans import Plan

RUN = """
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: tmpl}
spec:
  serviceAccountName: builder
  timeout: 1h
  podTemplate:
    nodeSelector: {disk: ssd}
    tolerations: [{key: ci, operator: Exists, effect: NoSchedule}]
    affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [
      {matchExpressions: [{key: zone, operator: In, values: [a]}]}]}}}
    securityContext: {runAsUser: 1000, fsGroup: 2000}
    imagePullSecrets: [{name: regcred}]
    hostAliases: [{ip: 10.0.0.1, hostnames: [git.local]}]
    runtimeClassName: gvisor
    priorityClassName: ci-low
    dnsPolicy: None
    dnsConfig: {nameservers: [10.0.0.53]}
    schedulerName: ci-scheduler
    env: [{name: PROXY, value: http://proxy}]
    volumes: [{name: extra, configMap: {name: extra}}]
  debug:
    breakpoints:
      onFailure: enabled
      beforeSteps: [two]
  taskSpec:
    steps:
      - {name: one, image: busybox, command: [a], volumeMounts: [{name: extra, mountPath: /extra}]}
      - {name: two, image: busybox, command: [b]}
"""


def test_pod_template_fields_reach_the_pod_spec() -> None:
    spec = pod_of(RUN)["spec"]
    assert spec["nodeSelector"] == {"disk": "ssd"} and spec["tolerations"][0]["key"] == "ci"
    assert spec["affinity"]["nodeAffinity"]
    assert spec["imagePullSecrets"] == [{"name": "regcred"}] and spec["hostAliases"][0]["ip"] == "10.0.0.1"
    assert spec["runtimeClassName"] == "gvisor" and spec["priorityClassName"] == "ci-low"
    assert spec["dnsPolicy"] == "None" and spec["dnsConfig"] == {"nameservers": ["10.0.0.53"]}
    assert spec["schedulerName"] == "ci-scheduler" and spec["serviceAccountName"] == "builder"
    assert {"name": "extra", "configMap": {"name": "extra"}} in spec["volumes"]


def test_the_pod_templates_fs_group_is_kept_and_changes_ownership_on_root_mismatch_only() -> None:
    # a podTemplate's fsGroup re-owns a volume only when its root does not match (KEP-695)
    assert pod_of(RUN)["spec"]["securityContext"] == {"runAsUser": 1000, "fsGroup": 2000,
                                                      "fsGroupChangePolicy": "OnRootMismatch"}


def test_pod_template_env_reaches_every_step_and_overrides_it() -> None:
    pod = pod_of(RUN.replace("command: [b]}", "command: [b], env: [{name: PROXY, value: mine}]}"))
    for name in ("step-one", "step-two"):
        env = {e["name"]: e["value"] for e in container(pod, name)["env"]}
        assert env["PROXY"] == "http://proxy"


def test_the_timeout_bounds_the_pod_and_the_plan() -> None:
    pod = pod_of(RUN)
    assert pod["spec"]["activeDeadlineSeconds"] == 3600 + 60
    env = {e["name"]: e["value"] for e in container(pod, "doll-init")["env"]}
    assert Plan.from_json(env["DOLL_PLAN"]).timeout_seconds == 3600


def test_a_zero_timeout_means_none() -> None:
    assert "activeDeadlineSeconds" not in pod_of(RUN.replace("timeout: 1h", "timeout: '0'"))["spec"]


def test_breakpoints_reach_the_wrappers_and_the_plan() -> None:
    pod = pod_of(RUN)
    one, two = (from_argv(container(pod, n)["args"]) for n in ("step-one", "step-two"))
    assert one.breakpoint_on_failure and two.breakpoint_on_failure
    assert not one.breakpoint_before and two.breakpoint_before
    env = {e["name"]: e["value"] for e in container(pod, "doll-init")["env"]}
    plan = Plan.from_json(env["DOLL_PLAN"])
    assert plan.breakpoint_on_failure and [s.breakpoint_before for s in plan.steps] == [False, True]


def test_v1beta1_breakpoint_list_means_on_failure() -> None:
    text = RUN.replace("    breakpoints:\n      onFailure: enabled\n      beforeSteps: [two]\n",
                       "    breakpoint: [onFailure]\n")
    assert from_argv(container(pod_of(text), "step-one")["args"]).breakpoint_on_failure


def test_a_breakpoint_before_an_unknown_step_is_refused() -> None:
    with pytest.raises(GenerateError, match=r"debug.breakpoints.beforeSteps\[0\]: no step named 'three'"):
        gen(RUN.replace("beforeSteps: [two]", "beforeSteps: [three]"))


def test_an_unsupported_pod_template_field_is_refused() -> None:
    with pytest.raises(GenerateError, match="spec.podTemplate.hostPID: not supported by doll"):
        gen(RUN.replace("    nodeSelector:", "    hostPID: true\n    nodeSelector:"))


def test_long_names_are_shortened_with_a_hash_and_stay_valid() -> None:
    long_step = "s" * 63
    text = RUN.replace("{name: one,", f"{{name: {long_step},").replace("name: tmpl", "name: " + "t" * 250)
    text = text.replace("beforeSteps: [two]", "beforeSteps: []")
    pod = pod_of(text)
    names = [c["name"] for c in pod["spec"]["containers"]]
    assert all(len(n) <= 63 for n in names) and names[0].startswith("step-sss")
    assert len(pod["metadata"]["name"]) <= 253


def test_a_taskref_resolves_to_a_task_in_another_file() -> None:
    from generator.tekton.generating import GenerateOptions, generate
    run = "apiVersion: tekton.dev/v1beta1\nkind: TaskRun\nmetadata: {name: r}\nspec:\n  taskRef: {name: t}\n"
    task = "apiVersion: tekton.dev/v1beta1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps: [{name: x}]\n"
    with pytest.raises(GenerateError, match=r"^task.yaml: spec.steps\[0\].image: missing$"):
        generate([("run.yaml", run), ("task.yaml", task)], {}, GenerateOptions(registry=None))
    pod = generate([("run.yaml", run), ("task.yaml", task.replace("{name: x}", "{name: x, image: a, command: [b]}"))],
                   {}, GenerateOptions(registry=None))[0]
    assert pod["metadata"]["labels"]["tekton.dev/task"] == "t"


def test_a_run_without_a_timeout_gets_tektons_default_hour() -> None:
    pod = pod_of(RUN.replace("  timeout: 1h\n", ""))
    assert pod["spec"]["activeDeadlineSeconds"] == 3660
    no_default = pod_of(RUN.replace("  timeout: 1h\n", ""), default_timeout_seconds=None)
    assert "activeDeadlineSeconds" not in no_default["spec"]


def test_the_tasks_labels_and_annotations_reach_the_pod_under_the_taskruns() -> None:
    run = ("apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: r, labels: {tier: run}}\n"
           "spec:\n  taskRef: {name: t}\n---\n"
           "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t, labels: {tier: task, kind: build},"
           " annotations: {note: from-task}}\nspec:\n  steps: [{name: x, image: a, command: [b]}]\n")
    meta = pod_of(run)["metadata"]
    assert meta["labels"]["tier"] == "run" and meta["labels"]["kind"] == "build"
    assert meta["annotations"]["note"] == "from-task"


def test_an_unknown_step_result_field_is_refused() -> None:
    text = RUN.replace("{name: two, image: busybox, command: [b]}",
                       "{name: two, image: busybox, command: [b], results: [{name: r, value: x}]}")
    with pytest.raises(GenerateError, match=r"steps\[1\].results\[0\].value: not supported by doll"):
        gen(text)


def test_step_results_generate_with_a_warning_that_doll_does_not_report_them(
        caplog: pytest.LogCaptureFixture) -> None:
    text = RUN.replace("{name: two, image: busybox, command: [b]}",
                       "{name: two, image: busybox, command: [b, $(step.results.digest.path)], "
                       "results: [{name: digest}]}")
    pod = pod_of(text)
    assert wrapped_command(container(pod, "step-two")) == ["b", "/tekton/steps/step-two/results/digest"]
    assert caplog.messages == ["run.yaml: spec.taskSpec.steps[1].results: step results are not reported by doll (it "
                               "has no TaskRun status): later steps can use them, $(steps.<step>.results.<name>), "
                               "and task results can take them, value: $(steps.<step>.results.<name>)"]


def test_step_result_names_tekton_accepts_are_not_held_to_dns_labels() -> None:
    """Tekton checks a step result's name with the rule of task results, so IMAGE_DIGEST is a valid one."""
    text = RUN.replace("{name: two, image: busybox, command: [b]}",
                       "{name: two, image: busybox, command: [b, $(step.results.IMAGE_DIGEST.path)], "
                       "results: [{name: IMAGE_DIGEST}, {name: a.b-c}, {name: x}]}")
    assert wrapped_command(container(pod_of(text), "step-two")) == ["b",
                                                                     "/tekton/steps/step-two/results/IMAGE_DIGEST"]


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b", ".hidden", "x-", "é"])
def test_a_step_result_name_that_is_not_tektons_is_refused_before_it_becomes_a_path(name: str) -> None:
    text = RUN.replace("{name: two, image: busybox, command: [b]}",
                       f"{{name: two, image: busybox, command: [b], results: [{{name: {json.dumps(name)}}}]}}")
    with pytest.raises(GenerateError) as error:
        gen(text)
    assert str(error.value) == (f"run.yaml: spec.taskSpec.steps[1].results[0].name: {name!r} is not a result name "
                                "(letters, digits, - _ . inside, a letter or digit at each end)")


def test_the_volumes_on_every_hand_offs_path_are_memory_backed_and_bounded() -> None:
    volumes = {v["name"]: v for v in pod_of(RUN)["spec"]["volumes"]}
    for name in ("doll-run", "doll-steps"):  # control socket, journal; exitCode and post files
        assert volumes[name]["emptyDir"] == {"medium": "Memory", "sizeLimit": "64Mi"}
    for name in ("doll-bin", "doll-results", "doll-scripts", "doll-home", "doll-workspace"):  # 14 MB; user data
        assert volumes[name]["emptyDir"] == {}
    assert volumes["extra"] == {"name": "extra", "configMap": {"name": "extra"}}
