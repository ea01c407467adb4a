"""Command line of the offline preflight.

Exit codes: 0 clean (advisories allowed), 1 a mandatory policy violation or a failed
handshake, 2 a config error (every problem of the config, at once).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from components.config import ConfigError
from components.local_files import LocalFilesError
from components.program import main as program
from components.quoting import quoted
from harness.analyzer import PolicyConfigError
from harness.mock_runtime import run_program
from harness.pack_process import PackProcess
from harness.policy_run import StreamedPolicies
from harness.stack_file import (
    DecryptedConfigError,
    DecryptedValue,
    StackFileError,
    load_stack_file,
    read_decrypted_config,
)
from harness.stack_names import stack_name
from preflight import render
from preflight.args import REPO, arguments, stack_and_path
from preflight.plan import cluster_plans
from preflight.render import OutDirError
from preflight.report import Report, Violation, print_report

EXIT_CLEAN, EXIT_VIOLATIONS, EXIT_CONFIG = 0, 1, 2
# The project file whose `config:` the CLI merges into every stack's config.
PROJECT_FILE = REPO / "Pulumi.yaml"


def _policy_config(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise PolicyConfigError([f"cannot read it: {err.strerror}"]) from err
    except json.JSONDecodeError as err:
        raise PolicyConfigError([f"line {err.lineno} column {err.colno}: {err.msg}"]) from err
    if not isinstance(loaded, dict):
        raise PolicyConfigError([
            "must be a JSON object of policy names to a level or settings, as for "
            "`pulumi preview --policy-pack-config`"
        ])
    return loaded


def _decrypted_config(source: str) -> dict[str, DecryptedValue]:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as err:
        raise DecryptedConfigError(f"cannot read it: {err.strerror}") from err
    except UnicodeDecodeError as err:  # the position only: the bytes hold secrets
        raise DecryptedConfigError(
            f"is not UTF-8 text (byte {err.start}); give what `pulumi config --json "
            "--show-secrets --stack <stack>` prints"
        ) from None
    return read_decrypted_config(text)


def _handshakes(report: Report, out: Path, console: Console, quiet: bool) -> None:
    # Imported here: only `--handshakes` runs them, and every run would pay for the import.
    from rich.progress import Progress  # noqa: PLC0415

    from preflight import tls_matrix  # noqa: PLC0415

    runners = tls_matrix.available_runners()
    with tempfile.TemporaryDirectory(prefix="preflight-mounts-") as workdir:
        clusters = tls_matrix.rendered_nodes(out, Path(workdir))
        total = tls_matrix.pair_count(clusters) * len(runners)
        with Progress(console=console, disable=quiet, transient=True) as progress:
            task = progress.add_task("mutual TLS", total=total)
            report.handshakes = tls_matrix.run_matrix(
                clusters, runners, lambda n: progress.advance(task, n)
            )


def _project_root(args: argparse.Namespace, stack: str, path: Path, scratch: Path) -> Path:
    """The project root the program sees: it reads its stack file (secrets provider) there."""
    if args.stack_file is None:
        return REPO
    root = scratch / "project"
    root.mkdir()
    (root / f"Pulumi.{stack}.yaml").symlink_to(path.resolve())
    return root


def _run(
    args: argparse.Namespace, report: Report, console: Console, out: Path | None,
    scratch: Path, *, started: PackProcess | None,
) -> None:
    _, path = stack_and_path(args)
    if args.stack is not None and not path.is_file():
        known = sorted(stack_name(p) for p in path.parent.glob("Pulumi.*.yaml"))
        raise StackFileError(f"no stack {quoted(args.stack)} in {path.parent}: the stacks there "
                             f"are {', '.join(known)}; or give any stack file with --stack-file")
    decrypted = (None if args.decrypted_config is None
                 else _decrypted_config(args.decrypted_config))
    stack_file = load_stack_file(path, decrypted, project_file=PROJECT_FILE)
    policy_config = {} if args.policy_config is None else _policy_config(args.policy_config)
    # The pack (started now, unless `python -m preflight` started it before its imports)
    # judges each resource as the program registers it, as the engine's preview does: its
    # start and its Analyze calls overlap the program.
    with StreamedPolicies(stack=report.stack, config=policy_config, started=started) as policies:
        if policy_config:  # judged before the program writes anything
            policies.check_config()
        recording = run_program(
            render.redirected(program, out), config=stack_file.config,
            secret_keys=stack_file.secret_keys, stack=report.stack,
            root_directory=_project_root(args, report.stack, path, scratch),
            on_register=policies.submit,
        )
        report.warnings = recording.warnings
        report.plans = cluster_plans(recording)
        diagnostics = policies.finish()
    # Resources register from several SDK threads, in an order that varies between runs:
    # sorted, the report reads the same each time (stack-level findings last, as reported).
    violations = (Violation.of(d) for d in diagnostics)
    report.violations = sorted(violations, key=lambda v: (not v.urn, v.urn, v.policy, v.message))
    if out is not None:
        with render.rendering_into(out):
            render.write_kubernetes(recording, out)
            render.write_record(recording, out)
        if args.handshakes:
            _handshakes(report, out, console, quiet=args.json)


def _input_of(err: Exception, args: argparse.Namespace, stack_path: Path) -> tuple[str, Path]:
    """Which input of the command line `err` is about: the policy config, the decrypted config,
    `--out` (preflight writes files nowhere else), or the stack file."""
    if isinstance(err, PolicyConfigError):
        return "policy config", args.policy_config
    if isinstance(err, DecryptedConfigError):
        source = args.decrypted_config
        return "decrypted config", Path("<stdin>" if source == "-" else source)
    if isinstance(err, OutDirError | LocalFilesError):
        # Without --out, --handshakes renders into a temporary directory.
        return "--out", args.out or Path(tempfile.gettempdir())
    return "config", stack_path


def main(argv: Sequence[str], started: PackProcess | None = None) -> int:
    """`started`: the policy pack's process for this stack, already started by the caller,
    who closes it (the run hands it to the analyzer, which closes it too)."""
    args = arguments(argv)
    stack, path = stack_and_path(args)
    # No emoji codes: ":ab:" in a fingerprint or an IPv6 address is data, not 🆎.
    console = Console(stderr=args.json, emoji=False)
    report = Report(stack)
    with tempfile.TemporaryDirectory(prefix="preflight-") as scratch:
        out = args.out or (Path(scratch) if args.handshakes else None)
        report.out = args.out
        try:
            if args.out is not None:
                render.check_out_dir(args.out)
            _run(args, report, console, out, Path(scratch), started=started)
        except (ConfigError, StackFileError, PolicyConfigError, OutDirError,
                LocalFilesError) as err:
            what, source = _input_of(err, args, path)
            if args.json:
                json.dump({"stack": stack, "input": what, "path": str(source),
                           "configErrors": str(err).splitlines()}, sys.stdout)
            else:
                console.print(f"[red]{what} error[/red] in {escape(str(source))}:\n"
                              f"{escape(str(err))}", highlight=False)
            return EXIT_CONFIG
    if args.json:
        json.dump(report.as_json(), sys.stdout, indent=2)
        print()
    else:
        print_report(report, console)
    return EXIT_VIOLATIONS if report.mandatory or report.failed_handshakes else EXIT_CLEAN
