"""A stack's name as the Pulumi CLI reads it from its stack file's name. Standard library only:
preflight needs it before importing the program (harness.pack_process)."""

from __future__ import annotations

from pathlib import Path


def stack_name(path: Path) -> str:
    """`Pulumi.<stack>.yaml` → `<stack>`."""
    return path.name.removeprefix("Pulumi.").removesuffix(".yaml")
