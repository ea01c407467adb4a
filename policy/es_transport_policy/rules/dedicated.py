"""INV-CA-DEDICATED (stack): the transport certificates of different clusters never chain to
the same CA (CA certificates on one key being one CA), nor do the CAs they trust as known
content (the `ca.crt` of an ECK trust ConfigMap or ca-to-eck Secret, files named by
`xpack.security.transport.ssl.certificate_authorities`, PEM or DER) coincide. A consumer whose
cluster is not known (topology) takes no part. The CAs in an ECK trust object, and in the
files an ECK Elasticsearch mounts where its own transport trust settings point, get the checks
es-transport-trusted-ca gives other CA PEMs (a resource policy cannot tell that a ConfigMap or
Secret is one)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from cryptography import x509

from .. import tokens
from ..chain import Chains
from ..documents import entries
from ..findings import Finding
from ..graph import StackGraph
from ..pem import certificates
from ..topology import (
    ECK_TRUST_KEY,
    TRANSPORT_ROLE,
    Consumer,
    consumers,
    eck_mounted_entries,
)
from .trusted_ca import (
    TRUST_NAMES,
    ca_findings,
    entry_trust,
    names_transport_truststore,
    trusted_files,
)


def _trust_map_cas(graph: StackGraph, urn: str) -> list[tuple[str, list[x509.Certificate]]]:
    """(where, CA certificates) of an ECK trust object's `ca.crt`: PEM, which is all ECK reads
    (transport/trust.go appends the ConfigMap's `data` text; the ca-to-eck Secret's must be one
    PEM certificate), so DER there reaches no node."""
    node = graph.nodes[urn]
    return [
        (f"{node.name} {entry.where}", certificates(entry.text))
        for entry in entries(node.type, node.props)
        if entry.key == ECK_TRUST_KEY and isinstance(entry.text, str)
    ]


def _mounted_trust(graph: StackGraph, consumer: Consumer) -> list[tuple[str, str, list[
        x509.Certificate]]]:
    """(holder URN, where, CA certificates) of the files of the stack's Secrets and
    ConfigMaps an ECK Elasticsearch mounts where its own transport trust settings point
    (`certificate_authorities`, `truststore.path` in `nodeSets[].config`, env or command line,
    which replace ECK's): read as es-transport-trusted-ca reads such files."""
    node = graph.nodes[consumer.urn]
    if not tokens.is_elasticsearch(node.type):
        return []
    return [(holder, f"{graph.nodes[holder].name} {where}", certs)
            for named in TRUST_NAMES
            for holder, entry in eck_mounted_entries(graph, node, named)
            if (trust := entry_trust(entry, named is names_transport_truststore)) is not None
            for where, certs in [trust]]


def _trusted_cas(graph: StackGraph, consumer: Consumer) -> list[tuple[str, x509.Certificate]]:
    """(holder URN, CA certificate) of the CAs the consumer trusts for transport as known
    content."""
    node = graph.nodes[consumer.urn]
    return [
        (urn, cert) for urn in sorted(consumer.trust) for _, certs in _trust_map_cas(graph, urn)
        for cert in certs
    ] + [
        (consumer.urn, cert) for _, certs in trusted_files(node.type, node.props)
        for cert in certs
    ] + [(holder, cert) for holder, _, certs in _mounted_trust(graph, consumer)
         for cert in certs]


def dedicated_ca(graph: StackGraph, _config: Mapping[str, Any]) -> list[Finding]:
    chains = Chains(graph)
    transport = [c for c in consumers(graph) if c.role == TRANSPORT_ROLE]
    # Each trust object once, however many Elasticsearch resources reference it.
    findings = [
        finding
        for urn in sorted({urn for consumer in transport for urn in consumer.trust})
        for where, certs in _trust_map_cas(graph, urn)
        for finding in ca_findings(where, certs, urn)
    ]
    # Each mounted trust file once, however many Elasticsearch resources mount it.
    mounted = {(holder, where): certs for consumer in transport
               for holder, where, certs in _mounted_trust(graph, consumer)}
    findings += [finding for (holder, where), certs in sorted(mounted.items(),
                                                              key=lambda item: item[0])
                 for finding in ca_findings(where, certs, holder)]
    clusters: dict[str, set[str]] = defaultdict(set)
    certs: dict[str, set[str]] = defaultdict(set)
    witness: dict[str, str] = {}
    for consumer in transport:
        if consumer.cluster is None:
            continue
        roots = {chains.root(cert): cert for cert in chains.certs_used_by(consumer.sources)}
        for holder, cert in _trusted_cas(graph, consumer):
            roots.setdefault(chains.root(chains.ca_id(cert)), holder)
        for root, used_by in roots.items():
            authority = _authority(graph, chains, root)
            clusters[authority].add(consumer.cluster)
            certs[authority].add(root)
            witness.setdefault(authority, used_by)
    return findings + [
        Finding(
            "INV-CA-DEDICATED",
            f"transport CA {', '.join(sorted(certs[authority]))} is shared by clusters "
            f"{sorted(names)}" + (f" (CA certificates on one key, {authority})"
                                  if len(certs[authority]) > 1 else ""),
            "a node of one cluster could open transport connections to the other and call "
            "its internal APIs",
            "give every cluster its own CA (one ClusterCa per cluster, each with its own key)",
            min((c for c in certs[authority] if c in graph.nodes), default=witness[authority]),
        )
        for authority, names in sorted(clusters.items())
        if len(names) > 1
    ]


def _authority(graph: StackGraph, chains: Chains, root: str) -> str:
    """What signs for the CA at the top of a chain: a self-signed CA certificate's key (two
    CA certificates on one key are one CA: its key signs for both, and with one subject
    each verifies the other's certificates), else the root itself (an external CA's PEM)."""
    node = graph.get(root)
    key = chains.key_of(root) if node is not None and node.type == tokens.SELF_SIGNED_CERT else None
    return key or root
