"""Read a `Pulumi.<stack>.yaml` the way the Pulumi CLI hands its config to a program.

Its `secure:` values need the stack's secrets provider, which only the Pulumi CLI has. The CLI
prints the config decrypted (`pulumi config --json --show-secrets --stack <stack>`); given
that document, the encrypted values are taken from it and reach the program as secrets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.config_reader import join
from components.stack_settings import is_secure_value, secure_paths
from components.yaml_load import safe_load


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


def stack_name(path: Path) -> str:
    return path.name.removeprefix("Pulumi.").removesuffix(".yaml")


def _reprint(stack: str) -> str:
    return f"print it for this stack file: `pulumi config --json --show-secrets --stack {stack}`"


def _has_secure_value(value: Any) -> bool:
    return next(secure_paths(value, ""), None) is not None


def _engine_text(value: Any) -> str:
    """A config value as the engine passes it: strings as they are, others JSON-encoded."""
    return value if isinstance(value, str) else json.dumps(value)


def read_decrypted_config(text: str) -> dict[str, DecryptedValue]:
    """Parse what `pulumi config --json --show-secrets` prints: full keys to
    {"value": string, "secret": bool, "objectValue": structured value, if structured}."""
    try:
        document = json.loads(text)
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
        if not isinstance(decrypted, dict) or {str(k) for k in stored} != set(decrypted):
            raise _MismatchError(where)
        return {str(k): _merged(v, decrypted[str(k)], join(where, str(k)))
                for k, v in stored.items()}
    if isinstance(stored, list):
        if not isinstance(decrypted, list) or len(stored) != len(decrypted):
            raise _MismatchError(where)
        return [_merged(v, d, join(where, i))
                for i, (v, d) in enumerate(zip(stored, decrypted, strict=True))]
    if type(stored) is type(decrypted) and stored == decrypted:
        return stored
    if isinstance(decrypted, str) and not isinstance(stored, str) and _yaml_1_1_reading(
        stored, decrypted
    ):
        # PyYAML reads YAML 1.1 (`yes` is true, `1:20` is 80); a CLI that reads a later
        # YAML prints the scalar as a string. The CLI's reading is what `pulumi up` passes.
        return decrypted
    raise _MismatchError(where)


def _yaml_1_1_reading(stored: Any, text: str) -> bool:
    """Whether `stored` is how PyYAML reads the plain scalar the CLI printed as `text`."""
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


def load_stack_file(
    path: Path, decrypted: Mapping[str, DecryptedValue] | None = None
) -> StackFile:
    """Config as the engine passes it: strings as they are, structured values JSON-encoded.

    Encrypted (`secure:`) values are taken from `decrypted` (`read_decrypted_config`), and
    their keys are secret; without it they are refused, with the key named, rather than
    passed on as ciphertext.
    """
    try:
        document = safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as err:
        raise StackFileError(f"{path}: cannot read the stack file: {err}") from err
    raw_config = document.get("config") or {}
    if not isinstance(raw_config, dict):
        raise StackFileError(f"{path}: 'config' must be a map of keys to values")
    stack = stack_name(path)
    provider = document.get("secretsprovider")
    if decrypted is not None:
        config, secret_keys = _with_decrypted(raw_config, decrypted, stack)
        return StackFile(path, config, secret_keys, provider)
    encrypted = sorted(key for key, value in raw_config.items() if _has_secure_value(value))
    if encrypted:
        raise StackFileError(
            f"{path}: {', '.join(encrypted)} hold encrypted (secure:) values that only the "
            "Pulumi CLI can decrypt; give preflight the config it decrypts, read from stdin "
            f"and kept in memory: `pulumi config --json --show-secrets --stack {stack} | "
            f"python -m preflight --stack-file {path} --decrypted-config -`"
        )
    config = {str(key): _engine_text(value) for key, value in raw_config.items()}
    return StackFile(path, config, [], provider)
