"""Analyze that deserialises the resource once per request (pulumi-policy 1.21.0 only).

pulumi-policy 1.21.0's `_PolicyAnalyzerServicer.Analyze` rebuilds the resource's properties
(MessageToDict, `deserialize_properties`, the unknown-checking proxy), options and provider
inside its loop over the policies, so once per enabled resource policy: 16 times for this pack,
for every resource the engine hands it (docs/benchmarks.md, F7). `install()` replaces that
method with `analyze` below: upstream's loop step for step (disabled and stack policies
skipped, validation-less policies not applicable, remediate reported as mandatory, per-policy
config, stack tags, outcomes by `stack_request.run_policy`), except that the properties,
options and provider are built once, on the first policy that runs, and handed to every policy.

Sharing is safe for the reason `stack_request` gives: nothing in the pack writes to what it is
handed (the adapters copy `args.props` into plain values). Same guard as there: on any other
pulumi-policy the pack runs upstream's own Analyze (slower, same results).
"""

from __future__ import annotations

from typing import Any

from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel, ResourceValidationArgs, ResourceValidationPolicy
from pulumi_policy.policy import _PolicyAnalyzerServicer

from .stack_request import (
    install_method,
    resource_parts,
    run_policy,
    upstream_private,
    violation_reporter,
)


def install() -> bool:
    """Use `analyze` for every pack servicer of this process; False, and stock behaviour,
    unless pulumi-policy is `PINNED`."""
    return install_method("Analyze", analyze)


def analyze(
    self: _PolicyAnalyzerServicer, request: analyzer_pb2.AnalyzeRequest, _context: object
) -> analyzer_pb2.AnalyzeResponse:
    """Upstream 1.21.0's Analyze with the resource built once (see the module doc)."""
    self._configure_runtime_settings()  # type: ignore[no-untyped-call]
    response = analyzer_pb2.AnalyzeResponse()
    parts: tuple[Any, Any, Any] | None = None
    for policy in upstream_private(self, "policies"):
        level = self._get_enforcement_level(policy)
        if level == EnforcementLevel.DISABLED or not isinstance(policy, ResourceValidationPolicy):
            continue
        if not policy.has_validation():
            response.not_applicable.append(analyzer_pb2.PolicyNotApplicable(
                policy_name=policy.name, reason="Policy does not implement validate"
            ))
            continue
        report = violation_reporter(self, policy, level, response)
        if parts is None:
            parts = resource_parts(self, request)
        props, opts, provider = parts
        args = ResourceValidationArgs(
            request.type, props, request.urn, request.name, opts, provider,
            self._get_policy_config(policy.name), upstream_private(self, "stack_tags"),
        )
        run_policy(self, policy, args, report, response)
    return response
