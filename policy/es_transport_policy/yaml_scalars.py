"""A YAML scalar as Elasticsearch's YAML parser hands it to Settings.fromXContent.

Elasticsearch reads YAML with Jackson's YAMLParser (jackson-dataformats-text), which turns
SnakeYAML's *events* into tokens (YAMLParser._decodeScalar): a plain scalar SnakeYAML's
resolver tags null is VALUE_NULL, one it tags bool is VALUE_TRUE/FALSE where
`_matchYAMLBoolean` (equalsIgnoreCase) knows the word, and anything else (numbers, dates,
quoted text) is text, `parser.text()` as written. An explicit `!!bool` is a boolean when the
word is one, else text; `!!null` on a non-empty scalar is null; `!!binary` is an embedded
object, which Settings.fromXContent refuses ("throwUnknownToken"). libyaml's events and
PyYAML's resolver (YAML 1.1, the same null and boolean words as SnakeYAML's) give the same.
"""

from __future__ import annotations

from typing import Any

import yaml

_YAML_TAG = "tag:yaml.org,2002:"
# YAMLParser._matchYAMLBoolean, compared lower-cased (equalsIgnoreCase).
_BOOLEANS = {"y": True, "n": False, "yes": True, "no": False, "on": True, "off": False,
             "true": True, "false": False}


class RefusedError(ValueError):
    """Why Elasticsearch refuses an elasticsearch.yml (the text says it, for a message)."""


def where(event: yaml.Event) -> str:
    """Where `event` starts, as messages say it (1-based, as Jackson's locations)."""
    return position(event.start_mark)


def position(mark: yaml.Mark | yaml._yaml.Mark | None) -> str:
    """A place in the text, as messages say it: 1-based line and column, or "" unknown."""
    return "" if mark is None else f"line {mark.line + 1}, column {mark.column + 1}"


def value(loader: Any, event: yaml.ScalarEvent) -> str | bool | None:
    """The scalar `event` as Settings.fromXContent receives it: text, a boolean or None
    (VALUE_NULL)."""
    text: str = event.value
    tag = event.tag
    if tag is None or tag == "!":
        resolved = loader.resolve(yaml.ScalarNode, text, event.implicit)
        if resolved == _YAML_TAG + "null":
            return None
        if resolved == _YAML_TAG + "bool":
            return _BOOLEANS.get(text.lower(), text)
        return text
    kind = tag[len(_YAML_TAG):].split(",")[0] if tag.startswith(_YAML_TAG) else tag
    if kind == "binary":
        raise RefusedError(
            f"holds a !!binary value ({where(event)}), which "
            "Elasticsearch refuses (Settings.fromXContent: unknown token VALUE_EMBEDDED_OBJECT)")
    if kind == "bool":
        return _BOOLEANS.get(text.lower(), text)
    if kind == "null" and text:
        return None
    return text
