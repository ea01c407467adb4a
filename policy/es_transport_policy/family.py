"""A policy family: one invariant check as a primary policy plus an `-advisory` companion.

pulumi-policy fixes the enforcement level per policy, not per violation, and hands each policy
only its own config. A rule's findings therefore go to two policies: BLOCKING findings to the
primary (mandatory unless configured otherwise; waivable), NOTICE findings and waived BLOCKING
findings to the companion (advisory). The companion reads the primary's config (thresholds,
waivers) from a `SharedConfig` the primary publishes to whenever it runs: within each
Analyze/AnalyzeStack call the SDK runs the pack's policies in list order, primary first.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema

from .findings import Finding, Grade
from .waivers import WAIVERS_SCHEMA, Waiver, find_waiver, parse_waivers, today

COMPANION_SUFFIX = "-advisory"


@dataclass(frozen=True)
class Family:
    name: str
    invariant: str
    summary: str
    rationale: str
    fix: str
    level: EnforcementLevel = EnforcementLevel.MANDATORY
    companion: bool = True
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # What a waiver of the primary may excuse, when that is narrower than all its findings
    # (those outside it are `Finding.waivable` False); "" means every BLOCKING finding.
    waiver_scope: str = ""

    @property
    def description(self) -> str:
        return f"{self.invariant}: {self.summary} ({self.rationale})"

    @property
    def companion_name(self) -> str:
        return self.name + COMPANION_SUFFIX

    def schema(self) -> PolicyConfigSchema:
        properties = {k: dict(v) for k, v in self.config.items()}
        properties["waivers"] = WAIVERS_SCHEMA
        return PolicyConfigSchema(properties=properties)

    def defaults(self) -> dict[str, Any]:
        return {k: v["default"] for k, v in self.config.items() if "default" in v}


class SharedConfig:
    """The primary policy's latest config, for its companion."""

    def __init__(self, defaults: Mapping[str, Any]) -> None:
        self._lock = threading.Lock()
        self._config: dict[str, Any] = dict(defaults)

    def publish(self, config: Mapping[str, Any]) -> None:
        with self._lock:
            self._config = dict(config)

    def current(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._config)


def _expired_note(waiver: Waiver | None) -> str:
    if waiver is None:
        return ""
    return (
        f"\nExpired {waiver.describe()}: it no longer applies. Fix the resource, or renew the "
        "waiver with a new date and reason."
    )


def _outside_scope_note(family: Family, waiver: Waiver) -> str:
    return (
        f"\nNot waived: the {waiver.describe()} does not cover this finding; waivers of "
        f"{family.name} excuse only {family.waiver_scope}."
    )


def _applying_waiver(finding: Finding, waivers: tuple[Waiver, ...]) -> Waiver | None:
    """The waiver of `finding`'s resource if it is in force, else None."""
    waiver = find_waiver(waivers, finding.urn)
    return waiver if waiver is not None and not waiver.expired(today()) else None


def primary_messages(
    family: Family, findings: list[Finding], config: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """(message, urn) for the primary policy: BLOCKING findings no waiver excuses."""
    waivers = parse_waivers(config)
    out: list[tuple[str, str]] = []
    for finding in findings:
        if family.companion and finding.grade is Grade.NOTICE:
            continue
        waiver = _applying_waiver(finding, waivers)
        if waiver is None:
            note = _expired_note(find_waiver(waivers, finding.urn))
        elif finding.waivable:
            continue
        else:
            note = _outside_scope_note(family, waiver)
        out.append((finding.message + note, finding.urn))
    return out


def companion_messages(findings: list[Finding], config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(message, urn) for the companion: NOTICE findings and validly waived BLOCKING ones."""
    waivers = parse_waivers(config)
    out: list[tuple[str, str]] = []
    for finding in findings:
        if finding.grade is Grade.NOTICE:
            out.append((finding.message, finding.urn))
            continue
        waiver = _applying_waiver(finding, waivers)
        if waiver is not None and finding.waivable:
            out.append((f"Waived by {waiver.describe()}:\n{finding.message}", finding.urn))
    return out
