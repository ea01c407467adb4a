"""What the stack file says about the stack beyond the config values the engine passes: its
secrets provider, and which of its config values are encrypted.

The program cannot ask the engine either, but the CLI keeps both in `Pulumi.<stack>.yaml`
(under the project's `stackConfigDir`), next to the config.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.config_reader import NAMESPACE, nested_values
from components.model_posture import SecretsProvider
from components.yaml_load import safe_load


@dataclass(frozen=True)
class StackFile:
    secrets_provider: SecretsProvider
    # This namespace's top-level keys the file holds → stack keys of their `secure:` values.
    secure_values: Mapping[str, frozenset[str]]


def _document(path: Path) -> dict[str, Any]:
    loaded = safe_load(path.read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else {}


def stack_file_path(root: Path, stack: str) -> Path:
    project = root / "Pulumi.yaml"
    config_dir = _document(project).get("stackConfigDir") if project.is_file() else None
    return root / str(config_dir or ".") / f"Pulumi.{stack}.yaml"


def read_stack_file(root: Path, stack: str) -> StackFile | None:
    """None when the stack has no stack file (its config is empty; nothing to judge).

    The CLI has parsed both files before the program starts, so they are readable YAML here.
    """
    path = stack_file_path(root, stack)
    if not path.is_file():
        return None
    document = _document(path)
    url = document.get("secretsprovider")
    config = document.get("config")
    prefix = f"{NAMESPACE}:"
    return StackFile(
        SecretsProvider(str(url) if url else None, bool(document.get("encryptionsalt"))),
        {
            name.removeprefix(prefix): frozenset(secure_paths(value, name.removeprefix(prefix)))
            for name, value in (config.items() if isinstance(config, dict) else ())
            if isinstance(name, str) and name.startswith(prefix)
        },
    )


def is_secure_value(value: object) -> bool:
    """A `secure:` value: ciphertext only the CLI can decrypt."""
    return isinstance(value, dict) and set(value) == {"secure"}


def secure_paths(value: object, key: str) -> Iterator[str]:
    """Stack keys (`clusters[1].ca.keyPem`) of the `secure:` values in `value`, at `key`."""
    return (path for path, found in nested_values(value, key) if is_secure_value(found))
