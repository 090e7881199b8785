"""`@dataclass` for the wrapper's own classes, at a fraction of its start-up cost.

The standard decorator exec()s five or six generated functions per class (about a millisecond a class),
and importing `dataclasses` pulls in `inspect` with `ast`, `dis` and `tokenize`: together about a third of
the wrapper's start.  Here only `__init__` is generated, with the standard one's parameters, defaults,
annotations and body (so its signature and its TypeErrors are the standard ones); `__repr__`, `__eq__`, `__hash__`, `__setattr__` and
`__delattr__` are closures that behave as the generated ones, and `__dataclass_fields__` /
`__dataclass_params__` are made on first use by the standard decorator applied to a copy of the class, so
`dataclasses.fields`, `asdict`, `replace` and `is_dataclass` work unchanged.  mypy sees the standard
decorator: the modules import this one only when not TYPE_CHECKING.

Covers what the wrapper uses: `@dataclass` and `@dataclass(frozen=True)`, plain defaults and
`field(default_factory=...)`, annotations as strings (`from __future__ import annotations`).
"""

from __future__ import annotations

import _thread
from types import FunctionType

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["field", "dataclass"]


class _Factory:
    """What `field(default_factory=...)` stands for until the class is made."""

    def __init__(self, factory: Callable[[], object]) -> None:
        self.factory = factory


def field(*, default_factory: Callable[[], object]) -> Any:
    return _Factory(default_factory)


class _HasDefaultFactory:
    def __repr__(self) -> str:
        return "<factory>"


_HAS_DEFAULT_FACTORY = _HasDefaultFactory()  # the default of a factory field in __init__'s signature
_NO_DEFAULT = object()


def dataclass(cls: type | None = None, *, frozen: bool = False) -> Any:
    """`@dataclass` or `@dataclass(frozen=True)`."""
    if cls is None:
        return lambda c: _make(c, frozen)
    return _make(cls, frozen)


def _make(cls: type, frozen: bool) -> type:
    annotations: dict[str, str] = cls.__dict__.get("__annotations__", {})
    names = tuple(annotations)
    defaults: dict[str, object] = {name: cls.__dict__[name] for name in names if name in cls.__dict__}
    for name, default in defaults.items():
        if isinstance(default, _Factory):
            delattr(cls, name)  # as the standard decorator does: no class attribute for a factory field
    _set(cls, "__init__", _init(cls, names, annotations, defaults, frozen))
    _set(cls, "__repr__", _repr(names))
    _set(cls, "__eq__", _eq(names))
    if frozen:
        _set(cls, "__hash__", _hash(names))
        _set(cls, "__setattr__", _setattr(cls, names))
        _set(cls, "__delattr__", _delattr(cls, names))
    else:
        cls.__hash__ = None  # type: ignore[assignment]  # eq without frozen: unhashable, as standard
    for attr in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__"):
        fn = cls.__dict__.get(attr)
        if fn is not None:
            fn.__qualname__ = f"{cls.__qualname__}.{fn.__name__}"
    setattr(cls, "__match_args__", names)
    for attr in ("__dataclass_fields__", "__dataclass_params__"):
        setattr(cls, attr, _Standard(attr, annotations, defaults, frozen))
    return cls


def _set(cls: type, name: str, value: object) -> None:
    if name not in cls.__dict__:  # as the standard decorator: what the class defines itself stays
        setattr(cls, name, value)


