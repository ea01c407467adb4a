"""bench.gap's experiments do what their names say, or its figures would mislead: the
diagnostic patches register and write what they claim, and nothing outlives them."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from bench import gap, workload
from components.program import main as program
from harness.mock_runtime import run_program

BUNDLE = "pulumi-python:dynamic/es-transport-pki:NodeBundle"


def _run(variant: str, out: Path) -> tuple[Counter[str], list[Path]]:
    out.mkdir(exist_ok=True)
    clusters = workload.single_delivery(3, "vm", output_dir=str(out))
    with gap.variant(variant), contextlib.chdir(out):
        recording = run_program(program, config=workload.config(clusters), stack="bench")
    return Counter(r.type for r in recording.registrations), sorted(out.rglob("*.crt"))


def test_as_is_registers_and_writes_a_bundle_per_node(tmp_path: Path) -> None:
    types, written = _run(gap.AS_IS, tmp_path)
    assert types[BUNDLE] == 3
    assert len(written) == 6  # node certificate + CA bundle per node


def test_a_create_that_does_nothing_registers_the_bundles_but_writes_nothing(
    tmp_path: Path,
) -> None:
    types, written = _run(gap.CREATE_DOES_NOTHING, tmp_path)
    assert types[BUNDLE] == 3
    assert written == []


def test_no_bundle_registers_none_and_keeps_the_node_certificates(tmp_path: Path) -> None:
    types, written = _run(gap.NO_BUNDLE, tmp_path)
    assert types[BUNDLE] == 0
    assert types["tls:index/locallySignedCert:LocallySignedCert"] == 3
    assert written == []


def test_the_patches_end_with_their_block(tmp_path: Path) -> None:
    _run(gap.NO_BUNDLE, tmp_path / "patched")
    types, _ = _run(gap.AS_IS, tmp_path / "after")
    assert types[BUNDLE] == 3


def test_an_unknown_variant_is_named() -> None:
    with pytest.raises(ValueError, match="'fast'"), gap.variant("fast"):
        pass


@pytest.mark.parametrize("delivery", ["vm", "eck"])
def test_a_single_delivery_estate_has_every_node_in_clusters_of_at_most_100(
    delivery: str,
) -> None:
    clusters = workload.single_delivery(250, delivery, output_dir=None)
    assert {c["delivery"] for c in clusters} == {delivery}
    sizes = [
        len(c["nodes"]) if delivery == "vm" else c["eck"]["nodeSets"][0]["count"]
        for c in clusters
    ]
    assert sizes == [100, 100, 50]


def test_counting_calls_counts_every_thread_and_stops_with_its_block() -> None:
    def work(times: int) -> None:
        for _ in range(times):
            len("x")

    with gap.counting_calls() as count:
        thread = threading.Thread(target=work, args=(2000,))
        thread.start()
        thread.join()
    counted = count[0]
    assert counted >= 2000  # the thread's len() calls: the main thread makes far fewer
    work(100)
    assert count[0] == counted
    assert sys.getprofile() is None


def test_one_bundle_per_cluster_writes_every_node_through_one_resource(tmp_path: Path) -> None:
    types, written = _run(gap.PER_CLUSTER, tmp_path)
    assert types[BUNDLE] == 0
    assert types["pulumi-python:dynamic/es-transport-pki-bench:ClusterBundle"] == 1
    assert len(written) == 6  # the same files as one bundle per node
