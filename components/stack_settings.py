"""What the stack file says about the stack beyond its config: its secrets provider.

The program cannot ask the engine which secrets provider encrypts its state, but the CLI keeps
it in `Pulumi.<stack>.yaml` (under the project's `stackConfigDir`), next to the config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from components.model_posture import SecretsProvider
from components.yaml_load import safe_load


def _document(path: Path) -> dict[str, Any]:
    loaded = safe_load(path.read_text())
    return loaded if isinstance(loaded, dict) else {}


def stack_file_path(root: Path, stack: str) -> Path:
    project = root / "Pulumi.yaml"
    config_dir = _document(project).get("stackConfigDir") if project.is_file() else None
    return root / str(config_dir or ".") / f"Pulumi.{stack}.yaml"


def read_secrets_provider(root: Path, stack: str) -> SecretsProvider | None:
    """None when the stack has no stack file (its config is empty; nothing to judge).

    The CLI has parsed both files before the program starts, so they are readable YAML here.
    """
    path = stack_file_path(root, stack)
    if not path.is_file():
        return None
    document = _document(path)
    url = document.get("secretsprovider")
    return SecretsProvider(str(url) if url else None, bool(document.get("encryptionsalt")))
