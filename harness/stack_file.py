"""Read a `Pulumi.<stack>.yaml` the way the Pulumi CLI hands its config to a program.

Its `secure:` values need the stack's secrets provider, which only the Pulumi CLI has. The CLI
prints the config decrypted (`pulumi config --json --show-secrets --stack <stack>`); given
that document, the encrypted values are taken from it and reach the program as secrets.
"""

from __future__ import annotations

import gc
import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from components.config_reader import (
    MAX_DEPTH,
    NAMESPACE,
    TOO_DEEP,
    join_name,
    too_deep,
    type_name,
)
from components.quoting import quoted
from components.stack_settings import is_secure_value, secure_paths
from components.yaml_load import INT64, safe_load
from harness.project_config import ProjectSetting, fits, read_project_config
from harness.stack_file_keys import (
    key_text,
    misread_key,
    misread_key_problem,
    shown_key,
    twice_problem,
)
from harness.stack_names import stack_name


class StackFileError(Exception):
    """The stack file cannot be used offline; the message says why and what to do."""


class DecryptedConfigError(StackFileError):
    """The decrypted config is not what `pulumi config --json --show-secrets` prints for the
    stack file. Messages name keys only: the document holds secrets."""


@dataclass(frozen=True)
class StackFile:
    path: Path
    config: dict[str, str]
    secret_keys: list[str]
    secrets_provider: str | None


@dataclass(frozen=True)
class DecryptedValue:
    """One key of `pulumi config --json --show-secrets`."""

    text: str  # "value": what the engine passes the program (structured values as JSON)
    secret: bool  # "secret": some value in it is `secure:` in the stack file
    structured: Any  # "objectValue": the parsed structured value; None for a plain string


def _merged_config_command(stack: str, path: Path) -> str:
    """The command that hands preflight the config as the CLI decrypts and merges it."""
    return (f"`pulumi config --json --show-secrets --stack {stack} | python -m preflight "
            f"--stack-file {path} --decrypted-config -`")


def _reprint(stack: str) -> str:
    return f"print it for this stack file: `pulumi config --json --show-secrets --stack {stack}`"


def _has_secure_value(value: Any) -> bool:
    return next(secure_paths(value, ""), None) is not None


def _engine_text(value: Any) -> str:
    """A config value as the engine passes it: strings as they are, others JSON-encoded."""
    return value if isinstance(value, str) else json.dumps(value)


