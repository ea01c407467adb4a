"""AnalyzeStack that deserialises the stack once per request (pulumi-policy 1.21.0 only).

pulumi-policy 1.21.0's `_PolicyAnalyzerServicer.AnalyzeStack` rebuilds every `PolicyResource`
(MessageToDict, `deserialize_properties`, unknown-checking proxies, parent and dependency links)
inside its loop over the policies, so once per enabled stack policy: 13 times for this pack,
over half of the call at 1,000 nodes (docs/benchmarks.md, F4). `install()` replaces that method
with `analyze_stack` below: upstream's loop step for step (enforcement levels, config, stack
tags, violation reports, the UnknownValueError and not-applicable handling, other exceptions
failing the call), except that the resource list is built once, on the first enabled stack
policy (as upstream, nothing is deserialised when none is enabled), and every stack policy is
handed that same list.

Sharing is safe because nothing here writes to what it is handed: the pack's only reader of
`args.resources` is `StackGraph.from_policy_resources`, which copies the properties into plain
values; no rule or adapter assigns to a PolicyResource, its props or the list. Keep it so.

The method body relies on 1.21.0's private names, so `install()` does nothing on any other
installed version and the pack then runs with upstream's own AnalyzeStack (slower, same
results).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from functools import cached_property
from importlib.metadata import version
from inspect import isawaitable
from typing import Any, cast, overload

from google.protobuf import json_format
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy import StackValidationPolicy as StackPolicy
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import _NotApplicableError, _PolicyAnalyzerServicer
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from .graph import StackGraph
from .request_graph import graph_of_request

PINNED = "1.21.0"


def install() -> bool:
    """Use `analyze_stack` for every pack servicer of this process (before `PolicyPack(...)`
    registers the servicer); False, and stock behaviour, unless pulumi-policy is `PINNED`."""
    return install_method("AnalyzeStack", analyze_stack)


def install_method(name: str, method: Callable[..., analyzer_pb2.AnalyzeResponse]) -> bool:
    """`method` as upstream's servicer method `name`, on the pinned pulumi-policy only."""
    if version("pulumi-policy") != PINNED:
        return False
    # A class attribute, as upstream defines it: the servicer is created inside PolicyPack().
    setattr(_PolicyAnalyzerServicer, name, method)
    return True


def upstream_private(servicer: _PolicyAnalyzerServicer, name: str) -> Any:
    """A name-mangled attribute of upstream's servicer (`self.__name` in its methods)."""
    return getattr(servicer, f"_PolicyAnalyzerServicer__{name}")


def resource_parts(
    servicer: _PolicyAnalyzerServicer,
    resource: analyzer_pb2.AnalyzeRequest | analyzer_pb2.AnalyzerResource,
) -> tuple[Any, Any, Any]:
    """A resource's proxied props, options and provider, as 1.21.0 builds them for a policy
    (Analyze's request and AnalyzeStack's resources carry the same fields)."""
    props = unknown_checking_proxy(
        deserialize_properties(json_format.MessageToDict(resource.properties))
    )
    return props, servicer._get_resource_options(resource), servicer._get_provider_resource(
        resource
    )


def policy_resources(
    servicer: _PolicyAnalyzerServicer, request: analyzer_pb2.AnalyzeStackRequest
) -> list[PolicyResource]:
    """The request's resources as 1.21.0 builds them for each stack policy: proxied props,
    options and provider by upstream's own helpers, then parent, dependencies and property
    dependencies linked to the resource objects (URNs not in the request are dropped; with a
    URN twice, the last resource wins)."""
    built: list[tuple[PolicyResource, analyzer_pb2.AnalyzerResource]] = []
    for r in request.resources:
        props, opts, provider = resource_parts(servicer, r)
        resource = PolicyResource(r.type, props, r.urn, r.name, opts, provider, None, [], {})
        built.append((resource, r))
    by_urn = {resource.urn: resource for resource, _ in built}
    for resource, r in built:
        if r.parent in by_urn:
            resource.parent = by_urn[r.parent]
        resource.dependencies.extend(by_urn[d] for d in r.dependencies if d in by_urn)
        for prop, deps in r.propertyDependencies.items():
            resource.property_dependencies[prop] = [by_urn[d] for d in deps.urns if d in by_urn]
    return [resource for resource, _ in built]


