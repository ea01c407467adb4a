"""The `config:` of the project file `Pulumi.yaml` (project-level config), read as the Pulumi CLI
reads it before it merges it into every stack's config.

Sources (pulumi/pulumi, sdk/go/common/workspace): `LoadProject` (loaders.go) validates the
file, rewrites short forms (`RewriteShorthandConfigValues`) and checks the result
(`Project.Validate`, project.go); `mergeConfig` (config.go, behind
`ValidateStackConfigAndApplyProjectConfig`) merges it into the stack's config and checks the
stack's values against declared types (`validateStackConfigValue`, `ValidateConfigValue`).
What those sources leave open, or that differs between CLI versions, is refused here with the
key named rather than guessed (README, "Project config").
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from components.quoting import quoted
from components.stack_settings import secure_paths
from components.yaml_load import INT64
from harness.stack_file_keys import shown_key

# `simpleConfigType` in project.json.
TYPES = ("string", "integer", "boolean", "array")
_ATTRIBUTES = ("type", "description", "default", "value", "secret", "items")
# Go's strconv.Atoi: an optional sign and decimal digits, within int64 (19 digits at most,
# past leading zeros).
_GO_ATOI = re.compile(r"([-+]?)0*([0-9]{1,19})\Z")
# The CLI looks a key's name up as a property path (`stackConfig.Get(key, true)`): `a.b`, `a[0]`.
_PATH_SYNTAX = re.compile(r"[.\[\]\"]")


@dataclass(frozen=True)
class ItemsType:
    """`items:` of an array: the type of its entries."""

    type: str
    items: ItemsType | None


@dataclass(frozen=True)
class ProjectSetting:
    """One key of `config:`, its short form rewritten to the long form as the CLI does."""

    key: str  # as Pulumi.yaml spells it
    full_key: str  # `<namespace>:<name>`: a name alone takes the project's namespace
    in_project: bool  # the project's namespace: its value is a `default`, it may be typed
    type: str | None
    items: ItemsType | None
    default: Any  # None: not given (a YAML null reads as not given, as in Go)
    value: Any
    secret: bool

    @property
    def given(self) -> Any:
        """What the CLI sets when the stack does not set the key (`default` or `value`)."""
        return self.value if self.default is None else self.default

    def type_label(self) -> str:
        """`InferFullTypeName`: `array<integer>` for an array of integers."""
        return _full_type_name(str(self.type), self.items)


def _full_type_name(type_name: str, items: ItemsType | None) -> str:
    return type_name if items is None else f"array<{_full_type_name(items.type, items.items)}>"


def fits(type_name: str, items: ItemsType | None, value: Any) -> bool:
    """`ValidateConfigValue`: whether `value` (text for a plain value, the parsed structure for
    a list or map) is of the declared type. Text counts as an integer if Go's Atoi reads it, as
    a boolean if it is `true` or `false`."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, str):
            number = _GO_ATOI.match(value)
            return number is not None and int("".join(number.groups())) in INT64
        if isinstance(value, float):
            return value.is_integer()
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if not isinstance(value, list) or items is None:
        return False
    return all(fits(items.type, items.items, item) for item in value)


def _items_type(raw: object, where: str, problems: list[str]) -> ItemsType | None:
    if not isinstance(raw, dict) or not set(raw) <= {"type", "items"}:
        problems.append(f"{where}: must be a map of `type` and, for an array, `items`")
        return None
    kind = raw.get("type")
    if kind not in TYPES:
        problems.append(f"{where}.type: must be one of {', '.join(TYPES)}, not {quoted(kind)}")
        return None
    if kind == "array" and raw.get("items") is None:
        problems.append(f"{where}: an array needs `items`, the type of its entries")
        return None
    items = raw.get("items")
    return ItemsType(str(kind), None if items is None
                     else _items_type(items, f"{where}.items", problems))


def _text_keys(value: object) -> Iterator[object]:
    """Map keys in `value` that are not text: the CLI refuses them in Pulumi.yaml
    (`SimplifyMarshalledValue`: "expected only string keys")."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            yield from (name for name in item if not isinstance(name, str))
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _long_form(key: str, raw: Mapping[object, Any], problems: list[str]) -> dict[str, Any] | None:
    unknown = sorted(shown_key(name) for name in raw if name not in _ATTRIBUTES)
    if unknown:
        problems.append(f"{key}: has {', '.join(unknown)}, which the project config's long form "
                        f"does not take; it takes {', '.join(_ATTRIBUTES)}")
        return None
    attributes = {str(name): value for name, value in raw.items()}
    if not isinstance(attributes.get("description", ""), str):
        problems.append(f"{key}.description: must be text")
    if not isinstance(attributes.get("secret", False), bool):
        problems.append(f"{key}.secret: must be true or false")
    kind = attributes.get("type")
    if kind is not None and kind not in TYPES:
        problems.append(f"{key}.type: must be one of {', '.join(TYPES)}, not {quoted(kind)}; "
                        "preflight does not guess at other types (the CLI's vary by version)")
    return attributes


def _short_form(key: str, raw: object, in_project: bool, problems: list[str]) -> dict[str, Any]:
    """`RewriteShorthandConfigValues`: text, a whole number, true/false or a list is the key's
    `default` in the project's namespace and its `value` in another."""
    if isinstance(raw, float) or raw is None:
        problems.append(
            f"{key}: {shown_key(raw)} is no short form the Pulumi CLI takes (text, a whole number, "
            "true or false, or a list); quote it if it is text, or write `default:`/`value:`")
    return {"default" if in_project else "value": raw}