def _parsed_json(text: str) -> Any:
    """`json.loads(text)` with the cyclic garbage collector paused: the parse allocates, and a
    document nested to the recursion limit would have the collector run the finalizers of
    whatever unrelated garbage is pending at that depth, where each fails (`Exception ignored`)
    and its clean-up is lost."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return json.loads(text)
    finally:
        if enabled:
            gc.enable()


def read_decrypted_config(text: str) -> dict[str, DecryptedValue]:
    """Parse what `pulumi config --json --show-secrets` prints: full keys to
    {"value": string, "secret": bool, "objectValue": structured value, if structured}."""
    try:
        document = _parsed_json(text)
        # A \ud800 escape makes half a UTF-16 pair, which no UTF-8 text holds.
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except json.JSONDecodeError as err:  # the position only: the text holds secrets
        raise DecryptedConfigError(
            f"not JSON (line {err.lineno} column {err.colno}: {err.msg}); give what "
            "`pulumi config --json --show-secrets --stack <stack>` prints"
        ) from None
    except RecursionError:
        raise DecryptedConfigError(
            "nests deeper than any stack config; give what `pulumi config --json "
            "--show-secrets --stack <stack>` prints"
        ) from None
    except UnicodeEncodeError:  # the CLI prints UTF-8 text only
        raise DecryptedConfigError(
            "holds an escape of half a UTF-16 surrogate pair (\\ud800 to \\udfff alone), which "
            "is no character; give what `pulumi config --json --show-secrets --stack <stack>` "
            "prints"
        ) from None
    except ValueError:  # an integer of more digits than Python converts
        raise DecryptedConfigError(
            f"holds a number of more than {sys.get_int_max_str_digits()} digits, which no config "
            "value has; give what `pulumi config --json --show-secrets --stack <stack>` prints"
        ) from None
    if not isinstance(document, dict):
        raise DecryptedConfigError(
            "must be a JSON object of config keys, as `pulumi config --json --show-secrets "
            "--stack <stack>` prints")
    values: dict[str, DecryptedValue] = {}
    problems: list[str] = []
    for key, entry in document.items():
        secret = entry.get("secret") if isinstance(entry, dict) else None
        value = entry.get("value") if isinstance(entry, dict) else None
        if not isinstance(secret, bool):
            problems.append(f'{key}: must be an object with "secret": true or false')
        elif not isinstance(value, str):
            missing = " (printed without --show-secrets?)" if secret and value is None else ""
            problems.append(f'{key}: has no "value" string{missing}; give what `pulumi config '
                            "--json --show-secrets --stack <stack>` prints")
        else:
            values[key] = DecryptedValue(value, secret, entry.get("objectValue"))
    if problems:
        raise DecryptedConfigError("\n".join(problems))
    return values


class _MismatchError(Exception):
    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


def _merged(stored: Any, decrypted: Any, where: str) -> Any:
    """`stored` (the stack file's value at `where`) with each `secure:` value taken from
    `decrypted`, which must hold the same everywhere else."""
    if is_secure_value(stored):
        if not isinstance(decrypted, str):
            raise _MismatchError(where)
        return decrypted
    if isinstance(stored, dict):
        names = {key_text(k): v for k, v in stored.items()}
        if not isinstance(decrypted, dict) or set(names) != set(decrypted):
            raise _MismatchError(where)
        return {k: _merged(v, decrypted[k], join_name(where, k)) for k, v in names.items()}
    if isinstance(stored, list):
        if not isinstance(decrypted, list) or len(stored) != len(decrypted):
            raise _MismatchError(where)
        return [_merged(v, d, join_name(where, i))
                for i, (v, d) in enumerate(zip(stored, decrypted, strict=True))]
    if type(stored) is type(decrypted) and stored == decrypted:
        return stored
    if isinstance(decrypted, str) and not isinstance(stored, str) and _same_reading(
        stored, decrypted
    ):
        # The stack file reads as yaml.v2 reads it (`yes` is true); a CLI built on a YAML 1.2
        # decoder would print the scalar as text. The CLI's reading is what `pulumi up` passes.
        return decrypted
    raise _MismatchError(where)


def _same_reading(stored: Any, text: str) -> bool:
    """Whether `stored` is how the stack file's reader reads the plain scalar the CLI printed
    as `text`."""
    try:
        reading = safe_load(text)
    except yaml.YAMLError:
        return False
    return type(reading) is type(stored) and reading == stored


def _decrypted_value(key: str, stored: Any, entry: DecryptedValue, stack: str) -> str:
    """The engine's text for `key`: the stack file's value, its `secure:` values decrypted."""
    if entry.secret and not _has_secure_value(stored):
        raise DecryptedConfigError(
            f"{key}: the decrypted config marks it secret, but the stack file holds it in plain "
            f"text (no secure: value); {_reprint(stack)}"
        )
    if not entry.secret and _has_secure_value(stored):
        raise DecryptedConfigError(
            f"{key}: the decrypted config marks it not secret, but the stack file encrypts "
            f"values in it (secure:): they would reach the program as plain text; "
            f"{_reprint(stack)}"
        )
    try:
        if is_secure_value(stored):
            return str(_merged(stored, entry.text, key))
        if isinstance(stored, dict | list):
            return json.dumps(_merged(stored, entry.structured, key))
        if _engine_text(stored) == entry.text:
            return entry.text
        return str(_merged(stored, entry.text, key))
    except _MismatchError as err:
        raise DecryptedConfigError(
            f"{err.where}: the decrypted config does not hold what the stack file holds there "
            f"(another stack's, or printed before the stack file changed); {_reprint(stack)}"
        ) from err


def _with_decrypted(
    raw_config: Mapping[str, Any], decrypted: Mapping[str, DecryptedValue], stack: str
) -> tuple[dict[str, str], list[str]]:
    config: dict[str, str] = {}
    problems: list[str] = []
    for key, stored in raw_config.items():
        entry = decrypted.get(str(key))
        if entry is None:
            problems.append(f"{key}: the stack file sets it, the decrypted config does not; "
                            f"{_reprint(stack)}")
            continue
        try:
            config[str(key)] = _decrypted_value(str(key), stored, entry, stack)
        except DecryptedConfigError as err:
            problems.append(str(err))
    if problems:
        raise DecryptedConfigError("\n".join(problems))
    # Keys the stack file does not set come from Pulumi.yaml or an ESC environment, which the
    # CLI merges in as `pulumi up` does.
    config |= {k: v.text for k, v in decrypted.items() if k not in config}
    return config, sorted(k for k, v in decrypted.items() if v.secret)


# YAML types that Python makes of explicit tags, and that no config value is.
_TAGS: tuple[tuple[type, str], ...] = ((bytes, "!!binary"), (set, "!!set"), (date, "!!timestamp"))
# Fields of a stack file that the CLI reads as text.
_TEXT_FIELDS = ("secretsprovider", "encryptionsalt", "encryptedkey")


# A stack file of a thousand nodes holds tens of thousands of values. Go's YAML decoder, which
# the CLI reads stack files with, refuses "excessive aliasing"; a few lines of aliases reused
# over and over make 2**n values, which every walk below would then read.
MAX_VALUES = 1_000_000


def _expands_too_far(value: object) -> bool:
    """Whether `value` holds more than MAX_VALUES values with its YAML aliases expanded.
    Nothing deeper than MAX_DEPTH is counted: too_deep reports that (an alias of itself)."""
    pending: list[tuple[object, int]] = [(value, 0)]
    counted = 0
    while pending:
        item, depth = pending.pop()
        counted += 1
        if counted > MAX_VALUES:
            return True
        if depth < MAX_DEPTH and isinstance(item, dict | list):
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return False


def _unusable(document: Mapping[str, Any], raw_config: Mapping[Any, Any]) -> list[str]:
    """What the stack file holds that the CLI would hand no program: a config key that is not
    text, a value nested deeper than any setting (a YAML alias of itself is endless), a value
    or key of a YAML type no setting takes, an integer too long to write out."""
    problems = [f"{field} must be text, like the stack files in stacks/"
                for field in _TEXT_FIELDS
                if field in document and not isinstance(document[field], str)]
    for key, value in raw_config.items():
        if not isinstance(key, str):
            problems.append(
                f"config key {shown_key(key)} is not text: a config key is `<namespace>:<name>`, "
                f"like {NAMESPACE}:clusters; quote it, or remove it")
        elif _expands_too_far(value):
            problems.append(
                f"{key}: holds more than {MAX_VALUES:,} values once its YAML aliases are "
                "expanded, more than any config; the Pulumi CLI refuses such aliasing too. "
                "Write the values out, or reuse fewer")
        elif deep := too_deep(value, key):
            problems.append(f"{deep}: {TOO_DEEP}")
        else:
            problems += _unwritable_values(value, key)
    return problems


def _beyond_the_cli(value: object) -> str | None:
    """What `value` is, when the CLI reads it but cannot hand it on; else None."""
    if isinstance(value, int) and not isinstance(value, bool) and value not in INT64:
        # yaml.v2 reads 2**63 to 2**64 - 1 as an unsigned integer, which the CLI's config
        # object has no case for (unmarshalObject: "unexpected wire type uint64").
        return (f"the whole number {quoted(value)}, beyond the 64-bit integers the Pulumi CLI "
                "holds; quote it if it is text")
    if isinstance(value, float) and not math.isfinite(value):
        # The CLI's config object is JSON, which has no NaN or infinity (encoding/json fails).
        spelled = ".nan" if math.isnan(value) else f"{'-' if value < 0 else ''}.inf"
        return (f"{spelled}, a number that JSON cannot hold, so neither can the Pulumi CLI; "
                "quote it if it is text")
    return None


def cli_value(value: Any) -> Any:
    """`value` as the CLI's config object holds it and writes it for the program: JSON from
    Go's encoding/json, which writes a whole float64 under 1e21 without a fraction (`1.0` as
    `1`, `1e3` as `1000`), so the program reads an integer."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(Decimal(repr(value)))  # Go's digits: the shortest that read back as value
    if isinstance(value, dict):
        return {key: cli_value(child) for key, child in value.items()}
    if isinstance(value, list):
        return [cli_value(child) for child in value]
    return value


