"""The init container's environment: JSON values with every `$` escaped, split over NAME, NAME_1, ...

The generator writes them (`env_parts`, tekton.rendering) and `doll init` reads them back (`joined`): why each
`$` travels as \\u0024 and why values are split is told in generator/init/main.py.  Standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

__all__ = ["ENV_PART_CHARS", "env_json", "env_parts", "joined"]


def env_json(value: object) -> str:
    """`value` as JSON for an env var of the init container, with every `$` written as `\\u0024`.

    `$` is never part of JSON's syntax or of an escape, so it occurs only inside strings, where the escape
    means the same character: no Kubernetes implementation, expanding or not, can change the value."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text.replace("$", "\\u0024")


ENV_PART_CHARS = 30_000  # at most 4 UTF-8 bytes a character: 120,000 bytes, under Linux's 128 KiB a string


def env_parts(name: str, value: object) -> list[tuple[str, str]]:
    """`value` as env_json gives it, in as many env vars as it takes: NAME, then NAME_1, NAME_2, ..."""
    text = env_json(value)
    parts = [text[i:i + ENV_PART_CHARS] for i in range(0, len(text), ENV_PART_CHARS)] or [""]
    return [(name if j == 0 else f"{name}_{j}", part) for j, part in enumerate(parts)]


def joined(env: Mapping[str, str], key: str) -> str | None:
    """The value `env_parts` spread over KEY, KEY_1, ...; None without KEY."""
    if key not in env:
        return None
    parts, j = [env[key]], 1
    while f"{key}_{j}" in env:
        parts.append(env[f"{key}_{j}"])
        j += 1
    return "".join(parts)
