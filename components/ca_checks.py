"""Checks of an externally provided CA (INV-CA-SHAPE, INV-CA-DEDICATED, INV-STRENGTH).

Pure functions over PEM text with `cryptography`: they return the list of problems (each a
sentence saying what is wrong and how to fix it) so the config module can report them all at once.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import warnings
from collections.abc import Sequence
from datetime import datetime, timedelta

import certifi
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID

ALLOWED_CURVES = ("secp256r1", "secp384r1")
MIN_RSA_BITS = 2048
# What `cryptography` raises for a certificate it loaded but cannot read all of.
UNREADABLE_ERRORS = (
    ValueError, UnsupportedAlgorithm, x509.DuplicateExtension, x509.UnsupportedGeneralNameType,
)


def spki(cert: x509.Certificate) -> bytes:
    """The certificate's SubjectPublicKeyInfo (DER): a re-issued CA keeps it."""
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@functools.cache
def _public_root_keys() -> frozenset[bytes]:
    """SPKIs of Mozilla's roots (certifi): a re-issued root keeps its key, so compare keys."""
    with open(certifi.where(), "rb") as bundle, warnings.catch_warnings():
        # A few long-lived Mozilla roots have non-positive serials; they are still roots.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return frozenset(spki(cert) for cert in x509.load_pem_x509_certificates(bundle.read()))


def is_public_root(cert: x509.Certificate) -> bool:
    return spki(cert) in _public_root_keys()


def key_strength_problem(key: object) -> str | None:
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            return f"is RSA-{key.key_size}; use RSA of at least {MIN_RSA_BITS} bits (INV-STRENGTH)"
        return None
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        if key.curve.name not in ALLOWED_CURVES:
            return f"uses curve {key.curve.name}; use P-256 or P-384 (INV-STRENGTH)"
        return None
    return f"has a {type(key).__name__}; use ECDSA P-256/P-384 or RSA >= 2048 (INV-STRENGTH)"


def unreadable(cert: x509.Certificate) -> str | None:
    """Why part of `cert` cannot be read, or None. `cryptography` loads a certificate whose
    names, extensions or public key are malformed, and raises only when they are read."""
    try:
        _ = cert.subject, cert.issuer, list(cert.extensions), cert.public_key()
    except UNREADABLE_ERRORS as err:
        return str(err)
    return None


# RFC 7468's pre-encapsulation boundary; its label says what the block holds.
_PEM_BEGIN = re.compile(r"-----BEGIN ([^\r\n]*?)-----")
# What `cryptography` reads as a certificate.
_CERTIFICATE_LABELS = frozenset({"CERTIFICATE", "X509 CERTIFICATE"})


def foreign_pem_block(pem: str) -> str | None:
    """Why certificate text `pem` may not be taken as it is, or None: it holds a PEM block
    other than a certificate, which certificate parsing skips. The program delivers the text
    as written (every node's CA file, the trust ConfigMap, stack outputs), so a private key
    pasted with the certificate would reach every node."""
    labels = sorted({m[1] for m in _PEM_BEGIN.finditer(pem)} - _CERTIFICATE_LABELS)
    if not labels:
        return None
    found = ", ".join(repr(label) for label in labels)
    if any("PRIVATE KEY" in label for label in labels):
        return (
            f"holds a private key (PEM block {found}) besides certificates: it would be "
            "delivered with them to every node (CA bundle or trust ConfigMap) and the stack "
            "outputs (INV-CUSTODY), and certificate settings are not kept secret; remove the "
            "block (a key belongs in a keyPem, as secret config) and treat that key as exposed"
        )
    return (
        f"holds PEM block {found} besides certificates; it would be delivered as written to "
        "nodes that read certificates only: remove it"
    )


def single_key_block(key_pem: str) -> str | None:
    """Why key text `key_pem` is not one PEM block, or None. pulumi-tls and ECK read the
    first block alone (Go's pem.Decode) and fail when it holds no key, after part of the
    stack exists; a second block would travel with the key."""
    labels = [m[1] for m in _PEM_BEGIN.finditer(key_pem)]
    if len(labels) <= 1:
        return None
    found = ", ".join(repr(label) for label in labels)
    # `openssl ecparam -genkey` writes the curve's parameters before the key.
    hint = " (`openssl ecparam -genkey` writes 'EC PARAMETERS' first: add -noout)" if (
        "EC PARAMETERS" in labels) else ""
    return (
        f"holds {len(labels)} PEM blocks ({found}): pulumi-tls and ECK read only the first as "
        "the key (any other fails the update halfway: 'unable to determine parser for PEM "
        f"preamble'), and the rest would be delivered with it; give the one private key block "
        f"alone{hint}"
    )


def load_single_certificate(cert_pem: str) -> tuple[x509.Certificate | None, str | None]:
    if problem := foreign_pem_block(cert_pem):
        return None, problem
    try:
        with warnings.catch_warnings():  # a serial number that is not positive: reported below
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            certs = x509.load_pem_x509_certificates(cert_pem.encode())
    except (ValueError, x509.InvalidVersion) as err:
        return None, f"is not a PEM certificate ({err}); paste the CA certificate's PEM text"
    if len(certs) != 1:
        return None, (
            f"holds {len(certs)} certificates; give exactly the one CA certificate that signs "
            "the node certificates (no chain): ECK and the trust lists expect one"
        )
    if why := unreadable(certs[0]):
        return None, (
            f"holds a certificate that cannot be read ({why}): it is damaged, or its key is of "
            "a type no TLS stack of Elasticsearch takes; paste the CA certificate's PEM text again"
        )
    return certs[0], None