def _unwritable_values(value: object, key: str) -> list[str]:
    problems: list[str] = []
    pending: list[tuple[str, object]] = [(key, value)]
    for where, item in pending:  # grows as it goes: maps and lists add their entries
        if kind := _unwritable(item):
            problems.append(f"{where}: is {kind}{_NO_SETTING}")
        elif kind := _beyond_the_cli(item):
            problems.append(f"{where}: is {kind}")
        elif isinstance(item, dict):
            texts: set[str] = set()
            for name, child in item.items():
                if kind := _unwritable(name):
                    problems.append(f"{where}: has a key that is {kind}{_NO_SETTING}")
                elif what := misread_key(name):
                    problems.append(misread_key_problem(where, name, what))
                elif (text := key_text(name)) in texts:
                    problems.append(twice_problem(where, text))
                else:
                    texts.add(text)
                    pending.append((join_name(where, text), child))
        elif isinstance(item, list):
            pending += [(join_name(where, index), child) for index, child in enumerate(item)]
    return problems


_NO_SETTING = ", which no setting takes; write text, a number, true or false, a list or a map"


def _unwritable(value: object) -> str | None:
    """What `value` is, when the engine could not pass it as JSON text; else None."""
    for kind, tag in _TAGS:
        if isinstance(value, kind):
            return f"a {tag} value"
    if isinstance(value, int):
        try:
            str(value)
        except ValueError:
            return f"an integer of more than {sys.get_int_max_str_digits()} digits"
    return None


