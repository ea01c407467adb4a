"""Where Elasticsearch settings and key material appear in a resource's properties.

* ECK `Elasticsearch`: `spec.nodeSets[].config` (nested or dotted keys), and the env
  (`env_setting`) and command line (`-E`) of the nodeSet's `elasticsearch` container, as kubelet
  passes them (`_environment`, `expand`; what `envFrom`/`valueFrom` read needs the stack:
  `stack_env_documents`);
* ECK `StackConfigPolicy`: `spec.elasticsearch.config` (ECK merges it into elasticsearch.yml);
* Kubernetes ConfigMap/Secret (or a Patch of one): an `elasticsearch.yml` key in
  `data`/`stringData`/`binaryData` (Secret `data` and ConfigMap `binaryData` are base64);
* the project's VM bundles: `files` (and the HTTP layer's `httpFiles`) map relative paths to
  `{"content", "mode"}`.
"""

from __future__ import annotations

import base64
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import command_line, settings_text, tokens
from .settings_text import flatten
from .values import UNKNOWN, Unknown, as_list, as_map, is_unknown, path

YML = "elasticsearch.yml"
NODE_SET_CONFIG = "nodeSets[].config"
TRANSPORT_SSL = "xpack.security.transport.ssl."
PROFILES = "transport.profiles."
PROFILE_SSL = "xpack.security.ssl."


@dataclass(frozen=True)
class Entry:
    """One named piece of text a resource carries (a data key, a bundle file)."""

    where: str
    key: str
    text: str | Unknown | None  # None: bytes that are no UTF-8 text (see `data`)
    mode: Any = None  # as given (a bundle file's); the project's provider takes "0600" only
    data: bytes | None = None  # the bytes of a base64 value (Secret `data`, `binaryData`)


@dataclass(frozen=True)
class SettingsDoc:
    """Flattened Elasticsearch settings (dotted keys) found at `where`; `source` names the kind
    of place for a message ("elasticsearch.yml", "the container's env", ...)."""

    where: str
    settings: dict[str, Any] | Unknown
    eck: bool
    source: str
    # Settings a node takes beside its elasticsearch.yml (a workload container's env or
    # command line outside ECK): what they leave unset, the file may set.
    partial: bool = False


def _decode(value: Any) -> bytes | Unknown | None:
    """The bytes of a base64 value (Secret `data`, ConfigMap `binaryData`) as the API server
    decodes it (Go's encoding/json: standard alphabet, line breaks ignored, as `base64` writes
    them every 76 characters); None when it is not base64 (the API server refuses the object)."""
    if is_unknown(value):
        return UNKNOWN
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value.replace("\r", "").replace("\n", ""), validate=True)
    # binascii.Error, and the ValueError of a str with non-ASCII characters (never base64).
    except ValueError:
        return None


def _text(data: bytes) -> str | None:
    try:
        return data.decode()
    except UnicodeDecodeError:
        return None


def entries(type_: str, props: dict[str, Any]) -> list[Entry]:
    found: list[Entry] = []
    if type_ in tokens.CONFIG_MAPS + tokens.SECRETS:
        secret = type_ in tokens.SECRETS
        encoded = "data" if secret else "binaryData"
        plain_fields = ["stringData"] if secret else ["data"]
        data = props.get(encoded)
        for key, value in as_map(data).items():
            raw = _decode(value)
            if isinstance(raw, bytes):
                found.append(Entry(f"{encoded}[{key}]", key, _text(raw), data=raw))
            elif is_unknown(raw):
                found.append(Entry(f"{encoded}[{key}]", key, UNKNOWN))
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


def store_sources(type_: str, props: dict[str, Any]) -> dict[str, str]:
    """A VM bundle's known `stores` texts by name (tokens.BUNDLE_STORES): what its PKCS#12
    keystore (node key, certificate) and truststore (`certificateAuthorities`) are built from
    and the node then holds, though no file of `files` shows it."""
    if not tokens.is_bundle(type_, props):
        return {}
    return {name: text for name, text in as_map(props.get(tokens.BUNDLE_STORES)).items()
            if isinstance(text, str)}


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


