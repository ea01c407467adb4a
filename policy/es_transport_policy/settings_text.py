"""An elasticsearch.yml text as Elasticsearch reads it: flattened settings, or why it cannot be
read.

Elasticsearch loads elasticsearch.yml with `Settings.builder().loadFromPath`, i.e.
`loadFromStream(..., acceptNullValues=false)`: Jackson's YAML parser (over SnakeYAML's event
parser, YAML 1.1) feeds `Settings.fromXContent` token by token (elastic/elasticsearch
server/.../common/settings/Settings.java). So this reads libyaml's *events*, as Jackson reads
SnakeYAML's, never PyYAML's composed document:

* a map's keys are field names, the text as written (`true:` is "true", `yes:` "yes", `1.0:`
  "1.0"); its values settings under `key.`, scalars as `yaml_scalars`; a list is a list of
  texts, a boolean in it as written (`[yes, on]`; Settings.fromXContent adds `parser.text()`
  where a map value becomes "true"/"false");
* an alias (`*name`) is not expanded: Jackson's YAMLParser returns an Alias event as the text
  of the anchor's name (VALUE_STRING), so `<<: *base` is the setting `<<` = "base", not a
  merge, and a map holding itself is two settings;
* a file with no document (empty, comments only) holds no settings; a document that is not a
  map, null included (`~`), Elasticsearch refuses ("expecting token of type [START_OBJECT]").
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import yaml

from . import yaml_scalars
from .yaml_scalars import RefusedError, position, where

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# An elasticsearch.yml holds tens of settings; one with more is not read.
MAX_SETTINGS = 10_000
_SKIPPED = (yaml.DocumentStartEvent, yaml.DocumentEndEvent)


def flatten(obj: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested maps as dotted keys, depth first. Iterative: a map may nest a thousand levels
    deep, past Python's recursion limit."""
    flat: dict[str, Any] = {}
    todo: list[tuple[str, Iterator[tuple[Any, Any]]]] = [(prefix, iter(obj.items()))]
    while todo:
        at, items = todo[-1]
        item = next(items, None)
        if item is None:
            todo.pop()
            continue
        key, value = item
        name = f"{at}{key}"
        if isinstance(value, Mapping):
            todo.append((name + ".", iter(value.items())))
        else:
            flat[name] = value
    return flat


def _next(loader: Any) -> yaml.Event:
    """The next event that is not a document start or end (Jackson skips them)."""
    event: yaml.Event = loader.get_event()
    while isinstance(event, _SKIPPED):
        event = loader.get_event()
    return event


def _not_a_map(loader: Any, event: yaml.Event) -> str:
    """Why a document whose first event is `event` (not a map) is refused. A document that is
    null (`~`, `null`, or `---` with nothing after it) is one too: loadFromStream takes only a
    stream with no token at all for an empty file, and Jackson gives such a document the token
    VALUE_NULL, which fromXContent's ensureExpectedToken(START_OBJECT) refuses."""
    if isinstance(event, yaml.SequenceStartEvent):
        kind = "list"
    elif isinstance(event, yaml.ScalarEvent) and yaml_scalars.value(loader, event) is None:
        kind = "null (`~`, `null`, or a document start with nothing after it)"
    else:
        kind = "scalar"
    return (f"is a YAML {kind}, not a map of settings (Elasticsearch refuses it: "
            "\"expecting token of type [START_OBJECT]\")")


def _key(event: yaml.Event) -> str:
    if not isinstance(event, yaml.ScalarEvent):
        raise RefusedError(
            f"has a map key that is not text ({where(event)}): Elasticsearch refuses it "
            "(Jackson: \"Expected a field name (Scalar value in YAML)\")")
    return str(event.value)  # as written: `true:` is the key "true", `yes:` "yes", `~:` "~"


def _list(loader: Any) -> list[Any]:
    """A list's items, as Settings.fromXContent keeps them (the SequenceStart is read)."""
    items: list[Any] = []
    event = loader.get_event()
    while not isinstance(event, yaml.SequenceEndEvent):
        if isinstance(event, yaml.AliasEvent):
            items.append(event.anchor)
        elif isinstance(event, yaml.ScalarEvent) and (
                item := yaml_scalars.value(loader, event)) is not None:
            # A boolean is kept as written (`list.add(String.valueOf(parser.text()))`).
            items.append(event.value if isinstance(item, bool) else item)
        else:
            raise RefusedError(
                f"has a list holding a map, a list or null ({where(event)}): Elasticsearch "
                "refuses it (\"only value lists are allowed in serialized settings\")")
        event = loader.get_event()
    return items


