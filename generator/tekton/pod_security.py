"""`--pod-security baseline|restricted`: a Pod that a namespace enforcing that Pod Security Standard admits.

doll's own containers are restricted already (rendering.doll_security).  For the user's steps and sidecars:
    privileged  (and no option) the Pod as the Task writes it
    baseline    nothing is changed; what baseline forbids is refused
    restricted  what the user left unset is made compliant: allowPrivilegeEscalation false and capabilities
                drop [ALL] on every container, runAsNonRoot and seccompProfile RuntimeDefault on the Pod;
                what the Task sets against it is refused (privileged, runAsUser 0, runAsNonRoot false,
                hostPath and other volume types, added capabilities but NET_BIND_SERVICE, ...)
Refusals are one line listing every violation.  The checks follow pod-security-admission
(staging/src/k8s.io/pod-security-admission/policy/check_*.go); what it checks the Task cannot set is left out
(doll writes no ephemeral containers).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator.errors import GenerateError
from generator.tekton.specs import RawObject
from generator.warning import warn

__all__ = ["BASELINE_CAPABILITIES", "LEVELS", "RESTRICTED_VOLUMES", "SAFE_SYSCTLS", "SELINUX_TYPES", "secure"]

LEVELS = ("privileged", "baseline", "restricted")
# check_capabilities_baseline.go: what baseline lets a container add
BASELINE_CAPABILITIES = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                                   "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
# check_restrictedVolumes.go: the volume sources restricted allows
RESTRICTED_VOLUMES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                                "projected", "secret"})
_SECCOMP_OK = ("RuntimeDefault", "Localhost")
SAFE_SYSCTLS = frozenset({  # check_sysctls.go (as of 1.32)
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"})
SELINUX_TYPES = ("", "container_t", "container_init_t", "container_kvm_t", "container_engine_t")  # check_seLinuxOptions


def _containers(pod: RawObject) -> Iterator[RawObject]:
    yield from pod["spec"].get("initContainers") or []
    yield from pod["spec"]["containers"]


def _baseline_pod(pod: RawObject) -> list[str]:
    spec = pod["spec"]
    security = spec.get("securityContext") or {}
    problems = [f"spec.{key}" for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key)]
    problems += [f"volume {v['name']} is a hostPath" for v in spec.get("volumes") or [] if "hostPath" in v]
    problems += [f"sysctl {s.get('name')} is not a safe one" for s in security.get("sysctls") or []
                 if s.get("name") not in SAFE_SYSCTLS]
    problems += [f"the Pod's {p}" for p in _security_problems(security)]
    problems += [f"annotation {k} is {v}" for k, v in (pod["metadata"].get("annotations") or {}).items()
                 if k.startswith("container.apparmor.security.beta.kubernetes.io/")
                 and v != "runtime/default" and not v.startswith("localhost/")]
    return problems


def _security_problems(security: RawObject) -> list[str]:
    """What baseline forbids in a Pod's or a container's securityContext."""
    problems = []
    if (security.get("seccompProfile") or {}).get("type") == "Unconfined":
        problems.append("seccompProfile is Unconfined")
    if (security.get("appArmorProfile") or {}).get("type") == "Unconfined":
        problems.append("appArmorProfile is Unconfined")
    if (security.get("windowsOptions") or {}).get("hostProcess"):
        problems.append("windowsOptions.hostProcess")
    selinux = security.get("seLinuxOptions") or {}
    if selinux.get("type", "") not in SELINUX_TYPES or selinux.get("user") or selinux.get("role"):
        problems.append("seLinuxOptions sets a user, a role or a type baseline forbids")
    if security.get("procMount", "Default") != "Default":
        problems.append(f"procMount is {security['procMount']}")
    return problems


def _baseline(pod: RawObject) -> list[str]:
    """check_privileged.go, check_hostNamespaces.go, check_hostPathVolumes.go, check_hostPorts.go,
    check_capabilities_baseline.go, check_seccompProfile_baseline.go, check_appArmorProfile.go,
    check_seLinuxOptions.go, check_procMount.go, check_sysctls.go, check_windowsHostProcess.go."""
    problems = _baseline_pod(pod)
    for c in _containers(pod):
        security: Any = c.get("securityContext") or {}
        name = c["name"]
        if security.get("privileged"):
            problems.append(f"{name} is privileged")
        added = set((security.get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES
        if added:
            problems.append(f"{name} adds capabilities {', '.join(sorted(added))}")
        problems += [f"{name} has hostPort {p['hostPort']}" for p in c.get("ports") or [] if p.get("hostPort")]
        problems += [f"{name}'s {p}" for p in _security_problems(security)]
    return problems


def _restricted(pod: RawObject) -> list[str]:
    """What the Task sets against restricted (the checks of _restrict's defaults)."""
    spec = pod["spec"]
    pod_security = spec.get("securityContext") or {}
    problems = [f"volume {v['name']} is a {next(k for k in v if k != 'name')}" for v in spec.get("volumes") or []
                if not set(v) - {"name"} <= RESTRICTED_VOLUMES and "hostPath" not in v]
    if pod_security.get("runAsUser") == 0:
        problems.append("the Pod's runAsUser is 0")
    if pod_security.get("runAsNonRoot") is False:
        problems.append("the Pod's runAsNonRoot is false")
    if (pod_security.get("seccompProfile") or {}).get("type", "RuntimeDefault") not in (*_SECCOMP_OK, "Unconfined"):
        problems.append(f"the Pod's seccompProfile is {pod_security['seccompProfile']['type']}")
    for c in _containers(pod):
        security: Any = c.get("securityContext") or {}
        name = c["name"]
        if security.get("runAsUser") == 0:
            problems.append(f"{name}'s runAsUser is 0")
        if security.get("runAsNonRoot") is False:
            problems.append(f"{name}'s runAsNonRoot is false")
        if security.get("allowPrivilegeEscalation") is True and not security.get("privileged"):
            problems.append(f"{name} allows privilege escalation")
        added = set((security.get("capabilities") or {}).get("add") or []) - {"NET_BIND_SERVICE"}
        if added and not added - BASELINE_CAPABILITIES:  # the others are baseline's refusal already
            problems.append(f"{name} adds capabilities {', '.join(sorted(added))} (restricted: NET_BIND_SERVICE only)")
        seccomp = (security.get("seccompProfile") or {}).get("type")
        if seccomp not in (None, *_SECCOMP_OK, "Unconfined"):
            problems.append(f"{name}'s seccompProfile is {seccomp}")
    return problems


def _restrict(pod: RawObject) -> None:
    """Restricted's settings wherever the Task left them unset (check_allowPrivilegeEscalation.go,
    check_capabilities_restricted.go, check_runAsNonRoot.go, check_seccompProfile_restricted.go)."""
    spec = pod["spec"]
    pod_security = spec.setdefault("securityContext", {})
    pod_security.setdefault("runAsNonRoot", True)
    pod_security.setdefault("seccompProfile", {"type": "RuntimeDefault"})
    for c in _containers(pod):
        security = c.setdefault("securityContext", {})
        security.setdefault("allowPrivilegeEscalation", False)
        capabilities = security.setdefault("capabilities", {})
        if "ALL" not in (capabilities.get("drop") or []):
            capabilities["drop"] = [*(capabilities.get("drop") or []), "ALL"]


def secure(pod: RawObject, level: str) -> None:
    """The Pod made to pass `level` (in place), or a GenerateError naming every violation on one line."""
    if level not in ("", *LEVELS):
        raise GenerateError(f"--pod-security: {level!r} is not one of {', '.join(LEVELS)}")
    if level in ("", "privileged"):
        return
    problems = _baseline(pod) + (_restricted(pod) if level == "restricted" else [])
    if problems:
        raise GenerateError(f"--pod-security {level}: the Pod cannot comply: {'; '.join(problems)}")
    if level != "restricted":
        return
    _restrict(pod)
    pod_user = (pod["spec"].get("securityContext") or {}).get("runAsUser")
    unknown = [c["name"] for c in _containers(pod) if pod_user is None and (c.get("securityContext") or {})
               .get("runAsUser") is None]
    if unknown:
        warn(f"--pod-security restricted: {', '.join(unknown)} set no runAsUser: the kubelet refuses to start "
             "them if their image runs as root (runAsNonRoot); set one in the stepTemplate or the podTemplate")
