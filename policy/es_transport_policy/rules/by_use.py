"""Stack rules on node certificates used for transport: INV-EKU and INV-LEAF (mandatory).

A node certificate is one delivered to a transport consumer together with its own key (for ECK:
through any of the objects the Elasticsearch resource names for transport), or one that is no
CA whose key is outside the stack (Chains.key_outside: the node keeps its key). A
self-signed CA delivered with its key is es-transport-ca-key-custody's finding, not ours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cryptography import x509

from .. import certs, tokens
from ..chain import Chains
from ..documents import (
    SettingsDoc,
    referenced_entries,
    settings_documents,
    transport_ssl_setting,
    unreadable_settings,
)
from ..findings import Finding, Grade
from ..graph import StackGraph
from ..host_names import Address, CertNames, address, covers
from ..pem import certificates, eku_problem, fingerprint, pkcs12_store
from ..ssl_keys import VERIFICATION_MODES, setting_mode
from ..topology import TRANSPORT_ROLE, Consumer, consumers
from ..values import as_list, as_map, setting_boolean
from .cert_shape import EKU_WHY
from .transport import ENABLED, SECURITY_ENABLED, VERIFICATION_MODE

# Where TcpTransport takes the default profile's publish address from: the first of each group
# that is set (the default profile's publish_host falls back to transport.publish_host, that to
# transport.host: TransportSettings.PUBLISH_HOST_PROFILE, TcpTransport.ProfileSettings), and
# the network.* pair when that gives no host (TcpTransport.createBoundTransportAddress).
PUBLISH_HOSTS = (("transport.profiles.default.publish_host", "transport.publish_host",
                  "transport.host"),
                 ("network.publish_host", "network.host"))
# A node attribute Elasticsearch sends as SNI; JSSE checks the certificate against it first,
# then against the host it connects to.
SERVER_NAME = "node.attr.server_name"
SEED_HOSTS = "discovery.seed_hosts"
SAN_WHY = (
    "INV-LEAF: the SANs must cover every name and IP a node is reached by. With "
    "verification_mode full a node checks the certificate of the node it connects to against "
    "the host it connects to, as JSSE's HTTPS endpoint identification does (Elasticsearch's "
    "SecurityNetty4Transport, SSLService): an IP address against the IP SANs only, a DNS name "
    "against the DNS SANs (the subject CN only when there is none), case-insensitively, `*` "
    "within one label"
)


def _delivered(graph: StackGraph) -> list[tuple[Consumer, list[str]]]:
    """Each transport consumer with the node certificates it delivers (sorted)."""
    chains = Chains(graph)
    return [
        (consumer, [c for c in sorted(chains.node_certs(consumer.sources))
                    if not (chains.is_ca(c) and chains.issuer(c) is None)])
        for consumer in consumers(graph)
        if consumer.role == TRANSPORT_ROLE and not consumer.ca_to_eck
    ]


def _node_certs(delivered: list[tuple[Consumer, list[str]]]) -> dict[str, str]:
    """Transport node certificate URN → the consumer it reaches (first found)."""
    found: dict[str, str] = {}
    for consumer, node_certs in delivered:
        for cert in node_certs:
            found.setdefault(cert, consumer.urn)
    return found


def transport_eku(graph: StackGraph, _config: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    for cert, consumer in _node_certs(_delivered(graph)).items():
        node = graph.nodes[cert]
        uses = certs.allowed_uses(node.props)
        problem = certs.eku_problem(uses) if isinstance(uses, frozenset) else None
        if problem is not None:
            findings.append(
                Finding("INV-EKU", f"transport certificate (delivered by {consumer}): {problem}",
                        EKU_WHY, "set allowed_uses to include both server_auth and client_auth",
                        cert)
            )
    findings += [
        Finding("INV-EKU", f"transport certificate in {where}: {problem}", EKU_WHY,
                "issue the node certificate with both serverAuth and clientAuth extended key "
                "usages, or none (a public CA's certificate usually lacks clientAuth: use the "
                "cluster's own CA)", holder)
        for holder, where, cert in _file_node_certificates(graph)
        if (problem := eku_problem(cert)) is not None
    ]
    return findings


def _names_transport_identity(setting: str) -> bool:
    """Transport SSL's `certificate` or `keystore.path` (a named profile's included)."""
    return transport_ssl_setting(setting) in ("certificate", "keystore.path")


def _file_node_certificates(graph: StackGraph) -> list[tuple[str, str, x509.Certificate]]:
    """(holder URN, where, certificate) of the node certificates that VM bundles, Secrets and
    ConfigMaps deliver as known content in a file their elasticsearch.yml names for transport:
    the first certificate of a `certificate` file (PemKeyConfig: the node's, then its chain),
    the key's certificate of a `keystore.path` PKCS#12 store that opens without a password
    (pem.pkcs12_store). One that is a certificate resource's known `certPem` is judged through
    that resource."""
    known = {fingerprint(c) for cert in graph.of_type(*tokens.CERTS)
             if isinstance(text := cert.props.get("certPem"), str) for c in certificates(text)}
    found: list[tuple[str, str, x509.Certificate]] = []
    for node in graph.nodes.values():
        if not (node.type in tokens.SECRETS + tokens.CONFIG_MAPS
                or tokens.is_bundle(node.type, node.props)):
            continue
        for entry in referenced_entries(node.type, node.props, _names_transport_identity):
            store = None if entry.data is None else pkcs12_store(entry.data)
            chain = (certificates(entry.text) if isinstance(entry.text, str) else []) or (
                [store.key_certificate] if store is not None and store.key_certificate else [])
            if chain and fingerprint(chain[0]) not in known:
                found.append((node.urn, entry.where, chain[0]))
    return found


def transport_leaf(graph: StackGraph, _config: Mapping[str, Any]) -> list[Finding]:
    chains = Chains(graph)
    delivered = _delivered(graph)
    findings: list[Finding] = []
    for cert, consumer in _node_certs(delivered).items():
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
    checking = {consumer.urn: _host_checking(graph, consumer) for consumer, _ in delivered}
    verifying = {urn: doc for urn, (doc, checks) in checking.items()
                 if doc is not None and checks is True}
    # A cluster one of whose nodes in the stack is known not to check host names: its peers'
    # certificates are not judged (that node may be the only one that connects to them).
    lax = {consumer.cluster for consumer, _ in delivered
           if consumer.cluster is not None and checking[consumer.urn][1] is False}
    verified = {consumer.urn: verifying[consumer.urn] for consumer, _ in delivered
                if consumer.urn in verifying and consumer.cluster not in lax}
    return (findings + _uncovered_addresses(chains, delivered, verified)
            + _uncovered_seeds(chains, delivered, verifying))


def _publish_addresses(settings: dict[str, Any]) -> tuple[str, list[Address]] | None:
    """(setting, its addresses) the node's publish address is chosen from (PUBLISH_HOSTS);
    None when no setting names one (the stack's elasticsearch.yml may be a fragment of the
    node's) or an entry is not read (`host_names.address`)."""
    for group in PUBLISH_HOSTS:
        setting = next((key for key in group if key in settings), None)
        value = settings.get(setting) if setting is not None else None
        entries = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        if setting is None or (isinstance(value, list) and not value):
            continue  # unset, or an empty list: the next group decides
        found = [address(entry) for entry in entries]
        readable = [a for a in found if a is not None]
        return (setting, readable) if readable and len(readable) == len(found) else None
    return None


def _host_checking(graph: StackGraph, consumer: Consumer,
                   ) -> tuple[SettingsDoc | None, bool | None]:
    """The one elasticsearch.yml a VM bundle, Secret or ConfigMap consumer holds, and whether
    the node checks the host names of the nodes it connects to: True when that file turns
    transport TLS on (`xpack.security.transport.ssl.enabled: true`, security not off) with
    verification_mode full (the default); False when it is known not to (another mode, TLS or
    security off, an ECK node: the operator sets `certificate`); None when it cannot be told
    (unknown at preview, unreadable, several files, TLS not set: the file may be a fragment)."""
    node = graph.nodes[consumer.urn]
    if tokens.is_elasticsearch(node.type):
        return None, False
    docs = [] if unreadable_settings(node.type, node.props) else settings_documents(
        node.type, node.props)
    if len(docs) != 1 or not isinstance(docs[0].settings, dict):
        return None, None
    settings = docs[0].settings
    mode = settings.get(VERIFICATION_MODE)
    mode = setting_mode("full" if mode is None else mode, VERIFICATION_MODES)
    tls = (setting_boolean(settings.get(ENABLED)),
           setting_boolean(settings.get(SECURITY_ENABLED, True)))
    if False in tls or mode in ("none", "certificate"):
        return docs[0], False
    return docs[0], True if mode == "full" and tls == (True, True) else None


def _mode_text(doc: SettingsDoc) -> str:
    default = "" if VERIFICATION_MODE in as_map(doc.settings) else ", Elasticsearch's default"
    return f"verification_mode full{default}"


def _uncovered_addresses(chains: Chains, delivered: list[tuple[Consumer, list[str]]],
                         verifying: Mapping[str, SettingsDoc]) -> list[Finding]:
    """INV-LEAF: the node certificates a VM bundle, Secret or ConfigMap delivers together with
    the one elasticsearch.yml it holds cover the address that file makes the node publish,
    where peers verify it (`verifying`: by consumer URN, the file of a node that checks host
    names, `_host_checking`, in a cluster none of whose nodes in the stack is known not to).
    Reported only when every certificate it delivers covers none of the addresses the node
    may publish (nor its `node.attr.server_name`), and their names are known."""
    findings: list[Finding] = []
    for consumer, node_certs in delivered:
        doc = verifying.get(consumer.urn) if node_certs else None
        settings = as_map(doc.settings if doc is not None else None)
        published = _publish_addresses(settings)
        sni = settings.get(SERVER_NAME)
        server = address(sni) if sni is not None else None
        if doc is None or published is None or (
                sni is not None and (server is None or server.name is None)):
            continue
        names = [chains.names(cert) for cert in node_certs]
        known = [n for n in names if n is not None]
        if len(known) < len(names):
            continue
        setting, addresses = published
        if any(covers(n, a) for n in known for a in [*addresses, *([server] if server else [])]):
            continue
        sent = f", nor the {SERVER_NAME} {sni!r} it sends as SNI" if server is not None else ""
        findings += [
            Finding(
                "INV-LEAF",
                f"transport certificate (delivered by {consumer.urn}): {_names_text(n)} do "
                f"not cover {' or '.join(map(_address_text, addresses))}, which {setting} in "
                f"{doc.where} makes the node publish to its peers{sent}, and peers verify it "
                f"there ({_mode_text(doc)})",
                f"{SAN_WHY}: a peer connects to the address the node publishes. JSSE "
                "refuses the handshake (\"No subject alternative ... matching ... found\") "
                "and the node cannot join its cluster",
                "add the published address to the certificate request's dns_names or "
                "ip_addresses (or a wildcard DNS name covering it), or publish an address the "
                f"certificate covers ({setting})",
                cert,
            )
            for cert, n in zip(node_certs, known, strict=True)
        ]
    return findings


def _seed_host(entry: Any) -> Address | None:
    """The host of a `discovery.seed_hosts` entry (`host`, `host:port`, `[IPv6]:port`) as
    TcpTransport.parse splits it; None for one not read here (an unbracketed IPv6 address, a
    special value: the seed resolver takes names and IP addresses only)."""
    if not isinstance(entry, str):
        return None
    bracketed = re.fullmatch(r"\[([^\]]*:[^\]]*)\](?::[-\d]*)?", entry)
    host = bracketed[1] if bracketed else entry.split(":")[0] if entry.count(":") <= 1 else ""
    found = address(host)
    return found if found is not None and (found.ip or found.name) else None


def _uncovered_seeds(chains: Chains, delivered: list[tuple[Consumer, list[str]]],
                     verifying: Mapping[str, SettingsDoc]) -> list[Finding]:
    """INV-LEAF (advisory): each `discovery.seed_hosts` entry of a node that checks host names
    is covered by some node certificate of its cluster that the stack delivers. Advisory: the
    node answering there may hold a certificate from outside this stack. Not judged while
    some certificate of the cluster has names not known."""
    by_cluster: dict[str, list[str]] = {}
    for consumer, node_certs in delivered:
        if consumer.cluster is not None:
            by_cluster.setdefault(consumer.cluster, []).extend(node_certs)
    known_by_cluster: dict[str, list[CertNames] | None] = {}
    findings: list[Finding] = []
    for consumer, _ in delivered:
        doc = verifying.get(consumer.urn) if consumer.cluster is not None else None
        seeds = as_map(doc.settings if doc is not None else None).get(SEED_HOSTS)
        if doc is None or consumer.cluster is None or seeds is None:
            continue
        if consumer.cluster not in known_by_cluster:
            names = [chains.names(cert) for cert in by_cluster[consumer.cluster]]
            known_by_cluster[consumer.cluster] = (
                None if None in names else [n for n in names if n is not None])
        known = known_by_cluster[consumer.cluster]
        if not known:
            continue
        for entry in [seeds] if isinstance(seeds, str) else as_list(seeds):
            seed = _seed_host(entry)
            if seed is None or any(covers(n, seed) for n in known):
                continue
            findings.append(Finding(
                "INV-LEAF",
                f"{doc.where}: {SEED_HOSTS} entry {entry!r} is covered by none of the "
                f"{len(known)} node certificate(s) of cluster {consumer.cluster!r} this stack "
                f"delivers, and the node verifies the node it finds there against "
                f"{_address_text(seed)} ({_mode_text(doc)})",
                f"{SAN_WHY}: a node probes its seed hosts at the address written. Unless the "
                "node there holds a certificate from outside this stack that covers it, "
                "discovery through this entry fails",
                "list seed hosts by names or IP addresses the node certificates carry, or add "
                "the entry to the certificate requests' dns_names or ip_addresses",
                consumer.urn,
                Grade.NOTICE,
            ))
    return findings


def _names_text(names: CertNames) -> str:
    return (f"its DNS SANs {list(names.dns)}, IP SANs {sorted(map(str, names.ips))} and "
            f"subject CN {list(names.common_names)}")


def _address_text(reached: Address) -> str:
    if reached.name is not None:
        return f"the DNS name {reached.text!r}"
    if reached.ip is not None:
        return f"the IP address {reached.text}"
    return (f"{reached.text!r} (an IP address of one of the node's interfaces, which only an "
            "IP SAN covers)")
