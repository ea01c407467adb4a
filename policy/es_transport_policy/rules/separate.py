"""INV-SEPARATE (stack): no certificate or key serves both HTTP and transport, and the
transport CA signs no HTTP certificate. Judged by dependencies (Kubernetes consumers) and, for
a consumer whose settings name both layers' material, by the files each layer's settings name:
first by path (resolved to the bundle's files, content not needed: preview), then by content
(PEM, or a PKCS#12 store's own key and certificate).
A bundle's material whose layer is undecided at preview (topology.EITHER_ROLE) is judged when
every way of telling its HTTP certificate from its transport one gives the same verdict."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .. import tokens
from ..chain import Chains
from ..documents import Entry, entries, named_files, referenced_entries, transport_ssl_setting
from ..findings import Finding
from ..graph import StackGraph
from ..pem import pem_material, pkcs12_store, private_key_spkis, store_material
from ..topology import (
    EITHER_ROLE,
    HTTP,
    HTTP_ROLE,
    TRANSPORT_ROLE,
    Consumer,
    consumers,
    eck_mounted_entries,
    eck_object,
)
from ..values import path

OWN_MATERIAL = ("key", "certificate", "keystore.path")
# What ECK reads of the `spec.http.tls.certificate.secretName` Secret as the HTTP identity.
ECK_HTTP_KEYS = ("tls.crt", "tls.key")
WHY = (
    "HTTP certificates are exposed to every client and may come from a public or organisation "
    "CA; a key or CA shared with transport turns an HTTP compromise into cluster membership"
)
FIX = "issue HTTP certificates from a different CA with their own keys"


_http_own = frozenset(HTTP + setting for setting in OWN_MATERIAL).__contains__


def _transport_own(setting: str) -> bool:
    """A transport layer's own key/certificate/keystore, a named profile's included."""
    return transport_ssl_setting(setting) in OWN_MATERIAL


def _files(graph: StackGraph, urn: str, own: Callable[[str], bool]) -> dict[str, list[str]]:
    node = graph.nodes[urn]
    return named_files(node.type, node.props, own)


def _material(graph: StackGraph, urn: str, own: Callable[[str], bool]) -> set[str]:
    """What the files settings `own` name carry (`_entry_material`)."""
    node = graph.nodes[urn]
    return set().union(*(_entry_material(entry)
                         for entry in referenced_entries(node.type, node.props, own)))


def _entry_material(entry: Entry) -> frozenset[str]:
    """What a file carries: PEM certificates and keys (a key also by its public key, so that
    it matches itself in another form), and a PKCS#12 store's own key and certificate (one
    that opens without a password)."""
    found = (pem_material(entry.text) | private_key_spkis(entry.text)
             if isinstance(entry.text, str) else frozenset())
    store = None if entry.data is None else pkcs12_store(entry.data)
    return found if store is None else found | store_material(store)


def _resource_material(graph: StackGraph) -> frozenset[str]:
    """The certificates and keys the stack's resources output as known PEM: shared ones are
    judged by dependencies."""
    return frozenset().union(*(
        pem_material(text) for node in graph.of_type(tokens.PRIVATE_KEY, *tokens.CERTS)
        for field_name in ("privateKeyPem", "certPem")
        if isinstance(text := node.props.get(field_name), str)))


def _eck_shared_files(graph: StackGraph) -> list[Finding]:
    """An ECK Elasticsearch whose HTTP files (the `spec.http.tls.certificate.secretName`
    Secret's `tls.crt`/`tls.key`, or mounted files its HTTP settings name) carry a key or
    certificate that the files its transport settings name carry too, as known content (a
    copy shares no dependency)."""
    from_resources: frozenset[str] | None = None
    findings: list[Finding] = []
    for es in (n for n in graph.nodes.values() if tokens.is_elasticsearch(n.type)):
        http_secret = eck_object(graph, es, tokens.SECRET, path(
            es.props, "spec", "http", "tls", "certificate", "secretName"))
        http = eck_mounted_entries(graph, es, _http_own) + (
            [] if http_secret is None else
            [(http_secret.urn, e) for e in entries(http_secret.type, http_secret.props)
             if e.key in ECK_HTTP_KEYS])
        if not http:
            continue
        from_resources = (_resource_material(graph) if from_resources is None
                          else from_resources)
        transport = {material: (holder, entry.where)
                     for holder, entry in eck_mounted_entries(graph, es, _transport_own)
                     for material in _entry_material(entry) - from_resources}
        shared = {(holder, entry.where, transport[material])
                  for holder, entry in http for material in _entry_material(entry)
                  if material in transport}
        findings += [
            Finding("INV-SEPARATE", f"{graph.nodes[holder].name} {where} (HTTP of {es.name}) "
                    f"carries a key or certificate that {graph.nodes[t_holder].name} {t_where} "
                    "(its transport) carries too", WHY, FIX, holder)
            for holder, where, (t_holder, t_where) in sorted(shared)
        ]
    return findings


def _undecided_http_signed_by_transport_ca(
    chains: Chains, users: tuple[Consumer, ...], either: Consumer, transport_roots: set[str]
) -> Finding | None:
    """A bundle whose HTTP-only files' content is unknown: its HTTP certificate is one of its
    undecided node certificates. The finding is certain when each of them, taken as the HTTP
    one, is signed by a transport CA: one known as such, or (no transport certificate decided
    for the bundle) the CA of every other undecided one, of which one is then transport's."""
    sides = {c.role: c.sources for c in users if c.urn == either.urn}
    if sides.get(HTTP_ROLE):
        return None
    undecided = sorted(c for c in chains.node_certs(either.sources) if not chains.is_ca(c))
    roots = {cert: chains.root(cert) for cert in undecided}
    transport_decided = bool(chains.node_certs(sides[TRANSPORT_ROLE]))

    def signed_by_transport_ca(cert: str) -> bool:
        others = {roots[c] for c in undecided if c != cert}
        return roots[cert] in transport_roots or (not transport_decided and others == {roots[cert]})

    if not undecided or not all(map(signed_by_transport_ca, undecided)):
        return None
    return Finding(
        "INV-SEPARATE",
        f"this bundle's HTTP certificate (one of {', '.join(undecided)}; their files' "
        "content is unknown at preview) is signed by the transport CA "
        f"{', '.join(sorted(set(roots.values())))}: every certificate it could be is",
        WHY, FIX, either.urn,
    )


def separate(graph: StackGraph, _config: Mapping[str, Any]) -> list[Finding]:
    chains = Chains(graph)
    users = consumers(graph)
    by_role: dict[str, tuple[set[str], set[str]]] = {TRANSPORT_ROLE: (set(), set()),
                                                     HTTP_ROLE: (set(), set())}
    for consumer in users:
        if consumer.role == EITHER_ROLE:
            continue
        leaf_certs, keys = by_role[consumer.role]
        leaf_certs |= {
            c for c in chains.node_certs(consumer.sources) if not chains.is_ca(c)
        }
        keys |= chains.keys_delivered_to(consumer.sources)
    (t_certs, t_keys), (h_certs, h_keys) = by_role[TRANSPORT_ROLE], by_role[HTTP_ROLE]
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
    findings += [
        finding
        for either in users
        if either.role == EITHER_ROLE
        and (finding := _undecided_http_signed_by_transport_ca(
            chains, users, either, transport_roots)) is not None
    ]
    findings += _eck_shared_files(graph)
    for urn in sorted({c.urn for c in users}):
        # Most consumers name no HTTP material: the transport side is then not read at all.
        http_files = _files(graph, urn, _http_own)
        if not http_files:
            continue
        transport_files = _files(graph, urn, _transport_own)
        shared_files = sorted(http_files.keys() & transport_files.keys())
        findings += [
            Finding("INV-SEPARATE", f"file {file} is named by both "
                    f"{', '.join(http_files[file])} and {', '.join(transport_files[file])}",
                    WHY, FIX + "; name different files in the two layers' settings", urn)
            for file in shared_files
        ]
        if not shared_files and (
            _material(graph, urn, _http_own) & _material(graph, urn, _transport_own)
        ):
            findings.append(
                Finding("INV-SEPARATE", "the same key or certificate file content is named by "
                        "both xpack.security.http.ssl and xpack.security.transport.ssl", WHY,
                        FIX, urn)
            )
    return findings
