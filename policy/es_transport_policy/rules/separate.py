"""INV-SEPARATE (stack): no certificate or key serves both HTTP and transport, and the
transport CA signs no HTTP certificate. Judged by dependencies (Kubernetes consumers) and, for
a consumer whose settings name both layers' material, by the files each layer's settings name:
first by path (resolved to the bundle's files, content not needed: preview), then by content."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..chain import Chains
from ..documents import named_files, referenced_entries
from ..findings import Finding
from ..graph import StackGraph
from ..pem import certificates, fingerprint, private_key_blocks
from ..topology import HTTP, TRANSPORT, consumers

OWN_MATERIAL = ("key", "certificate", "keystore.path")
WHY = (
    "HTTP certificates are exposed to every client and may come from a public or organisation "
    "CA; a key or CA shared with transport turns an HTTP compromise into cluster membership"
)
FIX = "issue HTTP certificates from a different CA with their own keys"


def _own(prefix: str) -> Callable[[str], bool]:
    return frozenset(prefix + setting for setting in OWN_MATERIAL).__contains__


def _files(graph: StackGraph, urn: str, prefix: str) -> dict[str, list[str]]:
    node = graph.nodes[urn]
    return named_files(node.type, node.props, _own(prefix))


def _material(graph: StackGraph, urn: str, prefix: str) -> set[str]:
    node = graph.nodes[urn]
    found: set[str] = set()
    for entry in referenced_entries(node.type, node.props, _own(prefix)):
        if isinstance(entry.text, str):
            found |= private_key_blocks(entry.text)
            found |= {fingerprint(c) for c in certificates(entry.text)}
    return found


def separate(graph: StackGraph, _config: Mapping[str, Any]) -> list[Finding]:
    chains = Chains(graph)
    users = consumers(graph)
    by_role: dict[str, tuple[set[str], set[str]]] = {"transport": (set(), set()),
                                                     "http": (set(), set())}
    for consumer in users:
        leaf_certs, keys = by_role[consumer.role]
        leaf_certs |= {
            c for c in chains.node_certs(consumer.urn, consumer.via) if not chains.is_ca(c)
        }
        keys |= chains.keys_delivered_to(consumer.urn, consumer.via)
    (t_certs, t_keys), (h_certs, h_keys) = by_role["transport"], by_role["http"]
    transport_roots = {chains.root(c) for c in t_certs}
    findings = [
        Finding("INV-SEPARATE", f"{kind} {urn} is used for both HTTP and transport", WHY, FIX,
                urn)
        for kind, shared in (("certificate", t_certs & h_certs), ("key", t_keys & h_keys))
        for urn in sorted(shared)
    ]
    findings += [
        Finding("INV-SEPARATE", f"HTTP certificate {cert} is signed by the transport CA "
                f"{chains.root(cert)}", WHY, FIX, cert)
        for cert in sorted(h_certs - t_certs)
        if chains.root(cert) in transport_roots
    ]
    for urn in sorted({c.urn for c in users}):
        # Most consumers name no HTTP material: the transport side is then not read at all.
        http_files = _files(graph, urn, HTTP)
        if not http_files:
            continue
        transport_files = _files(graph, urn, TRANSPORT)
        shared_files = sorted(http_files.keys() & transport_files.keys())
        findings += [
            Finding("INV-SEPARATE", f"file {file} is named by both "
                    f"{', '.join(http_files[file])} and {', '.join(transport_files[file])}",
                    WHY, FIX + "; name different files in the two layers' settings", urn)
            for file in shared_files
        ]
        if not shared_files and _material(graph, urn, HTTP) & _material(graph, urn, TRANSPORT):
            findings.append(
                Finding("INV-SEPARATE", "the same key or certificate file content is named by "
                        "both xpack.security.http.ssl and xpack.security.transport.ssl", WHY,
                        FIX, urn)
            )
    return findings
