"""Stack rules on node certificates used for transport: INV-EKU and INV-LEAF (mandatory).

A node certificate is one delivered to a transport consumer together with its own key (for ECK:
through any of the objects the Elasticsearch resource names for transport), or one that is no
CA whose key is outside the stack (Chains.key_outside: the node keeps its key). A
self-signed CA delivered with its key is es-transport-ca-key-custody's finding, not ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import certs
from ..chain import Chains
from ..findings import Finding
from ..graph import StackGraph
from ..topology import consumers
from .cert_shape import EKU_WHY


def _node_certs(graph: StackGraph) -> dict[str, str]:
    """Transport node certificate URN → the consumer it reaches (first found)."""
    chains = Chains(graph)
    found: dict[str, str] = {}
    for consumer in consumers(graph):
        if consumer.role == "transport" and not consumer.ca_to_eck:
            for cert in sorted(chains.node_certs(consumer.sources)):
                if not (chains.is_ca(cert) and chains.issuer(cert) is None):
                    found.setdefault(cert, consumer.urn)
    return found


def transport_eku(graph: StackGraph, _config: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    for cert, consumer in _node_certs(graph).items():
        node = graph.nodes[cert]
        uses = certs.allowed_uses(node.props)
        problem = certs.eku_problem(uses) if isinstance(uses, frozenset) else None
        if problem is not None:
            findings.append(
                Finding("INV-EKU", f"transport certificate (delivered by {consumer}): {problem}",
                        EKU_WHY, "set allowed_uses to include both server_auth and client_auth",
                        cert)
            )
    return findings


def transport_leaf(graph: StackGraph, _config: Mapping[str, Any]) -> list[Finding]:
    chains = Chains(graph)
    findings: list[Finding] = []
    for cert, consumer in _node_certs(graph).items():
        node = graph.nodes[cert]
        ca, uses = certs.is_ca(node.props), certs.allowed_uses(node.props)
        problems: list[str] = []
        if ca is True:
            problems.append("the node certificate is a CA (is_ca_certificate: true)")
        elif ca is None:
            problems.append(certs.ca_problem(node.props))
        elif ca is False and isinstance(uses, frozenset):
            problems += certs.leaf_usage_problems(uses, chains.is_rsa(chains.key_of(cert)))
        elif ca is False and uses is None:  # not a list: also stands for es-transport-eku
            problems.append(certs.uses_problem(node.props))
        findings += [
            Finding("INV-LEAF", f"transport certificate (delivered by {consumer}): {problem}",
                    "a node certificate that can sign certificates lets a node mint peers; "
                    "missing key usages break handshakes",
                    "issue node certificates with is_ca_certificate false and allowed_uses "
                    "digital_signature (+ key_encipherment for RSA), server_auth, client_auth",
                    cert)
            for problem in problems
        ]
    return findings