def _full_key(project: str, key: str, problems: list[str]) -> str | None:
    """`parseConfigKey`: a name alone takes the project's namespace."""
    namespace, _, name = key.rpartition(":")
    if key.count(":") > 1 or (":" in key and not (namespace and name)):
        problems.append(f"{key}: is not `<namespace>:<name>` or a name alone")
        return None
    if _PATH_SYNTAX.search(name):
        problems.append(f"{key}: the Pulumi CLI reads a name with `.`, `[`, `]` or quotes as a "
                        "path into another key's value; preflight does not follow it: rename it")
        return None
    return f"{namespace or project}:{name}"


def _setting(project: str, key: str, raw: object, problems: list[str]) -> ProjectSetting | None:
    found: list[str] = []
    full_key = _full_key(project, key, found)
    in_project = ":" not in key or key.startswith(f"{project}:")
    attributes = (_long_form(key, raw, found) if isinstance(raw, dict)
                  else _short_form(key, raw, in_project, found))
    if attributes is None or full_key is None:
        problems += found
        return None
    kind = attributes.get("type")
    items = None
    if kind == "array" and attributes.get("items") is None:
        found.append(f"The configuration key '{key}' declares an array but does not specify "
                     "the underlying type via the 'items' attribute")
    elif attributes.get("items") is not None:  # named in messages even on another type, as Go
        items = _items_type(attributes["items"], f"{key}.items", found)
    setting = ProjectSetting(key, full_key, in_project, kind, items, attributes.get("default"),
                             attributes.get("value"), attributes.get("secret") is True)
    found = found or _validate(setting)  # as Project.Validate, after the schema's checks
    problems += found
    return None if found else setting


def _validate(setting: ProjectSetting) -> list[str]:
    """`Project.Validate`, with the CLI's messages; and what Pulumi.yaml cannot hold."""
    key = setting.key
    problems: list[str] = []
    if setting.default is not None and setting.value is not None:
        problems.append(f"project config '{key}' cannot have both a 'default' and 'value' "
                        "attribute")
    if setting.in_project:
        if (setting.type is not None and setting.default is not None
                and not fits(setting.type, setting.items, setting.default)):
            problems.append(f"The default value specified for configuration key '{key}' is not "
                            f"of the expected type '{setting.type_label()}'")
    elif setting.type is not None:
        problems.append(f"Configuration key '{key}' is not namespaced by the project and should "
                        "not define a type")
    elif setting.default is not None:
        problems.append(f"Configuration key '{key}' is not namespaced by the project and should "
                        "not define a default value. Did you mean to use the 'value' attribute "
                        "instead of 'default'?")
    elif setting.value is None:
        problems.append(f"Configuration key '{key}' is namespaced and must provide an attribute "
                        "'value'")
    for name in _text_keys(setting.given):
        problems.append(f"{key}: has the map key {shown_key(name)}, which is not text; the Pulumi "
                        "CLI refuses it (\"expected only string keys\"): quote it")
    if next(secure_paths(setting.given, key), None) is not None:
        problems.append(f"{key}: holds a `secure:` value, which the CLI does not decrypt in "
                        "Pulumi.yaml (the program would get its ciphertext); set it in the stack "
                        "file: `pulumi config set --secret`")
    return problems


def read_project_config(document: Mapping[Any, Any]) -> tuple[list[ProjectSetting], list[str]]:
    """The settings of the project file `document`, and its problems (each naming the key)."""
    section = document.get("config")
    if section is None:
        return [], []
    if isinstance(section, str):
        return [], ["config: text is the old spelling of `stackConfigDir`, which preflight does "
                    "not follow; write `stackConfigDir:` instead"]
    if not isinstance(section, dict):
        return [], ["config: must be a map of config keys"]
    project = document.get("name")
    if not isinstance(project, str) or not project:
        return [], ["name: project config needs the project's name, its namespace"]
    problems: list[str] = []
    settings: list[ProjectSetting] = []
    for key in sorted(section, key=shown_key):
        if not isinstance(key, str):
            problems.append(f"config key {shown_key(key)} is not text; quote it")
        elif (setting := _setting(project, key, section[key], problems)) is not None:
            settings.append(setting)
    return settings, problems