def check_ca_certificate(cert: x509.Certificate, now: datetime) -> list[str]:
    problems: list[str] = []
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        if not constraints.ca:
            problems.append("is not a CA (basicConstraints CA:false); provide a CA certificate")
    except x509.ExtensionNotFound:
        problems.append("has no basicConstraints extension, so it is not a CA (INV-CA-SHAPE)")
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.key_cert_sign:
            problems.append("has no keyCertSign key usage, so it cannot sign node certificates")
    except x509.ExtensionNotFound:
        problems.append("has no keyUsage extension; a CA needs keyCertSign (INV-CA-SHAPE)")
    if usage_problem := _extended_key_usage_problem(cert):
        problems.append(usage_problem)
    with warnings.catch_warnings():  # cryptography warns of what this reports
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        serial = cert.serial_number
    if serial <= 0:
        problems.append(
            f"has serial number {serial}; RFC 5280 requires a positive one, and "
            "pulumi-tls (Go's x509) refuses a negative one when it signs with the CA: re-issue "
            "the CA certificate"
        )
    if cert.not_valid_after_utc <= now:
        problems.append(
            f"expired on {cert.not_valid_after_utc:%Y-%m-%d}; provide a valid CA or rotate "
            "to a generated one (ca.mode: generated)"
        )
    if cert.not_valid_before_utc > now:
        problems.append(f"is not valid before {cert.not_valid_before_utc:%Y-%m-%d}")
    strength = key_strength_problem(cert.public_key())
    if strength:
        problems.append(strength)
    if is_public_root(cert):
        problems.append(
            "is a public root CA (it is in the Mozilla/certifi bundle); transport needs a "
            "private CA dedicated to this cluster (INV-CA-DEDICATED)"
        )
    return problems


# Every node certificate is a TLS client and a TLS server (INV-EKU).
_TRANSPORT_USAGES = (
    (ExtendedKeyUsageOID.CLIENT_AUTH, "clientAuth"), (ExtendedKeyUsageOID.SERVER_AUTH, "serverAuth")
)


def _extended_key_usage_problem(cert: x509.Certificate) -> str | None:
    """OpenSSL and Go hold a CA's extendedKeyUsage against every certificate it issues (JSSE
    does not): a CA without clientAuth or serverAuth there breaks those handshakes."""
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return None
    missing = [name for oid, name in _TRANSPORT_USAGES if oid not in usages]
    if not missing:
        return None
    return (
        f"has an extendedKeyUsage without {' and '.join(missing)}: OpenSSL and Go refuse every "
        "node certificate it issues for that use ('unsuitable certificate purpose'), though "
        "JSSE accepts them (INV-EKU); use a CA certificate without extendedKeyUsage, or with "
        "both clientAuth and serverAuth"
    )


def name_constraints(cert_pem: str) -> x509.NameConstraints | None:
    """The nameConstraints of CA certificate `cert_pem` (one, checked), if it has any."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    try:
        return cert.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return None


def names_outside_constraints(
    constraints: x509.NameConstraints, dns_names: Sequence[str], ip_addresses: Sequence[str]
) -> list[str]:
    """The node names (DNS names, IPs) `constraints` (a CA's) do not permit. OpenSSL and Go
    hold a CA's constraints against every certificate below it; JSSE does not apply a trust
    anchor's."""
    permitted = list(constraints.permitted_subtrees or [])
    excluded = list(constraints.excluded_subtrees or [])
    outside = []
    for kind, values, within in (
        (x509.DNSName, dns_names, _dns_within),
        (x509.IPAddress, ip_addresses, _ip_within),
    ):
        allowed = [tree.value for tree in permitted if isinstance(tree, kind)]
        refused = [tree.value for tree in excluded if isinstance(tree, kind)]
        outside += [
            value for value in values
            if (allowed and not any(within(value, tree) for tree in allowed))
            or any(within(value, tree) for tree in refused)
        ]
    return outside


def _dns_within(name: str, subtree: object) -> bool:
    """RFC 5280 4.2.1.10 as OpenSSL and Go read it: `example.com` holds itself and every name
    below it, `.example.com` only the names below it."""
    tree = str(subtree).lower()
    if not tree or tree.startswith("."):
        return name.endswith(tree)
    return name == tree or name.endswith("." + tree)


def _ip_within(address: str, subtree: object) -> bool:
    ip = ipaddress.ip_address(address)
    return isinstance(subtree, ipaddress.IPv4Network | ipaddress.IPv6Network) and (
        ip.version == subtree.version and ip in subtree
    )


def check_key_matches(cert: x509.Certificate, key_pem: str) -> list[str]:
    if problem := single_key_block(key_pem):
        return [problem]
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        return [f"is not an unencrypted PEM private key ({err}); give the CA key in PEM form"]
    if _spki_of_private_key(key) != spki(cert):
        return ["does not match the public key of ca.certPem; give the key of that CA"]
    return []


def _spki_of_private_key(key: object) -> bytes | None:
    public_key = getattr(key, "public_key", None)
    if public_key is None:
        return None
    der: bytes = public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return der


def expires_before(cert: x509.Certificate, now: datetime, days: int) -> bool:
    return cert.not_valid_after_utc < now + timedelta(days=days)
