"""The pack's AnalyzeStack (es_transport_policy.stack_request) against pulumi-policy's own.

Both run in this process on upstream's servicer, configured the engine's way, on the same
request; responses are compared whole (diagnostics in order, levels, not-applicable entries).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from es_transport_policy import resource_request, stack_request
from es_transport_policy.adapters import Last, stack_policies
from es_transport_policy.family import Family
from es_transport_policy.findings import Finding, Grade
from es_transport_policy.graph import StackGraph
from es_transport_policy.pack import PACK_NAME, policies
from es_transport_policy.request_graph import UNKNOWN_SENTINELS, graph_of_request
from es_transport_policy.stack_request import PINNED, analyze_stack
from es_transport_policy.values import UNKNOWN as PLAIN_UNKNOWN
from es_transport_policy.values import plain
from google.protobuf import empty_pb2
from pulumi import Archive, Asset
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _PolicyAnalyzerServicer

from harness.analyzer import (
    UNKNOWN,
    Record,
    analyze_stack_request,
    analyzer_info,
    configure_request,
    reconcile_config,
)
from harness.policy_run import records_of
from tests.stack_runs import run_stack

from .scenarios import pki, vm_bundle

Method = Callable[[_PolicyAnalyzerServicer, analyzer_pb2.AnalyzeStackRequest, object],
                  analyzer_pb2.AnalyzeResponse]
# Upstream's method: this process never calls install() outside the guarded test below.
STOCK: Method = _PolicyAnalyzerServicer.AnalyzeStack
METHODS = pytest.mark.parametrize("method", [STOCK, analyze_stack], ids=["stock", "shim"])
RECORD = Record("test:index:Thing", "thing", "urn:pulumi:test::p::test:index:Thing::thing",
                {"known": 1, "unknown": UNKNOWN})
SHARED = pki("a")
OTHER = pki("b", ca=(SHARED.ca_key, SHARED.ca))
SERVER_ONLY = pki("c", allowedUses=["digital_signature", "server_auth"])


def servicer(pack: list[Policy], config: Mapping[str, Any] | None = None,
             name: str = "test-pack") -> _PolicyAnalyzerServicer:
    """Upstream's servicer as PolicyPack() makes it, after the engine's Configure."""
    result = _PolicyAnalyzerServicer(name, "0.0.1", pack, EnforcementLevel.ADVISORY)
    untyped: Any = result  # upstream's gRPC methods carry no annotations
    info = analyzer_info(untyped.GetAnalyzerInfo(empty_pb2.Empty(), None))
    untyped.Configure(configure_request(reconcile_config(info, config or {})), None)
    return result


def stack_policy(name: str, validate: Callable[[StackValidationArgs, ReportViolation], Any],
                 level: EnforcementLevel = EnforcementLevel.MANDATORY) -> Policy:
    return StackValidationPolicy(name, f"{name} description", validate, level)


Seen = list[tuple[str, list[PolicyResource]]]


def recording(name: str, seen: Seen) -> Policy:
    """A stack policy noting its name and the resource list it is handed."""
    return stack_policy(name, lambda args, _: seen.append((name, args.resources)))


@pytest.fixture(scope="module")
def stack() -> analyzer_pb2.AnalyzeStackRequest:
    """A recorded example stack (staging: one advisory finding) plus clusters sharing a CA and
    a serverAuth-only transport certificate (mandatory findings)."""
    records = [*records_of(run_stack("staging")), *SHARED.records, *OTHER.records[2:],
               vm_bundle("a", SHARED), vm_bundle("b", OTHER), *SERVER_ONLY.records,
               vm_bundle("c", SERVER_ONLY)]
    return analyze_stack_request(records)


@pytest.mark.parametrize("config", [
    {},
    {"es-transport-ca-dedicated": {"waivers": [
        {"name": SHARED.ca.name, "reason": "lab clusters", "expires": "2999-12-31"}]},
     "es-transport-renewal": "mandatory"},
    {"es-transport-eku": "disabled", "es-transport-ca-dedicated": "remediate"},
    {"all": "disabled"},
], ids=["defaults", "waiver", "disabled-and-remediate", "all-disabled"])
def test_the_pack_answers_as_with_stock_analyze_stack(
    stack: analyzer_pb2.AnalyzeStackRequest, config: dict[str, Any]
) -> None:
    stock = STOCK(servicer(policies(), config, PACK_NAME), stack, None)
    shim = analyze_stack(servicer(policies(), config, PACK_NAME), stack, None)
    assert shim == stock
    if config != {"all": "disabled"}:
        assert len({d.policyName for d in stock.diagnostics}) >= 2


def test_every_stack_policy_of_a_request_gets_the_same_resources() -> None:
    seen: Seen = []
    pack = servicer([recording("a", seen), recording("b", seen)])
    request = analyze_stack_request([RECORD])
    analyze_stack(pack, request, None)
    analyze_stack(pack, request, None)
    STOCK(pack, request, None)
    lists = [resources for _, resources in seen]
    assert lists[0] is lists[1] and lists[2] is lists[3] and lists[0] is not lists[2]
    assert lists[4] is not lists[5]


def test_links_are_built_as_upstream_builds_them() -> None:
    seen: Seen = []
    pack = servicer([recording("a", seen)])
    key, cert = SHARED.ca_key, SHARED.ca
    parented = Record(RECORD.type, "child", RECORD.urn + "-child", {}, parent=cert.urn,
                      dependencies=[key.urn, "urn:absent"],
                      property_dependencies={"x": [key.urn, "urn:absent"], "y": ["urn:absent"]})
    request = analyze_stack_request([key, cert, parented])
    for method in (STOCK, analyze_stack):
        method(pack, request, None)
    shapes = [[(r.urn, r.parent.urn if r.parent else None, [d.urn for d in r.dependencies],
                {k: [d.urn for d in v] for k, v in r.property_dependencies.items()},
                r.opts.protect, plain(r.props)) for r in resources] for _, resources in seen]
    assert shapes[0] == shapes[1]
    assert shapes[1][2][1:4] == (cert.urn, [key.urn], {"x": [key.urn], "y": []})


def test_a_disabled_policy_is_skipped() -> None:
    seen: Seen = []
    pack = servicer([recording(n, seen) for n in "abc"], {"b": "disabled"})
    request = analyze_stack_request([RECORD])
    assert analyze_stack(pack, request, None) == STOCK(pack, request, None)
    assert [name for name, _ in seen] == ["a", "c", "a", "c"]


def test_nothing_is_deserialised_when_every_stack_policy_is_disabled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unexpected(*_: object) -> list[PolicyResource]:
        raise AssertionError("resources built for no policy")

    monkeypatch.setattr(stack_request, "policy_resources", unexpected)
    pack = servicer([stack_policy("a", lambda *_: None)], {"all": "disabled"})
    assert analyze_stack(pack, analyze_stack_request([RECORD]), None).diagnostics == []


def _reads_unknown(args: StackValidationArgs, _report: ReportViolation) -> None:
    _ = args.resources[0].props["unknown"]  # raises UnknownValueError


def _not_applicable(args: StackValidationArgs, _report: ReportViolation) -> None:
    args.not_applicable("nothing to check")


async def _reports_later(args: StackValidationArgs, report: ReportViolation) -> None:
    report("found asynchronously", args.resources[0].urn)


def _reports(args: StackValidationArgs, report: ReportViolation) -> None:
    report(f"known is {args.resources[0].props['known']}", args.resources[0].urn)
    report("", None)


@METHODS
def test_outcomes_of_a_policy_are_reported_as_upstream_reports_them(method: Method) -> None:
    pack = servicer(
        [stack_policy("unknown", _reads_unknown), stack_policy("not-applicable", _not_applicable),
         stack_policy("async", _reports_later, EnforcementLevel.ADVISORY),
         stack_policy("reports", _reports)],
        {"reports": "remediate"},
    )
    request = analyze_stack_request([RECORD])
    response = method(pack, request, None)
    assert response == STOCK(pack, request, None)
    assert [(d.policyName, d.enforcementLevel) for d in response.diagnostics] == [
        ("unknown", analyzer_pb2.ADVISORY), ("async", analyzer_pb2.ADVISORY),
        ("reports", analyzer_pb2.MANDATORY), ("reports", analyzer_pb2.MANDATORY)]
    assert "can't run policy 'unknown' from policy pack 'test-pack@v0.0.1' during preview" in (
        response.diagnostics[0].message)
    assert [(n.policy_name, n.reason) for n in response.not_applicable] == [
        ("not-applicable", "nothing to check")]


@METHODS
def test_any_other_exception_fails_the_call(method: Method) -> None:
    def fails(_args: StackValidationArgs, _report: ReportViolation) -> None:
        raise RuntimeError("rule bug")

    pack = servicer([stack_policy("reports", _reports), stack_policy("fails", fails)])
    with pytest.raises(RuntimeError, match="rule bug"):
        method(pack, analyze_stack_request([RECORD]), None)


def test_a_value_is_kept_for_the_same_key_object_only() -> None:
    last: Last[list[int], object] = Last()
    key = [1]
    value = last.get(key, object)
    assert last.get(key, object) is value
    assert last.get([1], object) is not value  # equal contents, another object: computed
    assert last.get(key, object) is not value  # one key kept at a time
    kept = last.get(key, object, "config")
    assert last.get(key, object, "config") is kept and last.get(key, object, "other") is not kept


@METHODS
def test_a_stack_rule_runs_once_per_request_with_the_shim(method: Method) -> None:
    graphs: list[StackGraph] = []

    def rule(graph: StackGraph, _config: Mapping[str, Any]) -> list[Finding]:
        graphs.append(graph)
        return [Finding("INV-T", "blocking", "why", "fix", RECORD.urn),
                Finding("INV-T", "notice", "why", "fix", RECORD.urn, Grade.NOTICE)]

    family = Family("t", "INV-T", "summary", "rationale", "fix")
    pack = servicer(stack_policies(family, rule))
    request = analyze_stack_request([RECORD])
    response = method(pack, request, None)
    assert [d.policyName for d in response.diagnostics] == ["t", "t-advisory"]
    assert len(graphs) == (1 if method is analyze_stack else 2)


@pytest.mark.parametrize(("module", "name", "shim"), [
    (stack_request, "AnalyzeStack", analyze_stack),
    (resource_request, "Analyze", resource_request.analyze),
], ids=["AnalyzeStack", "Analyze"])
def test_install_only_on_the_pinned_pulumi_policy(
    monkeypatch: pytest.MonkeyPatch, module: Any, name: str, shim: object
) -> None:
    stock = getattr(_PolicyAnalyzerServicer, name)
    monkeypatch.setattr(_PolicyAnalyzerServicer, name, stock)  # undone after the test
    monkeypatch.setattr(stack_request, "version", lambda _: "1.22.0")
    assert module.install() is False
    assert getattr(_PolicyAnalyzerServicer, name) is stock
    monkeypatch.setattr(stack_request, "version", lambda _: PINNED)
    assert module.install() is True
    assert getattr(_PolicyAnalyzerServicer, name) is shim


def test_the_pinned_version_is_the_one_required() -> None:
    """A pulumi-policy bump must revisit stack_request (else the pack silently loses it): the
    pack's own runtime (policy/venv) and the tests' pin it."""
    repo = Path(__file__).resolve().parents[2]
    for requirements in (repo / "policy" / "requirements.txt", repo / "requirements-dev.txt"):
        assert f"pulumi-policy=={PINNED}" in requirements.read_text().split()
    assert version("pulumi-policy") == PINNED


# --- the graph read straight from the request (request_graph) ------------------------------


def _upstream_graph(request: analyzer_pb2.AnalyzeStackRequest) -> StackGraph:
    """The graph as built before request_graph: from pulumi-policy's resources."""
    return StackGraph.from_policy_resources(
        stack_request.policy_resources(_any_servicer(), request)
    )


