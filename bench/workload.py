"""Synthetic stacks for the benchmarks: N nodes split over VM and ECK clusters of ≤ 100 nodes.

Clusters hold at most 100 nodes because a per-node ECK cluster is capped by its 1 MiB Secret
(≈ 850 pods), and because 10 x 100 is how a 1,000-node estate is usually split.
"""

from __future__ import annotations

import json
from typing import Any

NAMESPACE = "es-transport-pki"
CLUSTERS_KEY = f"{NAMESPACE}:clusters"
CLUSTER_SIZE = 100


def split(nodes: int, cluster_size: int = CLUSTER_SIZE) -> list[int]:
    """Cluster sizes adding up to `nodes`: halves for VM and ECK, each in clusters of
    `cluster_size` at most. One node goes to VM alone."""
    if nodes == 1:
        return [1]
    vm = nodes - nodes // 2
    eck = nodes // 2
    return [*chunks(vm, cluster_size), *chunks(eck, cluster_size)]


def chunks(nodes: int, cluster_size: int = CLUSTER_SIZE) -> list[int]:
    """`nodes` in clusters of `cluster_size` at most, the last one smaller."""
    return [min(cluster_size, nodes - start) for start in range(0, nodes, cluster_size)]


def vm_cluster(name: str, count: int, output_dir: str | None, algorithm: str) -> dict[str, Any]:
    vm: dict[str, Any] = {"writeLocalFiles": output_dir is not None}
    if output_dir is not None:
        vm["outputDir"] = output_dir
    return {
        "name": name,
        "delivery": "vm",
        "keyAlgorithm": algorithm,
        "vm": vm,
        "nodes": [
            {
                "name": f"es-{i}",
                "dns": [f"es-{i}.{name}.bench.internal"],
                "ips": [f"10.{hash_octet(name)}.{i // 250}.{i % 250 + 1}"],
            }
            for i in range(count)
        ],
    }


def hash_octet(name: str) -> int:
    # A per-cluster second octet: INV-CA-DEDICATED aside, an IP may belong to one node only.
    return sum(name.encode()) % 250


def eck_cluster(name: str, count: int, algorithm: str) -> dict[str, Any]:
    return {
        "name": name,
        "delivery": "eck",
        "keyAlgorithm": algorithm,
        "eck": {
            "name": name,
            "version": "8.19.2",
            "namespace": f"{name}-ns",
            "nodeSets": [{"name": "default", "count": count}],
        },
    }


def clusters(
    nodes: int, *, output_dir: str | None, algorithm: str = "ecdsa-p256"
) -> list[dict[str, Any]]:
    """The `clusters` config of an N-node estate: VM clusters first, then ECK."""
    sizes = split(nodes)
    vm_total = nodes - nodes // 2 if nodes > 1 else 1
    result: list[dict[str, Any]] = []
    placed = 0
    for index, size in enumerate(sizes):
        if placed < vm_total:
            result.append(vm_cluster(f"vm{index}", size, output_dir, algorithm))
        else:
            result.append(eck_cluster(f"eck{index}", size, algorithm))
        placed += size
    return result


def single_delivery(
    nodes: int, delivery: str, *, output_dir: str | None, algorithm: str = "ecdsa-p256"
) -> list[dict[str, Any]]:
    """An N-node estate delivered one way only (`vm` or `eck`), in clusters of ≤ 100 nodes."""
    if delivery == "vm":
        return [
            vm_cluster(f"vm{i}", size, output_dir, algorithm)
            for i, size in enumerate(chunks(nodes))
        ]
    if delivery == "eck":
        return [eck_cluster(f"eck{i}", size, algorithm) for i, size in enumerate(chunks(nodes))]
    raise ValueError(f"delivery {delivery!r}: expected 'vm' or 'eck'")


def config(clusters_config: list[dict[str, Any]]) -> dict[str, str]:
    return {CLUSTERS_KEY: json.dumps(clusters_config)}
