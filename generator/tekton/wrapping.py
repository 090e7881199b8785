"""Wrapping steps and sidecars: each container's command becomes the doll wrapper, with its own mounts.

    step-<name>     /doll/bin/entrypoint [StepOptions] -- CMD ARGS
    sidecar-<name>  /doll/bin/entrypoint --sidecar ... -- CMD ARGS

Each talks to the supervisor through its own channel only: its own volume (layout.channel_volume), mounted
read-only at /doll/channel in that container and in no other step or sidecar; doll-run is not mounted.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field

from contracts import layout
from contracts.layout import (
    HOME_DIR, RESULTS_DIR, SCRIPTS_DIR, STEPS_DIR, TERMINATION_PATH, VOLUMES, WORKSPACE_DIR,
)
from contracts.options import StepOptions
from generator.errors import GenerateError, quote
from generator.images.sources import ImageCommand, Platforms
from generator.tekton import naming
from generator.tekton.merging import merge_lists
from generator.tekton.preparing import Prepared, mount_path
from generator.tekton.specs import RawObject
from contracts.plans import StepPlan

__all__ = ["MAX_SCRIPT_BYTES", "Shared", "Wrapped", "needs_lookup", "step_dir", "wrap_sidecar", "wrap_step"]

MAX_SCRIPT_BYTES = 100_000  # a script, as written (it reaches the init container in env vars: init/env_values.py)


@dataclass(frozen=True)
class Shared:
    """What every step shares: workspace mounts, podTemplate env, task results, breakpoints."""

    workspace_mounts: list[RawObject] = field(default_factory=list)
    template_env: list[RawObject] = field(default_factory=list)
    results: tuple[str, ...] = ()
    breakpoint_on_failure: bool = False
    before_steps: frozenset[str] = frozenset()
    result_files: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # step -> task results it gives
    # native layout: the kubelet restarts a crashed supervisor, so a waiting step waits for it (never the file
    # chain, which would skip the sidecars' readiness gate); classic: nobody restarts it
    await_supervisor: bool = False
    container_count: int = 0  # the Pod's containers and init containers: the kubelet's share of 12 KiB each
    task: str = ""  # a PipelineRun's: the pipeline task (names qualified `<task>-<name>`, StepPlan.task)
    results_volume: str = VOLUMES["results"]  # mounted at /tekton/results (a pipeline task: its own)


@dataclass(frozen=True)
class Wrapped:
    container: RawObject
    script: tuple[str, str] | None  # (file name under /tekton/scripts, content)


def step_dir(name: str) -> str:
    return layout.step_dir(STEPS_DIR, name)


def _script(kind: str, prepared: Prepared, name: str) -> tuple[str, str] | None:
    script = prepared.spec.get("script")
    if script is None:
        return None
    text = script if script.startswith("#!") else "#!/bin/sh\nset -e\n" + script
    size = len(text.encode())
    if size > MAX_SCRIPT_BYTES:
        raise GenerateError(f"{prepared.where}.script: {size} bytes (doll places at most {MAX_SCRIPT_BYTES})")
    return layout.script_name(kind, name), text


def _image_command(image: ImageCommand, args: list[str]) -> list[str]:
    """What Tekton runs for a step with no command: the image's entrypoint, or its cmd when it has no
    entrypoint, then the step's args (pkg/pod/entrypoint_lookup_impl.go imageInfo: `ep := Entrypoint; if
    len(ep) == 0 { ep = Cmd }`; the entrypoint binary appends the step's args).  So an image with a Cmd and no
    Entrypoint runs Cmd + args, and an image's Cmd is never run after its Entrypoint.  An entrypoint of
    exactly [""] (the Dockerfile idiom `ENTRYPOINT [""]`) is no entrypoint, as Docker and containerd read it:
    moby resets it (daemon mergeAndVerifyConfig), containerd's CRI skips it (WithProcessArgs)."""
    entrypoint = () if image.entrypoint == ("",) else image.entrypoint
    return [*(entrypoint or image.cmd), *args]


def _command(prepared: Prepared, script: tuple[str, str] | None,
             images: dict[str, Platforms]) -> tuple[list[str], dict[str, list[str]]]:
    spec = prepared.spec
    args = list(spec.get("args") or [])
    if script is not None:
        return [f"{SCRIPTS_DIR}/{script[0]}", *args], {}
    if spec.get("command"):
        return [*spec["command"], *args], {}
    platforms = images[spec["image"]]
    commands = {p: _image_command(c, args) for p, c in platforms.items()}
    for platform, command in commands.items():
        if not command:
            raise GenerateError(f"{prepared.where}: image {spec['image']} ({platform or 'any platform'}) has no "
                                "entrypoint or cmd, and the step gives no command")
        if not command[0]:
            image = platforms[platform]
            raise GenerateError(f"{prepared.where}: image {spec['image']} ({platform or 'any platform'}) gives an "
                                f"empty command name (entrypoint {quote(list(image.entrypoint))}, cmd "
                                f"{quote(list(image.cmd))}, args {quote(args)}); give the step a command")
    distinct = {tuple(c) for c in commands.values()}
    if len(distinct) == 1:
        return list(distinct.pop()), {}
    return [], commands


def _mounts(prepared: Prepared, name: str | None, workspace_mounts: list[RawObject],
            channel: str, results_volume: str = VOLUMES["results"]) -> list[RawObject]:
    """The task's workspaces and doll's own mounts (the container's own come first).  A container's mount
    on a workspace's path is refused; either one at /workspace or /tekton/home replaces doll's mount there."""
    workspace_mounts = [*workspace_mounts, *prepared.workspace_mounts]  # shared, then its isolated ones
    workspaces = {mount_path(m["mountPath"]): m["name"] for m in workspace_mounts}
    own = prepared.spec.get("volumeMounts") or []
    for i, mount in enumerate(own):
        if mount_path(mount["mountPath"]) in workspaces:
            raise GenerateError(f"{prepared.where}.volumeMounts[{i}].mountPath: {quote(mount['mountPath'])} is "
                                f"where workspace volume {workspaces[mount_path(mount['mountPath'])]} is mounted")
    user_paths = {mount_path(m["mountPath"]) for m in own} | set(workspaces)
    mounts: list[RawObject] = [
        *workspace_mounts,
        {"name": VOLUMES["bin"], "mountPath": layout.DOLL_BIN, "readOnly": True},
        {"name": channel, "mountPath": layout.CHANNEL_DIR, "readOnly": True},  # connecting needs no write mount
        {"name": VOLUMES["scripts"], "mountPath": SCRIPTS_DIR, "readOnly": True},
    ]
    if name is not None:
        mounts += [
            {"name": VOLUMES["steps"], "mountPath": STEPS_DIR, "readOnly": True},
            {"name": VOLUMES["steps"], "mountPath": step_dir(name), "subPath": layout.step_dir_name(name)},
            {"name": results_volume, "mountPath": RESULTS_DIR},
        ]
    # steps get Tekton's implicit /workspace and /tekton/home; sidecars share /workspace with them too
    implicit = [("workspace", WORKSPACE_DIR)] + ([("home", HOME_DIR)] if name is not None else [])
    for key, path in implicit:
        if path not in user_paths:
            mounts.append({"name": VOLUMES[key], "mountPath": path})
    return mounts


def _container(prepared: Prepared, container_name: str, argv: list[str], env: list[RawObject],
               mounts: list[RawObject]) -> RawObject:
    spec = dict(prepared.spec)
    for key in ("script", "timeout", "onError", "stdoutConfig", "stderrConfig", "results", "computeResources",
                "args", "workspaces", "displayName"):
        spec.pop(key, None)
    container: RawObject = {"name": container_name, "image": spec.pop("image"),
                            "command": [layout.ENTRYPOINT_PATH], "args": argv}
    spec.pop("name")
    spec.pop("command", None)
    if "computeResources" in prepared.spec:
        container["resources"] = prepared.spec["computeResources"]
    container.update(spec)
    container["env"] = env
    container["volumeMounts"] = list(spec.get("volumeMounts") or []) + mounts
    return container


def wrap_step(prepared: Prepared, index: int, previous: str | None, shared: Shared,
              images: dict[str, Platforms]) -> tuple[Wrapped, StepPlan]:
    """The step at `index` among the Pod's steps; `previous`: the step before it in its task (its wait file)."""
    spec, name = prepared.spec, naming.qualified(shared.task, prepared.name)
    script = _script("step", prepared, name)
    command, platform_commands = _command(prepared, script, images)
    directory = step_dir(name)
    options = StepOptions(
        name=name, index=index, socket=layout.CHANNEL_SOCKET,
        wait_files=(f"{step_dir(naming.qualified(shared.task, previous))}/out",) if previous else (),
        post_file=f"{directory}/out", timeout_seconds=prepared.timeout_seconds,
        on_error="continue" if prepared.on_error == "continue" else "stopAndFail",
        stdout_path=(spec.get("stdoutConfig") or {}).get("path", ""),
        stderr_path=(spec.get("stderrConfig") or {}).get("path", ""),
        termination_path=TERMINATION_PATH, results_dir=RESULTS_DIR, results=shared.results,
        result_refs=prepared.result_refs, result_files=tuple(shared.result_files.get(prepared.name, ())),
        step_dir=directory, breakpoint_before=prepared.name in shared.before_steps,
        breakpoint_on_failure=shared.breakpoint_on_failure, await_supervisor=shared.await_supervisor,
        container_count=shared.container_count, platform_commands=platform_commands, command=tuple(command),
    )
    doll_env = [{"name": "DOLL_STEP_NAME", "value": name}, {"name": "DOLL_STEP_DIR", "value": directory},
                {"name": "DOLL_SOCKET", "value": layout.CHANNEL_SOCKET}]
    env = merge_lists(merge_lists(list(spec.get("env") or []), shared.template_env, "name"), doll_env, "name")
    container_name = naming.step_container(name)
    container = _container(prepared, container_name, options.to_argv(),
                           env, _mounts(prepared, name, shared.workspace_mounts, layout.channel_volume("step", index),
                                        shared.results_volume))
    container["terminationMessagePath"] = TERMINATION_PATH
    # no workingDir: /workspace; a relative one is below /workspace, where Tekton's working-dir-initializer
    # creates it (pkg/pod/workingdir_init.go), and so does doll init (rendering.working_dirs)
    container["workingDir"] = posixpath.join(WORKSPACE_DIR, container.get("workingDir") or "")
    container["workingDir"] = container["workingDir"].rstrip("/") or "/"
    plan = StepPlan(name=name, index=index, container=container_name, timeout_seconds=prepared.timeout_seconds,
                    on_error=options.on_error, results=shared.results,
                    breakpoint_before=options.breakpoint_before, task=shared.task)
    return Wrapped(container, script), plan


def wrap_sidecar(prepared: Prepared, index: int, shared: Shared, images: dict[str, Platforms]) -> Wrapped:
    """The sidecar at `index` among the Pod's sidecars (which names its channel's volume)."""
    name = naming.qualified(shared.task, prepared.name)
    script = _script("sidecar", prepared, name)
    command, platform_commands = _command(prepared, script, images)
    options = StepOptions(name=name, socket=layout.CHANNEL_SOCKET, sidecar=True,
                          platform_commands=platform_commands, command=tuple(command))
    env = merge_lists(list(prepared.spec.get("env") or []), shared.template_env, "name")
    # as in Tekton (pkg/workspace/apply.go), a task's shared workspaces are mounted into its sidecars too
    container = _container(prepared, naming.sidecar_container(name), options.to_argv(), env,
                           _mounts(prepared, None, shared.workspace_mounts, layout.channel_volume("sidecar", index)))
    if not container["env"]:
        del container["env"]
    return Wrapped(container, script)


def needs_lookup(prepared: Prepared) -> bool:
    return "script" not in prepared.spec and not prepared.spec.get("command")
