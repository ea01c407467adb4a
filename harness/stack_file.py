"""Read a `Pulumi.<stack>.yaml` the way the Pulumi CLI hands its config to a program."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.yaml_load import safe_load


class StackFileError(Exception):
    """The stack file cannot be used offline; the message says why and what to do."""


@dataclass(frozen=True)
class StackFile:
    path: Path
    config: dict[str, str]
    secret_keys: list[str]
    secrets_provider: str | None


def _has_secure_value(value: Any) -> bool:
    if isinstance(value, dict):
        return set(value) == {"secure"} or any(_has_secure_value(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_secure_value(v) for v in value)
    return False


def load_stack_file(path: Path) -> StackFile:
    """Config as the engine passes it: strings as they are, structured values JSON-encoded.

    Encrypted (`secure:`) values need the stack's secrets provider, which only the Pulumi CLI
    has: they are refused here with the key named, rather than passed on as ciphertext.
    """
    try:
        document = safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise StackFileError(f"{path}: cannot read the stack file: {err}") from err
    raw_config = document.get("config") or {}
    if not isinstance(raw_config, dict):
        raise StackFileError(f"{path}: 'config' must be a map of keys to values")
    encrypted = sorted(key for key, value in raw_config.items() if _has_secure_value(value))
    if encrypted:
        raise StackFileError(
            f"{path}: {', '.join(encrypted)} hold encrypted (secure:) values that only the "
            "Pulumi CLI can decrypt; run `pulumi preview` for this stack, or check a copy "
            "of the stack file with a throwaway CA"
        )
    config = {
        str(key): value if isinstance(value, str) else json.dumps(value)
        for key, value in raw_config.items()
    }
    return StackFile(path, config, [], document.get("secretsprovider"))
