"""A reference's value and its forms, read once for the wrapper (step results) and the supervisor (task results).

A value's text is read as Tekton reads a result (`ResultValue.UnmarshalJSON`): a JSON array of strings is an
array, a JSON object of strings an object, a JSON string its text, anything else the text as it is.  A
reference names a value and a form (resultref.ParseStepExpression, resultref.parseExpression): `$(R)` a
string, `$(R[*])` a whole array, `$(R[i])` one element, `$(R.key)` one value of an object.  `Unresolved`
says, in one line, why a reference cannot be replaced.  Standard library only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable

__all__ = ["Unresolved", "Value", "form_of", "pattern_for", "substitute", "value_of"]

Value = str | list[str] | dict[str, str]


class Unresolved(Exception):
    """A reference that cannot be replaced (one line saying why)."""


def value_of(text: str) -> Value:
    """The value of a result's text, as Tekton's ResultValue.UnmarshalJSON reads it."""
    if text[:1] in ("[", "{"):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
        if isinstance(value, dict) and all(isinstance(item, str) for item in value.values()):
            return value
    try:
        decoded = json.loads(text)
    except ValueError:
        return text
    return decoded if isinstance(decoded, str) else text


def pattern_for(names: Iterable[str]) -> re.Pattern[str]:
    """`$(<name><form>)` for the given names; group 1 the name, group 2 the form (`[*]`, `[i]`, `.key` or None)."""
    ordered = sorted(set(names), key=len, reverse=True)  # a result named `x.y` before a result `x`'s key y
    alternatives = "|".join(map(re.escape, ordered)) or r"(?!)"
    return re.compile(r"\$\((" + alternatives + r")(\[\*\]|\[\d+\]|\.[^.()\[\]\s]+)?\)")


def form_of(whole: str, part: str, value: Value, where: str = "") -> str | list[str]:
    """`value` in the form `part` asks for (`whole` is the reference as written, for the message)."""
    kind = "an array" if isinstance(value, list) else "an object" if isinstance(value, dict) else "a string"
    if part == "[*]" and isinstance(value, list):
        return value
    if part.startswith("[") and part != "[*]" and isinstance(value, list):
        index = int(part[1:-1])
        if index >= len(value):
            raise Unresolved(f"{whole}: index {index} out of range (the array has {len(value)})")
        return value[index]
    if part.startswith(".") and isinstance(value, dict):
        if part[1:] not in value:
            raise Unresolved(f"{whole}: the object has no key {part[1:]!r}")
        return value[part[1:]]
    if not part and isinstance(value, str):
        return value
    raise Unresolved(f"{whole}: the result is {kind}" + (f" ({where})" if where else ""))


def substitute(text: str, pattern: re.Pattern[str], lookup: Callable[[str], Value], where: str) -> str:
    """`text` with every reference `pattern` finds replaced by its value; a whole array here is refused."""
    def one(match: re.Match[str]) -> str:
        value = form_of(match.group(0), match.group(2) or "", lookup(match.group(1)))
        if isinstance(value, list):
            raise Unresolved(f"{where}: {match.group(0)} is a whole array: it can only be a whole element")
        return value
    return pattern.sub(one, text) if "$(" in text else text
