"""INV-CUSTODY (stack): a CA private key reaches no Secret, ConfigMap or VM bundle, nor the
`spec` of an ECK Elasticsearch (as text: its pod template reaches every pod), except
ECK's ca-to-eck Secret (exactly `ca.crt` + `ca.key`, referenced by
`spec.transport.tls.certificate.secretName`), which is reported as advisory.

A CA key is the key of a certificate with is_ca_certificate true (by dependencies), any PEM
key equal to a `caPrivateKeyPem` value or a CA key's known `privateKeyPem` output, or any
other key whose public key is that of a CA certificate the stack shows, in whatever PEM form:
a provided CA handed to ECK (ca-to-eck) signs nothing the pack sees, and a CA key converted to
another form (SEC1, PKCS#1) has another body. Keys pulumi-tls generated in this stack are
known by their body and not parsed: one of them is a CA's key only through a certificate of
this stack, whose dependencies show it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import tokens
from ..chain import Chains
from ..documents import entries, store_sources
from ..findings import Finding, Grade
from ..graph import Node, StackGraph
from ..pem import (
    Store,
    certificates,
    is_ca_certificate,
    pkcs12_store,
    private_key_blocks,
    private_key_spkis,
    spki_digest,
)
from ..topology import consumers
from ..values import as_map, is_unknown, texts

ECK_CA_KEYS = frozenset({"ca.crt", "ca.key"})
ECK_CA_WHY = (
    "ECK then issues node certificates itself; the CA key lives in the Kubernetes cluster, "
    "readable by whoever can read this Secret"
)
ECK_CA_FIX = (
    "accept and restrict access to the Secret, or use per-node certificates so the CA key "
    "never leaves Pulumi state"
)


def ca_key_urns(graph: StackGraph, chains: Chains) -> set[str]:
    """The PrivateKeys of CA certificates."""
    return {
        key
        for cert in graph.of_type(*tokens.CERTS)
        if chains.is_ca(cert.urn) and (key := chains.key_of(cert.urn)) is not None
    }


def _ca_keys(graph: StackGraph, chains: Chains) -> tuple[set[str], set[str]]:
    """(CA PrivateKey URNs, CA key PEM bodies)."""
    urns = ca_key_urns(graph, chains)
    texts = [
        value for cert in graph.of_type(tokens.LOCALLY_SIGNED_CERT)
        if isinstance(value := cert.props.get("caPrivateKeyPem"), str)
    ]
    texts += [value for urn in urns
              if isinstance(value := graph.nodes[urn].props.get("privateKeyPem"), str)]
    return urns, {body for text in texts for body in private_key_blocks(text)}


def _generated_key_bodies(graph: StackGraph) -> set[str]:
    """The PEM bodies of the keys pulumi-tls generated (known once created): no need to parse
    them to tell whether they are a CA's."""
    return {
        body for key in graph.of_type(tokens.PRIVATE_KEY)
        if isinstance(text := key.props.get("privateKeyPem"), str)
        for body in private_key_blocks(text)
    }


def _ca_public_keys(graph: StackGraph, eck_ca: set[str]) -> set[str]:
    """`pem.spki_digest` of every CA certificate the stack shows: certificates' `caCertPem`
    and `certPem`, and the ca-to-eck Secrets' (a provided CA handed to ECK signs nothing)."""
    texts = [
        value
        for cert in graph.of_type(*tokens.CERTS)
        for value in (cert.props.get("caCertPem"), cert.props.get("certPem"))
        if isinstance(value, str)
    ]
    texts += [e.text for urn in sorted(eck_ca)
              for e in entries(graph.nodes[urn].type, graph.nodes[urn].props)
              if isinstance(e.text, str)]
    return {
        digest for text in texts for cert in certificates(text)
        if is_ca_certificate(cert) and (digest := spki_digest(cert)) is not None
    }


def _holders(graph: StackGraph) -> list[Node]:
    return [
        n for n in graph.nodes.values()
        if n.type in tokens.SECRETS + tokens.CONFIG_MAPS or tokens.is_bundle(n.type, n.props)
        or tokens.is_elasticsearch(n.type)
    ]