def _read_project(project_file: Path) -> tuple[list[ProjectSetting], list[str]]:
    try:
        project = safe_load(project_file.read_text(encoding="utf-8"), one_value_per_key=True)
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as err:
        raise StackFileError(f"{project_file}: cannot read the project file: {err}") from err
    if not isinstance(project, dict):
        return [], []
    section = project.get("config")
    # First what no program could be handed, which may be endless (a YAML alias of itself).
    if isinstance(section, dict) and (problems := _unusable({}, section)):
        return [], problems
    return read_project_config(project)


def _checked_text(value: Any) -> Any:
    """A stack value (as `cli_value` holds it) as the CLI checks it against a declared type: a
    plain value as the text the program gets, a list or map as itself."""
    return value if isinstance(value, dict | list) else _engine_text(value)


def _given_text(value: Any) -> Any:
    """A `default` or `value` of Pulumi.yaml as the CLI checks it (`createConfigValue`): text,
    a whole number or true/false as text, anything else (a float too) as JSON, parsed."""
    return _engine_text(value) if isinstance(value, str | int) else cli_value(value)


def _with_project_config(
    raw_config: Mapping[str, Any], project_file: Path, path: Path, stack: str,
) -> dict[str, Any]:
    """What the `config:` of `project_file` adds to the stack's config, as the CLI merges it
    (`mergeConfig`): a key the stack file sets keeps its value, whether Pulumi.yaml gives a
    `default` or a `value`; one it does not set takes that. A typed key's value, from either
    file, must be of its type, and a typed `secret: true` key's encrypted."""
    settings, found = _read_project(project_file)
    problems = [f"{project_file}: {problem}" for problem in found]
    added: dict[str, Any] = {}
    for setting in settings:
        key, full_key = setting.key, setting.full_key
        on_stack = full_key in raw_config
        if not on_stack and setting.given is None:
            if setting.in_project:
                problems.append(
                    f"{path}: {full_key}: Stack '{stack}' is missing configuration value "
                    f"'{key}': {project_file} declares it with no default; set it: "
                    f"`pulumi config set --stack {stack} {full_key} <value>`")
            continue
        if not on_stack:
            added[full_key] = setting.given
        if setting.type is None:
            continue
        where = path if on_stack else project_file
        text = _checked_text(raw_config[full_key]) if on_stack else _given_text(setting.given)
        if setting.secret:
            problems.append(
                f"{where}: {full_key}: Stack '{stack}' with configuration key '{key}' must be "
                "encrypted as it's secret; set it in the stack file: "
                f"`pulumi config set --secret --stack {stack} {full_key}`")
        elif not fits(setting.type, setting.items, text):
            problems.append(
                f"{where}: {full_key}: Stack '{stack}' with configuration key '{key}' must be "
                f"of type '{setting.type_label()}'")
    if problems:
        raise StackFileError("\n".join(problems))
    return {key: cli_value(value) for key, value in added.items()}


