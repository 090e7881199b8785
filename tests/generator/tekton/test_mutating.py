"""Mutated inputs never crash the generator: each either generates or is refused in one line.

Corpus tasks and a TaskRun using most of the supported surface get one field at a time replaced by a
value of another shape (fixed seed, so failures reproduce).  Strict validation is not asserted here:
the Kubernetes objects doll passes through (affinity, securityContext, volume sources, ...) are checked
by the API server, not by doll; fields doll reads or writes itself are checked (tests elsewhere).
"""

from __future__ import annotations

import copy
import logging
import random
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from corpus import load, tasks
from test_rendering import RUN

from generator.errors import GenerateError
from generator.tekton.generating import GenerateOptions, generate

VALUES: list[Any] = ["x", 1, True, None, [], {}, ["x"], [1], [{}], {"a": 1}, {"name": "x"}, "$(params.nope)",
                    -5, "0", "", [None], "../up", {"name": "doll-bin"}]
OPTIONS = GenerateOptions(registry=None, name="m", namespace="ns", rbac=True)


def _paths(obj: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if path:
        yield path
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        yield from _paths(value, path + (key,))


def _mutate(docs: list[Any], rng: random.Random) -> list[Any]:
    docs = copy.deepcopy(docs)
    doc = rng.choice(docs)
    path = rng.choice(list(_paths(doc)))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = rng.choice(VALUES)
    return docs


def _sources() -> list[tuple[str, list[Any], dict[str, str]]]:
    out = [("run.yaml", list(yaml.safe_load_all(RUN)), {})]
    for path in tasks()[::4]:
        task = load(path)
        docs = [d for _, text in task.sources for d in yaml.safe_load_all(text)]
        out.append((path.name, docs, task.params))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_a_mutated_input_generates_or_is_refused_in_one_line(seed: int, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    rng = random.Random(seed)
    refused = 0
    for name, docs, params in _sources():
        for _ in range(12):
            mutated = _mutate(docs, rng)
            try:
                generate([(name, yaml.safe_dump_all(mutated))], params, OPTIONS)
            except GenerateError as exc:
                refused += 1
                assert "\n" not in str(exc) and str(exc).startswith((name, "-p ")), str(exc)
    assert refused > 0
