"""`--rbac`: the ServiceAccount, Role and RoleBinding the supervisor needs on its own Pod, and no more.

The Role allows exactly the three calls the supervisor makes (supervisor/kube_api.py): PATCH its Pod, GET
its Pod (its container statuses: a step whose container ended before its wrapper said hello, stalls.py) and
POST a core/v1 Event.  The generator always names the Pod (never generateName), so the Role can list it in
`resourceNames`: `get` and `patch` on that one Pod (not `list` or `watch`, which resourceNames cannot narrow
to one object unless the request names it).  Events cannot be narrowed by name (their names are chosen when
they are created), so `create` on core events in the namespace is the narrowest rule Kubernetes allows.
Without a namespace (kubectl's current one applies) the RoleBinding's subject names none: RBAC then
takes the binding's own namespace for a ServiceAccount subject.

The account doll makes is the supervisor's alone: the Pod does not automount its token
(`automountServiceAccountToken: false`), and a projected volume like the one the kubelet would have made
(the token, the cluster's CA, the namespace) is mounted in the supervisor only, at the standard path.  A step
with the token could read its Pod, patch its doll.dev annotations and create Events in its name.  When the TaskRun
names its own account (`serviceAccountName`), the steps asked for it: its token is mounted as Kubernetes
does, in every container.
"""

from __future__ import annotations

from contracts.layout import SUPERVISOR_CONTAINER
from generator.tekton import naming
from generator.tekton.specs import RawObject

__all__ = ["grant", "token_for_the_supervisor_only", "TOKEN_VOLUME", "TOKEN_DIR"]

TOKEN_VOLUME = "doll-sa-token"
TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"  # where client libraries (and the supervisor) look


def grant(pod_name: str, namespace: str, service_account: str, labels: dict[str, str]) -> list[RawObject]:
    """[ServiceAccount], Role and RoleBinding; no ServiceAccount when the TaskRun names its own."""
    name = naming.fit(f"{pod_name}-doll", 253)
    meta: RawObject = {"name": name, "labels": dict(labels)}
    if namespace:
        meta["namespace"] = namespace
    out: list[RawObject] = []
    account = service_account or name
    if not service_account:
        out.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": dict(meta)})
    out.append({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": dict(meta),
        "rules": [
            {"apiGroups": [""], "resources": ["pods"], "resourceNames": [pod_name],
             "verbs": ["get", "patch"]},
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
        ],
    })
    subject: RawObject = {"kind": "ServiceAccount", "name": account}
    if namespace:
        subject["namespace"] = namespace
    out.append({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": dict(meta),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [subject],
    })
    return out


def token_for_the_supervisor_only(pod: RawObject) -> None:
    """No automounted token; the kubelet's projected token volume, mounted in the supervisor alone."""
    spec = pod["spec"]
    spec["automountServiceAccountToken"] = False
    spec.setdefault("volumes", []).append({"name": TOKEN_VOLUME, "projected": {"defaultMode": 0o444, "sources": [
        {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1",
                                                                      "fieldPath": "metadata.namespace"}}]}},
    ]}})
    for container in [*spec.get("initContainers", []), *spec["containers"]]:
        if container["name"] == SUPERVISOR_CONTAINER:
            container.setdefault("volumeMounts", []).append({"name": TOKEN_VOLUME, "mountPath": TOKEN_DIR,
                                                             "readOnly": True})
