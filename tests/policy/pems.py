"""Real PEMs made with cryptography (tests/x509_factory) and a real public root (certifi); and
DER surgery for certificates that load but do not read (tests of malformed input)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    load_pem_private_key,
    pkcs7,
    pkcs12,
)

from tests.x509_factory import X509_V3, Issued, make_ca, make_csr, make_key

_CA = make_ca("cluster-a transport CA")
PRIVATE_CA = _CA.cert_pem
PRIVATE_CA_KEY = _CA.key_pem
# The same key as `openssl` writes it traditionally (SEC1): another PEM body, the same key.
PRIVATE_CA_KEY_TRADITIONAL = _CA.traditional_key_pem
PRIVATE_CA_KEY_OPENSSH = _CA.openssh_key_pem
EXPIRED_CA = make_ca("old CA", not_before=datetime.now(UTC) - timedelta(days=20), days=10).cert_pem
# Provided CAs on keys INV-STRENGTH refuses (and the weakest it accepts).
RSA_1024_CA = make_ca("weak RSA CA", key=make_key("rsa1024")).cert_pem
P224_CA = make_ca("P-224 CA", key=make_key("p224")).cert_pem
RSA_2048_CA = make_ca("RSA CA", key=make_key("rsa2048")).cert_pem
# A node's request for a certificate: its key stays on the node, outside the stack.
NODE_CSR = make_csr("node-0")
P224_CSR = make_csr("node-1", make_key("p224"))
RSA_1024_CSR = make_csr("node-2", make_key("rsa1024"))
NOT_A_CA = make_ca("a leaf", is_ca=False, key_cert_sign=False).cert_pem
_NODE = make_ca("throwaway", key=make_key("p256"))
NODE_KEY = _NODE.key_pem
NODE_KEY_TRADITIONAL = _NODE.traditional_key_pem
NODE_KEY_OPENSSH = _NODE.openssh_key_pem
OTHER_KEY = make_ca("throwaway 2").key_pem
# A node's own (self-signed) certificate and key: no CA.
_LEAF = make_ca("node-0 leaf", is_ca=False, key_cert_sign=False)
LEAF = _LEAF.cert_pem
LEAF_KEY = _LEAF.key_pem


def public_root() -> str:
    with open(certifi.where(), encoding="ascii") as bundle:
        text = bundle.read()
    start = text.index("-----BEGIN CERTIFICATE-----")
    end = text.index("-----END CERTIFICATE-----", start) + len("-----END CERTIFICATE-----")
    return text[start:end] + "\n"


def public_intermediate() -> str:
    """A CA certificate that names a public root as its issuer by name and authority key
    identifier, as a public CA's intermediate does (signed here by its own key: the root's is
    not at hand, and a trust anchor's signature is never checked)."""
    root = x509.load_pem_x509_certificate(public_root().encode())
    root_key_id = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    own = make_ca("Example Public TLS CA")
    cert = (x509.CertificateBuilder(extensions=list(own.cert.extensions))
            .subject_name(own.cert.subject).issuer_name(root.subject)
            .public_key(own.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(own.cert.not_valid_before_utc)
            .not_valid_after(own.cert.not_valid_after_utc)
            .add_extension(x509.AuthorityKeyIdentifier(root_key_id.digest, None, None), False)
            .sign(own.key, hashes.SHA256()))
    return cert.public_bytes(Encoding.PEM).decode()


def node_leaf(*usages: x509.ObjectIdentifier) -> tuple[str, str]:
    """(certificate, key) PEMs of a node certificate the private CA issued, with the extended
    key usages `usages` (none: no EKU extension)."""
    key = make_key()
    builder = (x509.CertificateBuilder().subject_name(x509.Name([
        x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "node-0")]))
        .issuer_name(_CA.cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_CA.cert.not_valid_before_utc)
        .not_valid_after(_CA.cert.not_valid_after_utc)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True))
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(usages)), False)
    cert = builder.sign(_CA.key, hashes.SHA256())
    return cert.public_bytes(Encoding.PEM).decode(), Issued(cert, key).key_pem


def der(pem: str) -> bytes:
    """The certificate of `pem` in binary DER (a `.der`/`.cer` file)."""
    return x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)


def pkcs7_der(pem: str) -> bytes:
    """The certificate of `pem` in a binary PKCS#7 bundle (a `.p7b` file)."""
    return pkcs7.serialize_certificates([x509.load_pem_x509_certificate(pem.encode())],
                                        Encoding.DER)


def _cert(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def keystore(key_pem: str, cert_pem: str | None, *cas: str, password: bytes = b"") -> bytes:
    """A PKCS#12 keystore: the key with its certificate (if any) and `cas`
    (elasticsearch-certutil's form; no password by default, as certutil's empty one)."""
    key = load_pem_private_key(key_pem.encode(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    encryption = BestAvailableEncryption(password) if password else NoEncryption()
    return pkcs12.serialize_key_and_certificates(
        b"store", key, None if cert_pem is None else _cert(cert_pem),
        [_cert(ca) for ca in cas] or None, encryption)


def truststore(*cas: str) -> bytes:
    """A PKCS#12 truststore (JDK trusted-certificate entries) of `cas`, without a password."""
    return pkcs12.serialize_java_truststore(
        [pkcs12.PKCS12Certificate(_cert(ca), f"ca{n}".encode()) for n, ca in enumerate(cas)],
        NoEncryption())


def patched(der: bytes, old: str, new: str, nth: int = 0) -> bytes:
    """`der` with the `nth` occurrence of the bytes `old` (hex) replaced by `new` (hex)."""
    at = -1
    for _ in range(nth + 1):
        at = der.index(bytes.fromhex(old), at + 1)
    return der[:at] + bytes.fromhex(new) + der[at + len(bytes.fromhex(old)):]


BASIC_CONSTRAINTS_OID = "0603551d13"
KEY_USAGE_OID = "0603551d0f"


def broken_basic_constraints(der: bytes) -> bytes:
    """basicConstraints' value a SET instead of a SEQUENCE: the certificate loads, its
    extensions do not parse."""
    oid = der.index(bytes.fromhex(BASIC_CONSTRAINTS_OID))
    at = der.index(b"\x04", oid + 5) + 2  # the extnValue OCTET STRING's content
    return der[:at] + b"\x31" + der[at + 1:]


def duplicated_extension(der: bytes) -> bytes:
    """keyUsage's OID made basicConstraints': two basicConstraints, refused when read."""
    return patched(der, KEY_USAGE_OID, BASIC_CONSTRAINTS_OID)


def invalid_version(der: bytes) -> bytes:
    """Version 6 (X.509 knows 1 to 3): refused at load (InvalidVersion, no ValueError)."""
    return patched(der, X509_V3.hex(), "a003020105")