def _any_servicer() -> _PolicyAnalyzerServicer:
    return servicer([stack_policy("any", lambda *_: None)])


@pytest.mark.parametrize("stack_name", ["dev", "staging", "prod"])
@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_the_request_graph_is_upstreams_graph_on_every_stack(
    stack_name: str, preview: bool
) -> None:
    request = analyze_stack_request(records_of(run_stack(stack_name, preview=preview)))
    direct = graph_of_request(request)
    assert direct is not None
    assert list(direct.nodes.items()) == list(_upstream_graph(request).nodes.items())
    # Not vacuous: secrets were unwrapped, and at preview unknowns are among the values.
    assert "4dabf18193072939515e22adb298388d" in str(request)
    assert ("UNKNOWN" in str(direct.nodes)) == preview


def test_the_request_graph_reads_odd_values_and_links_as_upstream() -> None:
    sentinels = sorted(UNKNOWN_SENTINELS)
    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}
    odd = {
        "numbers": [3, 2.5, -0.0, 1e300], "flags": [True, False], "nothing": None,
        "empty": {"map": {}, "list": []}, "spaced key.and/slash": "text",
        "unknowns": {s: s for s in sentinels}, "unknownList": sentinels,
        "secrets": [{**secret, "value": {"nested": [1, {**secret, "value": sentinels[0]}]}}],
        "secretUnknown": {**secret, "value": sentinels[-1]},
    }
    key, cert = SHARED.ca_key, SHARED.ca
    records = [
        key, cert,
        Record(RECORD.type, "odd", RECORD.urn + "-odd", odd, parent=cert.urn,
               dependencies=[key.urn, "urn:absent"], protect=True,
               property_dependencies={"x": [key.urn, "urn:absent"], "y": ["urn:absent"]}),
        Record(RECORD.type, "orphan", RECORD.urn + "-orphan", {"a": 1}, parent="urn:absent"),
        # The same URN twice: the last one wins, at the first one's place.
        Record(key.type, "again", key.urn, {"again": True}),
    ]
    request = analyze_stack_request(records)
    direct = graph_of_request(request)
    assert direct is not None
    assert list(direct.nodes.items()) == list(_upstream_graph(request).nodes.items())
    node = direct.nodes[RECORD.urn + "-odd"]
    assert node.props["unknowns"] == dict.fromkeys(sentinels, PLAIN_UNKNOWN)
    assert node.props["secrets"][0] == {"nested": [1.0, PLAIN_UNKNOWN]}
    assert (node.parent, node.protect) == (cert.urn, True)


