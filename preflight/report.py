"""What preflight found, as one structure: printed with rich, or dumped as JSON."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.analyzer import Diagnostic
from preflight.plan import ClusterPlan

if TYPE_CHECKING:  # the matrix itself loads only for --handshakes (cli._handshakes)
    from preflight.tls_matrix import PairOutcome

_INVARIANT = re.compile(r"\bINV-[A-Z-]+[A-Z]\b")


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    invariant: str
    resource: str
    urn: str
    message: str

    @classmethod
    def of(cls, diagnostic: Diagnostic) -> Violation:
        found = _INVARIANT.search(diagnostic.message)
        return cls(
            policy=diagnostic.policy_name, level=diagnostic.enforcement_level,
            invariant=found.group(0) if found else "",
            resource=diagnostic.urn.rsplit("::", 1)[-1] if diagnostic.urn else "(stack)",
            urn=diagnostic.urn, message=diagnostic.message,
        )


@dataclass
class Report:
    stack: str
    plans: list[ClusterPlan] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    handshakes: list[PairOutcome] = field(default_factory=list)
    out: Path | None = None
    # What the program logged as warnings (`pulumi up` shows them as diagnostics).
    warnings: list[str] = field(default_factory=list)

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "mandatory"]

    @property
    def failed_handshakes(self) -> list[PairOutcome]:
        return [h for h in self.handshakes if not h.result.ok]

    def as_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "clusters": [p.as_json() for p in self.plans],
            "violations": [vars(v) for v in self.violations],
            "warnings": self.warnings,
            "handshakes": [
                {"cluster": h.cluster, "server": h.server, "client": h.client, "stack": h.stack,
                 "ok": h.result.ok, "error": h.result.error}
                for h in self.handshakes
            ],
            "out": str(self.out) if self.out else None,
            "throwawayKeys": True,
        }


def _plan_table(report: Report) -> Table:
    # Strings in a table are markup too: every value from the run is escaped, so that a
    # "[...]" in it is printed rather than read as a style.
    table = Table(title=f"stack {escape(report.stack)}: what `pulumi up` would create")
    for column in ("cluster", "delivery", "nodes", "certificates", "resources", "CA SHA-256"):
        table.add_column(column)
    for plan in report.plans:
        table.add_row(
            escape(plan.cluster), escape(plan.delivery), str(plan.nodes),
            str(plan.certificates), str(sum(plan.resources.values())),
            escape(plan.ca_fingerprint[:23]) + "…",
        )
    return table


def _violation_table(level: str, violations: Sequence[Violation]) -> Table:
    table = Table(title=f"{level} policy violations", show_lines=True)
    for column in ("policy", "invariant", "resource", "what, why, how to fix"):
        table.add_column(column)
    for violation in violations:
        table.add_row(escape(violation.policy), escape(violation.invariant),
                      escape(violation.resource), escape(violation.message))
    return table


def print_report(report: Report, console: Console) -> None:
    console.print(_plan_table(report))
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)
    for level in ("mandatory", "advisory"):
        found = [v for v in report.violations if v.level == level]
        if found:
            console.print(_violation_table(level, found))
    if not report.violations:
        console.print("[green]policy pack: no violations[/green]")
    if report.handshakes:
        failed = report.failed_handshakes
        console.print(f"handshakes: {len(report.handshakes) - len(failed)} of "
                      f"{len(report.handshakes)} pairs completed mutual TLS")
        for h in failed:
            console.print(f"  [red]failed[/red] {escape(h.stack)} {escape(h.cluster)}: client "
                          f"{escape(h.client)} → server {escape(h.server)}: "
                          f"{escape(h.result.error)}", highlight=False)
    if report.out:
        console.print(f"Rendered to {escape(str(report.out))}. Keys there are THROWAWAY keys "
                      "of this run (see THROWAWAY-KEYS.txt), not the ones `pulumi up` would "
                      "issue.")
    else:
        console.print("Keys and certificates of this run are throwaway: they exist only here.")