def load_stack_file(
    path: Path, decrypted: Mapping[str, DecryptedValue] | None = None,
    project_file: Path | None = None,
) -> StackFile:
    """Config as the engine passes it: strings as they are, structured values JSON-encoded.
    The `config:` of the project file `project_file` is merged in as the CLI merges it
    (`_with_project_config`), or refused, naming the key, where it cannot be. Config the CLI
    merges in from an ESC environment the file imports comes only with `decrypted`; without it
    such a stack is refused rather than judged without it. `decrypted` is the config the CLI
    merged, project config included: Pulumi.yaml is not read again then.

    Encrypted (`secure:`) values are taken from `decrypted` (`read_decrypted_config`), and
    their keys are secret; without it they are refused, with the key named, rather than
    passed on as ciphertext. So is what no program could be handed (`_unusable`): a document
    that is not a map, a config key that is not text, a value too deep or of a type no
    setting takes.
    """
    try:
        document = safe_load(path.read_text(encoding="utf-8"), one_value_per_key=True)
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as err:
        raise StackFileError(f"{path}: cannot read the stack file: {err}") from err
    if document is None:  # empty
        document = {}
    if not isinstance(document, dict):
        raise StackFileError(
            f"{path}: is {type_name(document)}, not a stack file: a map with `config:` (a map "
            "of keys to values) and `secretsprovider:`, like stacks/Pulumi.dev.yaml"
        )
    raw_config = document.get("config")
    if raw_config is None:
        raw_config = {}
    if not isinstance(raw_config, dict):
        raise StackFileError(f"{path}: 'config' must be a map of keys to values")
    if problems := _unusable(document, raw_config):
        raise StackFileError("\n".join(f"{path}: {problem}" for problem in problems))
    raw_config = {key: cli_value(value) for key, value in raw_config.items()}
    stack = stack_name(path)
    provider = document.get("secretsprovider")
    if decrypted is not None:
        config, secret_keys = _with_decrypted(raw_config, decrypted, stack)
        return StackFile(path, config, secret_keys, provider)
    if document.get("environment"):
        raise StackFileError(
            f"{path}: imports Pulumi ESC environments (environment:), whose values the Pulumi "
            "CLI merges into the config and preflight cannot open offline; give preflight the "
            f"config the CLI merges: {_merged_config_command(stack, path)}"
        )
    encrypted = sorted(key for key, value in raw_config.items() if _has_secure_value(value))
    if encrypted:
        raise StackFileError(
            f"{path}: {', '.join(encrypted)} hold encrypted (secure:) values that only the "
            "Pulumi CLI can decrypt; give preflight the config it decrypts, read from stdin "
            f"and kept in memory: {_merged_config_command(stack, path)}"
        )
    if project_file is not None and project_file.is_file():
        raw_config |= _with_project_config(raw_config, project_file, path, stack)
    config = {str(key): _engine_text(value) for key, value in raw_config.items()}
    return StackFile(path, config, [], provider)
