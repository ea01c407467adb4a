"""preflight's command line, read before anything heavy is imported: `python -m preflight`
starts the policy pack as soon as it knows the stack (preflight/__main__.py)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from harness.stack_names import stack_name

REPO = Path(__file__).resolve().parent.parent


def arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m preflight",
        description="Run a stack's program offline (mock runtime, real certificates), judge "
        "it with the policy pack over the engine's protocol, and optionally render and "
        "handshake-test what `pulumi up` would deliver. No cloud credentials needed.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", help="stack name: reads stacks/Pulumi.<stack>.yaml")
    source.add_argument("--stack-file", type=Path, help="any Pulumi.<stack>.yaml file")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--policy-config", type=Path,
                        help="policy pack config JSON, as for --policy-pack-config")
    parser.add_argument("--out", type=Path,
                        help="write VM bundles and Kubernetes YAML here (throwaway keys)")
    parser.add_argument("--handshakes", action="store_true",
                        help="mutual-TLS matrix over the rendered material (OpenSSL, and JSSE "
                        "when a JDK is present)")
    parser.add_argument("--decrypted-config", metavar="FILE",
                        help="the stack's config as `pulumi config --json --show-secrets "
                        "--stack <stack>` prints it, '-' for stdin: the stack file's secure: "
                        "values are taken from it (kept in memory, never printed)")
    args = parser.parse_args(argv)
    if args.decrypted_config is not None and args.out is not None:
        parser.error(
            "--out cannot be used with --decrypted-config: the stack's own secrets (a provided "
            "CA key) would issue the rendered node certificates, which its clusters trust, and "
            "would be written with them; use --handshakes alone (it renders into a private "
            "temporary directory, removed after the run)"
        )
    return args


def stack_and_path(args: argparse.Namespace) -> tuple[str, Path]:
    if args.stack_file is not None:
        path: Path = args.stack_file
        return stack_name(path), path
    return str(args.stack), REPO / "stacks" / f"Pulumi.{args.stack}.yaml"
