"""contracts.freezing's classes behave as the standard decorator's: each module is loaded a second time as
mypy reads it (TYPE_CHECKING true: the standard `dataclasses.dataclass`) and every class is compared."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import sys
import types
from typing import Any

import pytest

MODULES = ["contracts.wire", "contracts.options", "contracts.records", "contracts.outcome", "entrypoint.recording", "entrypoint.results", "entrypoint.running",
           "entrypoint.teeing", "entrypoint.session"]


def _standard(name: str) -> types.ModuleType:
    module = importlib.import_module(name)
    source = inspect.getsource(module).replace("\nTYPE_CHECKING = False", "\nTYPE_CHECKING = True", 1)
    twin = types.ModuleType(f"{name}_standard")
    sys.modules[twin.__name__] = twin
    exec(compile(source, f"<standard {name}>", "exec"), twin.__dict__)
    return twin


def _pairs() -> list[tuple[type, type]]:
    pairs = []
    for name in MODULES:
        module, twin = importlib.import_module(name), _standard(name)
        for attr, cls in vars(twin).items():
            if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == twin.__name__:
                pairs.append((getattr(module, attr), cls))
    return pairs


PAIRS = _pairs()


def _sample(cls: type, salt: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            values[f.name] = f"{salt}-{f.name}"
    return values


def test_every_class_is_compared() -> None:
    assert len(PAIRS) >= 19


@pytest.mark.parametrize(("ours", "std"), PAIRS, ids=[p[1].__name__ for p in PAIRS])
def test_a_class_behaves_as_the_standard_dataclass(ours: type, std: type) -> None:
    assert dataclasses.is_dataclass(ours)
    assert str(inspect.signature(ours)) == str(inspect.signature(std))
    assert ours.__init__.__qualname__ == std.__init__.__qualname__  # type: ignore[misc]
    assert ours.__match_args__ == std.__match_args__  # type: ignore[attr-defined]
    assert repr(ours.__dataclass_params__) == repr(std.__dataclass_params__)  # type: ignore[attr-defined]
    assert [(f.name, f.type, f.default, f.default_factory, f.init, f.repr, f.compare, f.hash)
            for f in dataclasses.fields(ours)] == \
           [(f.name, f.type, f.default, f.default_factory, f.init, f.repr, f.compare, f.hash)
            for f in dataclasses.fields(std)]
    for name in ("__eq__", "__hash__", "__repr__", "__setattr__", "__delattr__"):
        assert (getattr(ours, name) is None) == (getattr(std, name) is None), name
    for attr in std.__dict__:
        if not attr.startswith("__") and not callable(getattr(std, attr)) \
                and not isinstance(getattr(std, attr), property):  # properties: the class's own code
            assert getattr(ours, attr) == getattr(std, attr), attr
    assert {a for a in std.__dict__ if not a.startswith("__")} == {a for a in ours.__dict__ if not a.startswith("__")}

    a, b = _sample(std, "a"), _sample(std, "b")
    x, y, sx = ours(**a), ours(**b), std(**a)
    assert repr(x) == repr(sx)
    assert x == ours(**a) and (x != y) == (a != b) and (x == sx) is False
    assert dataclasses.asdict(x) == dataclasses.asdict(sx)
    assert x.__dict__ == sx.__dict__
    assert dataclasses.replace(x, **b) == y
    params = std.__dataclass_params__  # type: ignore[attr-defined]
    if params.frozen:
        hashable = all(not isinstance(v, (dict, list)) for v in sx.__dict__.values())
        if hashable:
            assert hash(x) == hash(sx)
        name = dataclasses.fields(std)[0].name
        for obj in (x, sx):
            with pytest.raises(dataclasses.FrozenInstanceError, match=f"cannot assign to field '{name}'"):
                setattr(obj, name, 1)
            with pytest.raises(dataclasses.FrozenInstanceError, match=f"cannot delete field '{name}'"):
                delattr(obj, name)
            with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'other'"):
                obj.other = 1  # type: ignore[attr-defined]
    else:
        with pytest.raises(TypeError):
            hash(x)
    for args, kwargs in (((), {**a, "bogus": 1}), ((), {}), (tuple(range(len(sx.__dict__) + 1)), {}),
                         (("p",), a)):
        assert _outcome(ours, args, kwargs) == _outcome(std, args, kwargs)


def _outcome(cls: type, args: tuple[object, ...], kwargs: dict[str, object]) -> str:
    try:
        return repr(cls(*args, **kwargs)).replace("_standard_", "")
    except TypeError as exc:
        return f"TypeError: {exc}"


def test_factory_defaults_are_fresh_and_none_is_kept() -> None:
    from contracts import wire

    one = wire.Finished(name="s", exit_code=0, reason="Completed", started_at=None, finished_at=1.0)
    two = wire.Finished(name="s", exit_code=0, reason="Completed", started_at=None, finished_at=1.0)
    assert one.results == {} and one.results is not two.results
    assert wire.Reply(ok=True, status=None).status is None  # type: ignore[arg-type]
    with pytest.raises(wire.ProtocolError, match="expected dict"):
        wire.decode(b'{"op":"finished","name":"s","exit_code":0,"reason":"Completed","started_at":null,'
                        b'"finished_at":1,"results":null}')


def test_a_field_without_default_after_one_with_is_refused_as_the_standard_refuses_it() -> None:
    from contracts.freezing import dataclass

    def make(decorator: Any) -> str:
        try:
            decorator(type("Bad", (), {"__annotations__": {"a": "int", "b": "int"}, "a": 1}))
        except TypeError as exc:
            return str(exc)
        return "accepted"

    assert make(dataclass) == make(dataclasses.dataclass) == "non-default argument 'b' follows default argument"