def _duplicate(key: str, event: yaml.Event) -> RefusedError:
    return RefusedError(
        f"has the key {key!r} twice in one map ({where(event)}): Elasticsearch refuses to start "
        f"on it (Jackson's strict duplicate detection: \"Duplicate field '{key}'\"), so neither "
        "value holds")


def _null(name: str, event: yaml.Event) -> RefusedError:
    """A setting with no value (`key:`, `key: ~`, `key: null`): loadFromPath reads with
    acceptNullValues false, and Settings.validateValue refuses it."""
    return RefusedError(
        f"leaves the setting {name!r} without a value ({where(event)}): Elasticsearch refuses "
        f"to start on it (\"null-valued setting found for key [{name}]\"); an empty or `~` "
        "value is null in YAML, not unset")


def _settings(loader: Any) -> dict[str, Any]:
    """Settings.fromXContent over the events of a map whose MappingStart is read: iterative,
    since a map may nest a thousand levels deep. A key twice in one map is refused (Jackson's
    STRICT_DUPLICATE_DETECTION, which Elasticsearch's YamlXContentImpl turns on); one setting
    written once flat and once nested (`a.b:` and `a: {b:}`) is two keys of different maps,
    and the later value holds (Settings.Builder.put replaces, validateValue checks only for
    null), as here."""
    flat: dict[str, Any] = {}
    maps: list[tuple[str, set[str]]] = [("", set())]
    read = 0
    while maps:
        event = loader.get_event()
        if isinstance(event, yaml.MappingEndEvent):
            maps.pop()
            continue
        read += 1
        if read > MAX_SETTINGS:
            raise RefusedError(f"holds more than {MAX_SETTINGS} settings, more than the pack "
                               "reads")
        prefix, keys = maps[-1]
        key = _key(event)
        if key in keys:
            raise _duplicate(key, event)
        keys.add(key)
        name = prefix + key
        event = loader.get_event()
        if isinstance(event, yaml.MappingStartEvent):
            maps.append((name + ".", set()))
        elif isinstance(event, yaml.SequenceStartEvent):
            flat[name] = _list(loader)
        elif isinstance(event, yaml.AliasEvent):
            flat[name] = event.anchor
        elif (value := yaml_scalars.value(loader, event)) is None:
            raise _null(name, event)
        else:
            flat[name] = value
    return flat


def _document(loader: Any) -> dict[str, Any]:
    """The settings of the one document in the stream (the StreamStart is read)."""
    event = _next(loader)
    if isinstance(event, yaml.StreamEndEvent):
        return {}  # empty, or comments only
    if not isinstance(event, yaml.MappingStartEvent):
        raise RefusedError(_not_a_map(loader, event))
    settings = _settings(loader)
    event = _next(loader)
    if not isinstance(event, yaml.StreamEndEvent):
        raise RefusedError(
            f"holds more than one YAML document ({where(event)}): Elasticsearch refuses it "
            "(\"malformed, expected end of settings but encountered additional content\")")
    return settings


def _yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's own words, on one line, with the line and column where it has them (no text
    that differs from run to run)."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem is not None:
        context = f"{error.context}: " if error.context else ""
        at = position(error.problem_mark)
        return f"{context}{error.problem}{f' ({at})' if at else ''}"
    return " ".join(str(error).split())


@lru_cache(maxsize=4096)
def read(text: str) -> dict[str, Any] | str:
    """Flattened settings of one elasticsearch.yml text, or why they cannot be read. Several
    stack rules read the same bundles' settings, each once per policy (AnalyzeStack spent a
    quarter of its time in the pure-Python YAML parser, docs/benchmarks.md), hence the cache
    and libyaml's parser where PyYAML was built with it."""
    loader: Any = _LOADER(text)
    try:
        loader.get_event()  # StreamStart
        return _document(loader)
    except yaml.YAMLError as error:
        return f"is not YAML: {_yaml_problem(error)}"
    except RefusedError as why:
        return str(why)
    finally:
        loader.dispose()
