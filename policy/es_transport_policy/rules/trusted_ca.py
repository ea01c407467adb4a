"""INV-CA-DEDICATED / INV-CA-SHAPE / INV-STRENGTH on CA certificates that arrive as known
content: a provided CA (`LocallySignedCert.caCertPem` as a literal PEM) and the CA files that
the elasticsearch.yml of a VM bundle, Secret or ConfigMap trusts for transport (files of the
same resource, PEM or DER as Elasticsearch reads them); and that a provided CA's key
(`caPrivateKeyPem` as a literal) is its certificate's.
Judged when the PEM is known; an unknown PEM is ours (a SelfSignedCert's output) and is judged
through that resource instead."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography import x509

from .. import tokens
from ..documents import referenced_entries, transport_ssl_setting
from ..findings import Finding
from ..pem import (
    WEAK_KEY,
    ca_problems,
    certificates,
    file_certificates,
    private_key_spkis,
    spki_digest,
)
from ..values import is_unknown
from ..view import ResourceView


def names_transport_authorities(setting: str) -> bool:
    """`certificate_authorities` of transport SSL, a named transport profile's included."""
    return transport_ssl_setting(setting) == "certificate_authorities"


def trusted_files(type_: str, props: dict[str, Any]) -> list[tuple[str, list[x509.Certificate]]]:
    """(where, certificates) of each file the resource's elasticsearch.yml trusts for transport
    (`names_transport_authorities`), read as Elasticsearch reads it: PEM or DER
    (pem.file_certificates)."""
    return [(entry.where, file_certificates(text if isinstance(text := entry.text, str) else None,
                                            entry.data))
            for entry in referenced_entries(type_, props, names_transport_authorities)]


def trusted_ca(view: ResourceView, _config: Mapping[str, Any]) -> list[Finding]:
    files: list[tuple[str, list[x509.Certificate]]] = []
    findings: list[Finding] = []
    if view.type == tokens.LOCALLY_SIGNED_CERT:
        pem = view.props.get("caCertPem")
        if isinstance(pem, str) and not is_unknown(pem):
            files.append(("caCertPem", certificates(pem)))
            findings += _key_mismatch(view, pem)
    elif view.type in tokens.SECRETS + tokens.CONFIG_MAPS or tokens.is_bundle(view.type,
                                                                              view.props):
        files = trusted_files(view.type, view.props)
    return findings + [
        finding for where, certs in files for finding in ca_findings(where, certs, view.urn)
    ]


def _key_mismatch(view: ResourceView, ca_pem: str) -> list[Finding]:
    """INV-CA-SHAPE: a provided CA's key (`caPrivateKeyPem` given as PEM, in any form) is its
    certificate's. Not judged when either does not read (encrypted, malformed)."""
    key_pem = view.props.get("caPrivateKeyPem")
    found = certificates(ca_pem)
    if not isinstance(key_pem, str) or not found:
        return []
    keys, ca_key = private_key_spkis(key_pem), spki_digest(found[0])
    if not keys or ca_key is None or ca_key in keys:
        return []
    return [Finding(
        "INV-CA-SHAPE",
        "caPrivateKeyPem is not the key of the CA certificate in caCertPem",
        "the certificates it signs name the CA as issuer but carry another key's signature: no "
        "node verifies them, and the key that signs is not the CA the nodes trust",
        "give the CA certificate and its own private key (the pair that was issued together)",
        view.urn,
    )]


def ca_findings(where: str, certs: list[x509.Certificate], urn: str) -> list[Finding]:
    """What makes the CA certificates `certs` (found at `where`) unfit as a cluster's transport
    CA."""
    return [
        Finding(
            _invariant(problem),
            f"{where}: {problem}",
            "whoever holds a certificate from a trusted CA can open transport "
            "connections: the transport CA must be a valid CA dedicated to this cluster, "
            "with a key that cannot be broken to mint certificates",
            "use the cluster's own private CA (generated, or provided with CA:true, "
            "keyCertSign, an RSA >= 2048 or P-256/P-384 key and a validity covering the node "
            "certificates)",
            urn,
        )
        for cert in certs
        for problem in ca_problems(cert)
    ]


def _invariant(problem: str) -> str:
    if "public root" in problem:
        return "INV-CA-DEDICATED"
    return "INV-STRENGTH" if WEAK_KEY in problem else "INV-CA-SHAPE"