def parse_settings(text: str | Unknown) -> dict[str, Any] | Unknown | str:
    """The settings of an elasticsearch.yml text (`settings_text.read`), UNKNOWN while the
    text is; a str says why it cannot be read."""
    if is_unknown(text):
        return UNKNOWN
    assert isinstance(text, str)
    parsed = settings_text.read(text)
    # A copy: the cached document is shared by every rule and every call.
    return parsed if isinstance(parsed, str) else dict(parsed)


def _yml_documents(type_: str, props: dict[str, Any]) -> list[tuple[str, Any]]:
    """(where, `parse_settings`) of every elasticsearch.yml the resource carries."""
    return [(entry.where, parse_settings(entry.text))
            for entry in entries(type_, props)
            if entry.key.endswith(YML) and entry.text is not None]


def unreadable_settings(type_: str, props: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, why) of every elasticsearch.yml the resource carries that cannot be read
    (`settings_documents` leaves them out)."""
    return [(where, parsed) for where, parsed in _yml_documents(type_, props)
            if isinstance(parsed, str)]


_ENV_SETTING = re.compile(r"[-a-z0-9_]+(\.[-a-z0-9_]+)+")
_ENV_PREFIX = "ES_SETTING_"
_ENV_UPPER_SETTING = re.compile(r"ES_SETTING(_{1,2}[A-Z0-9]+)+")
# ECK's name for the container Elasticsearch runs in (a podTemplate container of another
# name is a sidecar).
ES_CONTAINER = "elasticsearch"


def env_setting(name: str) -> str | None:
    """The setting an environment variable of Elasticsearch's container sets, as the official
    image reads its environment (EnvironmentAwareCommand, elastic/elasticsearch; Elastic's
    "Install Elasticsearch with Docker"): a lower-case dotted name is the setting itself
    (`xpack.security.enabled`); `ES_SETTING_` + upper case names one with `_` for `.` and `__`
    for `_` (`ES_SETTING_XPACK_SECURITY_TRANSPORT_SSL_CLIENT__AUTHENTICATION`). None for any
    other variable. The program's config check has its twin (components.eck_passthrough: the
    pack imports nothing of the program's); tests/policy/test_env_settings.py holds them to
    one reading."""
    if _ENV_SETTING.fullmatch(name):
        return name
    if not _ENV_UPPER_SETTING.fullmatch(name):
        return None
    return "_".join(part.replace("_", ".")
                    for part in name[len(_ENV_PREFIX):].split("__")).lower()


def expand(text: str, variables: Mapping[str, str | Unknown]) -> str | Unknown:
    """`text` with every `$(NAME)` replaced by the variable's value, as kubelet expands a
    container's env values, `command` and `args` (k8s.io/kubernetes
    third_party/forked/golang/expansion/expand.go: `$$` is `$`; a `$(` without `)` and a `$`
    before any other character stay as written). A reference to a variable not in `variables`
    is unknown: Kubernetes leaves it as written, but variables the pack cannot see may define
    it (ECK's own, `POD_IP`..., service links). UNKNOWN when any reference is."""
    out: list[str] = []
    cursor = 0
    while (dollar := text.find("$", cursor)) != -1 and dollar + 1 < len(text):
        out.append(text[cursor:dollar])
        follows = text[dollar + 1]
        close = text.find(")", dollar + 2) if follows == "(" else -1
        if close == -1:
            out.append("$" if follows == "$" else "$" + follows)
            cursor = dollar + 2
            continue
        value = variables.get(text[dollar + 2:close], UNKNOWN)
        if is_unknown(value):
            return UNKNOWN
        assert isinstance(value, str)
        out.append(value)
        cursor = close + 1
    return "".join(out) + text[cursor:]


# How a variable reaches the container last: an `env` entry, or an `envFrom` object.
ENV, ENV_FROM = "env", "envFrom"


@dataclass(frozen=True)
class _Variable:
    value: Any  # str (another type as given, which the API server refuses), or UNKNOWN
    route: str  # ENV or ENV_FROM


_Environment = dict[str, _Variable] | Unknown


def _texts(variables: _Environment) -> dict[str, str | Unknown]:
    """The variables' values `expand` reads (none while the environment is unknown)."""
    if is_unknown(variables):
        return {}
    assert isinstance(variables, dict)
    return {name: variable.value for name, variable in variables.items()
            if isinstance(variable.value, str | Unknown)}


# The variables a ConfigMap or Secret gives (`env_variables`): (kind, name) of one in the
# container's namespace → variables; UNKNOWN when not known (not in the stack).
EnvSource = Callable[[str, str], "dict[str, Any] | Unknown"]
_REFS = ((tokens.CONFIG_MAP, "configMapRef", "configMapKeyRef"),
         (tokens.SECRET, "secretRef", "secretKeyRef"))


def env_variables(type_: str, props: dict[str, Any]) -> dict[str, Any] | Unknown:
    """The variables `envFrom` loads from a ConfigMap (`data`; kubelet skips `binaryData`) or a
    Secret (`data`, base64, then `stringData`, which the API server writes over it), key by
    key, as `entries` reads them, and the keys `valueFrom` reads; UNKNOWN while a map is. A
    value that is not text (nor base64, in a Secret's `data`) gives none."""
    fields = ("data", "stringData") if type_ in tokens.SECRETS else ("data",)
    if any(is_unknown(props.get(field_name)) for field_name in fields):
        return UNKNOWN
    return {entry.key: entry.text for entry in entries(type_, props) if entry.text is not None
            and entry.where.startswith(tuple(f"{field_name}[" for field_name in fields))}


def _value_from(value_from: Any, source: EnvSource | None) -> Any:
    """The value an `env` entry's `valueFrom` gives (kubelet's makeEnvironmentVariables): the
    key of the ConfigMap (`configMapKeyRef`) or Secret (`secretKeyRef`) `source` holds; None
    when kubelet sets no variable (an `optional` ref to a key the object lacks). UNKNOWN for
    anything else: no stack seen (`source` None), an object the stack does not hold, a missing
    key of a required ref (the container does not start), `fieldRef`/`resourceFieldRef` (the
    pod's and the node's, known when it runs)."""
    for kind, _, field_name in _REFS:
        selector = path(value_from, field_name)
        if selector is None:
            continue
        name, key = path(selector, "name"), path(selector, "key")
        variables = (source(kind, name) if source is not None and isinstance(name, str)
                     else UNKNOWN)
        if is_unknown(variables) or not isinstance(key, str):
            return UNKNOWN
        assert isinstance(variables, dict)
        if key in variables:
            return variables[key]
        return None if path(selector, "optional") is True else UNKNOWN
    return UNKNOWN


def _environment(container: Any, source: EnvSource | None) -> _Environment:
    """The container's variables as kubelet sets them (makeEnvironmentVariables): what
    `envFrom` loads (`env_variables` of prefix + key, a later object winning), then each `env`
    entry in order, a later one winning: its `value` expanded (`expand`) with the variables set
    so far, or else its `valueFrom` (`_value_from`); neither is the empty text. `source` None
    (one resource seen): `envFrom` and `valueFrom` give unknowns. An object not known (named by
    an unknown, not in the stack, its data unknown at preview) may set any variable: what
    earlier ones set is then unknown. UNKNOWN while `env` is."""
    env, env_from = path(container, "env"), path(container, "envFrom")
    if is_unknown(env):
        return UNKNOWN
    variables: dict[str, _Variable] = {}
    for ref in as_list(env_from):
        prefix = path(ref, "prefix") or ""
        for kind, field_name, _ in _REFS:
            if path(ref, field_name) is None:
                continue
            name = path(ref, field_name, "name")
            loaded = (source(kind, name) if source is not None and isinstance(name, str)
                      and isinstance(prefix, str) else UNKNOWN)
            if is_unknown(loaded):
                variables = {key: _Variable(UNKNOWN, ENV_FROM) for key in variables}
                continue
            assert isinstance(loaded, dict)
            variables |= {f"{prefix}{key}": _Variable(value, ENV_FROM)
                          for key, value in loaded.items()}
    for entry in as_list(env):
        name, value = path(entry, "name"), path(entry, "value")
        if not isinstance(name, str):
            continue
        if isinstance(value, str) and value:
            value = expand(value, _texts(variables)) if "$" in value else value
        elif path(entry, "valueFrom") is not None:
            value = _value_from(path(entry, "valueFrom"), source)
            if value is None:
                continue
        elif value is None:
            value = ""
        variables[name] = _Variable(value, ENV)
    return variables


def _env_settings(variables: _Environment, route: str) -> dict[str, Any] | Unknown:
    """The settings (`env_setting`) of the variables that reach the container by `route`."""
    if is_unknown(variables):
        return UNKNOWN
    assert isinstance(variables, dict)
    return {setting: variable.value for name, variable in variables.items()
            if variable.route == route and (setting := env_setting(name)) is not None}


def _arg_settings(container: Any, variables: _Environment) -> dict[str, Any] | Unknown:
    """The settings Elasticsearch reads from its command line (command_line.settings):
    `command` + `args` (no `command`: the image's entrypoint takes `args`), each word expanded
    (`expand`) with the container's `variables` as kubelet expands them."""
    command, args = path(container, "command"), path(container, "args")
    if is_unknown(command) or is_unknown(args):
        return UNKNOWN
    values = _texts(variables)
    return command_line.settings([expand(word, values) if isinstance(word, str) and "$" in word
                                  else word for word in as_list(command) + as_list(args)])


def _es_containers(index: int, node_set: Any) -> list[tuple[str, Any]]:
    """(where, container) of the nodeSet's Elasticsearch container (ECK's name, or one unknown
    at preview; another is a sidecar)."""
    containers = path(node_set, "podTemplate", "spec", "containers")
    return [(f"spec.nodeSets[{index}].podTemplate.spec.containers[{number}]", container)
            for number, container in enumerate(as_list(containers))
            if path(container, "name") in (ES_CONTAINER, UNKNOWN)]


def _learned(
    alone: dict[str, Any] | Unknown, stacked: dict[str, Any] | Unknown
) -> dict[str, Any]:
    """The settings `stacked` knows that `alone` (the resource seen alone) does not."""
    if is_unknown(stacked):
        return {}
    assert isinstance(stacked, dict)
    return {key: value for key, value in stacked.items() if not is_unknown(value)
            and (is_unknown(alone) or is_unknown(as_map(alone).get(key, UNKNOWN)))}


def stack_env_documents(index: int, node_set: Any, source: EnvSource) -> list[SettingsDoc]:
    """The settings of the nodeSet's Elasticsearch container that only the stack's
    ConfigMaps and Secrets (`source`) show, which node_set_documents leaves unknown: what
    `envFrom` loads and no `env` entry overrides, an `env` entry's `valueFrom`, and an `env`
    value or command-line word that takes a `$(VAR)` from either."""
    docs: list[SettingsDoc] = []
    for where, container in _es_containers(index, node_set):
        alone, stacked = _environment(container, None), _environment(container, source)
        for route, settings, what in (
            (ENV_FROM, _learned({}, _env_settings(stacked, ENV_FROM)),
             "the ConfigMap/Secret the container's envFrom loads"),
            (ENV, _learned(_env_settings(alone, ENV), _env_settings(stacked, ENV)),
             "the container's env"),
            ("args", _learned(_arg_settings(container, alone), _arg_settings(container, stacked)),
             "the container's args"),
        ):
            if settings:
                docs.append(SettingsDoc(f"{where}.{route}", settings, eck=True, source=what))
    return docs


def _container_documents(where: str, container: Any, *, eck: bool) -> list[SettingsDoc]:
    """The settings the official image takes from a container's environment and command
    line (as the resource shows them alone)."""
    variables = _environment(container, None)
    return [SettingsDoc(f"{where}.{field_name}", settings, eck=eck,
                        source=f"the container's {field_name}", partial=not eck)
            for field_name, settings in (("env", _env_settings(variables, ENV)),
                                         ("args", _arg_settings(container, variables)))
            if settings]


def node_set_documents(index: int, node_set: Any) -> list[SettingsDoc]:
    """A nodeSet's `config`, and the environment and command line of its Elasticsearch
    container: the official image takes settings from each."""
    config = path(node_set, "config")
    return [SettingsDoc(f"spec.nodeSets[{index}].config",
                        UNKNOWN if is_unknown(config) else flatten(as_map(config)), eck=True,
                        source=NODE_SET_CONFIG)] + [
        doc for where, container in _es_containers(index, node_set)
        for doc in _container_documents(where, container, eck=True)]


def _runs_elasticsearch(container: Any) -> bool:
    """A workload container that runs Elasticsearch: named so, or running an image whose
    repository's last part is `elasticsearch` (docker.elastic.co/elasticsearch/elasticsearch,
    any tag or digest)."""
    image = path(container, "image")
    repository = image.split("@")[0].rsplit("/", 1)[-1].split(":")[0] if isinstance(
        image, str) else None
    return ES_CONTAINER in (path(container, "name"), repository)


def _workload_documents(type_: str, props: dict[str, Any]) -> list[SettingsDoc]:
    """The env and command line of each Elasticsearch container a Kubernetes workload
    (tokens.POD_SPECS) runs outside ECK: partial settings (its elasticsearch.yml holds the
    rest)."""
    at = tokens.POD_SPECS[type_]
    containers = path(props, *at, "containers")
    return [doc for number, container in enumerate(as_list(containers))
            if _runs_elasticsearch(container)
            for doc in _container_documents(f"{'.'.join(at)}.containers[{number}]", container,
                                            eck=False)]


def settings_documents(type_: str, props: dict[str, Any]) -> list[SettingsDoc]:
    if tokens.is_elasticsearch(type_):
        node_sets = path(props, "spec", "nodeSets")
        if is_unknown(node_sets):
            return [SettingsDoc("spec.nodeSets", UNKNOWN, eck=True, source=NODE_SET_CONFIG)]
        return [doc for index, node_set in enumerate(as_list(node_sets))
                for doc in node_set_documents(index, node_set)]
    if type_ in tokens.POD_SPECS:
        return _workload_documents(type_, props)
    if tokens.is_stack_config_policy(type_):
        config = path(props, "spec", "elasticsearch", "config")
        settings = UNKNOWN if is_unknown(config) else flatten(as_map(config))
        where = "spec.elasticsearch.config"
        return [SettingsDoc(where, settings, eck=True, source=where)]
    return [SettingsDoc(where, parsed, eck=False, source=YML)
            for where, parsed in _yml_documents(type_, props) if not isinstance(parsed, str)]


# The list settings that name files (SslConfigurationKeys.getListKeys): the one the pack
# reads paths from.
_PATH_LIST_SETTING = "certificate_authorities"


def setting_paths(setting: str, value: Any) -> list[str]:
    """The paths an SSL setting's `value` names, as Elasticsearch reads them: a YAML list as
    given; a text, for the list setting `certificate_authorities`, split at commas, each part
    trimmed (SslSettingsLoader.getSettingAsList → Settings.getAsList: commaDelimited,
    Strings.splitStringByCommaToArray, `trim()`), so `a.crt, b.crt` names two files; a text
    of another setting (`key`, `certificate`, `keystore.path`: getSettingAsString) whole."""
    if isinstance(value, str):
        if setting.endswith("." + _PATH_LIST_SETTING):
            return [part.strip() for part in value.split(",") if part.strip()]
        return [value]
    return [p for p in as_list(value) if isinstance(p, str)]


def _named_paths(
    type_: str, props: dict[str, Any], named: Callable[[str], bool]
) -> list[tuple[str, str]]:
    """(setting, path) for every path the resource's settings give in a setting `named`
    accepts (`setting_paths`)."""
    found: list[tuple[str, str]] = []
    for doc in settings_documents(type_, props):
        if isinstance(doc.settings, dict):
            for setting, value in doc.settings.items():
                if named(setting):
                    found += [(setting, p) for p in setting_paths(setting, value)]
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
