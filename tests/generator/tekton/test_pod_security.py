"""`--pod-security`: Pods that pod-security-admission's checks admit, or one line naming what cannot comply.

The checks are tests/generator/pod_security_admission.py, ported from
staging/src/k8s.io/pod-security-admission/policy/check_*.go (each function names its file)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import yaml
from corpus import images, load, tasks
from generated import gen, pod_of, validate_strictly
from pod_security_admission import violations

from generator.errors import GenerateError
from generator.tekton.generating import GenerateOptions, generate
from generator.tekton.translating import translate

EXAMPLES = sorted(Path(__file__).resolve().parents[3].joinpath("examples").glob("*.yaml"))
RUN = """\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: secure}
spec:
  workspaces: [{name: src, persistentVolumeClaim: {claimName: src}}]
  taskSpec:
    workspaces: [{name: src}]
    sidecars:
      - {name: db, image: postgres, command: [postgres], ports: [{containerPort: 5432}]}
    steps:
      - {name: one, image: busybox, script: echo one, securityContext: {runAsUser: 1000}}
      - {name: two, image: busybox, script: echo two, securityContext: {capabilities: {add: [NET_BIND_SERVICE]}}}
"""


def test_without_the_option_a_task_without_security_settings_fails_restricted() -> None:
    """The check helper sees what a restricted namespace refuses today (the issue's report)."""
    pod = pod_of(RUN)
    found = " ".join(violations(pod, "restricted"))
    for reason in ("allowPrivilegeEscalation", "unrestricted capabilities", "runAsNonRoot", "seccompProfile"):
        assert reason in found
    assert not violations(pod, "baseline")


@pytest.mark.parametrize("layout", ["native", "classic"])
def test_restricted_makes_every_container_pass_psas_restricted_checks(layout: str) -> None:
    """check_allowPrivilegeEscalation.go, check_capabilities_restricted.go, check_runAsNonRoot.go,
    check_seccompProfile_restricted.go over doll's containers, the steps and the sidecar; a container's own
    settings (runAsUser 1000, NET_BIND_SERVICE) are kept."""
    objects = gen(RUN, layout=layout, pod_security="restricted", rbac=True)
    for obj in objects:
        validate_strictly(obj)
    pod = objects[-1]
    assert violations(pod, "restricted") == []
    step = next(c for c in pod["spec"]["containers"] if c["name"] == "step-two")
    assert step["securityContext"]["capabilities"] == {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}
    one = next(c for c in pod["spec"]["containers"] if c["name"] == "step-one")
    assert one["securityContext"]["runAsUser"] == 1000
    assert pod["spec"]["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def test_restricted_warns_once_about_containers_whose_image_may_run_as_root(caplog: pytest.LogCaptureFixture) -> None:
    """runAsNonRoot is checked by the kubelet against the image's user (kuberuntime_container.go
    verifyRunAsNonRoot): a container with no runAsUser fails to start if its image runs as root."""
    with caplog.at_level(logging.WARNING, logger="doll.generate"):
        pod_of(RUN, pod_security="restricted")
    lines = [r.getMessage() for r in caplog.records if "runAsUser" in r.getMessage()]
    assert len(lines) == 1 and "sidecar-db, step-two" in lines[0] and "step-one" not in lines[0]


REFUSED = {
    "a privileged step": ("securityContext: {privileged: true}", "step-one is privileged"),
    "root": ("securityContext: {runAsUser: 0}", "step-one's runAsUser is 0"),
    "runAsNonRoot false": ("securityContext: {runAsNonRoot: false}", "step-one's runAsNonRoot is false"),
    "SYS_ADMIN": ("securityContext: {capabilities: {add: [SYS_ADMIN]}}", "step-one adds capabilities SYS_ADMIN"),
    "CHOWN (baseline's, not restricted's)": ("securityContext: {capabilities: {add: [CHOWN]}}",
                                             "step-one adds capabilities CHOWN (restricted: NET_BIND_SERVICE only)"),
    "escalation": ("securityContext: {allowPrivilegeEscalation: true}", "step-one allows privilege escalation"),
    "Unconfined": ("securityContext: {seccompProfile: {type: Unconfined}}", "step-one's seccompProfile is Unconfined"),
}


@pytest.mark.parametrize("extra,message", REFUSED.values(), ids=REFUSED.keys())
def test_what_cannot_comply_is_refused_in_one_line(extra: str, message: str) -> None:
    run = f"""\
    apiVersion: tekton.dev/v1
    kind: TaskRun
    metadata: {{name: bad}}
    spec:
      taskSpec:
        steps:
          - {{name: one, image: busybox, script: echo, {extra}}}
    """
    with pytest.raises(GenerateError) as caught:
        gen(run, pod_security="restricted")
    assert "\n" not in str(caught.value) and str(caught.value).startswith("--pod-security restricted: ")
    assert message in str(caught.value)


def test_a_sidecars_host_port_is_refused_by_baseline() -> None:
    """check_hostPorts.go."""
    run = """\
    apiVersion: tekton.dev/v1
    kind: TaskRun
    metadata: {name: bad}
    spec:
      taskSpec:
        sidecars: [{name: web, image: nginx, command: [nginx], ports: [{containerPort: 80, hostPort: 80}]}]
        steps: [{name: one, image: busybox, script: echo}]
    """
    refusal = "^--pod-security baseline: the Pod cannot comply: sidecar-web has hostPort 80$"
    with pytest.raises(GenerateError, match=refusal):
        gen(run, pod_security="baseline")


def test_a_hostpath_volume_and_every_violation_are_named_on_the_same_line() -> None:
    """check_hostPathVolumes.go (baseline) and check_restrictedVolumes.go; baseline refuses the hostPath and
    the privileged step but not a gitRepo-free, non-root Task otherwise."""
    run = """\
    apiVersion: tekton.dev/v1
    kind: TaskRun
    metadata: {name: bad}
    spec:
      taskSpec:
        volumes: [{name: docker, hostPath: {path: /var/run/docker.sock}}]
        steps:
          - {name: one, image: docker, script: docker ps, securityContext: {privileged: true}}
    """
    for level in ("baseline", "restricted"):
        with pytest.raises(GenerateError, match=re.escape(
                f"--pod-security {level}: the Pod cannot comply: volume docker is a hostPath; step-one is privileged")):
            gen(run, pod_security=level)
    assert gen(run, pod_security="privileged") and gen(run)


def test_baseline_changes_nothing_and_admits_a_plain_task() -> None:
    assert pod_of(RUN, pod_security="baseline") == pod_of(RUN)
    assert violations(pod_of(RUN, pod_security="baseline"), "baseline") == []


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_the_examples_pass_restricted(path: Path) -> None:
    pod = translate([(str(path), path.read_text())], {}, GenerateOptions(registry=None, pod_security="restricted"))[0]
    validate_strictly(pod)
    assert violations(pod, "restricted") == []


TASKS = tasks()


@pytest.fixture(scope="module")
def image_map(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("map") / "images.yaml"
    names = images(TASKS) | {v for p in TASKS for v in load(p).params.values()}
    path.write_text(yaml.safe_dump({n: {"entrypoint": ["/usr/bin/tool"], "cmd": []} for n in names}))
    return str(path)


@pytest.mark.parametrize("path", TASKS, ids=[p.stem for p in TASKS])
def test_every_catalog_task_passes_restricted_or_is_refused_in_one_line(path: Path, image_map: str) -> None:
    task = load(path)
    try:
        objects = generate(task.sources, task.params, GenerateOptions(
            registry=None, image_map=image_map, name="corpus-run", pod_security="restricted", rbac=True))
    except GenerateError as exc:
        message = str(exc)
        assert "\n" not in message
        assert (message.startswith("--pod-security restricted: the Pod cannot comply: ")
                or "PipelineResources" in message), message
        return
    validate_strictly(objects[-1])
    assert violations(objects[-1], "restricted") == []
