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
from ..documents import (
    TRANSPORT_SSL,
    Entry,
    referenced_entries,
    setting_paths,
    settings_documents,
    store_sources,
    transport_ssl_setting,
)
from ..findings import Finding
from ..pem import (
    WEAK_KEY,
    ca_problems,
    certificates,
    file_certificates,
    pkcs12_store,
    private_key_spkis,
    spki_digest,
)
from ..ssl_keys import VERIFICATION_MODES, setting_mode
from ..values import contains_unknown, is_unknown, setting_boolean
from ..view import ResourceView


def names_transport_authorities(setting: str) -> bool:
    """`certificate_authorities` of transport SSL, a named transport profile's included."""
    return transport_ssl_setting(setting) == "certificate_authorities"


def names_transport_truststore(setting: str) -> bool:
    """`truststore.path` of transport SSL, a named transport profile's included."""
    return transport_ssl_setting(setting) == "truststore.path"


TRUST_NAMES = (names_transport_authorities, names_transport_truststore)


def trusted_files(type_: str, props: dict[str, Any]) -> list[tuple[str, list[x509.Certificate]]]:
    """(where, certificates) of each file the resource's elasticsearch.yml trusts for transport
    (`names_transport_authorities`), read as Elasticsearch reads it: PEM or DER
    (pem.file_certificates); and of each PKCS#12 truststore it names
    (`names_transport_truststore`) that opens without a password (pem.pkcs12_store): the
    certificates beside its key (a keystore used as truststore, as Elastic's guide does with
    elastic-certificates.p12, holds the node's own certificate with its key, and its CA)."""
    found: list[tuple[str, list[x509.Certificate]]] = []
    for named in TRUST_NAMES:
        for entry in referenced_entries(type_, props, named):
            trust = entry_trust(entry, named is names_transport_truststore)
            if trust is not None:
                found.append(trust)
    return found


def entry_trust(entry: Entry, truststore: bool) -> tuple[str, list[x509.Certificate]] | None:
    """(where, certificates) of a file trusted for transport: a `certificate_authorities`
    file, PEM or DER (pem.file_certificates); a `truststore.path` one, a PKCS#12 store that
    opens without a password (pem.pkcs12_store: the certificates beside its key entry). None:
    a truststore not read."""
    if not truststore:
        return entry.where, file_certificates(
            entry.text if isinstance(entry.text, str) else None, entry.data)
    store = None if entry.data is None else pkcs12_store(entry.data)
    return None if store is None else (f"{entry.where} (PKCS#12 truststore)",
                                       list(store.others))


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
        cas = store_sources(view.type, view.props).get(tokens.BUNDLE_STORE_CAS)
        if cas is not None:
            files.append((f"{tokens.BUNDLE_STORES}.{tokens.BUNDLE_STORE_CAS} (the truststore's)",
                          certificates(cas)))
        findings += _default_trust(view)
    return findings + [
        finding for where, certs in files for finding in ca_findings(where, certs, view.urn)
    ]


# Where Elasticsearch takes transport trust from; with neither set (nor the 6.x global
# `xpack.ssl.` ones transport fell back to), SslConfigurationLoader.buildTrustConfig returns
# buildDefaultTrustConfig: DefaultJdkTrustConfig, the JDK's cacerts (every public root), joined
# by a keystore's own certificates (StoreKeyConfig.asTrustConfig) when `keystore.path` is set.
TRUST_SETTINGS = ("certificate_authorities", "truststore.path")
_LEGACY_GLOBAL_SSL = "xpack.ssl."


def _default_trust(view: ResourceView) -> list[Finding]:
    """INV-CA-DEDICATED: an elasticsearch.yml (outside ECK, which sets its own
    `certificate_authorities`) that turns transport TLS on with peer verification and names
    no trust (`TRUST_SETTINGS` unset, empty, or an empty list: Elasticsearch reads either as
    unset) trusts the JDK's public CAs for transport. Named profiles are not judged apart (the
    versions differ on whether they inherit the default scope's trust)."""
    findings: list[Finding] = []
    for doc in settings_documents(view.type, view.props):
        if not isinstance(doc.settings, dict) or doc.eck:
            continue
        settings = doc.settings
        mode = setting_mode(settings.get(TRANSPORT_SSL + "verification_mode", "full"),
                            VERIFICATION_MODES)
        trust = [(key, settings.get(key)) for prefix in (TRANSPORT_SSL, _LEGACY_GLOBAL_SSL)
                 for key in (prefix + name for name in TRUST_SETTINGS)]
        if (setting_boolean(settings.get(TRANSPORT_SSL + "enabled")) is not True
                or mode not in ("full", "certificate") or contains_unknown(trust)
                or any(_names_trust(name, value) for name, value in trust)):
            continue
        findings.append(Finding(
            "INV-CA-DEDICATED",
            f"{doc.where}: transport TLS is on with verification_mode {mode}, but neither "
            f"{TRANSPORT_SSL}certificate_authorities nor {TRANSPORT_SSL}truststore.path is set",
            "Elasticsearch then trusts the JDK's default CA certificates for transport "
            "(SslConfigurationLoader: DefaultJdkTrustConfig, every public root): anyone with a "
            "client certificate from a public CA can open transport connections",
            f"set {TRANSPORT_SSL}certificate_authorities to the cluster's own CA file (or "
            f"{TRANSPORT_SSL}truststore.path to a truststore holding only that CA)",
            view.urn,
        ))
    return findings


def _names_trust(setting: str, value: Any) -> bool:
    """Whether a trust setting's value names anything: Elasticsearch reads an empty text or
    list as unset (resolveSetting, resolveListSetting); another value is read as its text."""
    if isinstance(value, str):
        return any(setting_paths(setting, value))
    return bool(value) if isinstance(value, list) else value is not None


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
