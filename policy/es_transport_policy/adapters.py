"""Thin pulumi-policy adapters: a family + a plain rule function → the pack's policies."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

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
from .stack_request import RequestResources
from .values import plain
from .view import ResourceView

ResourceRule = Callable[[ResourceView, Mapping[str, Any]], list[Finding]]
StackRule = Callable[[StackGraph, Mapping[str, Any]], list[Finding]]
K = TypeVar("K")
V = TypeVar("V")


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
    found: Last[ResourceView, list[Finding]] = Last()

    def findings(args: ResourceValidationArgs, config: dict[str, Any]) -> list[Finding]:
        """The companion runs after the primary on the same view with the config the primary
        published, so the rule's findings are the primary's: the rule runs once per request."""
        view = _view(args)
        return found.get(view, lambda: rule(view, config), config)

    def primary(args: ResourceValidationArgs, report: ReportViolation) -> None:
        config = _config(family, args.get_config())
        shared.publish(config)
        _report(primary_messages(family, findings(args, config), config), report)

    def companion(args: ResourceValidationArgs, report: ReportViolation) -> None:
        config = shared.current()
        _report(companion_messages(findings(args, config), config), report)

    return _pair(family, ResourceValidationPolicy, primary, companion)


class Last(Generic[K, V]):
    """The value computed for the last key object, given again for that very object.

    The key is an object's identity, never its contents (equal contents may come with other
    properties, from another request), plus `same`, compared by equality. The entry holds the
    key object itself, so its id cannot be reused by another object while kept; the next key
    replaces it. Whoever gets the value shares it: it must only be read.
    """

    def __init__(self) -> None:
        self._last: tuple[K, object, V] | None = None

    def get(self, key: K, compute: Callable[[], V], same: object = None) -> V:
        last = self._last  # one read: another request's thread may replace it meanwhile
        if last is not None and last[0] is key and last[1] == same:
            return last[2]
        value = compute()
        self._last = (key, same, value)
        return value


_views: Last[object, ResourceView] = Last()


def _view(args: ResourceValidationArgs) -> ResourceView:
    """One view per Analyze request for all resource policies: with
    `resource_request.install()` they are all handed the same props object, built for that
    request (without it each gets fresh props: a view per policy, as before). Rules only read
    the view; keep it so."""
    return _views.get(
        args.props,
        lambda: ResourceView(args.resource_type, args.name, args.urn, plain(args.props)),
        (args.resource_type, args.name, args.urn),
    )


_graphs: Last[Sequence[PolicyResource], StackGraph] = Last()


def _graph(resources: Sequence[PolicyResource]) -> StackGraph:
    """One graph per AnalyzeStack request for all stack policies: with
    `stack_request.install()` they are all handed the same `RequestResources`, which reads its
    graph from the request (without it, another pulumi-policy, each gets a fresh list: a graph
    per policy, as before). Rules only read the graph (none assigns to a Node's props or to
    `nodes`); keep it so."""
    if isinstance(resources, RequestResources):
        return resources.graph
    return _graphs.get(resources, lambda: StackGraph.from_policy_resources(resources))


def stack_policies(family: Family, rule: StackRule) -> list[Policy]:
    shared = SharedConfig(family.defaults())
    found: Last[StackGraph, list[Finding]] = Last()

    def findings(args: StackValidationArgs, config: dict[str, Any]) -> list[Finding]:
        """The companion runs after the primary on the same graph with the config the primary
        published, so the rule's findings are the primary's: the rule runs once per request."""
        graph = _graph(args.resources)
        return found.get(graph, lambda: rule(graph, config), config)

    def primary(args: StackValidationArgs, report: ReportViolation) -> None:
        config = _config(family, args.get_config())
        shared.publish(config)
        _report(primary_messages(family, findings(args, config), config), report)

    def companion(args: StackValidationArgs, report: ReportViolation) -> None:
        config = shared.current()
        _report(companion_messages(findings(args, config), config), report)

    return _pair(family, StackValidationPolicy, primary, companion)
