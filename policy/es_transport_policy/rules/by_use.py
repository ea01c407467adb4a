"""Stack rules on node certificates used for transport: INV-EKU and INV-LEAF (mandatory).

A node certificate is one delivered to a transport consumer together with its own key (for ECK:
through any of the objects the Elasticsearch resource names for transport), or one that is no
CA whose key is outside the stack (Chains.key_outside: the node keeps its key). A
self-signed CA delivered with its key is es-transport-ca-key-custody's finding, not ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import certs, tokens
from ..chain import Chains
from ..documents import settings_documents, unreadable_settings
from ..findings import Finding
from ..graph import StackGraph
from ..host_names import Address, CertNames, address, covers
from ..ssl_keys import VERIFICATION_MODES, setting_mode
from ..topology import TRANSPORT_ROLE, Consumer, consumers
from .cert_shape import EKU_WHY
from .transport import VERIFICATION_MODE

# Where TcpTransport takes the default profile's publish address from: the first of each pair
# that is set (transport.publish_host falls back to transport.host), and the network.* pair
# when that gives no host (TransportSettings, TcpTransport.createBoundTransportAddress).
PUBLISH_HOSTS = (("transport.publish_host", "transport.host"),
                 ("network.publish_host", "network.host"))
# A node attribute Elasticsearch sends as SNI; JSSE checks the certificate against it first,
# then against the host it connects to.
SERVER_NAME = "node.attr.server_name"


def _delivered(graph: StackGraph) -> list[tuple[Consumer, list[str]]]:
    """Each transport consumer with the node certificates it delivers (sorted)."""
    chains = Chains(graph)
    return [
        (consumer, [c for c in sorted(chains.node_certs(consumer.sources))
                    if not (chains.is_ca(c) and chains.issuer(c) is None)])
        for consumer in consumers(graph)
        if consumer.role == TRANSPORT_ROLE and not consumer.ca_to_eck
    ]


def _node_certs(graph: StackGraph) -> dict[str, str]:
    """Transport node certificate URN → the consumer it reaches (first found)."""
    found: dict[str, str] = {}
    for consumer, delivered in _delivered(graph):
        for cert in delivered:
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
    return findings + _uncovered_addresses(graph, chains)


def _publish_addresses(settings: dict[str, Any]) -> tuple[str, list[Address]] | None:
    """(setting, its addresses) the node's publish address is chosen from (PUBLISH_HOSTS);
    None when no setting names one (the stack's elasticsearch.yml may be a fragment of the
    node's) or an entry is not read (`host_names.address`)."""
    for pair in PUBLISH_HOSTS:
        setting = next((key for key in pair if key in settings), None)
        value = settings.get(setting) if setting is not None else None
        entries = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        if setting is None or (isinstance(value, list) and not value):
            continue  # unset, or an empty list: the next pair decides
        found = [address(entry) for entry in entries]
        readable = [a for a in found if a is not None]
        return (setting, readable) if readable and len(readable) == len(found) else None
    return None


def _uncovered_addresses(graph: StackGraph, chains: Chains) -> list[Finding]:
    """INV-LEAF: the node certificates a VM bundle, Secret or ConfigMap delivers together with
    the one elasticsearch.yml it holds cover the address that file makes the node publish,
    where peers verify it (verification_mode full, the default). Reported only when every
    certificate it delivers covers none of the addresses the node may publish (nor its
    `node.attr.server_name`), and their names are known."""
    findings: list[Finding] = []
    for consumer, delivered in _delivered(graph):
        node = graph.nodes[consumer.urn]
        docs = settings_documents(node.type, node.props)
        if (not delivered or tokens.is_elasticsearch(node.type) or len(docs) != 1
                or unreadable_settings(node.type, node.props)
                or not isinstance(settings := docs[0].settings, dict)):
            continue
        mode = settings.get(VERIFICATION_MODE)
        published = _publish_addresses(settings)
        sni = settings.get(SERVER_NAME)
        server = address(sni) if sni is not None else None
        names = [chains.names(cert) for cert in delivered]
        known = [n for n in names if n is not None]
        if (setting_mode("full" if mode is None else mode, VERIFICATION_MODES) != "full" or published is None
                or (sni is not None and (server is None or server.name is None))
                or len(known) < len(names)):
            continue
        setting, addresses = published
        reached = [*addresses, *([server] if server is not None else [])]
        if any(covers(n, a) for n in known for a in reached):
            continue
        default = "" if mode is not None else ", Elasticsearch's default"
        sent = f" nor the {SERVER_NAME} {sni!r} it sends as SNI" if server is not None else ""
        findings += [
            Finding(
                "INV-LEAF",
                f"transport certificate (delivered by {consumer.urn}): {_names_text(n)} cover "
                f"neither {' nor '.join(map(_address_text, addresses))}, which {setting} in "
                f"{docs[0].where} makes the node publish to its peers{sent}, and peers verify "
                f"it there (verification_mode full{default})",
                "INV-LEAF: the SANs must cover every name and IP a node is reached by. A peer "
                "connects to the address the node publishes and checks the certificate "
                "against it as JSSE's HTTPS endpoint identification does (Elasticsearch's "
                "SecurityNetty4Transport, SSLService): an IP address against the IP SANs only, "
                "a DNS name against the DNS SANs (the subject CN only when there is none), "
                "case-insensitively, `*` within one label. The handshake fails (\"No subject "
                "alternative names matching IP address ... found\") and the node cannot join",
                "add the published address to the certificate request's dns_names or "
                "ip_addresses (or a wildcard DNS name covering it), or publish an address the "
                "certificate covers (transport.publish_host)",
                cert,
            )
            for cert, n in zip(delivered, known, strict=True)
        ]
    return findings


def _names_text(names: CertNames) -> str:
    return (f"its DNS SANs {list(names.dns)}, IP SANs {sorted(map(str, names.ips))} and "
            f"subject CN {list(names.common_names)}")


def _address_text(reached: Address) -> str:
    if reached.name is not None:
        return f"the DNS name {reached.text!r}"
    if reached.ip is not None:
        return f"the IP address {reached.text}"
    return (f"{reached.text!r} (an IP address of the node's own interfaces: no IP SAN covers "
            "any)")
