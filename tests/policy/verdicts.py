"""Compact views of diagnostics for assertions."""

from __future__ import annotations

from collections.abc import Iterable

from harness.analyzer import Diagnostic


def verdicts(diagnostics: Iterable[Diagnostic]) -> set[tuple[str, str]]:
    """{(policy name, enforcement level)}."""
    return {(d.policy_name, d.enforcement_level) for d in diagnostics}


def mandatory(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.enforcement_level == "mandatory"]