class RequestResources(Sequence[PolicyResource]):
    """The request's resources as `policy_resources` builds them, built on first use; `graph`
    reads the same stack straight from the request (`request_graph`), which is all this pack's
    stack policies read. Built or not, every stack policy of a request is handed this object."""

    def __init__(
        self, servicer: _PolicyAnalyzerServicer, request: analyzer_pb2.AnalyzeStackRequest
    ) -> None:
        self._servicer, self._request = servicer, request

    @cached_property
    def _built(self) -> list[PolicyResource]:
        return policy_resources(self._servicer, self._request)

    @cached_property
    def graph(self) -> StackGraph:
        direct = graph_of_request(self._request)
        return direct if direct is not None else StackGraph.from_policy_resources(self._built)

    @overload
    def __getitem__(self, index: int) -> PolicyResource: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[PolicyResource]: ...
    def __getitem__(self, index: int | slice) -> PolicyResource | Sequence[PolicyResource]:
        return self._built[index]

    def __len__(self) -> int:
        return len(self._built)


def analyze_stack(
    self: _PolicyAnalyzerServicer, request: analyzer_pb2.AnalyzeStackRequest, _context: object
) -> analyzer_pb2.AnalyzeResponse:
    """Upstream 1.21.0's AnalyzeStack with the resources built once (see the module doc)."""
    self._configure_runtime_settings()  # type: ignore[no-untyped-call]
    response = analyzer_pb2.AnalyzeResponse()
    resources: RequestResources | None = None
    for policy in upstream_private(self, "policies"):
        level = self._get_enforcement_level(policy)
        if level == EnforcementLevel.DISABLED or not isinstance(policy, StackPolicy):
            continue
        report = violation_reporter(self, policy, level, response)
        if resources is None:
            resources = RequestResources(self, request)
        args = StackValidationArgs(
            # Typed a list upstream; policies only read it (iterate, index, len).
            cast(list[PolicyResource], resources), self._get_policy_config(policy.name),
            upstream_private(self, "stack_tags"),
        )
        run_policy(self, policy, args, report, response)
    return response


def violation_reporter(
    self: _PolicyAnalyzerServicer, policy: ResourceValidationPolicy | StackPolicy,
    level: EnforcementLevel, response: analyzer_pb2.AnalyzeResponse,
) -> ReportViolation:
    """The policy's `report_violation`, as 1.21.0 makes it: a remediate level is reported as
    mandatory (a stack policy cannot remediate; a violation left after remediation stands)."""
    if level == EnforcementLevel.REMEDIATE:
        level = EnforcementLevel.MANDATORY
    report: ReportViolation = self._create_report_violation(
        response, policy.name, policy.description, level, policy.severity
    )
    return report


def run_policy(
    self: _PolicyAnalyzerServicer, policy: ResourceValidationPolicy | StackPolicy, args: Any,
    report: ReportViolation,
    response: analyzer_pb2.AnalyzeResponse,
) -> None:
    """One policy's `validate`, its outcomes recorded as 1.21.0 records them in Analyze and
    AnalyzeStack alike; any other exception fails the call."""
    try:
        result = policy.validate(args, report)
        if isawaitable(result):
            # Upstream runs it as an asyncio.Task of a new loop, which is what
            # run_until_complete makes of a coroutine.
            loop = asyncio.new_event_loop()
            loop.run_until_complete(result)
            loop.close()
    except UnknownValueError as e:
        name = upstream_private(self, "policy_pack_name")
        pack_version = upstream_private(self, "policy_pack_version")
        pack = f"{name}@v{pack_version}"
        response.diagnostics.append(analyzer_pb2.AnalyzeDiagnostic(
            policyName=policy.name,
            policyPackName=name,
            policyPackVersion=pack_version,
            message=f"can't run policy '{policy.name}' from policy pack '{pack}' during "
            f"preview: {e.message}",
            urn="",
            description=policy.description,
            enforcementLevel=self._map_enforcement_level(EnforcementLevel.ADVISORY),
        ))
    except _NotApplicableError as e:
        response.not_applicable.append(
            analyzer_pb2.PolicyNotApplicable(policy_name=policy.name, reason=e.reason or "")
        )
