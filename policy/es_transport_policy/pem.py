"""PEM material: private-key detection and certificate checks (cryptography + certifi)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from hashlib import sha256

import certifi
from cryptography import utils, x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

# INV-STRENGTH: the smallest RSA key, and the curves (cryptography's name: pulumi-tls's).
MIN_RSA_BITS = 2048
STRONG_CURVES = {"secp256r1": "P256", "secp384r1": "P384"}
OPENSSH_KEY_BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----"
PRIVATE_KEY_MARKER = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
PRIVATE_KEY_BLOCK = re.compile(
    r"-----BEGIN (?P<kind>[A-Z0-9 ]*)PRIVATE KEY-----(?P<body>.+?)"
    r"-----END (?P=kind)PRIVATE KEY-----",
    re.S,
)
_DER_SEQUENCE = 0x30
CERT_BLOCK = re.compile(
    r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----"
)


def has_private_key(text: str) -> bool:
    return PRIVATE_KEY_MARKER.search(text) is not None


def private_key_blocks(text: str) -> set[str]:
    """Normalised PEM private-key blocks, for comparing key material by value."""
    return {
        "".join(match["body"].split())
        for match in PRIVATE_KEY_BLOCK.finditer(text)
    }


def certificates(text: str) -> list[x509.Certificate]:
    """Every parseable certificate in `text` (unparseable blocks are skipped). cryptography
    parses a certificate's names, extensions and key when they are read: each may still fail
    (see `ca_problems`)."""
    parsed = (_certificate(block) for block in CERT_BLOCK.findall(text))
    return [cert for cert in parsed if cert is not None]


@lru_cache(maxsize=8192)
def _certificate(block: str) -> x509.Certificate | None:
    # Rules meet the same CA and node certificates in many resources and policies; a parsed
    # certificate is immutable, so one parse per PEM block serves them all.
    try:
        return x509.load_pem_x509_certificate(block.encode())
    except (ValueError, x509.InvalidVersion):
        return None


def file_certificates(text: str | None, data: bytes | None) -> list[x509.Certificate]:
    """The certificates of a CA file as Elasticsearch reads `certificate_authorities`
    (PemTrustConfig → PemUtils.readCertificates, elastic/elasticsearch libs/ssl-config: the
    JDK's X.509 CertificateFactory.generateCertificates, which takes PEM or binary DER, one
    certificate after another, or a PKCS#7 bundle): the PEM blocks of its `text`, else the DER
    certificates of its bytes (`data`; a base64 value's)."""
    found = certificates(text) if text is not None else []
    return found or [cert for element in _der_elements(data or b"")
                     for cert in _der_certificates(element)]


def _der_elements(data: bytes) -> list[bytes]:
    """The DER SEQUENCEs that follow one another from the start of `data` (a certificate, or a
    PKCS#7 ContentInfo, is one); reading stops at anything else."""
    elements: list[bytes] = []
    start = 0
    while data[start:start + 1] == bytes([_DER_SEQUENCE]) and (
            element := _tlv(data, start)) is not None:
        elements.append(data[start:element[2]])
        start = element[2]
    return elements


@lru_cache(maxsize=1024)
def _der_certificates(element: bytes) -> tuple[x509.Certificate, ...]:
    """A DER certificate, or the certificates of a DER PKCS#7 bundle; none if it is neither."""
    try:
        return (x509.load_der_x509_certificate(element),)
    except (ValueError, x509.InvalidVersion):
        pass
    try:
        return tuple(pkcs7.load_der_pkcs7_certificates(element))
    except (ValueError, UnsupportedAlgorithm):
        return ()


@dataclass(frozen=True)
class Store:
    """What a PKCS#12 store holds: its private key's `spki_digest` (None: no key, or one that
    does not read) with that key's certificate, and its other certificates (a keystore's
    chain; a truststore's trusted certificates)."""

    key: str | None
    key_certificate: x509.Certificate | None
    others: tuple[x509.Certificate, ...]


# The passwords a store is opened with here: none and the empty one (elasticsearch-certutil's
# default, and what Elasticsearch reads when no password setting is given). Another password
# lives in the elasticsearch-keystore, out of the pack's sight: such a store is not judged.
_STORE_PASSWORDS = (None, b"")


# A store whose key derivation asks more rounds is not opened: each try of a password runs it
# (20 million rounds take seconds). The JDK writes 10,000, OpenSSL 2,048.
MAX_STORE_ROUNDS = 100_000
_DER_INTEGER, _DER_OCTET_STRING, _DER_CONSTRUCTED = 0x02, 0x04, 0x20


def _tlv(data: bytes, start: int) -> tuple[int, int, int] | None:
    """(tag, content start, end) of the DER element at `start`; None if it does not fit."""
    if len(data) < start + 2:
        return None
    size, head = data[start + 1], 2
    if size & 0x80:  # long form: the next `count` bytes hold the size
        count, head = size & 0x7F, 2 + (size & 0x7F)
        if not 0 < count <= 4 or len(data) < start + head:
            return None
        size = int.from_bytes(data[start + 2:start + head])
    end = start + head + size
    return None if end > len(data) else (data[start], start + head, end)


def _store_rounds(data: bytes) -> int:
    """The most key-derivation rounds a PKCS#12 store asks (its MAC's, its PBE parameters'),
    each an INTEGER right after an OCTET STRING salt in a SEQUENCE (MacData, pkcs-12PbeParams,
    PBKDF2-params), found in the clear parts of the DER tree (OCTET STRINGs that hold DER
    included)."""
    most, todo = 0, [(0, len(data))]
    while todo:
        start, end = todo.pop()
        previous = None
        while start < end and (element := _tlv(data, start)) is not None:
            tag, content, after = element
            if tag == _DER_INTEGER and previous == _DER_OCTET_STRING:
                most = max(most, int.from_bytes(data[content:after]))
            if tag & _DER_CONSTRUCTED or (tag == _DER_OCTET_STRING
                                          and data[content:content + 1] == b"\x30"):
                todo.append((content, after))
            previous, start = tag, after
    return most


@lru_cache(maxsize=1024)
def pkcs12_store(data: bytes) -> Store | None:
    """The PKCS#12 store in the bytes `data` (a Secret's `data`, a ConfigMap's `binaryData`),
    as the JDK's PKCS12 KeyStore reads it for `keystore.path`/`truststore.path`; None when it
    is none, asks more than MAX_STORE_ROUNDS rounds of key derivation, or does not open with
    `_STORE_PASSWORDS`."""
    if data[:1] != bytes([_DER_SEQUENCE]) or _store_rounds(data) > MAX_STORE_ROUNDS:
        return None
    for password in _STORE_PASSWORDS:
        try:
            loaded = pkcs12.load_pkcs12(data, password)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            continue
        key = None if loaded.key is None else _spki_hex(loaded.key.public_key())
        own = None if loaded.cert is None else loaded.cert.certificate
        return Store(key, own, tuple(c.certificate for c in loaded.additional_certs))
    return None


def store_material(store: Store) -> frozenset[str]:
    """A PKCS#12 store's own material, comparable with `pem_material` and `private_key_spkis`:
    its key's certificate's fingerprint and its key's `spki_digest`."""
    own = store.key_certificate
    return frozenset(([fingerprint(own)] if own is not None else [])
                     + ([store.key] if store.key is not None else []))


def pem_material(text: str) -> frozenset[str]:
    """Certificate fingerprints and private-key bodies in a PEM text: what it carries, for
    comparing material by value."""
    return frozenset({fingerprint(c) for c in certificates(text)} | private_key_blocks(text))


def fingerprint(cert: x509.Certificate) -> str:
    return sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def spki_digest(cert: x509.Certificate) -> str | None:
    """None: a public key cryptography cannot read (malformed, or of an unsupported
    algorithm); every public root's key reads, so such a key is none of theirs."""
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return None
    return _spki_hex(key)


def _spki_hex(key: PublicKeyTypes) -> str:
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return sha256(der).hexdigest()


def private_key_spkis(text: str, skipped: Collection[str] = ()) -> set[str]:
    """The `spki_digest` of the public half of each unencrypted private key in `text` that
    reads: a key is known by its public key whatever its PEM form (PKCS#8, SEC1, PKCS#1,
    OpenSSH's, which pulumi-tls gives as `privateKeyOpenssh`).
    Keys whose body (as `private_key_blocks` gives it) is in `skipped` are not parsed."""
    return {
        digest for match in PRIVATE_KEY_BLOCK.finditer(text)
        if "".join(match["body"].split()) not in skipped
        and (digest := _key_spki(match.group(0))) is not None
    }


@lru_cache(maxsize=8192)
def _key_spki(block: str) -> str | None:
    load = (serialization.load_ssh_private_key if block.startswith(OPENSSH_KEY_BEGIN)
            else serialization.load_pem_private_key)
    try:
        key = load(block.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None  # encrypted, malformed or of an algorithm cryptography does not read
    return _spki_hex(key.public_key())


_TRANSPORT_EKU = {x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
                  x509.oid.ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth"}


def eku_problem(cert: x509.Certificate) -> str | None:
    """INV-EKU of a certificate as JSSE reads it: no EKU, or one with both clientAuth and
    serverAuth (or anyExtendedKeyUsage). None too when its extensions do not parse (nothing
    can be shown of them)."""
    try:
        usages = set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except (ValueError, x509.DuplicateExtension, x509.ExtensionNotFound):
        return None
    missing = [name for oid, name in _TRANSPORT_EKU.items() if oid not in usages]
    if not missing or x509.oid.ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usages:
        return None
    return (f"{_subject(cert)!r} has an extended key usage without {' and '.join(missing)}")


def is_ca_certificate(cert: x509.Certificate) -> bool:
    """basicConstraints CA:true (unreadable extensions: not shown to be a CA)."""
    try:
        return _says_ca(cert.extensions)
    except (ValueError, x509.DuplicateExtension):
        return False


def _says_ca(extensions: x509.Extensions) -> bool:
    try:
        return bool(extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _subject(cert: x509.Certificate) -> str:
    try:
        return cert.subject.rfc4514_string()
    except ValueError:  # a malformed name: the certificate by its fingerprint instead
        return f"certificate sha256:{fingerprint(cert)[:16]} (subject unreadable)"


def _issuer(cert: x509.Certificate) -> str:
    try:
        return repr(cert.issuer.rfc4514_string())
    except ValueError:
        return "(issuer unreadable)"


@lru_cache(maxsize=1)
def _public_root_certificates() -> tuple[x509.Certificate, ...]:
    """certifi's (Mozilla's) public roots."""
    with open(certifi.where(), encoding="ascii") as bundle, warnings.catch_warnings():
        # A few long-lived public roots have non-positive serials; cryptography warns.
        warnings.simplefilter("ignore", utils.CryptographyDeprecationWarning)
        return tuple(certificates(bundle.read()))


@lru_cache(maxsize=1)
def public_roots() -> frozenset[str]:
    """SPKI digests and fingerprints of certifi's (Mozilla's) public roots."""
    roots = _public_root_certificates()
    keys = {digest for c in roots if (digest := spki_digest(c)) is not None}
    return frozenset(keys | {fingerprint(c) for c in roots})


@lru_cache(maxsize=1)
def _public_root_key_ids() -> frozenset[tuple[bytes, bytes]]:
    """(subject DER, subject key identifier) of every public root that has one: what the
    issuer name and authority key identifier of a certificate it issued name."""
    found: set[tuple[bytes, bytes]] = set()
    for root in _public_root_certificates():
        try:
            key_id = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        except (ValueError, x509.DuplicateExtension, x509.ExtensionNotFound):
            continue
        found.add((root.subject.public_bytes(), key_id.value.digest))
    return frozenset(found)


def _public_issuer(cert: x509.Certificate) -> bool:
    """Whether a public root issued `cert` (a public CA's intermediate): its issuer name and
    authority key identifier are a root's subject and key identifier, as the CA/Browser Forum
    requires of every certificate a public root issues. The signature is not checked: as a
    trust anchor, the certificate is trusted whoever signed it."""
    try:
        key_id = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
        issuer = cert.issuer.public_bytes()
    except (ValueError, x509.DuplicateExtension, x509.ExtensionNotFound):
        return False
    return (key_id.value.key_identifier is not None
            and (issuer, key_id.value.key_identifier) in _public_root_key_ids())


def ca_problems(cert: x509.Certificate, now: datetime | None = None) -> list[str]:
    """Why `cert` cannot be a cluster's dedicated transport CA (empty: it can)."""
    now = now or datetime.now(UTC)
    subject = _subject(cert)
    problems: list[str] = []
    if spki_digest(cert) in public_roots() or fingerprint(cert) in public_roots():
        problems.append(f"{subject!r} is a public root CA (in certifi's Mozilla bundle)")
    elif _public_issuer(cert):
        problems.append(f"{subject!r} is a public CA's intermediate, issued by a public root "
                        f"(in certifi's Mozilla bundle): {_issuer(cert)}")
    try:
        extensions = cert.extensions
    except (ValueError, x509.DuplicateExtension):
        problems.append(f"{subject!r} has extensions that cannot be parsed (malformed or "
                        "duplicated), so neither basicConstraints CA:true nor keyUsage "
                        "keyCertSign can be shown")
    else:
        problems += _extension_problems(subject, extensions)
    weak = _weak_key(cert.public_key)
    if weak is not None:
        problems.append(f"{subject!r} has {weak}: {WEAK_KEY}")
    if cert.not_valid_after_utc <= now:
        problems.append(f"{subject!r} expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    elif cert.not_valid_before_utc > now:
        problems.append(f"{subject!r} is not valid before {cert.not_valid_before_utc:%Y-%m-%d}")
    return problems


WEAK_KEY = "too weak for INV-STRENGTH (RSA of at least 2048 bits, or ECDSA on P-256 or P-384)"


def request_key_weakness(text: str) -> str | None:
    """`_weak_key` of the public key of the certificate request (CSR) in PEM `text`; None when
    it is strong or does not read."""
    request = certificate_request(text)
    return None if request is None else _weak_key(request.public_key)


@lru_cache(maxsize=8192)
def certificate_request(text: str) -> x509.CertificateSigningRequest | None:
    """The certificate request (CSR) in PEM `text`, parsed once per text; None when it does
    not read."""
    try:
        return x509.load_pem_x509_csr(text.encode())
    except ValueError:
        return None


def _weak_key(public_key: Callable[[], PublicKeyTypes]) -> str | None:
    """The key `public_key` reads, named, when it is RSA below MIN_RSA_BITS or ECDSA on
    another curve than STRONG_CURVES'; None for a strong key or one cryptography cannot read
    (then no key problem can be shown)."""
    try:
        key = public_key()
    except (ValueError, UnsupportedAlgorithm):
        return None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        return f"an RSA key of {key.key_size} bits"
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name not in STRONG_CURVES:
        return f"an ECDSA key on {key.curve.name}"
    return None


def _extension_problems(subject: str, extensions: x509.Extensions) -> list[str]:
    problems: list[str] = []
    if not _says_ca(extensions):
        problems.append(f"{subject!r} lacks basicConstraints CA:true")
    try:
        signs = extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    except x509.ExtensionNotFound:
        signs = False
    if not signs:
        problems.append(f"{subject!r} lacks keyUsage keyCertSign")
    return problems
