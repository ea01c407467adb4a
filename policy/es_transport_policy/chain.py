"""Who signed whom and which key belongs to which certificate, from property dependencies.

`LocallySignedCert.caCertPem` depends on the issuing certificate resource; a literal
`caCertPem` (no dependency) is an external CA, identified by its fingerprint (`pem:<sha256>`)
unless a certificate resource's known `certPem` is that very certificate.
"""

from __future__ import annotations

from collections.abc import Iterable

from cryptography import x509

from . import certs, tokens
from .graph import Node, StackGraph
from .host_names import CertNames, certificate_names, input_names
from .pem import certificate_request, certificates, fingerprint
from .values import is_unknown


class Chains:
    def __init__(self, graph: StackGraph) -> None:
        self.graph = graph
        self._by_fingerprint: dict[str, str] | None = None

    def _first(self, node: Node, props: tuple[str, ...], types: tuple[str, ...]) -> str | None:
        for prop in props:
            for urn in node.deps_of(prop):
                target = self.graph.get(urn)
                if target is not None and target.type in types:
                    return urn
        return None

    def key_of(self, cert_urn: str) -> str | None:
        """The PrivateKey resource a certificate (or CSR) was made with."""
        node = self.graph.get(cert_urn)
        if node is None:
            return None
        if node.type == tokens.LOCALLY_SIGNED_CERT:
            request = self.request_of(cert_urn)
            return self.key_of(request) if request else None
        return self._first(node, ("privateKeyPem", "privateKeyPemWo"), (tokens.PRIVATE_KEY,))

    def request_of(self, cert_urn: str) -> str | None:
        """The CertRequest resource a LocallySignedCert was signed from."""
        node = self.graph.get(cert_urn)
        if node is None or node.type != tokens.LOCALLY_SIGNED_CERT:
            return None
        return self._first(node, ("certRequestPem",), (tokens.CERT_REQUEST,))

    def names(self, cert_urn: str) -> CertNames | None:
        """The names a certificate resource is verified by (host_names): from the inputs that
        make them (its CertRequest's, a SelfSignedCert's own), else its known `certPem`, else
        the `certRequestPem` it was given as PEM; None while they are not known."""
        node = self.graph.get(cert_urn)
        if node is None or node.type not in tokens.CERTS:
            return None
        request = self.request_of(cert_urn)
        if request is not None:
            return input_names(self.graph.nodes[request].props)
        if node.type == tokens.SELF_SIGNED_CERT:
            return input_names(node.props)
        for prop, read in (("certPem", certificates), ("certRequestPem", _requests)):
            text = node.props.get(prop)
            found = read(text) if isinstance(text, str) else []
            if found:
                return certificate_names(found[0])
        return None

    def issuer(self, cert_urn: str) -> str | None:
        node = self.graph.get(cert_urn)
        if node is None or node.type != tokens.LOCALLY_SIGNED_CERT:
            return None
        issuer = self._first(node, ("caCertPem",), tokens.CERTS)
        if issuer is not None:
            return issuer
        pem = node.props.get("caCertPem")
        found = certificates(pem) if isinstance(pem, str) and not is_unknown(pem) else []
        return self.ca_id(found[0]) if found else None

    def ca_id(self, cert: x509.Certificate) -> str:
        """A CA given as PEM text: the certificate resource whose known `certPem` it is, else
        `pem:<sha256>` (an external CA)."""
        if self._by_fingerprint is None:
            self._by_fingerprint = {
                fingerprint(found[0]): node.urn
                for node in self.graph.of_type(*tokens.CERTS)
                if isinstance(pem := node.props.get("certPem"), str)
                and (found := certificates(pem))
            }
        digest = fingerprint(cert)
        return self._by_fingerprint.get(digest, f"pem:{digest}")

    def root(self, cert_urn: str) -> str:
        """The self-signed (or external) CA at the top of a certificate's chain."""
        current, seen = cert_urn, {cert_urn}
        while (parent := self.issuer(current)) is not None and parent not in seen:
            seen.add(parent)
            current = parent
        return current

    def is_ca(self, cert_urn: str) -> bool:
        node = self.graph.get(cert_urn)
        return node is not None and certs.is_ca(node.props) is True

    def is_rsa(self, key_urn: str | None) -> bool:
        node = self.graph.get(key_urn) if key_urn else None
        algorithm = node.props.get("algorithm") if node else None
        return isinstance(algorithm, str) and algorithm.upper() == "RSA"

    # `sources`: the resources whose material reaches a consumer (topology.Consumer.sources).

    def certs_used_by(self, sources: Iterable[str]) -> set[str]:
        return {u for u in self.graph.reach(sources) if self._type(u) in tokens.CERTS}

    def keys_delivered_to(self, sources: Iterable[str]) -> set[str]:
        """PrivateKeys whose PEM reaches the consumer (not merely through a certificate or
        CSR)."""
        reach = self.graph.reach(sources, stop=tokens.TLS_MATERIAL)
        return {u for u in reach if self._type(u) == tokens.PRIVATE_KEY}

    def node_certs(self, sources: Iterable[str]) -> set[str]:
        """Certificates delivered to the consumer together with their own key, and those that
        are no CA whose key is none of the stack's (`key_outside`): the node holds it."""
        keys = self.keys_delivered_to(sources)
        return {
            c for c in self.certs_used_by(sources)
            if self.key_of(c) in keys or (self.key_outside(c) and not self.is_ca(c))
        }

    def key_outside(self, cert_urn: str) -> bool:
        """Whether a certificate's key is no PrivateKey of the stack: signed from a request
        given as PEM (a node that keeps its own key), or self-signed with a key given so."""
        node = self.graph.get(cert_urn)
        if node is None or node.type not in tokens.CERTS:
            return False
        given = "certRequestPem" if node.type == tokens.LOCALLY_SIGNED_CERT else "privateKeyPem"
        return isinstance(node.props.get(given), str) and self.key_of(cert_urn) is None

    def _type(self, urn: str) -> str | None:
        node = self.graph.get(urn)
        return node.type if node else None


def _requests(text: str) -> list[x509.CertificateSigningRequest]:
    request = certificate_request(text)
    return [] if request is None else [request]
