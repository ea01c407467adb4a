"""CA rotation through three `pulumi up`s with trust overlap (INV-TRUST-CONTINUITY).

One EngineState carries a VM cluster from its single CA through introduce, switch and retire.
After every run the delivered bundles (key, certificate, CA bundle) are kept, and every mix of
nodes at step k and step k+1 (all 2^3 for three nodes) completes every pairwise mutual-TLS
handshake in OpenSSL, a sample in JSSE. Skipping a step breaks handshakes, which is why the
program refuses it.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from harness.handshake import (
    HandshakePair,
    PemIdentity,
    jdk_available,
    jsse_handshakes,
    openssl_handshakes,
)
from harness.mock_runtime import EngineState, Recording, reveal
from tests.stack_runs import LOCALLY_SIGNED, PRIVATE_KEY, SELF_SIGNED, cert_of, run_clusters

# Real TLS stacks check validity against the real clock: the steps ran in the last two days.
T0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)
NODES = ("es-1", "es-2", "es-3")
# The config of each state, in rotation order; "steady" is a stack with no rotation.
STEPS: dict[str, dict[str, Any]] = {
    "steady": {},
    "introduce": {"rotation": {"step": "introduce"}},
    "switch": {"rotation": {"step": "switch"}},
    "retire": {"rotation": {"step": "retire"}},
}
ORDER = list(STEPS)


def cluster(out: Path, ca: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "logs", "delivery": "vm", "vm": {"outputDir": str(out)}, "ca": ca,
        "nodes": [{"name": n, "dns": [f"{n}.logs.internal"]} for n in NODES],
    }


def up(state: EngineState, out: Path, ca: dict[str, Any], hours: int) -> Recording:
    return run_clusters(
        [cluster(out, ca)], state=state, clock=lambda: T0 + timedelta(hours=hours)
    )


def identity(snapshot: Path, node: str) -> PemIdentity:
    certs = snapshot / "logs" / node / "certs"
    return PemIdentity(
        certs / "transport.crt", certs / "transport.key", certs / "transport-ca.crt"
    )


@pytest.fixture(scope="module")
def rotation(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Recording], Path]:
    """Runs every step with one EngineState; returns the recordings and, per step, a copy of
    the bundles the nodes would hold after it (`<root>/<step>/logs/<node>/certs/...`)."""
    root = tmp_path_factory.mktemp("rotation")
    out = root / "live"
    state = EngineState()
    runs: dict[str, Recording] = {}
    for hours, (step, ca) in enumerate(STEPS.items()):
        runs[step] = up(state, out, ca, hours)
        shutil.copytree(out, root / step)
    return runs, root


def pairs(snapshot_of: Callable[[str], Path]) -> list[HandshakePair]:
    """Every ordered (server, client) pair of distinct nodes, each node's files taken from
    `snapshot_of(node)`."""
    return [
        HandshakePair(
            identity(snapshot_of(server), server), identity(snapshot_of(client), client),
            f"{server}.logs.internal",
        )
        for server, client in itertools.permutations(NODES, 2)
    ]


def mixes(before: Path, after: Path) -> list[tuple[str, list[HandshakePair]]]:
    """All 2^n assignments of nodes to the step before and after an `up`."""
    result = []
    for mask in itertools.product((before, after), repeat=len(NODES)):
        chosen = dict(zip(NODES, mask, strict=True))
        label = ",".join(f"{n}@{chosen[n].name}" for n in NODES)
        result.append((label, pairs(chosen.__getitem__)))
    return result


@pytest.mark.parametrize("index", range(len(ORDER) - 1), ids=[
    f"{a}->{b}" for a, b in itertools.pairwise(ORDER)])
def test_every_mix_of_adjacent_steps_completes_every_handshake_in_openssl(
    rotation: tuple[dict[str, Recording], Path], index: int
) -> None:
    _, root = rotation
    before, after = root / ORDER[index], root / ORDER[index + 1]
    checked = 0
    for label, mix in mixes(before, after):
        for pair, result in zip(mix, openssl_handshakes(mix), strict=True):
            assert result.ok, f"{label}: {pair.client} -> {pair.server}: {result.error}"
            checked += 1
    assert checked == 2 ** len(NODES) * len(NODES) * (len(NODES) - 1)


@pytest.mark.jsse
@pytest.mark.skipif(not jdk_available(), reason="no JDK (javac/java) on PATH")
def test_a_mix_of_adjacent_steps_completes_every_handshake_in_jsse(
    rotation: tuple[dict[str, Recording], Path],
) -> None:
    _, root = rotation
    sample: list[HandshakePair] = []
    for before, after in itertools.pairwise(ORDER):
        # One node behind, two ahead: each direction of each adjacent pair of steps.
        chosen = {"es-1": root / before, "es-2": root / after, "es-3": root / after}
        sample += pairs(chosen.__getitem__)
    results = jsse_handshakes(sample)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]


@pytest.mark.parametrize(("before", "after"), [("introduce", "retire"), ("steady", "switch")])
def test_skipping_a_step_breaks_handshakes(
    rotation: tuple[dict[str, Recording], Path], before: str, after: str
) -> None:
    _, root = rotation
    results = openssl_handshakes(
        pairs({"es-1": root / before, "es-2": root / after, "es-3": root / after}.__getitem__)
    )
    failed = [r for r in results if not r.ok]
    assert failed, f"{before} -> {after} should not be safe"
    assert all("certificate verify failed" in r.error for r in failed), failed[0].error


def test_each_step_issues_and_trusts_the_right_generations(
    rotation: tuple[dict[str, Recording], Path],
) -> None:
    runs, root = rotation
    g1 = cert_of(runs["steady"].named("logs-ca-cert"))
    g2 = cert_of(runs["introduce"].named("logs-ca-g2-cert"))
    assert g1.subject != g2.subject  # distinct subjects: chain builders never confuse them
    expected = {  # step: (issuer of every node certificate, trusted CAs)
        "steady": (g1, [g1]), "introduce": (g1, [g1, g2]),
        "switch": (g2, [g1, g2]), "retire": (g2, [g2]),
    }
    for step, (issuer, trusted) in expected.items():
        for node in NODES:
            certs = root / step / "logs" / node / "certs"
            leaf = x509.load_pem_x509_certificate((certs / "transport.crt").read_bytes())
            leaf.verify_directly_issued_by(issuer)
            bundle = x509.load_pem_x509_certificates((certs / "transport-ca.crt").read_bytes())
            assert bundle == trusted, step
        rotation_output = reveal(runs[step].stack_outputs["clusters"])["logs"]["rotation"]
        assert rotation_output["issuingGeneration"] == (1 if issuer == g1 else 2)


def test_each_step_changes_only_what_it_must(
    rotation: tuple[dict[str, Recording], Path],
) -> None:
    runs, _ = rotation

    def replaced(step: str, kind: str) -> set[str]:
        run = runs[step]
        return {run.by_urn(u).name for u in run.changes.replaced if run.by_urn(u).type == kind}

    introduce = runs["introduce"]
    assert {introduce.by_urn(u).name for u in introduce.changes.created} == {
        "logs-ca-g2", "logs-ca-g2-key", "logs-ca-g2-cert"}
    assert replaced("introduce", LOCALLY_SIGNED) == set()
    assert replaced("switch", LOCALLY_SIGNED) == {f"logs-{n}-cert" for n in NODES}
    assert runs["switch"].changes.created == []
    retire = runs["retire"]
    assert {retire.by_urn(u).name for u in retire.changes.replaced} == set()
    # A protected stack (the default outside dev): retire lifts g1's protection, and the next
    # `up` deletes it (tests/test_rotation_steps.py); g2 stays protected.
    assert retire.changes.deleted == []
    assert {r.name: r.protect for r in retire if r.type in (SELF_SIGNED, PRIVATE_KEY)
            and r.name.startswith("logs-ca")} == {
        "logs-ca-key": False, "logs-ca-cert": False,
        "logs-ca-g2-key": True, "logs-ca-g2-cert": True}
    assert all(r.step == "same" for r in retire.of_type(LOCALLY_SIGNED))
    assert not replaced("retire", SELF_SIGNED)
