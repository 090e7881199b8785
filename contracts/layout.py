"""The Pod's layout, defined once: every path, volume and container name doll uses inside the Pod.

The generator mounts these, `doll init` fills them, the wrapper and the supervisor read and write them.
Standard library only and cheap to import: the wrapper imports this module.
"""

from __future__ import annotations

__all__ = [
    "DOLL_BIN", "ENTRYPOINT_PATH", "DOLL_RUN", "SOCKET_NAME", "SOCKET_PATH", "PLAN_NAME", "PLAN_PATH",
    "JOURNAL_NAME", "TEKTON_ROOT", "STEPS_DIR", "SCRIPTS_DIR", "RESULTS_DIR", "HOME_DIR",
    "CREDS_DIR", "CREDS_SECRETS_DIR",
    "WORKSPACE_DIR", "TERMINATION_PATH", "TERMINATION_MESSAGE_LIMIT", "POD_TERMINATION_MESSAGES_LIMIT", "termination_share", "VOLUMES", "INIT_CONTAINER",
    "SUPERVISOR_CONTAINER", "POST_FILE", "FAILED_SUFFIX", "EXIT_CODE_FILE", "STEP_RESULTS_DIR",
    "step_dir_name", "step_dir", "post_file", "verdict_path", "script_name",
    "step_container", "sidecar_container", "CHANNEL_DIR", "CHANNEL_SOCKET", "CHANNELS_DIR", "VERDICT_NAME",
    "channel_name", "channel_dir", "channel_volume", "VALUES_NAME", "value_path", "channel_value_path",
    "task_results_volume",
]

# --- doll's own volumes ---
DOLL_BIN = "/doll/bin"  # the wrapper executable lives here, read-only for steps
ENTRYPOINT_PATH = DOLL_BIN + "/entrypoint"
DOLL_RUN = "/doll/run"  # shared emptyDir: admin socket, plan, journal; rw only for the supervisor
SOCKET_NAME = "control.sock"
SOCKET_PATH = f"{DOLL_RUN}/{SOCKET_NAME}"
PLAN_NAME = "plan.json"
PLAN_PATH = f"{DOLL_RUN}/{PLAN_NAME}"
JOURNAL_NAME = "journal.jsonl"

# --- each container's own channel to the supervisor (one small emptyDir per step and per sidecar) ---
# The container mounts its own channel read-only at CHANNEL_DIR and nobody else's; the supervisor mounts every
# channel read-write at CHANNELS_DIR/<kind>-<name> and listens on a socket in each (mode 0666: any uid may
# connect).  A hello on a channel speaks for that channel's container only.  The channel also holds the
# supervisor's last word for that container: CHANNEL_DIR/verdict.  The admin socket (SOCKET_PATH, in doll-run)
# is mounted in the supervisor's container only: `doll ctl` there may do everything.
CHANNEL_DIR = "/doll/channel"
CHANNEL_SOCKET = f"{CHANNEL_DIR}/{SOCKET_NAME}"
CHANNELS_DIR = "/doll/channels"
VERDICT_NAME = "verdict"
# ... and, in a pipeline, the values of the refs its task uses (contracts/task_plans.py): CHANNEL_DIR/values/<ref>,
# written by the supervisor before the step's task starts, read by the step's wrapper when its turn comes
VALUES_NAME = "values"

# --- Tekton's in-Pod conventions ---
TEKTON_ROOT = "/tekton"
STEPS_DIR = f"{TEKTON_ROOT}/steps"  # step-<name>/ (exitCode, out / out.err, results/) and <index> -> step-<name>
SCRIPTS_DIR = f"{TEKTON_ROOT}/scripts"  # step-<name> / sidecar-<name>, written by init
RESULTS_DIR = f"{TEKTON_ROOT}/results"  # task results
HOME_DIR = f"{TEKTON_ROOT}/home"
CREDS_DIR = f"{TEKTON_ROOT}/creds"  # $(credentials.path): written by init, copied to $HOME by each step's wrapper
CREDS_SECRETS_DIR = f"{TEKTON_ROOT}/creds-secrets"  # each credentials Secret at <name>, in init only
TERMINATION_PATH = f"{TEKTON_ROOT}/termination"
WORKSPACE_DIR = "/workspace"  # Tekton's implicit shared workspace (the steps' default workingDir)
TERMINATION_MESSAGE_LIMIT = 4096  # Kubernetes' limit for a container's termination message
# ... and what the kubelet keeps of each once the Pod has many containers: 12 KiB shared by all of them, init and
# ephemeral ones included (pkg/kubelet/status/status_manager.go normalizeStatus, MaxPodTerminationMessageLogLength)
POD_TERMINATION_MESSAGES_LIMIT = 12 * 1024