@pytest.mark.parametrize("value", [
    {"4dabf18193072939515e22adb298388d": "c44067f5952c0a294b673a41bacd8c17", "text": "asset"},
    {"4dabf18193072939515e22adb298388d": "0def7320c3a5731c473e5ecbe6d01bc7", "path": "archive"},
], ids=["asset", "archive"])
def test_values_only_upstream_reads_take_its_path(value: dict[str, str]) -> None:
    request = analyze_stack_request([Record(RECORD.type, "x", RECORD.urn, {"v": [value]})])
    assert graph_of_request(request) is None
    resources = stack_request.RequestResources(_any_servicer(), request)
    # pulumi-policy's own reading: an Asset or Archive object.
    assert isinstance(resources.graph.nodes[RECORD.urn].props["v"][0], Asset | Archive)


@METHODS
@pytest.mark.parametrize("value", [
    float("nan"),
    {"4dabf18193072939515e22adb298388d": "not-a-signature"},
    {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"},  # no value
], ids=["nan", "unknown signature", "secret without value"])
def test_values_upstream_refuses_fail_the_call_as_upstream(method: Method, value: Any) -> None:
    family = Family("t", "INV-T", "summary", "rationale", "fix")
    pack = servicer(stack_policies(family, lambda graph, _config: []))
    request = analyze_stack_request([Record(RECORD.type, "x", RECORD.urn, {"v": value})])
    with pytest.raises((ValueError, AssertionError)) as raised:
        method(pack, request, None)
    with pytest.raises(type(raised.value)):
        STOCK(pack, request, None)
