"""INV-CA-DEDICATED (stack): the transport certificates of different clusters never chain to
the same CA, nor do the CAs they trust as PEM text (an ECK trust ConfigMap's `ca.crt`, files
named by `xpack.security.transport.ssl.certificate_authorities`) coincide. A consumer whose
cluster is not known (topology) takes no part. The CAs in an ECK trust ConfigMap get the
checks es-transport-trusted-ca gives other CA PEMs (a resource policy cannot tell that a
ConfigMap is one)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from ..chain import Chains
from ..documents import entries, referenced_entries
from ..findings import Finding
from ..graph import StackGraph
from ..pem import certificates
from ..topology import ECK_TRUST_KEY, TRANSPORT_ROLE, Consumer, consumers
from .trusted_ca import ca_text_findings, names_transport_authorities


def _trusted_pems(graph: StackGraph, consumer: Consumer) -> list[tuple[str, str, str, bool]]:
    """(holder URN, where, known PEM text, from an ECK trust ConfigMap) of the CAs the
    consumer trusts for transport as text."""
    found = [
        (urn, f"{graph.nodes[urn].name} {entry.where}", entry.text, True)
        for urn in sorted(consumer.trust)
        for entry in entries(graph.nodes[urn].type, graph.nodes[urn].props)
        if entry.key == ECK_TRUST_KEY and isinstance(entry.text, str)
    ]
    node = graph.nodes[consumer.urn]
    return found + [
        (consumer.urn, entry.where, entry.text, False)
        for entry in referenced_entries(node.type, node.props, names_transport_authorities)
        if isinstance(entry.text, str)
    ]


def dedicated_ca(graph: StackGraph, _config: Mapping[str, Any]) -> list[Finding]:
    chains = Chains(graph)
    clusters: dict[str, set[str]] = defaultdict(set)
    witness: dict[str, str] = {}
    findings: list[Finding] = []
    judged: set[tuple[str, str]] = set()  # a trust ConfigMap several resources reference
    for consumer in consumers(graph):
        if consumer.role != TRANSPORT_ROLE:
            continue
        roots = {chains.root(cert): cert for cert in chains.certs_used_by(consumer.sources)}
        for holder, where, text, eck_trust in _trusted_pems(graph, consumer):
            if eck_trust and (holder, where) not in judged:
                judged.add((holder, where))
                findings += ca_text_findings(where, text, holder)
            for cert in certificates(text):
                roots.setdefault(chains.root(chains.ca_id(cert)), holder)
        if consumer.cluster is None:
            continue
        for root, used_by in roots.items():
            clusters[root].add(consumer.cluster)
            witness.setdefault(root, used_by)
    return findings + [
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