def termination_share(containers: int) -> int:
    """The bytes of a container's termination message the Pod status keeps (`containers` 0: unknown)."""
    if containers <= 0:
        return TERMINATION_MESSAGE_LIMIT
    return min(TERMINATION_MESSAGE_LIMIT, POD_TERMINATION_MESSAGES_LIMIT // containers)

# the Pod's volumes (emptyDir), by role; a user volume named doll-* is refused
VOLUMES = {"bin": "doll-bin", "run": "doll-run", "steps": "doll-steps", "results": "doll-results",
           "scripts": "doll-scripts", "home": "doll-home", "workspace": "doll-workspace"}
INIT_CONTAINER = "doll-init"
SUPERVISOR_CONTAINER = "doll-supervisor"

# --- a step's directory: <steps dir>/step-<name>/ ---
POST_FILE = "out"  # the post file: the step's record, what the next step waits for in the file chain
FAILED_SUFFIX = ".err"  # out.err: the step failed and the failure cascades
EXIT_CODE_FILE = "exitCode"
STEP_RESULTS_DIR = "results"  # step results: step-<name>/results/<result>


def step_dir_name(name: str) -> str:
    return f"step-{name}"


def step_dir(steps_dir: str, name: str) -> str:
    return f"{steps_dir}/{step_dir_name(name)}"


def post_file(steps_dir: str, name: str) -> str:
    """The step's post file (`out`); `out.err` (+ FAILED_SUFFIX) when its failure cascades."""
    return f"{step_dir(steps_dir, name)}/{POST_FILE}"


def verdict_path(socket: str) -> str:
    """Where a wrapper reads the supervisor's last word for it: `verdict` next to its socket, in its own
    channel (CHANNEL_DIR/verdict)."""
    return f"{socket.rpartition('/')[0]}/{VERDICT_NAME}"


def channel_name(kind: str, name: str) -> str:
    """A channel's directory name under CHANNELS_DIR: `step-build`, `sidecar-db`."""
    return f"{kind}-{name}"


def channel_dir(channels_dir: str, kind: str, name: str) -> str:
    return f"{channels_dir}/{channel_name(kind, name)}"


def channel_volume(kind: str, index: int) -> str:
    """The channel's emptyDir: `doll-ch-s<index>` for a step, `doll-ch-c<index>` for a sidecar (its position
    among the sidecars): always a short DNS label, whatever the container's name."""
    return f"doll-ch-{'s' if kind == 'step' else 'c'}{index}"


def script_name(kind: str, name: str) -> str:
    """A step's or sidecar's script in SCRIPTS_DIR: `step-build`, `sidecar-db`."""
    return f"{kind}-{name}"


def step_container(name: str) -> str:
    """The container name of a step, before doll's length fitting (generator naming)."""
    return f"step-{name}"


def sidecar_container(name: str) -> str:
    return f"sidecar-{name}"


def value_path(channels_dir: str, step: str, ref: str) -> str:
    """Where the supervisor writes a ref's value for a step (`tasks.build.results.digest`), in its channel."""
    return f"{channel_dir(channels_dir, 'step', step)}/{VALUES_NAME}/{ref}"


def channel_value_path(ref: str) -> str:
    """The same file as the step sees it, in its own channel: `/doll/channel/values/<ref>`."""
    return f"{CHANNEL_DIR}/{VALUES_NAME}/{ref}"


def task_results_volume(index: int) -> str:
    """A pipeline task's own /tekton/results (`doll-results-t<index>`, by its position among the plan's tasks):
    each task's steps see their task's results only, as each TaskRun's Pod has its own."""
    return f"{VOLUMES['results']}-t{index}"
