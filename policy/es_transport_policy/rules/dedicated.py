"""INV-CA-DEDICATED (stack): the transport certificates of different clusters never chain to
the same CA. A consumer whose cluster is not known (topology) takes no part."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from ..chain import Chains
from ..findings import Finding
from ..graph import StackGraph
from ..topology import TRANSPORT_ROLE, consumers


def dedicated_ca(graph: StackGraph, _config: Mapping[str, Any]) -> list[Finding]:
    chains = Chains(graph)
    clusters: dict[str, set[str]] = defaultdict(set)
    witness: dict[str, str] = {}
    for consumer in consumers(graph):
        if consumer.role != TRANSPORT_ROLE or consumer.cluster is None:
            continue
        for cert in chains.certs_used_by(consumer.sources):
            root = chains.root(cert)
            clusters[root].add(consumer.cluster)
            witness.setdefault(root, cert)
    return [
        Finding(
            "INV-CA-DEDICATED",
            f"transport CA {root} is shared by clusters {sorted(names)}",
            "a node of one cluster could open transport connections to the other and call "
            "its internal APIs",
            "give every cluster its own CA (one ClusterCa per cluster)",
            root if root in graph.nodes else witness[root],
        )
        for root, names in sorted(clusters.items())
        if len(names) > 1
    ]
