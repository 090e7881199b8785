"""`$(VAR)` in container env values, expanded as a kubelet does and podman 4.3 does not.

The kubelet (k8s.io/kubernetes third_party/forked/golang/expansion, used by makeEnvironmentVariables)
expands each env value, in order, with the variables defined before it in the same container's env: `$(A)`
becomes A's value, `$$` becomes `$` (so `$$(A)` is the literal `$(A)`), and a reference to a variable not
defined (yet) stays as written, as does a `$(` never closed.  A variable from `valueFrom` (fieldRef,
secretKeyRef...) is resolved by podman, not here, so a reference to it stays as written too.  The
container's `command` and `args` are expanded the same way with its whole env
(ExpandContainerCommandAndArgs), which podman does not do either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["expand", "expanding_env"]


def _variable(rest: str) -> tuple[str, bool, int]:
    """What follows a `$`: (text or name, is a variable name, characters read after the `$`)."""
    if rest[0] == "$":
        return "$", False, 1
    if rest[0] == "(":
        closer = rest.find(")", 1)
        if closer != -1:
            return rest[1:closer], True, closer + 1
        return "$(", False, 1
    return "$" + rest[0], False, 1


def expand(text: str, defined: Mapping[str, str]) -> str:
    """`text` with `$(NAME)` replaced from `defined` and `$$` made `$`, as the kubelet's Expand does."""
    out: list[str] = []
    checkpoint = cursor = 0
    while cursor < len(text):
        if text[cursor] == "$" and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            read, is_name, advance = _variable(text[cursor + 1:])
            out.append(defined.get(read, f"$({read})") if is_name else read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    out.append(text[checkpoint:])
    return "".join(out)


def expanding_env(container: dict[str, Any]) -> None:
    """Expand, in place and in order, every literal env value of `container` as its kubelet would; then its
    command and args with the env."""
    defined: dict[str, str] = {}
    for entry in container.get("env") or []:
        name = str(entry.get("name", ""))
        if "valueFrom" not in entry:
            value = expand(str(entry.get("value") or ""), defined)
            if "value" in entry:
                entry["value"] = value
            defined[name] = value
        else:
            defined.pop(name, None)  # from valueFrom: podman resolves it, a reference to it stays as written
    for key in ("command", "args"):
        if isinstance(container.get(key), list):
            container[key] = [expand(arg, defined) if isinstance(arg, str) else arg for arg in container[key]]
