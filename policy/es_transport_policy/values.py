"""Plain values from what pulumi-policy hands a policy, with unknowns made explicit.

pulumi-policy wraps properties in proxies that raise `UnknownValueError` when an unknown
(preview-time) value is read; the SDK turns that into an advisory "can't run policy during
preview". Rules here need finer control (skip one check, keep the others), so properties are
copied into plain dicts/lists once, with every unknown replaced by the `UNKNOWN` marker.
Secret wrappers are already gone at this point: the SDK unwraps them (see README, "Secrets").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from pulumi_policy.proxy import UnknownValueError


class Unknown:
    """A value that is not known at preview (computed from another resource's outputs)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = Unknown()


def substituted_at_startup(text: object) -> bool:
    """Whether Elasticsearch completes `text` only when it starts (a `${VAR}` it replaces with
    the environment variable's value): nothing here can tell what it becomes."""
    return isinstance(text, str) and "${" in text


def plain(value: Any) -> Any:
    """A deep copy of `value` with unknowns replaced by `UNKNOWN`."""
    if isinstance(value, str | bytes):
        return value
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key in value:
            try:
                result[str(key)] = plain(value[key])
            except UnknownValueError:
                result[str(key)] = UNKNOWN
        return result
    if isinstance(value, Sequence):
        items: list[Any] = []
        for index in range(len(value)):
            try:
                items.append(plain(value[index]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return value


def is_unknown(value: object) -> bool:
    return isinstance(value, Unknown)


def contains_unknown(value: object) -> bool:
    if isinstance(value, Unknown):
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def texts(value: object) -> list[str]:
    """Every string in `value` (maps' values, lists' items), depth first. Iterative: a value
    may nest past Python's recursion limit."""
    found: list[str] = []
    todo = [value]
    while todo:
        current = todo.pop()
        if isinstance(current, str):
            found.append(current)
        elif isinstance(current, Mapping):
            todo += reversed(list(current.values()))
        elif isinstance(current, list):
            todo += reversed(current)
    return found


def path(value: object, *keys: str | int) -> Any:
    """`value[k1][k2]...`, or None when a step is missing; UNKNOWN when a step is unknown."""
    current: Any = value
    for key in keys:
        if isinstance(current, Unknown):
            return UNKNOWN
        if isinstance(key, int):
            if not isinstance(current, list) or not -len(current) <= key < len(current):
                return None
            current = current[key]
        else:
            if not isinstance(current, Mapping):
                return None
            current = current.get(key)
    return current


def as_map(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def as_list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def number(value: object) -> int | float | None:
    """`value` if it is a number (JSON's: a boolean is none), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


class _Named:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


def _quotable(value: object) -> object:
    if isinstance(value, Mapping):
        return {key: _quotable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_quotable(item) for item in value]
    if value is None or isinstance(value, str | int | float | Unknown):
        return value
    return _Named(type(value).__name__)


def shown(value: object) -> str:
    """`value` as a message quotes it: its repr, with any other object than plain data (an
    asset or archive the engine sent) by its type name; repr's `<... at 0x...>` would make
    the same request's diagnostics differ from call to call."""
    return repr(_quotable(value))


def setting_boolean(value: object) -> bool | Unknown | None:
    """A boolean setting's value as Elasticsearch parses it: a YAML/JSON boolean, or exactly
    the text "true" or "false" (Booleans.parseBoolean, elastic/elasticsearch libs/core; a YAML
    1.1 boolean such as an unquoted `yes` reaches it as "true"). None for anything else, on
    which Elasticsearch refuses to start: "yes" or "True" quoted, " true", 1, a list."""
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, bool):
        return value
    return {"true": True, "false": False}.get(value) if isinstance(value, str) else None
