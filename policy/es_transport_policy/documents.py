"""Where Elasticsearch settings and key material appear in a resource's properties.

* ECK `Elasticsearch`: `spec.nodeSets[].config` (nested or dotted keys);
* Kubernetes ConfigMap/Secret: an `elasticsearch.yml` key in `data`/`stringData`/`binaryData`
  (Secret `data` and ConfigMap `binaryData` are base64);
* the project's VM bundles: `files` (and the HTTP layer's `httpFiles`) map relative paths to
  `{"content", "mode"}`.
"""

from __future__ import annotations

import base64
import posixpath
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from . import tokens
from .values import UNKNOWN, Unknown, as_list, as_map, is_unknown, path

YML = "elasticsearch.yml"
TRANSPORT_SSL = "xpack.security.transport.ssl."
PROFILES = "transport.profiles."
PROFILE_SSL = "xpack.security.ssl."
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# An elasticsearch.yml holds tens of settings; one with more is not read (as if not YAML).
MAX_SETTINGS = 10_000


@dataclass(frozen=True)
class Entry:
    """One named piece of text a resource carries (a data key, a bundle file)."""

    where: str
    key: str
    text: str | Unknown
    mode: str | Unknown | None = None


@dataclass(frozen=True)
class SettingsDoc:
    """Flattened Elasticsearch settings (dotted keys) found at `where`."""

    where: str
    settings: dict[str, Any] | Unknown
    eck: bool


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


def _decode(value: Any) -> str | Unknown | None:
    """The text of a base64 value (Secret `data`, ConfigMap `binaryData`) as the API server
    decodes it (Go's encoding/json: standard alphabet, line breaks ignored, as `base64` writes
    them every 76 characters); None when it is not base64 (the API server refuses the object)
    or not UTF-8 text."""
    if is_unknown(value):
        return UNKNOWN
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value.replace("\r", "").replace("\n", ""), validate=True).decode()
    # binascii.Error, and the ValueError of a str with non-ASCII characters (never base64).
    except (ValueError, UnicodeDecodeError):
        return None


def entries(type_: str, props: dict[str, Any]) -> list[Entry]:
    found: list[Entry] = []
    if type_ in (tokens.CONFIG_MAP, tokens.SECRET):
        encoded = "data" if type_ == tokens.SECRET else "binaryData"
        plain_fields = ["stringData"] if type_ == tokens.SECRET else ["data"]
        data = props.get(encoded)
        for key, value in as_map(data).items():
            text = _decode(value)
            if text is not None:
                found.append(Entry(f"{encoded}[{key}]", key, text))
        for field_name in plain_fields:
            for key, value in as_map(props.get(field_name)).items():
                if isinstance(value, str | Unknown):
                    found.append(Entry(f"{field_name}[{key}]", key, value))
    elif tokens.is_bundle(type_, props):
        for field_name in tokens.BUNDLE_FILES:
            for key, spec in as_map(props.get(field_name)).items():
                content, mode = path(spec, "content"), path(spec, "mode")
                if isinstance(content, str | Unknown):
                    found.append(Entry(f"{field_name}[{key}]", key, content, mode))
    return found


def transport_ssl_scope(key: str) -> tuple[str | None, str] | None:
    """(profile, setting) of a transport SSL setting `key`: profile None under
    `xpack.security.transport.ssl.`, else the named transport profile whose own
    `transport.profiles.<name>.xpack.security.ssl.` it is under (its own port,
    ProfileConfigurations); the setting is what follows (`key`, `certificate_authorities`, ...).
    None for any other key. The `default` profile's SSL settings are none: Elasticsearch
    refuses to start with them (es-transport-mtls says so)."""
    if key.startswith(TRANSPORT_SSL):
        return None, key[len(TRANSPORT_SSL):]
    if key.startswith(PROFILES):
        name, _, rest = key[len(PROFILES):].partition(".")
        if name != "default" and rest.startswith(PROFILE_SSL):
            return name, rest[len(PROFILE_SSL):]
    return None


def transport_ssl_setting(key: str) -> str | None:
    """The transport SSL setting `key` sets, in any scope (`transport_ssl_scope`)."""
    scope = transport_ssl_scope(key)
    return None if scope is None else scope[1]


def is_transport_ssl(key: str) -> bool:
    return transport_ssl_setting(key) is not None


def _scalar_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


