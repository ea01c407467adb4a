"""What a VM node's bundle holds: fixed file names, modes, elasticsearch.yml, PKCS#12 stores,
secure settings and the cloud-init document. Pure functions; `node_bundle` writes the result.

A bundle is an overlay of the node's config directory. File names never change across renewals
or rotations (DESIGN §5): Elasticsearch reloads changed file *contents* without a restart, but
not a changed path in elasticsearch.yml.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from components import http_settings, transport_settings, yaml_text
from components.model import BundleFormat, TransportSpec

ELASTICSEARCH_YML = "elasticsearch.yml"
KEY = "certs/transport.key"
CERTIFICATE = "certs/transport.crt"
CERTIFICATE_AUTHORITIES = "certs/transport-ca.crt"
KEYSTORE = "certs/transport.p12"
TRUSTSTORE = "certs/transport-truststore.p12"
SECURE_SETTINGS = "secure-settings.json"
# The HTTP layer's own files: never the transport ones (INV-SEPARATE), always PEM.
HTTP_KEY = "certs/http.key"
HTTP_CERTIFICATE = "certs/http.crt"
HTTP_CERTIFICATE_AUTHORITIES = "certs/http-ca.crt"

# Anything holding the private key (or the store passwords) is readable by its owner only.
SECRET_MODE = "0600"
PUBLIC_MODE = "0644"
MODES = {
    ELASTICSEARCH_YML: PUBLIC_MODE,
    KEY: SECRET_MODE,
    CERTIFICATE: PUBLIC_MODE,
    CERTIFICATE_AUTHORITIES: PUBLIC_MODE,
    KEYSTORE: SECRET_MODE,
    # Public certificates only; the password protects its integrity, not its secrecy.
    TRUSTSTORE: PUBLIC_MODE,
    SECURE_SETTINGS: SECRET_MODE,
    HTTP_KEY: SECRET_MODE,
    HTTP_CERTIFICATE: PUBLIC_MODE,
    HTTP_CERTIFICATE_AUTHORITIES: PUBLIC_MODE,
}
KEYSTORE_ALIAS = b"transport"


def writes_pem(bundle_format: BundleFormat) -> bool:
    return bundle_format in (BundleFormat.PEM, BundleFormat.BOTH)


def writes_stores(bundle_format: BundleFormat) -> bool:
    return bundle_format in (BundleFormat.PKCS12, BundleFormat.BOTH)


def settings(
    transport: TransportSpec, bundle_format: BundleFormat
) -> dict[str, transport_settings.Setting]:
    """The node's transport settings. With the stores present (`pkcs12`, `both`) Elasticsearch
    reads the stores; under `both` the PEM files are extras for non-JVM tools. PEM and keystore
    settings are never mixed (they are mutually exclusive in Elasticsearch)."""
    if writes_stores(bundle_format):
        return transport_settings.keystore_settings(
            transport, keystore=KEYSTORE, truststore=TRUSTSTORE
        )
    return transport_settings.pem_settings(
        transport,
        key=KEY,
        certificate=CERTIFICATE,
        certificate_authorities=[CERTIFICATE_AUTHORITIES],
    )


def http_yml_settings(*, with_ca: bool) -> dict[str, transport_settings.Setting]:
    """The node's HTTP settings: PEM files whatever `vm.format` says (PKCS#12 stores exist for
    JSSE's transport trust; HTTP reads PEM as well). No CA file for a public-CA chain."""
    return http_settings.pem_settings(
        key=HTTP_KEY,
        certificate=HTTP_CERTIFICATE,
        certificate_authorities=[HTTP_CERTIFICATE_AUTHORITIES] if with_ca else [],
    )


def elasticsearch_yml(cluster: str, node: str, values: Mapping[str, object]) -> str:
    layers = "Transport and HTTP" if http_settings.ENABLED in values else "Transport"
    header = (
        f"# {layers} TLS of node {node} in cluster {cluster}, managed by es-transport-pki.\n"
        "# Merge these settings into the node's own elasticsearch.yml (do not replace it).\n"
        "# Paths are relative to the Elasticsearch config directory. Changing a value here\n"
        "# needs a rolling restart; renewed certificate files are reloaded without one.\n"
    )
    return header + yaml_text.dump(dict(values), sort_keys=True)


@dataclass(frozen=True)
class Passwords:
    keystore: str
    truststore: str


def secure_settings_json(passwords: Passwords) -> str:
    """`secure-settings.json`: setting name → value, for `bin/elasticsearch-keystore add`."""
    entries = {
        transport_settings.KEYSTORE_PASSWORD: passwords.keystore,
        transport_settings.TRUSTSTORE_PASSWORD: passwords.truststore,
    }
    return json.dumps(entries, indent=2, sort_keys=True) + "\n"


