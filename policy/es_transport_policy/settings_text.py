"""An elasticsearch.yml text as Elasticsearch reads it: flattened settings, or why it cannot be
read.

Elasticsearch reads elasticsearch.yml with Jackson's YAML parser (over SnakeYAML, YAML 1.1) and
Settings.fromXContent: a number is stored as its text (`parser.text()`: `010`, `1.50`, `0x1F`
stay so), Jackson knows no timestamps (text too), null and YAML 1.1's booleans read as in
PyYAML (a boolean is stored as "true"/"false"). A document that is not a map it refuses
("expecting token of type [START_OBJECT]"); an empty one holds no settings.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import yaml

_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# An elasticsearch.yml holds tens of settings; one with more is not read.
MAX_SETTINGS = 10_000


class TooManySettingsError(ValueError):
    """A settings document past `flatten`'s limit."""


def flatten(
    obj: Mapping[str, Any], prefix: str = "", *, limit: int | None = None
) -> dict[str, Any]:
    """Nested maps as dotted keys, depth first. Iterative: YAML nests up to a thousand levels
    deep, past Python's recursion limit. With `limit`, reading more than `limit` keys (in all
    maps) raises TooManySettingsError: YAML aliases can make a map hold itself, or a few lines
    hold 2**n settings."""
    flat: dict[str, Any] = {}
    todo: list[tuple[str, Iterator[tuple[Any, Any]]]] = [(prefix, iter(obj.items()))]
    read = 0
    while todo:
        at, items = todo[-1]
        item = next(items, None)
        if item is None:
            todo.pop()
            continue
        read += 1
        if limit is not None and read > limit:
            raise TooManySettingsError(f"more than {limit} settings")
        key, value = item
        name = f"{at}{key}"
        if isinstance(value, Mapping):
            todo.append((name + ".", iter(value.items())))
        else:
            flat[name] = value
    return flat


def _scalar_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


def _boolean(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool | str:
    """A `!!bool` scalar: a YAML 1.1 boolean in any casing (Jackson's equalsIgnoreCase), else
    its text (Jackson: a string), where PyYAML's constructor raised KeyError."""
    text = loader.construct_scalar(node)
    value: bool | None = loader.bool_values.get(text.lower())
    return text if value is None else value


# PyYAML's safe loader with numbers and timestamps (implicit or tagged) as their text, and
# `!!bool` on a word that is no boolean as that word.
_SETTINGS_LOADER: type[yaml.SafeLoader] = type("SettingsLoader", (_SAFE_LOADER,), {})
for _tag in ("int", "float", "timestamp"):
    _SETTINGS_LOADER.add_constructor(f"tag:yaml.org,2002:{_tag}", _scalar_text)
_SETTINGS_LOADER.add_constructor("tag:yaml.org,2002:bool", _boolean)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's own words, on one line, with the line and column where it has them (no text
    that differs from run to run)."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem is not None:
        context = f"{error.context}: " if error.context else ""
        mark = error.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        return f"{context}{error.problem}{where}"
    return " ".join(str(error).split())


@lru_cache(maxsize=4096)
def read(text: str) -> dict[str, Any] | str:
    """Flattened settings of one elasticsearch.yml text, or why they cannot be read. Several
    stack rules read the same bundles' settings, each once per policy (AnalyzeStack spent a
    quarter of its time in the pure-Python YAML parser, docs/benchmarks.md), hence the cache
    and libyaml's parser where PyYAML was built with it."""
    try:
        loaded = yaml.load(text, Loader=_SETTINGS_LOADER)
    except yaml.YAMLError as error:
        return f"is not YAML: {_yaml_problem(error)}"
    if loaded is None:
        return {}  # empty, or comments only
    if not isinstance(loaded, Mapping):
        kind = "list" if isinstance(loaded, list) else "scalar"
        return (f"is a YAML {kind}, not a map of settings (Elasticsearch refuses it: "
                "\"expecting token of type [START_OBJECT]\")")
    try:
        return flatten(loaded, limit=MAX_SETTINGS)
    except TooManySettingsError:
        return (f"holds more than {MAX_SETTINGS} settings (YAML aliases can make a few lines "
                "hold 2**n), more than the pack reads")