# Elasticsearch reads elasticsearch.yml with Jackson's YAML parser and stores a number as its
# text (Settings.fromXContent puts `parser.text()`: `010`, `1.50`, `0x1F`, `1_000` stay so) and
# knows no timestamps (text too); null and YAML 1.1's booleans it reads as PyYAML does (a
# boolean it stores as "true"/"false"). So this loader is PyYAML's safe loader with the
# numbers and timestamps (implicit or tagged) constructed as their text.
_SETTINGS_LOADER: type[yaml.SafeLoader] = type("SettingsLoader", (_SAFE_LOADER,), {})
for _tag in ("int", "float", "timestamp"):
    _SETTINGS_LOADER.add_constructor(f"tag:yaml.org,2002:{_tag}", _scalar_text)


def parse_settings(text: str | Unknown) -> dict[str, Any] | Unknown | None:
    if is_unknown(text):
        return UNKNOWN
    assert isinstance(text, str)
    parsed = _parsed_settings(text)
    # A copy: the cached document is shared by every rule and every call.
    return None if parsed is None else dict(parsed)


@lru_cache(maxsize=4096)
def _parsed_settings(text: str) -> dict[str, Any] | None:
    """Flattened settings of one elasticsearch.yml text. Several stack rules read the same
    bundles' settings, each once per policy (AnalyzeStack spent a quarter of its time in the
    pure-Python YAML parser, docs/benchmarks.md), hence the cache and libyaml's parser where
    PyYAML was built with it (`_SETTINGS_LOADER`: values as Elasticsearch reads them). None:
    not YAML, or more than MAX_SETTINGS settings."""
    try:
        loaded = yaml.load(text, Loader=_SETTINGS_LOADER)
        return flatten(loaded, limit=MAX_SETTINGS) if isinstance(loaded, Mapping) else {}
    except (yaml.YAMLError, TooManySettingsError):
        return None


def settings_documents(type_: str, props: dict[str, Any]) -> list[SettingsDoc]:
    if tokens.is_elasticsearch(type_):
        node_sets = path(props, "spec", "nodeSets")
        if is_unknown(node_sets):
            return [SettingsDoc("spec.nodeSets", UNKNOWN, eck=True)]
        docs: list[SettingsDoc] = []
        for index, node_set in enumerate(as_list(node_sets)):
            config = path(node_set, "config")
            where = f"spec.nodeSets[{index}].config"
            settings = UNKNOWN if is_unknown(config) else flatten(as_map(config))
            docs.append(SettingsDoc(where, settings, eck=True))
        return docs
    docs = []
    for entry in entries(type_, props):
        if entry.key.endswith(YML):
            parsed = parse_settings(entry.text)
            if parsed is not None:
                docs.append(SettingsDoc(entry.where, parsed, eck=False))
    return docs


def _named_paths(
    type_: str, props: dict[str, Any], named: Callable[[str], bool]
) -> list[tuple[str, str]]:
    """(setting, path) for every path the resource's settings give in a setting `named`
    accepts (a path setting, or a list of paths)."""
    found: list[tuple[str, str]] = []
    for doc in settings_documents(type_, props):
        if isinstance(doc.settings, dict):
            for setting, value in doc.settings.items():
                if named(setting):
                    paths = [value] if isinstance(value, str) else as_list(value)
                    found += [(setting, p) for p in paths if isinstance(p, str)]
    return found


def _names(path_: str, key: str) -> bool:
    """Whether a settings path (relative to the config directory, or absolute) names the entry
    with relative path `key`."""
    return key == path_ or path_.endswith("/" + key) or key.endswith("/" + path_)


def referenced_entries(
    type_: str, props: dict[str, Any], named: Callable[[str], bool]
) -> list[Entry]:
    """Entries (bundle files) that the resource's elasticsearch.yml names in a setting `named`
    accepts (paths relative to the config directory)."""
    paths = [p for _, p in _named_paths(type_, props, named)]
    return [entry for entry in entries(type_, props) if any(_names(p, entry.key) for p in paths)]


def named_files(
    type_: str, props: dict[str, Any], named: Callable[[str], bool]
) -> dict[str, list[str]]:
    """The files that settings `named` accepts name, resolved without reading any content:
    the entry's relative path where a path names an entry of the resource, else the path as
    given (normalised), each mapped to the settings naming it."""
    keys = [entry.key for entry in entries(type_, props)]
    found: dict[str, list[str]] = {}
    for setting, given in _named_paths(type_, props, named):
        for file in [k for k in keys if _names(given, k)] or [posixpath.normpath(given)]:
            found.setdefault(file, []).append(setting)
    return found
