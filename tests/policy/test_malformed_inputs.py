"""Malformed inputs on which test_pack_fuzz.py found the pack failing the whole gRPC call (or
misreading them): each is the failing input as a fixture, with the verdict expected.

A hand-written program may register any value under the types the pack judges; the pack treats
a malformed value as what it is (unknown, absent or invalid) and, where an invariant depends
on it, reports it.
"""

from __future__ import annotations

import textwrap

import pytest

from harness.analyzer import PolicyAnalyzer, Record

from . import fixtures as f
from .verdicts import verdicts

T = f.TRANSPORT
M, A = "mandatory", "advisory"
DEADLINE_S = 20.0

CASES: dict[str, tuple[Record, set[tuple[str, str]]]] = {
    # Not base64 (the API server refuses the object): nothing is delivered, nothing judged.
    "secret-data-not-ascii": (f.secret("s", {"elasticsearch.yml": "é"}, encode=False), set()),
    "configmap-binary-data-not-ascii": (
        f.record(f.CONFIG_MAP, "c", {"metadata": {"name": "c"}, "binaryData": {"x": "\u00e9"}}),
        set()),
    # ... and the Secret's other keys are still judged.
    "secret-data-not-ascii-beside-a-violation": (
        f.secret("s", {"x": "é", "elasticsearch.yml": f.b64(f.yml(f.good_vm_settings(
            **{T + "client_authentication": "none"})))}, encode=False),
        {("es-transport-mtls", M)}),
    # Line breaks in base64 (`base64` wraps at 76 characters): Kubernetes ignores them, so the
    # settings are delivered and judged.
    "secret-data-base64-with-line-breaks": (
        f.secret("s", {"elasticsearch.yml": "\n".join(textwrap.wrap(f.b64(f.yml(
            f.good_vm_settings(**{T + "client_authentication": "none"}))), 76)) + "\r\n"},
            encode=False),
        {("es-transport-mtls", M)}),
    "secret-data-base64-with-spaces-is-refused": (
        f.secret("s", {"elasticsearch.yml": " ".join(textwrap.wrap(f.b64(f.yml(
            f.good_vm_settings(**{T + "client_authentication": "none"}))), 76))},
            encode=False),
        set()),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_resource(analyzer: PolicyAnalyzer, case: str) -> None:
    record, expected = CASES[case]
    diagnostics = analyzer.analyze(record, timeout=DEADLINE_S)
    assert verdicts(diagnostics) == expected, [d.message for d in diagnostics]
