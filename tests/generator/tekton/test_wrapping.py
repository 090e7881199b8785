"""Steps and sidecars: every supported field, stepTemplate merging, scripts, timeouts, onError, probes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from generated import container, gen, pod_of, wrapped_command

from contracts.options import from_argv
from generator.errors import GenerateError
from generator.images.sources import ImageCommand, Platforms
from contracts.plans import Plan

RUN = """
apiVersion: tekton.dev/v1beta1
kind: TaskRun
metadata: {name: steps}
spec:
  taskSpec:
    volumes:
      - {name: cache, emptyDir: {}}
    stepTemplate:
      image: alpine
      env: [{name: A, value: template}, {name: B, value: template}]
      securityContext: {runAsUser: 1000}
      resources: {requests: {cpu: 100m}}
    steps:
      - name: build
        env: [{name: B, value: step}]
        envFrom: [{configMapRef: {name: build-env}}]
        workingDir: /src
        volumeMounts: [{name: cache, mountPath: /cache}]
        resources: {limits: {memory: 1Gi}}
        securityContext: {runAsNonRoot: true}
        imagePullPolicy: Always
        timeout: 1m30s
        onError: continue
        stdoutConfig: {path: /workspace/out.txt}
        stderrConfig: {path: /workspace/err.txt}
        script: |
          #!/usr/bin/env bash
          make
      - name: test
        image: busybox
        command: [sh, -c]
        args: ["exit 0"]
"""


def test_step_template_fields_merge_with_the_steps_own() -> None:
    build = container(pod_of(RUN), "step-build")
    assert build["image"] == "alpine"
    env = {e["name"]: e["value"] for e in build["env"]}
    assert env["A"] == "template" and env["B"] == "step" and env["DOLL_STEP_NAME"] == "build"
    assert build["securityContext"] == {"runAsUser": 1000, "runAsNonRoot": True}
    assert build["resources"] == {"requests": {"cpu": "100m"}, "limits": {"memory": "1Gi"}}


def test_container_fields_pass_through() -> None:
    build = container(pod_of(RUN), "step-build")
    assert build["envFrom"] == [{"configMapRef": {"name": "build-env"}}]
    assert build["workingDir"] == "/src" and build["imagePullPolicy"] == "Always"
    assert {"name": "cache", "mountPath": "/cache"} in build["volumeMounts"]
    assert container(pod_of(RUN), "step-test")["workingDir"] == "/workspace"


def test_timeout_on_error_and_output_paths_go_to_the_wrapper_and_the_plan() -> None:
    pod = pod_of(RUN)
    options = from_argv(container(pod, "step-build")["args"])
    assert options.timeout_seconds == 90 and options.on_error == "continue"
    assert options.stdout_path == "/workspace/out.txt" and options.stderr_path == "/workspace/err.txt"
    env = {e["name"]: e["value"] for e in container(pod, "doll-init")["env"]}
    step = Plan.from_json(env["DOLL_PLAN"]).steps[0]
    assert step.timeout_seconds == 90 and step.on_error == "continue"


def test_a_script_with_a_shebang_is_kept_as_is() -> None:
    pod = pod_of(RUN)
    env = {e["name"]: e["value"] for e in container(pod, "doll-init")["env"]}
    assert json.loads(env["DOLL_SCRIPT_0"]) == "#!/usr/bin/env bash\nmake\n"
    assert wrapped_command(container(pod, "step-build")) == ["/tekton/scripts/step-build"]


def test_a_script_gets_the_args_after_it() -> None:
    text = RUN.replace("        command: [sh, -c]\n", "        script: echo \"$@\"\n")
    assert wrapped_command(container(pod_of(text), "step-test")) == ["/tekton/scripts/step-test", "exit 0"]


def test_a_script_over_100_kb_is_refused_naming_it() -> None:
    script = '        script: "#!/bin/sh\\n' + "x" * 100_000 + '"\n'
    with pytest.raises(GenerateError, match=r"steps\[1\].script: 100010 bytes \(doll places at most 100000\)"):
        gen(RUN.replace("        command: [sh, -c]\n", script))


def test_scripts_and_plan_over_a_mebibyte_of_init_env_are_refused() -> None:
    dollars = '"#!/bin/sh\\n' + "$" * 99_000 + '"'  # six bytes each in JSON: ~594 kB of env a script
    text = RUN.replace("        command: [sh, -c]\n", f"        script: {dollars}\n")
    text = text.replace("        script: |\n          #!/usr/bin/env bash\n          make\n", f"        script: {dollars}\n")
    with pytest.raises(GenerateError, match=r"bytes of the init container's environment \(doll places at most 1048576"):
        gen(text)


def test_a_mount_on_a_doll_path_is_refused() -> None:
    with pytest.raises(GenerateError, match=r"steps\[0\].volumeMounts\[0\].mountPath: '/tekton/steps/x' is reserved"):
        gen(RUN.replace("mountPath: /cache", "mountPath: /tekton/steps/x"))


def test_a_mount_on_a_doll_path_written_with_a_double_leading_slash_is_refused() -> None:
    """`//doll/bin` is `/doll/bin` to the kubelet and the kernel: a step must not mount over the wrapper."""
    with pytest.raises(GenerateError, match=r"steps\[0\].volumeMounts\[0\].mountPath: '//doll/bin' is reserved"):
        gen(RUN.replace("mountPath: /cache", "mountPath: //doll/bin"))


def test_a_mount_of_an_unknown_volume_is_refused() -> None:
    with pytest.raises(GenerateError, match=r"volumeMounts\[0\].name: 'nope' names no volume of the task"):
        gen(RUN.replace("{name: cache, mountPath", "{name: nope, mountPath"))


def test_a_user_volume_with_dolls_prefix_is_refused() -> None:
    with pytest.raises(GenerateError, match=r"spec.taskSpec.volumes\[0\].name: 'doll-bin' is reserved"):
        gen(RUN.replace("{name: cache, emptyDir", "{name: doll-bin, emptyDir"))


def test_an_unknown_on_error_is_refused() -> None:
    with pytest.raises(GenerateError, match=r"steps\[0\].onError: 'ignore' is not continue or stopAndFail"):
        gen(RUN.replace("onError: continue", "onError: ignore"))


SIDECARS = """
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: side}
spec:
  steps:
    - {name: main, image: busybox, command: ["true"]}
  sidecars:
    - name: web
      image: nginx
      command: [nginx]
      ports: [{containerPort: 8080, name: http}]
      readinessProbe:
        httpGet: {path: /ready, port: http, httpHeaders: [{name: X-A, value: b}]}
        initialDelaySeconds: 2
        failureThreshold: 5
    - name: docker
      image: docker:dind
      script: dockerd-entrypoint.sh
      securityContext: {privileged: true}
      readinessProbe:
        exec: {command: [docker, info]}
    - name: plain
      image: redis
      command: [redis-server]
