"""Thin pulumi-policy adapters: a family + a plain rule function → the pack's policies."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .family import Family, SharedConfig, companion_messages, primary_messages
from .findings import Finding
from .graph import StackGraph
from .values import plain
from .view import ResourceView

ResourceRule = Callable[[ResourceView, Mapping[str, Any]], list[Finding]]
StackRule = Callable[[StackGraph, Mapping[str, Any]], list[Finding]]


def _report(messages: list[tuple[str, str]], report: ReportViolation) -> None:
    for message, urn in messages:
        report(message, urn)


def _config(family: Family, given: Mapping[str, Any]) -> dict[str, Any]:
    return {**family.defaults(), **given}


def _pair(
    family: Family,
    kind: type[ResourceValidationPolicy] | type[StackValidationPolicy],
    primary: Callable[[Any, ReportViolation], None],
    companion: Callable[[Any, ReportViolation], None],
) -> list[Policy]:
    """The family's policy, and its advisory companion (advisory findings, waived violations):
    pulumi-policy fixes the enforcement level per policy, not per violation."""
    policies: list[Policy] = [
        kind(
            name=family.name,
            description=family.description,
            validate=primary,
            enforcement_level=family.level,
            config_schema=family.schema(),
            remediation_steps=family.fix,
        )
    ]
    if family.companion:
        policies.append(
            kind(
                name=family.companion_name,
                description=f"{family.description} [advisory findings and waived violations]",
                validate=companion,
                enforcement_level=EnforcementLevel.ADVISORY,
                remediation_steps=family.fix,
            )
        )
    return policies


def resource_policies(family: Family, rule: ResourceRule) -> list[Policy]:
    shared = SharedConfig(family.defaults())

    def view(args: ResourceValidationArgs) -> ResourceView:
        return ResourceView(args.resource_type, args.name, args.urn, plain(args.props))

    def primary(args: ResourceValidationArgs, report: ReportViolation) -> None:
        config = _config(family, args.get_config())
        shared.publish(config)
        _report(primary_messages(family, rule(view(args), config), config), report)

    def companion(args: ResourceValidationArgs, report: ReportViolation) -> None:
        config = shared.current()
        _report(companion_messages(rule(view(args), config), config), report)

    return _pair(family, ResourceValidationPolicy, primary, companion)


class LastGraph:
    """The `StackGraph` of the last resource list seen, shared by every stack policy.

    With `stack_request.install()` every stack policy of one AnalyzeStack is handed the same
    list object, built for that request, so the graph is built once per request. The key is that
    object's identity, never its contents: a list with the same URNs could carry other
    properties. The cache holds the list itself, so its id cannot be reused by another list
    while cached, and the next request's list replaces it. Without the shim (another
    pulumi-policy) each policy gets a fresh list: a miss, and a graph per policy as before.
    Rules only read the graph (no rule assigns to a Node's props or to `nodes`), so sharing it
    is safe; keep it so.
    """

    def __init__(self) -> None:
        self._last: tuple[list[PolicyResource], StackGraph] | None = None

    def __call__(self, resources: list[PolicyResource]) -> StackGraph:
        last = self._last  # one read: another request's thread may replace it meanwhile
        if last is not None and last[0] is resources:
            return last[1]
        graph = StackGraph.from_policy_resources(resources)
        self._last = (resources, graph)
        return graph


graph_of_request = LastGraph()


def stack_policies(family: Family, rule: StackRule) -> list[Policy]:
    shared = SharedConfig(family.defaults())

    def primary(args: StackValidationArgs, report: ReportViolation) -> None:
        config = _config(family, args.get_config())
        shared.publish(config)
        _report(primary_messages(family, rule(graph_of_request(args.resources), config), config),
                report)

    def companion(args: StackValidationArgs, report: ReportViolation) -> None:
        config = shared.current()
        _report(companion_messages(rule(graph_of_request(args.resources), config), config),
                report)

    return _pair(family, StackValidationPolicy, primary, companion)
