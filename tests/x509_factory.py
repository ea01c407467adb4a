"""Certificates made in tests with `cryptography`: CAs of every good and bad shape.

Deliberately independent of the pulumi-tls emulator, so tests of config validation and of the
emulator do not vouch for each other.
"""

from __future__ import annotations

import base64
import textwrap
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: PrivateKey

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def key_pem(self) -> str:
        return self._key_pem(serialization.PrivateFormat.PKCS8)

    @property
    def traditional_key_pem(self) -> str:
        """The key as `openssl` writes it traditionally: SEC1 for EC keys, PKCS#1 for RSA."""
        return self._key_pem(serialization.PrivateFormat.TraditionalOpenSSL)

    @property
    def openssh_key_pem(self) -> str:
        """The key as pulumi-tls's `privateKeyOpenssh` (and `ssh-keygen`) write it."""
        return self._key_pem(serialization.PrivateFormat.OpenSSH)

    def _key_pem(self, form: serialization.PrivateFormat) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM, form, serialization.NoEncryption()
        ).decode()


def make_key(kind: str = "p256") -> PrivateKey:
    if kind.startswith("rsa"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))
    curves = {"p256": ec.SECP256R1(), "p384": ec.SECP384R1(), "p224": ec.SECP224R1()}
    return ec.generate_private_key(curves[kind])


def make_ca(
    name: str = "test transport CA",
    *,
    is_ca: bool = True,
    key_cert_sign: bool = True,
    key: PrivateKey | None = None,
    not_before: datetime | None = None,
    days: int = 3650,
    extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
) -> Issued:
    """`extensions`: further extensions (extendedKeyUsage, nameConstraints, ...) and whether
    each is critical."""
    key = key or make_key()
    start = not_before or datetime.now(UTC) - timedelta(days=1)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=0 if is_ca else None), True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not key_cert_sign,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=key_cert_sign,
                crl_sign=key_cert_sign,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        )
    )
    for extension, critical in extensions:
        cert = cert.add_extension(extension, critical)
    return Issued(cert.sign(key, hashes.SHA256()), key)


def make_csr(name: str, key: PrivateKey | None = None) -> str:
    """A PEM certificate request for `name`, as a node that keeps its own key sends one."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    request = x509.CertificateSigningRequestBuilder().subject_name(subject)
    signed = request.sign(key or make_key(), hashes.SHA256())
    return signed.public_bytes(serialization.Encoding.PEM).decode()


# DER that make_ca and make_server_cert write, and what damaged_pem can put in its place.
EC_PUBLIC_KEY_OID = bytes.fromhex("06072a8648ce3d0201")  # 1.2.840.10045.2.1 (id-ecPublicKey)
UNKNOWN_KEY_OID = bytes.fromhex("06072a8648ce3d0263")  # 1.2.840.10045.2.99: no key type
CA_BASIC_CONSTRAINTS = bytes.fromhex("30060101ff020100")  # CA:TRUE, pathlen:0
MALFORMED_BASIC_CONSTRAINTS = bytes.fromhex("30060401ff020100")  # its BOOLEAN tagged a string
X509_V3 = bytes.fromhex("a003020102")
X509_V13 = bytes.fromhex("a00302010d")


def der_of(pem: str) -> tuple[str, bytes]:
    """(label, DER) of a one-block PEM text."""
    lines = pem.strip().splitlines()
    label = lines[0].removeprefix("-----BEGIN ").removesuffix("-----")
    return label, base64.b64decode("".join(line for line in lines if "-----" not in line))


def pem_of(label: str, body: bytes | str) -> str:
    """A PEM block of DER bytes (or of a body given as text, base64 or not)."""
    text = base64.b64encode(body).decode() if isinstance(body, bytes) else body
    lines = "\n".join(textwrap.wrap(text, 64) or [""])
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n"


def damaged_pem(pem: str, old: bytes, new: bytes) -> str:
    """`pem` with the bytes `old` of its DER replaced by `new` (as long): a certificate or key
    damaged in place, which `cryptography` still loads."""
    label, der = der_of(pem)
    assert len(old) == len(new) and der.count(old) == 1, (old, new)
    return pem_of(label, der.replace(old, new))


def negative_serial(issued: Issued) -> tuple[bytes, bytes]:
    """(old, new) for damaged_pem: `issued`'s serial number as DER, and with its sign bit set."""
    serial = issued.cert.serial_number
    length = serial.bit_length() // 8 + 1  # DER: a leading 0 bit says positive
    content = serial.to_bytes(length, "big")
    # 0x7f would become 0xff, which before a byte with its top bit set is not minimal DER (the
    # certificate would not load at all, ~1 serial in 128): 0xfe keeps the number negative.
    first = min(content[0] | 0x80, 0xFE)
    return bytes([2, length]) + content, bytes([2, length, first]) + content[1:]


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    width = (size.bit_length() + 7) // 8
    return bytes([tag, 0x80 | width]) + size.to_bytes(width, "big") + content


def _der_elements(content: bytes) -> list[bytes]:
    """The DER elements (tag, length and content each) that `content` holds one after another."""
    elements: list[bytes] = []
    while content:
        first = content[1]
        width = first & 0x7F if first & 0x80 else 0
        size = int.from_bytes(content[2:2 + width], "big") if width else first
        elements.append(content[:2 + width + size])
        content = content[2 + width + size:]
    return elements


def _der_content(element: bytes) -> bytes:
    width = element[1] & 0x7F if element[1] & 0x80 else 0
    return element[2 + width:]


def with_serial(issued: Issued, issuer: Issued, serial: int) -> Issued:
    """`issued` signed again by `issuer` (an ECDSA CA) with serial number `serial`, which may be
    0 or negative as RFC 5280 forbids (cryptography's builder refuses to write one)."""
    assert isinstance(issuer.key, ec.EllipticCurvePrivateKey)
    (certificate,) = _der_elements(issued.cert.public_bytes(serialization.Encoding.DER))
    tbs, algorithm, _ = _der_elements(_der_content(certificate))
    version, _, *rest = _der_elements(_der_content(tbs))
    width = (serial if serial >= 0 else ~serial).bit_length() // 8 + 1
    number = _der(0x02, serial.to_bytes(width, "big", signed=True))
    signed = _der(0x30, version + number + b"".join(rest))
    signature = issuer.key.sign(signed, ec.ECDSA(hashes.SHA256()))
    der = _der(0x30, signed + algorithm + _der(0x03, b"\0" + signature))
    with warnings.catch_warnings():  # cryptography warns of a serial that is not positive
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return Issued(x509.load_der_x509_certificate(der), issued.key)


def with_mac_rounds(store: bytes, rounds: int) -> bytes:
    """A PKCS#12 `store` whose MAC asks `rounds` rounds of key derivation (its MAC no longer
    verifies: whoever checks it runs them all first)."""
    (pfx,) = _der_elements(store)
    version, auth_safe, mac_data = _der_elements(_der_content(pfx))
    digest, salt, _ = _der_elements(_der_content(mac_data))
    count = _der(0x02, rounds.to_bytes(rounds.bit_length() // 8 + 1, "big"))
    return _der(0x30, version + auth_safe + _der(0x30, digest + salt + count))