def source_digest(*pems: str) -> str:
    """Identifies the material a store was built from (rebuilt only when it changes)."""
    return hashlib.sha256("\0".join(pems).encode()).hexdigest()


def _encryption(password: str) -> serialization.KeySerializationEncryption:
    # PBES2/AES-256 with an HMAC-SHA256 MAC: what JDK 11.0.12+/17 (and Elasticsearch) read.
    return (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(10000)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password.encode())
    )


def _issuers(leaf: x509.Certificate, cas: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    """The CA certificates (from the trust bundle) that signed `leaf`: its chain in the keystore."""
    found = []
    for ca in cas:
        if ca.subject != leaf.issuer:
            continue
        try:
            leaf.verify_directly_issued_by(ca)
        except (ValueError, TypeError, InvalidSignature):
            continue
        found.append(ca)
    return found


def keystore(key_pem: str, cert_pem: str, ca_pem: str, password: str) -> bytes:
    """PKCS#12 keystore: the node key with its certificate chain (leaf, then its issuer)."""
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    # Transport keys are ECDSA or RSA (INV-STRENGTH).
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError(f"unsupported private key type {type(key).__name__}")
    leaf = x509.load_pem_x509_certificate(cert_pem.encode())
    chain = _issuers(leaf, x509.load_pem_x509_certificates(ca_pem.encode()))
    return pkcs12.serialize_key_and_certificates(
        KEYSTORE_ALIAS, key, leaf, chain or None, _encryption(password)
    )


def truststore(ca_pem: str, password: str) -> bytes:
    """PKCS#12 truststore with one trusted-certificate entry per CA (what JSSE reads)."""
    entries = [
        pkcs12.PKCS12Certificate(ca, _alias(ca))
        for ca in x509.load_pem_x509_certificates(ca_pem.encode())
    ]
    return pkcs12.serialize_java_truststore(entries, _encryption(password))



def _alias(ca: x509.Certificate) -> bytes:
    # Stable across runs and unique per CA, so a rebuilt truststore lists the same aliases.
    return f"transport-ca-{ca.fingerprint(hashes.SHA256()).hex()[:16]}".encode()


# cloud-init chowns and chmods a file it appends to as it does a file it writes (root:root
# 0644 unless the entry says otherwise), so the entry appending to the node's own
# elasticsearch.yml states the packages' ownership and mode for it: root:<group> 0660 (asserted
# by Elasticsearch's packaging tests). Elasticsearch reads it through its group, cannot rewrite
# its own settings, and nobody else reads them.
_CONFIG_FILE_MODE = "0660"
# ... and cloud-init appends the bytes as they are: after a node file whose last line has no
# newline, the bundle's first line would run on into it ("cluster.name: logs# Transport TLS of
# node ..." is the value "logs# Transport ..."). The appended text starts a line of its own.
_APPENDED_PREFIX = b"\n"


def _config_file_owner(owner: str) -> str:
    """Who owns the appended elasticsearch.yml for a bundle owned by `owner` ('user[:group]'):
    root with the group, or the user itself when no group is named (it must still read it)."""
    user, _, group = owner.partition(":")
    return f"root:{group}" if group else user


def cloud_init(config_dir: str, owner: str, files: Mapping[str, tuple[bytes, str]]) -> str:
    """A `#cloud-config` document writing `files` (relative path → bytes, mode) under
    `config_dir`. Deferred to cloud-init's final stage so that `owner` exists (the package
    creates it); elasticsearch.yml is appended to the node's own file, never replacing it, and
    keeps that file's ownership and mode; the appended text starts on a line of its own."""
    entries = []
    for rel, (data, mode) in sorted(files.items()):
        content = _APPENDED_PREFIX + data if rel == ELASTICSEARCH_YML else data
        entry: dict[str, object] = {"path": f"{config_dir.rstrip('/')}/{rel}"}
        try:
            entry["content"] = content.decode("utf-8")
        except UnicodeDecodeError:
            entry["encoding"] = "b64"
            entry["content"] = base64.b64encode(content).decode("ascii")
        if rel == ELASTICSEARCH_YML:
            entry.update(owner=_config_file_owner(owner), permissions=_CONFIG_FILE_MODE,
                         defer=True, append=True)
        else:
            entry.update(owner=owner, permissions=mode, defer=True)
        entries.append(entry)
    return "#cloud-config\n" + yaml_text.dump_block_list("write_files", entries)
