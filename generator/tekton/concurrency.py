"""The heaviest set of tasks of a DAG that can run at once: its maximum-weight antichain, exact.

Tasks u and v can run together unless one reaches the other, so the sets of tasks that can run at once are the
DAG's antichains.  Weighted Dilworth: the heaviest antichain weighs total - (the minimum flow cover), which is
max-flow on the split graph: source -> L_v and R_v -> sink with capacity w(v), L_u -> R_v without limit when
u reaches v; a minimum cut's antichain is {v : L_v on the source side, R_v not}.  Instead of the transitive
closure's edges (quadratic: 256 matrix copies fanning in and out), each edge u -> v gives L_u -> R_v and each
v gives R_v -> L_v, both without limit: L_u still reaches R_v through uncapped edges exactly when u reaches v,
so the cut found is still an antichain, and any antichain A gives a cut of total - w(A) (source side: L_a for
a in A, L_v and R_v for every v below A), so the minimum cut's antichain is the heaviest.  Dinic's max-flow.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["Antichain", "heaviest_antichain"]


@dataclass(frozen=True)
class Antichain:
    """Tasks no two of which are ordered, and their total weight."""

    weight: int
    members: frozenset[str]


class _Network:
    """A flow network over nodes 0..n-1; edges stored in pairs (edge ^ 1 is its reverse)."""

    def __init__(self, size: int) -> None:
        self.edges: list[list[int]] = [[] for _ in range(size)]
        self.head: list[int] = []
        self.capacity: list[int] = []

    def add(self, a: int, b: int, capacity: int) -> None:
        for x, y, c in ((a, b, capacity), (b, a, 0)):
            self.edges[x].append(len(self.head))
            self.head.append(y)
            self.capacity.append(c)

    def reachable(self, source: int) -> list[int]:
        """Each node's distance from source over edges with capacity left (-1: not reachable)."""
        level = [-1] * len(self.edges)
        level[source] = 0
        queue = deque([source])
        while queue:
            node = queue.popleft()
            for e in self.edges[node]:
                if self.capacity[e] > 0 and level[self.head[e]] < 0:
                    level[self.head[e]] = level[node] + 1
                    queue.append(self.head[e])
        return level

    def max_flow(self, source: int, sink: int) -> int:
        total = 0
        while (level := self.reachable(source))[sink] >= 0:
            cursor = [0] * len(self.edges)
            while pushed := self._push(source, sink, level, cursor):
                total += pushed
        return total

    def _push(self, source: int, sink: int, level: list[int], cursor: list[int]) -> int:
        """One augmenting path along the level graph (iterative: paths can be long), its flow."""
        path: list[int] = []
        node = source
        while node != sink:
            edges = self.edges[node]
            while cursor[node] < len(edges):
                e = edges[cursor[node]]
                if self.capacity[e] > 0 and level[self.head[e]] == level[node] + 1:
                    break
                cursor[node] += 1
            else:
                if not path:
                    return 0
                level[node] = -1  # a dead end: never again in this phase
                node = self.head[path.pop() ^ 1]
                cursor[node] += 1
                continue
            path.append(edges[cursor[node]])
            node = self.head[path[-1]]
        flow = min(self.capacity[e] for e in path)
        for e in path:
            self.capacity[e] -= flow
            self.capacity[e ^ 1] += flow
        return flow


def heaviest_antichain(weights: Mapping[str, int], after: Mapping[str, Iterable[str]]) -> Antichain:
    """The maximum-weight antichain of the DAG whose task v runs after every task in after[v] (weights >= 0)."""
    names = list(weights)
    index = {name: i for i, name in enumerate(names)}
    for name, weight in weights.items():
        if weight < 0:
            raise ValueError(f"task {name!r}: negative weight {weight}")
    total = sum(weights.values())
    unlimited = total + 1
    n = len(names)
    source, sink = 2 * n, 2 * n + 1  # L_v is v, R_v is n + v
    network = _Network(2 * n + 2)
    for v, name in enumerate(names):
        network.add(source, v, weights[name])
        network.add(n + v, sink, weights[name])
        network.add(n + v, v, unlimited)
        for before in after.get(name, ()):
            if before not in index:
                raise ValueError(f"task {name!r} runs after {before!r}, which is not a task")
            network.add(index[before], n + v, unlimited)
    flow = network.max_flow(source, sink)
    level = network.reachable(source)
    members = frozenset(name for v, name in enumerate(names) if level[v] >= 0 and level[n + v] < 0)
    return Antichain(weight=total - flow, members=members)
