"""The Pod Security Standards' checks as pod-security-admission implements them, ported for the tests
(kubernetes/kubernetes staging/src/k8s.io/pod-security-admission/policy/, each check's file named on it).

Written apart from generator/tekton/pod_security.py on purpose: it follows PSA's structure (a visitor over
every container, pod-level values as fallbacks, the "implicitly bad" containers) so that a Pod doll calls
restricted is checked by PSA's reading, not by doll's.  Each check returns its ForbiddenReason or None.
User-namespace relaxations (hostUsers: false) are left out: doll never sets it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

Pod = dict[str, Any]


def _containers(pod: Pod) -> Iterator[dict[str, Any]]:  # visitor.go visitContainers: init, regular, ephemeral
    spec = pod["spec"]
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []


def _sc(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("securityContext") or {}


def privileged(pod: Pod) -> str | None:  # check_privileged.go
    return "privileged" if any(_sc(c).get("privileged") for c in _containers(pod)) else None


def host_namespaces(pod: Pod) -> str | None:  # check_hostNamespaces.go
    spec = pod["spec"]
    return "host namespaces" if any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC")) else None


def host_path_volumes(pod: Pod) -> str | None:  # check_hostPathVolumes.go
    return "hostPath volumes" if any("hostPath" in v for v in pod["spec"].get("volumes") or []) else None


def host_ports(pod: Pod) -> str | None:  # check_hostPorts.go
    ports = [p for c in _containers(pod) for p in c.get("ports") or []]
    return "hostPort" if any(p.get("hostPort") for p in ports) else None


BASELINE_CAPS = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
                 "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}


def capabilities_baseline(pod: Pod) -> str | None:  # check_capabilities_baseline.go
    added = {a for c in _containers(pod) for a in (_sc(c).get("capabilities") or {}).get("add") or []}
    return "non-default capabilities" if added - BASELINE_CAPS else None


def seccomp_baseline(pod: Pod) -> str | None:  # check_seccompProfile_baseline.go
    profiles = [_sc(pod["spec"]).get("seccompProfile")] + [_sc(c).get("seccompProfile") for c in _containers(pod)]
    return "seccompProfile" if any((p or {}).get("type") == "Unconfined" for p in profiles) else None


def proc_mount(pod: Pod) -> str | None:  # check_procMount.go
    return "procMount" if any(_sc(c).get("procMount", "Default") != "Default" for c in _containers(pod)) else None


def allow_privilege_escalation(pod: Pod) -> str | None:  # check_allowPrivilegeEscalation.go
    """Every container must set allowPrivilegeEscalation=false (nil counts as true)."""
    bad = [c["name"] for c in _containers(pod) if _sc(c).get("allowPrivilegeEscalation") is not False]
    return f"allowPrivilegeEscalation != false ({bad})" if bad else None


def capabilities_restricted(pod: Pod) -> str | None:  # check_capabilities_restricted.go
    """Every container drops ALL and adds nothing but NET_BIND_SERVICE."""
    for c in _containers(pod):
        caps = _sc(c).get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []) or set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            return f"unrestricted capabilities ({c['name']})"
    return None


def run_as_non_root(pod: Pod) -> str | None:  # check_runAsNonRoot.go
    pod_value = _sc(pod["spec"]).get("runAsNonRoot")
    if pod_value is False:
        return "runAsNonRoot != true (pod)"
    for c in _containers(pod):
        value = _sc(c).get("runAsNonRoot")
        if value is False or (value is None and pod_value is not True):
            return f"runAsNonRoot != true ({c['name']})"
    return None


def run_as_user(pod: Pod) -> str | None:  # check_runAsUser.go
    users = [_sc(pod["spec"]).get("runAsUser")] + [_sc(c).get("runAsUser") for c in _containers(pod)]
    return "runAsUser=0" if 0 in users else None


def seccomp_restricted(pod: Pod) -> str | None:  # check_seccompProfile_restricted.go
    valid = ("RuntimeDefault", "Localhost")
    pod_profile = _sc(pod["spec"]).get("seccompProfile")
    if pod_profile is not None and pod_profile.get("type") not in valid:
        return "seccompProfile (pod)"
    for c in _containers(pod):
        profile = _sc(c).get("seccompProfile")
        if (profile is None and pod_profile is None) or (profile is not None and profile.get("type") not in valid):
            return f"seccompProfile ({c['name']})"
    return None


RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                      "projected", "secret"}


def restricted_volumes(pod: Pod) -> str | None:  # check_restrictedVolumes.go
    bad = [v["name"] for v in pod["spec"].get("volumes") or [] if not (set(v) - {"name"}) <= RESTRICTED_VOLUMES]
    return f"restricted volume types ({bad})" if bad else None


BASELINE: list[Callable[[Pod], str | None]] = [privileged, host_namespaces, host_path_volumes, host_ports,
                                               capabilities_baseline, seccomp_baseline, proc_mount]
RESTRICTED = BASELINE + [allow_privilege_escalation, capabilities_restricted, run_as_non_root, run_as_user,
                         seccomp_restricted, restricted_volumes]


def violations(pod: Pod, level: str) -> list[str]:
    checks = {"baseline": BASELINE, "restricted": RESTRICTED}[level]
    return [reason for check in checks if (reason := check(pod)) is not None]
