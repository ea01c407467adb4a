"""Command line of the offline preflight. Exit codes: 0 clean, 1 violations, 2 config error."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from components.config import ConfigError
from components.program import main as program
from harness.mock_runtime import run_program
from harness.stack_file import StackFileError, load_stack_file
from preflight.plan import ClusterPlan, cluster_plans

EXIT_CLEAN, EXIT_VIOLATIONS, EXIT_CONFIG = 0, 1, 2
REPO = Path(__file__).resolve().parent.parent


def _arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m preflight",
        description="Run a stack's program offline (mock runtime, real certificates) and "
        "show what `pulumi up` would create.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", help="stack name: reads stacks/Pulumi.<stack>.yaml")
    source.add_argument("--stack-file", type=Path, help="any Pulumi.<stack>.yaml file")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    return parser.parse_args(argv)


def _stack_path(args: argparse.Namespace) -> tuple[str, Path]:
    if args.stack_file is not None:
        path: Path = args.stack_file
        return path.name.removeprefix("Pulumi.").removesuffix(".yaml"), path
    return str(args.stack), REPO / "stacks" / f"Pulumi.{args.stack}.yaml"


def _table(stack: str, plans: Sequence[ClusterPlan]) -> Table:
    table = Table(title=f"stack {stack}: what `pulumi up` would create")
    for column in ("cluster", "delivery", "nodes", "certificates", "resources", "CA SHA-256"):
        table.add_column(column)
    for plan in plans:
        resources = ", ".join(f"{t.rsplit(':', 1)[-1]} x{n}" for t, n in plan.resources.items())
        table.add_row(
            plan.cluster, plan.delivery, str(plan.nodes), str(plan.certificates), resources,
            plan.ca_fingerprint[:23] + "…",
        )
    return table


def main(argv: Sequence[str]) -> int:
    args = _arguments(argv)
    stack, path = _stack_path(args)
    console = Console(stderr=args.json)
    try:
        stack_file = load_stack_file(path)
        recording = run_program(
            program, config=stack_file.config, secret_keys=stack_file.secret_keys, stack=stack
        )
    except (ConfigError, StackFileError) as err:
        if args.json:
            json.dump({"stack": stack, "configErrors": str(err).splitlines()}, sys.stdout)
        else:
            console.print(f"[red]config error[/red] in {path}:\n{err}", highlight=False)
        return EXIT_CONFIG
    plans = cluster_plans(recording)
    if args.json:
        json.dump({"stack": stack, "clusters": [p.as_json() for p in plans]}, sys.stdout, indent=2)
        print()
    else:
        console.print(_table(stack, plans))
        console.print("Certificates above are throwaway: they exist only in this run.")
    return EXIT_CLEAN
