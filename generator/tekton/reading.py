"""Reading YAML text as Kubernetes reads it: plain data only, aliases bounded, refusals in one line.

Kubernetes decodes YAML through sigs.k8s.io/yaml (go-yaml), which
- reads a date such as `2024-01-01` as the string it is (a Task's fields are strings, never timestamps);
- refuses a document that "contains excessive aliasing" (go-yaml decode.go, allowedAliasRatio): past 100
  aliases and 1,000 decoded nodes, at most 99% of the decoded nodes may come from alias expansion (down to
  10% for documents of 4,000,000 nodes).  A 554-byte "billion laughs" file expands to gigabytes: doll keeps
  go-yaml's counts while walking the composed node graph (where an alias is a shared node), before anything
  is constructed, and stops where go-yaml would;
- refuses an anchor whose value contains itself.
`!!binary`, `!!set`, `!!omap` and `!!pairs` values have no JSON form in a Kubernetes object: refused naming the
line.  An integer too long for Python to read (over 4,300 digits) is refused the same way.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError

from generator.errors import GenerateError

__all__ = ["MAX_DEPTH", "documents"]

_BASE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster than pure-Python parsing
MAX_DEPTH = 200  # nesting: a Task is a few tens deep; Python's recursion (here and in the generator) is not
_LOW, _HIGH = 400_000, 4_000_000  # go-yaml's alias_ratio_range_low and _high


class _Loader(_BASE):  # type: ignore[misc]
    """Safe loading with Kubernetes' readings of timestamps, and one-line refusals of what JSON cannot hold."""


def _string(loader: Any, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))


def _refuse(tag: str) -> Any:
    def construct(loader: Any, node: yaml.Node) -> Any:
        raise ConstructorError(None, None, f"a {tag} value (a Kubernetes object holds only JSON: strings, "
                               "numbers, booleans, lists and objects)", node.start_mark)
    return construct


def _integer(loader: Any, node: Any) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_int(loader, node)
    except ValueError:
        if str(node.value).lstrip("+-").isdigit():
            raise ConstructorError(None, None, f"an integer of {len(str(node.value))} digits is too long to read",
                                   node.start_mark) from None
        raise ConstructorError(None, None, f"{node.value!r} is not a !!int", node.start_mark) from None


def _checked(tag: str, construct: Any) -> Any:
    """A scalar constructor that refuses a value its tag cannot read (`!!float "linux/amd64"`) in one line."""
    def checked(loader: Any, node: Any) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, KeyError, TypeError, OverflowError):
            raise ConstructorError(None, None, f"{str(node.value)[:40]!r} is not a !!{tag}", node.start_mark) \
                from None
    return checked


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _string)
_Loader.add_constructor("tag:yaml.org,2002:int", _integer)
for _tag in ("float", "bool", "null"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}",
                            _checked(_tag, getattr(yaml.SafeLoader, f"construct_yaml_{_tag}")))
for _tag in ("binary", "set", "omap", "pairs"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse(f"!!{_tag}"))


def _allowed_ratio(decoded: int) -> float:
    if decoded <= _LOW:
        return 0.99
    if decoded >= _HIGH:
        return 0.10
    return 0.99 - 0.89 * (decoded - _LOW) / (_HIGH - _LOW)


class _Aliasing:
    """go-yaml's decoder counters (decode.go unmarshal/alias), kept while walking the composed node graph in
    document order: every node decoded counts, and counts as aliased when it is decoded through an alias (an
    alias node itself too, when already inside one).  Checked at each node, as go-yaml does, so a bomb stops
    after a few thousand steps; a document within the ratio expands at most ~100-fold."""

    def __init__(self, where: str) -> None:
        self.where, self.decoded, self.aliased = where, 0, 0
        self.defined: dict[int, tuple[int, int]] = {}  # node -> where it is defined: (parent node, index)
        self.open: set[int] = set()  # nodes whose definition is being walked

    def _count(self, node: yaml.Node, alias_depth: int) -> None:
        self.decoded += 1
        self.aliased += alias_depth > 0
        if self.aliased > 100 and self.decoded > 1000 and self.aliased / self.decoded > _allowed_ratio(self.decoded):
            raise GenerateError(f"{self.where}: line {node.start_mark.line + 1}: the document contains excessive "
                                "aliasing (Kubernetes' YAML decoder refuses it too)")

    def walk(self, node: yaml.Node, at: tuple[int, int], depth: int, alias_depth: int) -> None:
        if depth > MAX_DEPTH:
            raise GenerateError(f"{self.where}: line {node.start_mark.line + 1}: nested more than {MAX_DEPTH} deep")
        if self.defined.setdefault(id(node), at) != at:  # an alias of a node defined elsewhere
            if id(node) in self.open:
                raise GenerateError(f"{self.where}: line {node.start_mark.line + 1}: an anchor's value contains "
                                    "itself")
            self._count(node, alias_depth)
            alias_depth += 1
        self._count(node, alias_depth)
        children = node.value if isinstance(node, yaml.SequenceNode) else \
            [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else []
        self.open.add(id(node))
        for i, child in enumerate(children):
            self.walk(child, (id(node), i), depth + 1, alias_depth)
        self.open.discard(id(node))


def documents(text: str, where: str) -> list[Any]:
    """Every document of one YAML text, as plain data; a YAMLError is the caller's to word."""
    loader = _Loader(text)
    out: list[Any] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            _Aliasing(where).walk(node, (0, 0), 0, 0)
            out.append(loader.construct_document(node))
    except RecursionError:
        raise GenerateError(f"{where}: nested too deep") from None
    finally:
        loader.dispose()
    return out
