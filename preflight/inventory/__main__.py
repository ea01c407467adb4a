"""`python -m preflight.inventory SOURCE [--picture FILE] [--probe host:port ...]`.

SOURCE: a file with `pulumi stack output --json --show-secrets`, `-` for stdin, or a
directory: a `preflight --out DIR` render or a `vm.outputDir` of VM bundles. Exit codes: 0
fine, 1 a probe found a problem, 2 unreadable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from preflight import timeline
from preflight.inventory.probe import ProbeResult, check, parse_target, presented_certificate
from preflight.inventory.rows import (
    DEFAULT_NODE_RENEW_BEFORE_DAYS,
    CertRow,
    Inventory,
    InventoryError,
    from_directory,
    from_stack_outputs,
)
from preflight.rendered import RECORD, RenderedError

EXIT_OK, EXIT_PROBE, EXIT_INPUT = 0, 1, 2


def _checked(check: Callable[[str], object]) -> Callable[[str], str]:
    """An argparse type that keeps the value as given once `check` accepts it: its ValueError
    becomes argparse's usage error (exit 2, the message as given, before anything is read)."""
    def argument(value: str) -> str:
        try:
            check(value)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from err
        return value
    return argument


def _arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m preflight.inventory",
        description="Per cluster and node: CA generation, serial, fingerprint, not-after, days "
        "left, renewal due date and rotation step; optionally a timeline picture and a probe "
        "of what live nodes present on their transport port.",
    )
    parser.add_argument("source", help="stack output JSON file, '-' for stdin, or a directory: "
                        "a `preflight --out` render, or VM bundles (DIR/<cluster>/<node>/)")
    parser.add_argument("--picture", type=_checked(timeline.picture_path),
                        help="draw the timelines to this .png or .svg")
    parser.add_argument("--probe", action="append", default=[], metavar="HOST:PORT",
                        type=_checked(parse_target),
                        help="read the certificate a node presents and check it (repeatable)")
    parser.add_argument("--renew-before-days", type=int,
                        help="directory input only: the node renew-before window (default: "
                        f"each cluster's, as a render's {RECORD} records; else "
                        f"{DEFAULT_NODE_RENEW_BEFORE_DAYS}, the config default)")
    return parser.parse_args(argv)


def load_rows(source: str, renew_before_days: int | None) -> Inventory:
    path = Path(source)
    if source != "-" and path.is_dir():
        return from_directory(path, renew_before_days)
    text = sys.stdin.read() if source == "-" else path.read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise InventoryError(f"{source}: not JSON ({err})") from err
    if not isinstance(document, dict):
        raise InventoryError(f"{source}: expected a JSON object of stack outputs")
    return Inventory(from_stack_outputs(document))


def table(rows: Sequence[CertRow], now: datetime) -> Table:
    result = Table(title=f"Transport certificates on {now:%Y-%m-%d}")
    # Strings in a table are markup: values from the input are escaped, printed as they are.
    for column in ("cluster", "node", "CA gen", "serial", "SHA-256", "not after", "days left",
                   "renewal due", "rotation step"):
        result.add_column(column)
    for row in rows:
        left = row.days_left(now)
        due = f"{row.renewal_due:%Y-%m-%d}" + (" (due)" if now >= row.renewal_due else "")
        result.add_row(
            escape(row.cluster), escape(row.name), f"g{row.generation}", escape(row.serial),
            escape(row.fingerprint), f"{row.not_after:%Y-%m-%d %H:%M}", str(left), due,
            escape(row.step),
        )
    return result


def _probe(target: str, rows: Sequence[CertRow], now: datetime) -> ProbeResult:
    host, port = parse_target(target)
    try:
        cert = presented_certificate(host, port)
    except OSError as err:
        return ProbeResult(target, "", "", (f"no certificate read: {err}",), None)
    return check(target, cert, rows, now)


def main(argv: Sequence[str], now: datetime | None = None) -> int:
    args = _arguments(argv)
    today = now or datetime.now(UTC)
    # No emoji codes: ":AB:" in a fingerprint is data, not 🆎.
    console = Console(emoji=False)
    if not console.is_terminal:
        console.width = 320  # piped or captured: one line per certificate
    try:
        inventory = load_rows(args.source, args.renew_before_days)
    except (InventoryError, RenderedError, OSError, KeyError, ValueError) as err:
        console.print(f"[red]cannot read the inventory:[/red] {escape(str(err))}",
                      highlight=False)
        return EXIT_INPUT
    rows = inventory.rows
    console.print(table(rows, today))
    for note in inventory.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}", highlight=False)
    if args.picture is not None:
        try:
            timeline.draw(rows, Path(args.picture), today)
        except OSError as err:
            console.print(f"[red]cannot write the picture:[/red] {escape(str(err))}",
                          highlight=False)
            return EXIT_INPUT
        console.print(f"timeline written to {escape(args.picture)}")
    results = [_probe(target, rows, today) for target in args.probe]
    for result in results:
        where = (f"{result.matched.cluster}/{result.matched.name} g{result.matched.generation}"
                 if result.matched else "unknown certificate")
        verdict = ("[green]ok[/green]" if result.ok
                   else "[red]" + escape("; ".join(result.problems)))
        console.print(f"probe {escape(result.target)}: {escape(where)} "
                      f"{escape(result.fingerprint)} — {verdict}", highlight=False)
    return EXIT_PROBE if any(not r.ok for r in results) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
