"""The pack's Analyze (es_transport_policy.resource_request) against pulumi-policy's own.

As tests/policy/test_stack_request.py does for AnalyzeStack: both methods run in this process on
upstream's servicer, configured the engine's way, on the same requests; whole responses compared.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from es_transport_policy.adapters import resource_policies
from es_transport_policy.family import Family
from es_transport_policy.findings import Finding, Grade
from es_transport_policy.pack import PACK_NAME, policies
from es_transport_policy.resource_request import analyze
from es_transport_policy.view import ResourceView
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)
from pulumi_policy.policy import _PolicyAnalyzerServicer

from harness.analyzer import analyze_request
from harness.policy_run import records_of
from tests.stack_runs import run_stack

from .scenarios import vm_bundle
from .test_stack_request import RECORD, SERVER_ONLY, servicer

Method = Callable[[_PolicyAnalyzerServicer, analyzer_pb2.AnalyzeRequest, object],
                  analyzer_pb2.AnalyzeResponse]
STOCK: Method = _PolicyAnalyzerServicer.Analyze
METHODS = pytest.mark.parametrize("method", [STOCK, analyze], ids=["stock", "shim"])


@pytest.fixture(scope="module")
def requests() -> list[analyzer_pb2.AnalyzeRequest]:
    """Every resource of a recorded example stack, and a serverAuth-only transport certificate
    with its VM bundle (mandatory findings)."""
    records = [*records_of(run_stack("staging")), *SERVER_ONLY.records,
               vm_bundle("c", SERVER_ONLY)]
    return [analyze_request(r) for r in records]


@pytest.mark.parametrize("config", [
    {},
    {"es-transport-validity": {"maxLeafValidityHours": 1}, "es-transport-eku": "remediate"},
    {"es-transport-eku": "disabled"},
    {"all": "disabled"},
], ids=["defaults", "strict-and-remediate", "disabled", "all-disabled"])
def test_the_pack_answers_as_with_stock_analyze(
    requests: list[analyzer_pb2.AnalyzeRequest], config: dict[str, Any]
) -> None:
    stock_pack, shim_pack = (servicer(policies(), config, PACK_NAME) for _ in range(2))
    stock = [STOCK(stock_pack, r, None) for r in requests]
    assert [analyze(shim_pack, r, None) for r in requests] == stock
    found = {d.policyName for response in stock for d in response.diagnostics}
    assert found if config != {"all": "disabled"} else not found  # not a vacuous comparison


Seen = list[tuple[str, object]]


def resource_policy(name: str, validate: Callable[[ResourceValidationArgs, ReportViolation], Any],
                    level: EnforcementLevel = EnforcementLevel.MANDATORY) -> Policy:
    return ResourceValidationPolicy(name, f"{name} description", validate, level)


def recording(name: str, seen: Seen) -> Policy:
    return resource_policy(name, lambda args, _: seen.append((name, args.props)))


def test_every_policy_of_a_request_gets_the_same_props() -> None:
    seen: Seen = []
    pack = servicer([recording("a", seen), recording("b", seen),
                     ResourceValidationPolicy("c", "remediates only", remediate=lambda _: None)],
                    {"b": "disabled"})
    request = analyze_request(RECORD)
    shim, stock = analyze(pack, request, None), STOCK(pack, request, None)
    assert shim == stock and [n.policy_name for n in shim.not_applicable] == ["c"]
    assert [name for name, _ in seen] == ["a", "a"]
    seen.clear()
    pack = servicer([recording("a", seen), recording("b", seen)])
    analyze(pack, request, None)
    STOCK(pack, request, None)
    props = [p for _, p in seen]
    assert props[0] is props[1] and props[2] is not props[3]


def _reads_unknown(args: ResourceValidationArgs, _report: ReportViolation) -> None:
    _ = args.props["unknown"]  # raises UnknownValueError


def _not_applicable(args: ResourceValidationArgs, _report: ReportViolation) -> None:
    args.not_applicable("nothing to check")


async def _reports_later(args: ResourceValidationArgs, report: ReportViolation) -> None:
    report("found asynchronously", args.urn)


def _reports(args: ResourceValidationArgs, report: ReportViolation) -> None:
    report(f"known is {args.props['known']}", args.urn)


@METHODS
def test_outcomes_of_a_policy_are_reported_as_upstream_reports_them(method: Method) -> None:
    pack = servicer(
        [resource_policy("unknown", _reads_unknown),
         resource_policy("not-applicable", _not_applicable),
         resource_policy("async", _reports_later, EnforcementLevel.ADVISORY),
         resource_policy("reports", _reports)],
        {"reports": "remediate"},
    )
    request = analyze_request(RECORD)
    response = method(pack, request, None)
    assert response == STOCK(pack, request, None)
    assert [(d.policyName, d.enforcementLevel) for d in response.diagnostics] == [
        ("unknown", analyzer_pb2.ADVISORY), ("async", analyzer_pb2.ADVISORY),
        ("reports", analyzer_pb2.MANDATORY)]
    assert [(n.policy_name, n.reason) for n in response.not_applicable] == [
        ("not-applicable", "nothing to check")]


@METHODS
def test_any_other_exception_fails_the_call(method: Method) -> None:
    def fails(_args: ResourceValidationArgs, _report: ReportViolation) -> None:
        raise RuntimeError("rule bug")

    pack = servicer([resource_policy("reports", _reports), resource_policy("fails", fails)])
    with pytest.raises(RuntimeError, match="rule bug"):
        method(pack, analyze_request(RECORD), None)


@METHODS
def test_a_resource_rule_runs_once_per_request_with_the_shim(method: Method) -> None:
    views: list[ResourceView] = []

    def rule(view: ResourceView, _config: Mapping[str, Any]) -> list[Finding]:
        views.append(view)
        return [Finding("INV-T", "blocking", "why", "fix", view.urn),
                Finding("INV-T", "notice", "why", "fix", view.urn, Grade.NOTICE)]

    family = Family("t", "INV-T", "summary", "rationale", "fix")
    pack = servicer(resource_policies(family, rule))
    response = method(pack, analyze_request(RECORD), None)
    assert [d.policyName for d in response.diagnostics] == ["t", "t-advisory"]
    assert len(views) == (1 if method is analyze else 2)
