"""`bin/up` (the quick start): local state and a passphrase for dev only; other stacks use the
team backend and are created with the secrets provider their stack file names."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

FAKE_PULUMI = """#!/usr/bin/env bash
printf '%s|%s|%s\\n' "$*" "${PULUMI_BACKEND_URL-unset}" "${PULUMI_CONFIG_PASSPHRASE-unset}" \\
  >> "$CALLS"
"""


def calls_of_bin_up(stack: str, tmp_path: Path) -> list[list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text(FAKE_PULUMI)
    (bin_dir / "pulumi").chmod(0o755)
    calls = tmp_path / "calls"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE")}
    env |= {"PATH": f"{bin_dir}:{env['PATH']}", "CALLS": str(calls)}
    done = subprocess.run([str(REPO / "bin" / "up"), stack], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return [line.split("|") for line in calls.read_text().splitlines()]


def test_dev_gets_a_local_backend_and_the_dev_passphrase(tmp_path: Path) -> None:
    select, up = calls_of_bin_up("dev", tmp_path)
    backend = f"file://{REPO}/.pulumi-state"
    assert select == ["stack select --create dev --secrets-provider passphrase", backend,
                      "dev-only-passphrase"]
    assert up == ["up --stack dev --yes", backend, "dev-only-passphrase"]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_other_stacks_use_the_team_backend_and_their_kms_provider(
    stack: str, tmp_path: Path
) -> None:
    select, up = calls_of_bin_up(stack, tmp_path)
    provider = f"awskms://alias/es-transport-pki-{stack}?region=eu-west-1"
    assert select == [f"stack select --create {stack} --secrets-provider {provider}",
                      "unset", "unset"]
    assert up == [f"up --stack {stack} --yes", "unset", "unset"]
