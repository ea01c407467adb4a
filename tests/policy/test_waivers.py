"""Waivers through Configure: a valid waiver turns one mandatory violation advisory for one
resource; an expired waiver does not, and is named in the violation."""

from __future__ import annotations

from collections.abc import Iterator

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