def _init(cls: type, names: tuple[str, ...], annotations: dict[str, str], defaults: dict[str, object],
          frozen: bool) -> Callable[..., None]:
    """The standard decorator's __init__: the same parameters, defaults, annotations and body.  Compiled as a
    bare `def` (one compile, the wrapper's main start-up cost left in this module): the defaults and the
    annotations are set on the function afterwards rather than spelled in its source, and the helpers the
    body needs are its globals rather than a closure, which halves the compile."""
    helpers: dict[str, object] = {"__dataclass_HAS_DEFAULT_FACTORY__": _HAS_DEFAULT_FACTORY,
                                  "__dataclass_builtins_object__": object}
    body: list[str] = []
    signature_defaults: list[object] = []
    for name in names:
        value = name
        default = defaults.get(name, _NO_DEFAULT)
        if default is _NO_DEFAULT and signature_defaults:  # what compiling the defaults in would have caught
            raise TypeError(f"non-default argument {name!r} follows default argument")
        if isinstance(default, _Factory):
            helpers[f"__dataclass_dflt_{name}__"] = default.factory
            signature_defaults.append(_HAS_DEFAULT_FACTORY)
            value = f"__dataclass_dflt_{name}__() if {name} is __dataclass_HAS_DEFAULT_FACTORY__ else {name}"
        elif default is not _NO_DEFAULT:
            signature_defaults.append(default)
        body.append(f" __dataclass_builtins_object__.__setattr__(self,{name!r},{value})" if frozen
                    else f" self.{name}={value}")
    source = f"def __init__(self, {', '.join(names)}):\n" + "\n".join(body or [" pass"]) + "\n"
    exec(compile(source, "<string>", "exec", dont_inherit=True), helpers)  # not this module's __future__
    init = helpers.pop("__init__")
    assert isinstance(init, FunctionType)
    init.__defaults__ = tuple(signature_defaults) or None
    init.__annotations__ = {**{name: annotations[name] for name in names}, "return": None}
    return init


def _repr(names: tuple[str, ...]) -> Callable[[object], str]:
    running: set[tuple[int, int]] = set()

    def __repr__(self: object) -> str:
        key = (id(self), _thread.get_ident())
        if key in running:
            return "..."
        running.add(key)
        try:
            return (self.__class__.__qualname__ + "("
                    + ", ".join(f"{name}={getattr(self, name)!r}" for name in names) + ")")
        finally:
            running.discard(key)
    return __repr__


def _eq(names: tuple[str, ...]) -> Callable[[object, object], Any]:
    def __eq__(self: object, other: object) -> Any:
        if other.__class__ is self.__class__:
            return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)
        return NotImplemented
    return __eq__


def _hash(names: tuple[str, ...]) -> Callable[[object], int]:
    def __hash__(self: object) -> int:
        return hash(tuple(getattr(self, n) for n in names))
    return __hash__


def _setattr(cls: type, names: tuple[str, ...]) -> Callable[[Any, str, object], None]:
    def __setattr__(self: Any, name: str, value: object) -> None:
        if type(self) is cls or name in names:
            from dataclasses import FrozenInstanceError
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)  # type: ignore[arg-type]
    return __setattr__


def _delattr(cls: type, names: tuple[str, ...]) -> Callable[[Any, str], None]:
    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            from dataclasses import FrozenInstanceError
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)  # type: ignore[arg-type]
    return __delattr__


class _Standard:
    """`__dataclass_fields__` or `__dataclass_params__` until first asked for: then the standard decorator
    makes both (from a copy of the class's fields) and they replace these on the class."""

    def __init__(self, attr: str, annotations: dict[str, str], defaults: dict[str, object], frozen: bool) -> None:
        self.attr = attr
        self.annotations = annotations
        self.defaults = defaults
        self.frozen = frozen

    def __get__(self, obj: object, owner: type) -> Any:
        import dataclasses

        namespace: dict[str, object] = {"__module__": owner.__module__, "__qualname__": owner.__qualname__,
                                        "__annotations__": dict(self.annotations)}
        for name, default in self.defaults.items():
            namespace[name] = (dataclasses.field(default_factory=default.factory)
                               if isinstance(default, _Factory) else default)
        copy: type = dataclasses.dataclass(frozen=self.frozen)(type(owner.__name__, (), namespace))
        for attr in ("__dataclass_fields__", "__dataclass_params__"):
            setattr(owner, attr, getattr(copy, attr))
        return getattr(owner, self.attr)