"""


def test_sidecars_are_wrapped_and_their_probes_go_into_the_plan() -> None:
    pod = pod_of(SIDECARS, name="s", layout="classic")
    web = container(pod, "sidecar-web")
    options = from_argv(web["args"])
    assert options.sidecar and options.command == ("nginx",) and options.socket == "/doll/channel/control.sock"
    assert {"name": "doll-ch-c0", "mountPath": "/doll/channel", "readOnly": True} in web["volumeMounts"]
    assert web["readinessProbe"]["httpGet"]["port"] == "http"  # kept: Kubernetes sees readiness too
    docker = container(pod, "sidecar-docker")
    assert wrapped_command(docker) == ["/tekton/scripts/sidecar-docker"]
    assert docker["securityContext"] == {"privileged": True}
    env = {e["name"]: e["value"] for e in container(pod, "doll-init")["env"]}
    plan = Plan.from_json(env["DOLL_PLAN"])
    web_probe, docker_probe = plan.sidecars[0].probe, plan.sidecars[1].probe
    assert web_probe is not None and docker_probe is not None
    assert (web_probe.kind, web_probe.port, web_probe.path, web_probe.headers) == ("httpGet", 8080, "/ready",
                                                                               (("X-A", "b"),))
    assert web_probe.initial_delay_seconds == 2 and web_probe.failure_threshold == 5
    assert (docker_probe.kind, docker_probe.command) == ("exec", ("docker", "info"))
    assert plan.sidecars[2].probe is None


def test_a_probe_on_an_unknown_named_port_is_refused() -> None:
    with pytest.raises(GenerateError, match=r"sidecars\[0\].readinessProbe.httpGet.port: named port 'https'"):
        gen(SIDECARS.replace("port: http,", "port: https,"), name="s")


def test_a_sidecar_on_dolls_metrics_port_is_refused() -> None:
    with pytest.raises(GenerateError, match="port 9090 is doll's metrics port"):
        gen(SIDECARS.replace("containerPort: 8080", "containerPort: 9090"), name="s")


def test_an_image_map_gives_the_entrypoint_of_a_step_without_command(tmp_path: Path) -> None:
    (tmp_path / "map.yaml").write_text(
        "busybox: {entrypoint: [/bin/sh], cmd: [-c, echo]}\n"
        "tool:1: {platforms: {linux/amd64: {entrypoint: [/amd64]}, linux/arm64: {entrypoint: [/arm64]}}}\n")
    text = SIDECARS.replace('command: ["true"]}', "args: [-x]}\n    - {name: bare, image: busybox}\n"
                            "    - {name: multi, image: 'tool:1'}")
    pod = pod_of(text, name="s", image_map=str(tmp_path / "map.yaml"))
    assert wrapped_command(container(pod, "step-main")) == ["/bin/sh", "-x"]
    assert wrapped_command(container(pod, "step-bare")) == ["/bin/sh"]  # Tekton never runs the cmd after it
    multi = from_argv(container(pod, "step-multi")["args"])
    assert multi.command == () and multi.platform_commands == {"linux/amd64": ["/amd64"],
                                                               "linux/arm64": ["/arm64"]}


def test_an_image_not_in_the_map_is_refused_naming_step_and_image(tmp_path: Path) -> None:
    (tmp_path / "map.yaml").write_text("other: {entrypoint: [/x]}\n")
    with pytest.raises(GenerateError, match=r"spec.steps\[0\]: image busybox: has no command or script and is not "
                                            "in the image map"):
        gen(SIDECARS.replace('command: ["true"]', 'args: []'), name="s", image_map=str(tmp_path / "map.yaml"))


def test_an_image_source_can_be_plugged_in_through_the_options() -> None:
    """A swappable ImageConfigSource (what `doll run` could back with `podman image inspect`)."""
    class Local:
        def __init__(self) -> None:
            self.asked: list[str] = []

        async def lookup(self, image: str) -> Platforms:
            self.asked.append(image)
            return {"": ImageCommand(("/local/entry",), ("default-arg",))}

    source = Local()
    pod = pod_of(SIDECARS.replace('command: ["true"]}', "args: []}"), name="s", image_source=source)
    assert wrapped_command(container(pod, "step-main")) == ["/local/entry"]
    assert source.asked == ["busybox"]


class _Image:
    """An ImageConfigSource that gives every image the same entrypoint and cmd."""

    def __init__(self, entrypoint: tuple[str, ...], cmd: tuple[str, ...]) -> None:
        self.command = ImageCommand(entrypoint, cmd)

    async def lookup(self, image: str) -> Platforms:
        return {"": self.command}


BARE_STEP = SIDECARS.replace(', command: ["true"]}', "}")


def test_an_image_whose_entrypoint_is_reset_with_an_empty_string_runs_its_cmd() -> None:
    """`ENTRYPOINT [""]` in a Dockerfile: Docker and containerd run the cmd alone, and so does the step."""
    pod = pod_of(BARE_STEP, name="s", image_source=_Image(("",), ("sh", "-c", "echo hi")))
    assert wrapped_command(container(pod, "step-main")) == ["sh", "-c", "echo hi"]


def test_an_image_whose_entrypoint_is_reset_runs_its_cmd_with_the_steps_args_appended() -> None:
    """As Tekton runs an image with a cmd and no entrypoint (pkg/pod/entrypoint_lookup_impl.go imageInfo)."""
    pod = pod_of(SIDECARS.replace('command: ["true"]}', "args: [env]}"), name="s",
                 image_source=_Image(("",), ("sh", "-c", "echo hi")))
    assert wrapped_command(container(pod, "step-main")) == ["sh", "-c", "echo hi", "env"]


def test_an_image_whose_entrypoint_is_reset_and_that_has_no_cmd_is_refused() -> None:
    with pytest.raises(GenerateError, match=r"^run.yaml: spec.steps\[0\]: image busybox \(any platform\) has no "
                                            "entrypoint or cmd, and the step gives no command$"):
        gen(BARE_STEP, name="s", image_source=_Image(("",), ()))


EMPTY_NAMES = {
    "an entrypoint that starts with an empty string": (("", "-c"), ("echo hi",),
                                                       "entrypoint ['', '-c'], cmd ['echo hi'], args []"),
    "a cmd that starts with an empty string": ((), ("", "x"), "entrypoint [], cmd ['', 'x'], args []"),
    "a reset entrypoint and a cmd of an empty string": (("",), ("",), "entrypoint [''], cmd [''], args []"),
}


@pytest.mark.parametrize("case", EMPTY_NAMES, ids=list(EMPTY_NAMES))
def test_an_image_command_with_an_empty_name_is_refused_naming_the_step_and_image(case: str) -> None:
    entrypoint, cmd, shown = EMPTY_NAMES[case]
    with pytest.raises(GenerateError) as error:
        gen(BARE_STEP, name="s", image_source=_Image(entrypoint, cmd))
    assert str(error.value) == (f"run.yaml: spec.steps[0]: image busybox (any platform) gives an empty command "
                                f"name ({shown}); give the step a command")


def test_a_probe_command_of_non_strings_is_refused() -> None:
    with pytest.raises(GenerateError, match=r"sidecars\[1\].readinessProbe.exec.command: expected a list of strings"):
        gen(SIDECARS.replace("exec: {command: [docker, info]}", "exec: {command: [docker, 1]}"), name="s")


def test_a_named_probe_port_without_a_number_is_refused() -> None:
    with pytest.raises(GenerateError, match="named port 'http' has no containerPort"):
        gen(SIDECARS.replace("ports: [{containerPort: 8080, name: http}]", "ports: [{name: http}]"), name="s")
