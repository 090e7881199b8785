"""The pipeline's DAG: each task after what it runs after and the tasks whose results it uses
(pkg/reconciler/pipeline/dag/dag.go Build; PipelineTask.Deps), in an order as written where the DAG allows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from generator.errors import GenerateError, quote

__all__ = ["order"]


def _cycle(deps: Mapping[str, Sequence[str]], left: Sequence[str]) -> list[str]:
    """One cycle among the tasks left unplaced (each of them waits for another one left)."""
    path: list[str] = []
    node = left[0]
    while node not in path:
        path.append(node)
        node = next(d for d in deps[node] if d in left)
    return path[path.index(node):] + [node]


def order(names: Sequence[str], deps: Mapping[str, Sequence[str]], wheres: Mapping[str, str]) -> list[str]:
    """The DAG tasks in an order where each comes after what it waits for: at each turn the first one as written
    whose dependencies are placed (Kahn's algorithm, stable).  A dependency on no task, or a cycle, is refused."""
    for name in names:
        for before in deps[name]:
            if before not in deps:
                raise GenerateError(f"{wheres[name]}: {quote(name)} runs after {quote(before)}, which is no task "
                                    "of the pipeline")
            if before == name:
                raise GenerateError(f"{wheres[name]}: {quote(name)} depends on itself")
    placed: list[str] = []
    left = list(names)
    while left:
        ready = next((n for n in left if all(d in placed for d in deps[n])), None)
        if ready is None:
            cycle = _cycle(deps, left)
            raise GenerateError(f"{wheres[cycle[0]]}: a cycle: {' -> '.join(cycle)} (each runs after the next)")
        placed.append(ready)
        left.remove(ready)
    return placed
