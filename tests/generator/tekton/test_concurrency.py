"""The heaviest set of a DAG's tasks that can run at once (generator/tekton/concurrency.py), checked against
every subset on small random DAGs and on the shapes pipelines have.  Tekton's DAG: a task runs after its
runAfter and the tasks whose results it uses (pkg/reconciler/pipeline/dag/dag.go Build), and tasks with no
path between them run in parallel (docs/pipelines.md, Configuring the Task execution order)."""

from __future__ import annotations

import itertools
import random
import time

import pytest

from generator.tekton.concurrency import Antichain, heaviest_antichain


def _reaches(after: dict[str, list[str]]) -> dict[str, set[str]]:
    """Each task's ancestors (the tasks it runs after, directly or not)."""
    found: dict[str, set[str]] = {}

    def ancestors(name: str) -> set[str]:
        if name not in found:
            found[name] = set()
            for before in after.get(name, []):
                found[name] |= {before, *ancestors(before)}
        return found[name]

    for name in after:
        ancestors(name)
    return found


def _brute_force(weights: dict[str, int], after: dict[str, list[str]]) -> int:
    above = _reaches({name: after.get(name, []) for name in weights})
    best = 0
    for size in range(len(weights) + 1):
        for subset in itertools.combinations(weights, size):
            if all(a not in above[b] and b not in above[a] for a, b in itertools.combinations(subset, 2)):
                best = max(best, sum(weights[n] for n in subset))
    return best


def _is_antichain(members: frozenset[str], after: dict[str, list[str]]) -> bool:
    above = _reaches(after)
    return all(a not in above.get(b, set()) and b not in above.get(a, set())
               for a, b in itertools.combinations(members, 2))


def test_the_heaviest_antichain_matches_every_subset_on_random_small_dags() -> None:
    rng = random.Random(14)
    for _ in range(300):
        n = rng.randint(1, 9)
        names = [f"t{i}" for i in range(n)]
        weights = {name: rng.choice([0, 1, 2, 5, rng.randint(0, 1000)]) for name in names}
        density = rng.random()
        after = {names[j]: [names[i] for i in range(j) if rng.random() < density] for j in range(n)}
        found = heaviest_antichain(weights, after)
        assert found.weight == _brute_force(weights, after), (weights, after)
        assert sum(weights[m] for m in found.members) == found.weight
        assert _is_antichain(found.members, after)


def test_a_chain_runs_one_task_at_a_time() -> None:
    weights = {"a": 3, "b": 7, "c": 5}
    assert heaviest_antichain(weights, {"b": ["a"], "c": ["b"]}) == Antichain(7, frozenset({"b"}))


def test_a_diamond_runs_its_two_middle_tasks_together() -> None:
    weights = {"top": 6, "left": 4, "right": 3, "bottom": 1}
    after = {"left": ["top"], "right": ["top"], "bottom": ["left", "right"]}
    assert heaviest_antichain(weights, after) == Antichain(7, frozenset({"left", "right"}))


def test_one_then_three_in_parallel_then_one_asks_for_the_three() -> None:
    weights = {"fetch": 10, "lint": 4, "test": 4, "build": 4, "push": 10}
    after = {"lint": ["fetch"], "test": ["fetch"], "build": ["fetch"], "push": ["lint", "test", "build"]}
    assert heaviest_antichain(weights, after) == Antichain(12, frozenset({"lint", "test", "build"}))


def test_a_heavy_task_in_a_chain_outweighs_a_light_parallel_stage() -> None:
    weights = {"fetch": 20, "lint": 4, "test": 4, "build": 4, "push": 1}
    after = {"lint": ["fetch"], "test": ["fetch"], "build": ["fetch"], "push": ["lint", "test", "build"]}
    assert heaviest_antichain(weights, after) == Antichain(20, frozenset({"fetch"}))


def test_a_task_runs_alongside_a_branch_it_does_not_depend_on() -> None:
    """`side` runs after nothing, so it can run with any task of the chain a -> b -> c: with the heaviest."""
    weights = {"a": 2, "b": 9, "c": 4, "side": 3}
    assert heaviest_antichain(weights, {"b": ["a"], "c": ["b"]}) == Antichain(12, frozenset({"b", "side"}))


def test_independent_tasks_all_run_at_once() -> None:
    weights = {"a": 1, "b": 2, "c": 3}
    assert heaviest_antichain(weights, {}) == Antichain(6, frozenset(weights))


def test_no_tasks_weigh_nothing() -> None:
    assert heaviest_antichain({}, {}) == Antichain(0, frozenset())


def test_256_matrix_copies_fanning_out_and_in_are_solved_quickly() -> None:
    """docs/matrix.md: a matrix fans a task out into up to 256 combinations (default-max-matrix-combinations-count),
    each its own TaskRun; here two matrixed stages, each fanned in by a task after it."""
    weights = {"fetch": 1, "gather": 1, "publish": 1}
    after: dict[str, list[str]] = {}
    stage1 = [f"build-{i}" for i in range(256)]
    stage2 = [f"test-{i}" for i in range(256)]
    for i, (b, t) in enumerate(zip(stage1, stage2)):
        weights[b], after[b] = 100 + i % 3, ["fetch"]
        weights[t], after[t] = 50, ["gather"]
    after["gather"], after["publish"] = stage1, stage2
    started = time.monotonic()
    found = heaviest_antichain(weights, after)
    assert time.monotonic() - started < 2
    assert found == Antichain(sum(weights[b] for b in stage1), frozenset(stage1))
    independent = {f"copy-{i}": 3 for i in range(256)}
    assert heaviest_antichain(independent, {}) == Antichain(768, frozenset(independent))


def test_a_task_after_an_unknown_task_is_refused() -> None:
    with pytest.raises(ValueError, match="task 'b' runs after 'x', which is not a task"):
        heaviest_antichain({"b": 1}, {"b": ["x"]})


def test_a_negative_weight_is_refused() -> None:
    with pytest.raises(ValueError, match="task 'a': negative weight -1"):
        heaviest_antichain({"a": -1}, {})