def _held_texts(node: Node) -> list[str]:
    """The known texts a holder carries to its nodes: a Secret's or ConfigMap's data, a
    bundle's files and the PEM texts its PKCS#12 stores are built from, every text in an
    Elasticsearch resource's `spec` (a pod template's env or annotations reach every pod)."""
    if tokens.is_elasticsearch(node.type):
        return texts(node.props.get("spec"))
    return ([e.text for e in entries(node.type, node.props) if isinstance(e.text, str)]
            + list(store_sources(node.type, node.props).values()))


def _held_stores(node: Node) -> list[Store]:
    """The PKCS#12 stores a Secret or ConfigMap carries (its base64 values' bytes) that open
    without a password (pem.pkcs12_store)."""
    return [store for e in entries(node.type, node.props)
            if e.data is not None and (store := pkcs12_store(e.data)) is not None]


def _is_ca_key(store: Store, ca_public_keys: set[str]) -> bool:
    """Whether the store's private key is a CA's: the key of a CA certificate the stack shows,
    or of the CA certificate it is stored with (elasticsearch-certutil's elastic-stack-ca.p12
    holds the CA's key and certificate)."""
    if store.key is None:
        return False
    own = store.key_certificate
    return store.key in ca_public_keys or (
        own is not None and is_ca_certificate(own) and spki_digest(own) == store.key)


def ca_key_custody(graph: StackGraph, _config: Mapping[str, Any]) -> list[Finding]:
    chains = Chains(graph)
    key_urns, bodies = _ca_keys(graph, chains)
    eck_ca = {c.urn for c in consumers(graph) if c.ca_to_eck and c.urn in graph.nodes}
    ca_public_keys = _ca_public_keys(graph, eck_ca)
    known = bodies | _generated_key_bodies(graph)
    findings: list[Finding] = []
    for node in _holders(graph):
        # An Elasticsearch resource's `spec` depends on every object it names (the ca-to-eck
        # Secret too): what it carries itself is known by value alone.
        delivered = (set() if tokens.is_elasticsearch(node.type)
                     else chains.keys_delivered_to((node.urn,)) & key_urns)
        held = any(
            private_key_blocks(text) & bodies
            or (ca_public_keys and private_key_spkis(text, skipped=known) & ca_public_keys)
            for text in _held_texts(node)
        ) or any(_is_ca_key(store, ca_public_keys) for store in _held_stores(node))
        if not delivered and not held:
            continue
        maps = {f: node.props.get(f) for f in ("data", "stringData")}
        keys = {k for m in maps.values() for k in as_map(m)}
        unknown = [f for f, m in maps.items() if is_unknown(m)]
        if node.urn in eck_ca and keys <= ECK_CA_KEYS and unknown:
            findings.append(
                Finding("INV-CUSTODY", "the CA private key is handed to ECK (ca-to-eck mode); "
                        f"the Secret's {' and '.join(unknown)} is unknown at preview, so its "
                        "key set (exactly ca.crt + ca.key) could not be checked",
                        f"{ECK_CA_WHY}; ECK accepts no other key there, and any other key "
                        "beside the CA key would be a custody violation",
                        f"{ECK_CA_FIX}; give the Secret literal key names (only the values "
                        "computed) so that preview can check them",
                        node.urn, Grade.NOTICE)
            )
            continue
        if node.urn in eck_ca and keys == ECK_CA_KEYS:
            findings.append(
                Finding("INV-CUSTODY", "the CA private key is handed to ECK (ca-to-eck mode)",
                        ECK_CA_WHY, ECK_CA_FIX, node.urn, Grade.NOTICE)
            )
            continue
        findings.append(
            Finding("INV-CUSTODY", "a CA private key is delivered to this resource",
                    "whoever reads the CA key can mint certificates every node trusts",
                    "deliver only node keys and CA certificates; for ECK's ca-to-eck mode use "
                    "a Secret with exactly ca.crt + ca.key referenced by "
                    "spec.transport.tls.certificate.secretName",
                    node.urn)
        )
    return findings
