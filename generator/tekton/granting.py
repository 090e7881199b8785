"""`--rbac`: the ServiceAccount, Role and RoleBinding the supervisor needs on its own Pod, and no more.

The Role allows exactly the two calls the supervisor makes (supervisor/requesting.py): PATCH its Pod and
POST a core/v1 Event.  The generator always names the Pod (never generateName), so the Role can list it in
`resourceNames`: `patch` on that one Pod.  Events cannot be narrowed by name (their names are chosen when
they are created), so `create` on core events in the namespace is the narrowest rule Kubernetes allows.
Without a namespace (kubectl's current one applies) the RoleBinding's subject names none: RBAC then
takes the binding's own namespace for a ServiceAccount subject.
"""

from __future__ import annotations

from generator.tekton import naming
from generator.tekton.specs import RawObject

__all__ = ["grant"]


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
            {"apiGroups": [""], "resources": ["pods"], "resourceNames": [pod_name], "verbs": ["patch"]},
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
