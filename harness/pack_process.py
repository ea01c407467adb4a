"""A policy pack's process, started as the engine starts an analyzer plugin.

Standard library only, so that preflight can start the pack before it imports the program and
the SDK: the pack's boot (≈ 0.5 s) then overlaps those imports instead of following them.
`harness.analyzer.PolicyAnalyzer` talks to it over gRPC and closes it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO

DEFAULT_PACK = Path(__file__).resolve().parent.parent / "policy"
PACK_MAIN = Path(__file__).resolve().parent / "pack_main.py"


class PackProcess:
    """`python -m pulumi.policy 127.0.0.1:0 .` in the pack's directory, with the engine's
    environment for a stack, through `harness/pack_main.py`: it ends with this process, whose
    end of its stdin pipe it watches. It prints its port on stdout; its stderr goes to a
    file."""

    def __init__(
        self,
        pack_dir: Path = DEFAULT_PACK,
        *,
        project: str = "es-transport-pki",
        stack: str = "test",
        dry_run: bool = True,
        python: str = sys.executable,
    ) -> None:
        self.pack_dir, self.project, self.stack, self.dry_run = pack_dir, project, stack, dry_run
        env = {
            **os.environ,
            "PULUMI_PROJECT": project,
            "PULUMI_STACK": stack,
            "PULUMI_DRY_RUN": "true" if dry_run else "false",
            "PULUMI_ORGANIZATION": "organization",
            "PULUMI_CONFIG": "{}",
        }
        self.stderr_file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            [python, "-u", str(PACK_MAIN), "127.0.0.1:0", "."],
            cwd=pack_dir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.stderr_file,
        )

    def stderr(self) -> str:
        self.stderr_file.seek(0)
        return self.stderr_file.read().decode(errors="replace")

    def close(self) -> None:
        """Ends the process; safe to call again."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()
        self.stderr_file.close()
