"""Waivers through Configure: a valid waiver turns one mandatory violation advisory for one
resource; an expired waiver does not, and is named in the violation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from harness.analyzer import PolicyAnalyzer
from harness.pack_process import PackProcess

from . import fixtures as f
from .conftest import PACK_DIR
from .scenarios import pki, vm_bundle
from .verdicts import mandatory, verdicts

T = f.TRANSPORT
WAIVED = f.elasticsearch("waived", {"nodeSets": [f.node_set({T + "client_authentication":
                                                             "optional"})]})
LAPSED = f.elasticsearch("lapsed", {"nodeSets": [f.node_set({T + "client_authentication":
                                                             "none"})]})
OTHER = f.elasticsearch("other", {"nodeSets": [f.node_set({T + "client_authentication":
                                                           "none"})]})
# Each also weakens client authentication, which the waiver of "escalated" is for.
BEYOND_THE_WAIVER: dict[str, dict[str, Any]] = {
    "security-off": {"xpack.security.enabled": False},
    "tls-off": {T + "enabled": False},
    "tls-not-a-boolean": {T + "enabled": "yes"},
    "default-profile-ssl": {"transport.profiles.default.xpack.security.ssl.key": "node.key"},
}
SHARED = pki("a")
B = pki("b", ca=(SHARED.ca_key, SHARED.ca))


@pytest.fixture(scope="module")
def waiving() -> Iterator[PolicyAnalyzer]:
    with PolicyAnalyzer(PackProcess(PACK_DIR)) as running:
        running.configure_stack()
        running.configure({
            "es-transport-mtls": {"waivers": [
                {"urn": WAIVED.urn, "reason": "migration window, ticket OPS-1",
                 "expires": "2999-12-31"},
                {"name": "lapsed", "reason": "old exception", "expires": "2020-01-01"},
                {"name": "escalated", "reason": "client migration, ticket OPS-2",
                 "expires": "2999-12-31"},
            ]},
            "es-transport-mtls-env-from": {"waivers": [
                {"name": "es-a", "reason": "client migration, ticket OPS-3",
                 "expires": "2999-12-31"},
            ]},
            "es-transport-ca-dedicated": {"waivers": [
                {"name": SHARED.ca.name, "reason": "lab clusters", "expires": "2999-12-31"},
            ]},
        })
        yield running


def test_valid_waiver_makes_the_violation_advisory(waiving: PolicyAnalyzer) -> None:
    diagnostics = waiving.analyze(WAIVED)
    assert verdicts(diagnostics) == {("es-transport-mtls-advisory", "advisory")}
    assert "Waived by" in diagnostics[0].message and "OPS-1" in diagnostics[0].message


def test_expired_waiver_stays_mandatory_and_is_reported(waiving: PolicyAnalyzer) -> None:
    diagnostics = waiving.analyze(LAPSED)
    assert verdicts(diagnostics) == {("es-transport-mtls", "mandatory")}
    assert "Expired waiver for 'lapsed'" in diagnostics[0].message


def test_a_waiver_covers_only_its_resource(waiving: PolicyAnalyzer) -> None:
    assert verdicts(waiving.analyze(OTHER)) == {("es-transport-mtls", "mandatory")}


def test_stack_policy_waiver(waiving: PolicyAnalyzer) -> None:
    records = [*SHARED.records, *B.records[2:], vm_bundle("a", SHARED), vm_bundle("b", B)]
    diagnostics = waiving.analyze_stack(records)
    assert verdicts(diagnostics) == {("es-transport-ca-dedicated-advisory", "advisory")}
    assert mandatory(diagnostics) == []


@pytest.mark.parametrize("case", sorted(BEYOND_THE_WAIVER))
def test_a_client_authentication_waiver_does_not_excuse_more(
    waiving: PolicyAnalyzer, case: str
) -> None:
    """INV-MTLS names a waiver for optional/none client authentication alone: the same
    resource turning transport TLS off, or setting what stops the node, stays mandatory."""
    escalated = f.elasticsearch("escalated", {"nodeSets": [f.node_set(
        {T + "client_authentication": "optional", **BEYOND_THE_WAIVER[case]})]})
    diagnostics = waiving.analyze(escalated)
    assert verdicts(diagnostics) == {("es-transport-mtls", "mandatory"),
                                     ("es-transport-mtls-advisory", "advisory")}
    (waived,) = [d for d in diagnostics if "Waived by" in d.message]
    assert waived.policy_name == "es-transport-mtls-advisory"
    assert "client_authentication is 'optional'" in waived.message
    assert "OPS-2" in waived.message
    kept = [d for d in diagnostics if d.policy_name == "es-transport-mtls"]
    assert kept and all("client_authentication is 'optional'" not in d.message for d in kept)
    assert all("Not waived: the waiver for 'escalated'" in d.message
               and "excuse only weakened client authentication" in d.message for d in kept)


def test_an_env_from_waiver_does_not_excuse_security_off(waiving: PolicyAnalyzer) -> None:
    """The same scope for what an ECK container loads with envFrom (a stack policy)."""
    env = f.config_map("es-env", {T + "client_authentication": "optional",
                                  "xpack.security.enabled": "false"})
    es = f.elasticsearch("es-a", {"version": "9.1.0", "nodeSets": [{
        "name": "d", "count": 1, "config": {}, "podTemplate": {"spec": {"containers": [
            {"name": "elasticsearch", "envFrom": [{"configMapRef": {"name": "es-env"}}]}]}}}]})
    diagnostics = waiving.analyze_stack([env, es])
    kept = [d for d in diagnostics if d.policy_name == "es-transport-mtls-env-from"]
    waived = [d for d in diagnostics if d.policy_name == "es-transport-mtls-env-from-advisory"]
    assert [("xpack.security.enabled" in d.message, "OPS-3" in d.message) for d in kept] == [
        (True, True)]
    assert [("client_authentication" in d.message, "Waived by" in d.message) for d in waived] == [
        (True, True)]
