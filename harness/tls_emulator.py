"""pulumi-tls resources emulated with `cryptography`, as hashicorp/terraform-provider-tls does them.

Pure functions: inputs (camelCase wire names, possibly secret-wrapped) and "now" in, the id and
the provider's output properties out. Every certificate is real: parseable and verifiable.
Behaviour follows the provider's Go code (internal/provider/common_cert.go, common_key.go,
resource_*.go) and Go's crypto/x509 encoding choices, because tests judge the certificates
that production would get, not the ones this harness finds convenient.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import secrets
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from pulumi.runtime import rpc

PRIVATE_KEY: Final = "tls:index/privateKey:PrivateKey"
SELF_SIGNED_CERT: Final = "tls:index/selfSignedCert:SelfSignedCert"
CERT_REQUEST: Final = "tls:index/certRequest:CertRequest"
LOCALLY_SIGNED_CERT: Final = "tls:index/locallySignedCert:LocallySignedCert"
TLS_TYPES: Final = frozenset({PRIVATE_KEY, SELF_SIGNED_CERT, CERT_REQUEST, LOCALLY_SIGNED_CERT})

# The SDK's secret signature: `{SECRET_SIG_KEY: SECRET_SIG, "value": v}` marks `v` secret.
SECRET_SIG_KEY: Final[str] = rpc._special_sig_key
SECRET_SIG: Final[str] = rpc._special_secret_sig

# pulumi-tls 5.6.2 `additional_secret_outputs` per resource (see pulumi_tls/*.py). The engine
# applies these; the mock runtime does not, so the emulator marks them itself.
SECRET_OUTPUTS: Final[Mapping[str, frozenset[str]]] = {
    PRIVATE_KEY: frozenset({"privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"}),
    SELF_SIGNED_CERT: frozenset({"privateKeyPem", "privateKeyPemWo"}),
    CERT_REQUEST: frozenset({"privateKeyPem", "privateKeyPemWo"}),
    LOCALLY_SIGNED_CERT: frozenset({"caPrivateKeyPem", "caPrivateKeyPemWo"}),
}

# Properties the provider computes (unknown in a preview of a create or replace).
COMPUTED_OUTPUTS: Final[Mapping[str, tuple[str, ...]]] = {
    PRIVATE_KEY: (
        "id", "privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh", "publicKeyPem",
        "publicKeyOpenssh", "publicKeyFingerprintMd5", "publicKeyFingerprintSha256",
    ),
    SELF_SIGNED_CERT: (
        "id", "certPem", "keyAlgorithm", "validityStartTime", "validityEndTime",
        "readyForRenewal",
    ),
    CERT_REQUEST: ("id", "certRequestPem", "keyAlgorithm"),
    LOCALLY_SIGNED_CERT: (
        "id", "certPem", "caKeyAlgorithm", "validityStartTime", "validityEndTime",
        "readyForRenewal",
    ),
}

# Write-only inputs are never stored in state, hence never echoed as outputs.
WRITE_ONLY_INPUTS: Final = frozenset({"privateKeyPemWo", "caPrivateKeyPemWo"})

# allowed_uses value → cryptography's KeyUsage argument.
KEY_USAGES: Final[Mapping[str, str]] = {
    "digital_signature": "digital_signature", "content_commitment": "content_commitment",
    "key_encipherment": "key_encipherment", "data_encipherment": "data_encipherment",
    "key_agreement": "key_agreement", "cert_signing": "key_cert_sign",
    "crl_signing": "crl_sign", "encipher_only": "encipher_only",
    "decipher_only": "decipher_only",
}
EXTENDED_KEY_USAGES: Final[Mapping[str, ObjectIdentifier]] = {
    "any_extended": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code_signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email_protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "ipsec_end_system": ObjectIdentifier("1.3.6.1.5.5.7.3.5"),
    "ipsec_tunnel": ObjectIdentifier("1.3.6.1.5.5.7.3.6"),
    "ipsec_user": ObjectIdentifier("1.3.6.1.5.5.7.3.7"),
    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp_signing": ExtendedKeyUsageOID.OCSP_SIGNING,
    "microsoft_server_gated_crypto": ObjectIdentifier("1.3.6.1.4.1.311.10.3.3"),
    "netscape_server_gated_crypto": ObjectIdentifier("2.16.840.1.113730.4.1"),
    "microsoft_commercial_code_signing": ObjectIdentifier("1.3.6.1.4.1.311.2.1.22"),
    "microsoft_kernel_code_signing": ObjectIdentifier("1.3.6.1.4.1.311.61.1.1"),
}
SUPPORTED_USES: Final = tuple(sorted((*KEY_USAGES, *EXTENDED_KEY_USAGES)))

ECDSA_CURVES: Final[Mapping[str, Callable[[], ec.EllipticCurve]]] = {
    "P224": ec.SECP224R1, "P256": ec.SECP256R1, "P384": ec.SECP384R1, "P521": ec.SECP521R1,
}
ALGORITHMS: Final = ("RSA", "ECDSA", "ED25519")

# Go's pkix.Name.ToRDNSequence order; wire subject field → (OID, Go field is a list).
SUBJECT_FIELDS: Final[tuple[tuple[str, ObjectIdentifier], ...]] = (
    ("country", NameOID.COUNTRY_NAME),
    ("province", NameOID.STATE_OR_PROVINCE_NAME),
    ("locality", NameOID.LOCALITY_NAME),
    ("streetAddresses", NameOID.STREET_ADDRESS),
    ("postalCode", NameOID.POSTAL_CODE),
    ("organization", NameOID.ORGANIZATION_NAME),
    ("organizationalUnit", NameOID.ORGANIZATIONAL_UNIT_NAME),
    ("commonName", NameOID.COMMON_NAME),
    ("serialNumber", NameOID.SERIAL_NUMBER),
)
# Go encodes CN and SERIALNUMBER only when non-empty; the other fields whenever set.
_SKIP_WHEN_EMPTY: Final = frozenset({"commonName", "serialNumber"})
_PRINTABLE: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?"
)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
Outputs = dict[str, Any]


class EmulatorError(Exception):
    """What the provider would report as an error diagnostic: the resource is not created."""


# --- secrets -------------------------------------------------------------------------------


def is_secret(value: Any) -> bool:
    return bool(rpc.is_rpc_secret(value))


def wrap_secret(value: Any) -> dict[str, Any]:
    return {SECRET_SIG_KEY: SECRET_SIG, "value": unwrap_secrets(value)}


def unwrap_secrets(value: Any) -> Any:
    """The plain value: secret wrappers removed at any depth (inputs may nest them)."""
    if is_secret(value):
        return unwrap_secrets(value["value"])
    if isinstance(value, Mapping):
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [unwrap_secrets(v) for v in value]
    return value


# --- time ----------------------------------------------------------------------------------


def rfc3339(moment: datetime) -> str:
    """Go's time.MarshalText (RFC 3339 with nanoseconds, trailing zeros trimmed), in UTC."""
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += "." + f"{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def ready_for_renewal(end: datetime, early_renewal_hours: int, now: datetime) -> bool:
    """The provider's rule: ready once `now` reaches validity end minus early_renewal_hours."""
    return now >= end - timedelta(hours=early_renewal_hours)


# --- keys ----------------------------------------------------------------------------------


def algorithm_of(key: PrivateKey | PublicKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return "ECDSA"
    return "ED25519"


def generate_key(algorithm: str, rsa_bits: int, ecdsa_curve: str) -> PrivateKey:
    if algorithm == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    if algorithm == "ECDSA":
        if ecdsa_curve not in ECDSA_CURVES:
            raise EmulatorError(
                f"invalid ECDSA curve; supported values are: {list(ECDSA_CURVES)}"
            )
        return ec.generate_private_key(ECDSA_CURVES[ecdsa_curve]())
    if algorithm == "ED25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise EmulatorError(f"Invalid Key Algorithm: Key Algorithm {algorithm!r} is not supported")


def provider_private_key_pem(key: PrivateKey) -> str:
    """RSA as PKCS#1, ECDSA as SEC1, ED25519 as PKCS#8: the provider's `private_key_pem`."""
    fmt = (
        serialization.PrivateFormat.PKCS8
        if isinstance(key, ed25519.Ed25519PrivateKey)
        else serialization.PrivateFormat.TraditionalOpenSSL
    )
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


def pkcs8_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _supports_openssh(key: PrivateKey | PublicKey) -> bool:
    # x/crypto/ssh has no P-224: the provider leaves the OpenSSH fields empty for it.
    return not (
        isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey)
        and key.curve.name == "secp224r1"
    )


def openssh_private_key(key: PrivateKey) -> str:
    if not _supports_openssh(key):
        return ""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()


def openssh_public_key(public: PublicKey) -> str:
    if not _supports_openssh(public):
        return ""
    line = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return line.decode() + "\n"  # ssh.MarshalAuthorizedKey ends the line


def ssh_fingerprints(public: PublicKey) -> tuple[str, str]:
    """(MD5, SHA256) as ssh.FingerprintLegacyMD5 / FingerprintSHA256; empty without OpenSSH."""
    authorized = openssh_public_key(public)
    if not authorized:
        return "", ""
    blob = base64.b64decode(authorized.split()[1])
    md5 = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    sha256 = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return ":".join(md5[i : i + 2] for i in range(0, len(md5), 2)), f"SHA256:{sha256}"


def public_key_der(public: PublicKeyTypes) -> bytes:
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


class _KeyCache:
    """Parsed private keys by their exact PEM text, least recently used dropped first.

    cryptography validates an RSA key on every load (about 0.15 s at 2048 bits, 0.3 s at 3072,
    0.7 s at 4096 on a 2-core runner), and without a cache every node re-parses the CA key
    (LocallySignedCert) and its own key (CertRequest): two thirds of an RSA node's emulated
    cost (docs/benchmarks.md, Findings). Same PEM text ⇒ same key and the same verdict, so only
    successful parses are kept and results do not change. Bounded, so a long test session
    cannot grow it without limit; locked, because the SDK calls the mocks from executor threads.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._keys: OrderedDict[str, PrivateKey] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, pem: str) -> PrivateKey | None:
        with self._lock:
            key = self._keys.get(pem)
            if key is not None:
                self._keys.move_to_end(pem)
            return key

    def put(self, pem: str, key: PrivateKey) -> None:
        with self._lock:
            self._keys[pem] = key
            self._keys.move_to_end(pem)
            while len(self._keys) > self._capacity:
                self._keys.popitem(last=False)


# A 2,000-node stack holds 2,000 node keys plus its CAs: all fit, a few MiB.
_PARSED_KEYS: Final = _KeyCache(capacity=4096)


def parse_private_key_pem(pem: str) -> PrivateKey:
    """The provider's parsePrivateKeyPEM: only RSA/EC/PKCS#8 preambles, unencrypted."""
    preamble = pem.strip().splitlines()[0] if pem.strip() else ""
    accepted = {
        "-----BEGIN RSA PRIVATE KEY-----", "-----BEGIN EC PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----",
    }
    if preamble not in accepted:
        raise EmulatorError(f"unable to determine parser for PEM preamble: {preamble!r}")
    cached = _PARSED_KEYS.get(pem)
    if cached is not None:
        return cached
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as err:
        raise EmulatorError(f"failed to parse private key PEM: {err}") from err
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
                      | ed25519.Ed25519PrivateKey):
        raise EmulatorError(f"unsupported private key type: {type(key).__name__}")
    _PARSED_KEYS.put(pem, key)
    return key


def signature_hash(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None:
    """Go's signingParamsForKey: RSA→SHA256, ECDSA by curve size, Ed25519 pure."""
    if isinstance(key, rsa.RSAPrivateKey):
        return hashes.SHA256()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        size = key.curve.key_size
        return hashes.SHA512() if size > 384 else hashes.SHA384() if size > 256 else hashes.SHA256()
    return None


def subject_key_id(public: PublicKey) -> bytes:
    """The provider's generateSubjectKeyID: SHA-1 over its own marshalling of the key.

    RSA (PKCS#1) and ECDSA (uncompressed point) equal the SPKI bit string; for Ed25519 Go's
    asn1.Marshal of a byte slice adds an OCTET STRING header, so the hash differs from RFC 5280's.
    """
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        material = bytes([0x04, len(raw)]) + raw
    elif isinstance(public, ec.EllipticCurvePublicKey):
        material = public.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    else:
        material = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return hashlib.sha1(material, usedforsecurity=False).digest()


# --- names ---------------------------------------------------------------------------------


def _go_attribute(oid: ObjectIdentifier, value: str) -> x509.NameAttribute[str]:
    # Go's encoding/asn1 picks PrintableString when it can, UTF8String otherwise.
    printable = bool(value) and set(value) <= _PRINTABLE
    kind = _ASN1Type.PrintableString if printable else _ASN1Type.UTF8String
    # Go enforces no upper bounds (e.g. 64 for CN), so neither may the emulator.
    return x509.NameAttribute(oid, value, _type=kind, _validate=False)


def go_name(fields: Mapping[str, Sequence[str]]) -> x509.Name:
    """A pkix.Name encoded as Go does: fixed field order, one RDN per field."""
    rdns = []
    for field, oid in SUBJECT_FIELDS:
        values = list(fields.get(field) or [])
        if field in _SKIP_WHEN_EMPTY:
            values = [v for v in values if v]
        if values:
            rdns.append(x509.RelativeDistinguishedName([_go_attribute(oid, v) for v in values]))
    return x509.Name(rdns)


def subject_fields(subject: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """The provider's createSubjectDistinguishedNames, from the wire `subject` object."""
    fields: dict[str, list[str]] = {}
    for field, _ in SUBJECT_FIELDS:
        value = (subject or {}).get(field)
        if value is None:
            continue
        fields[field] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return fields


def name_fields(name: x509.Name) -> dict[str, list[str]]:
    """Go's FillFromRDNSequence: known attributes only (others, e.g. email, are dropped)."""
    by_oid = {oid: field for field, oid in SUBJECT_FIELDS}
    fields: dict[str, list[str]] = {}
    for attribute in name:
        field = by_oid.get(attribute.oid)
        if field is not None:
            value = attribute.value if isinstance(attribute.value, str) else ""
            if field in _SKIP_WHEN_EMPTY:
                fields[field] = [value]  # single-valued in Go: the last one wins
            else:
                fields.setdefault(field, []).append(value)
    return fields


# --- subject alternative names -------------------------------------------------------------


@dataclass(frozen=True)
class AltNames:
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    uris: tuple[str, ...] = ()

    def general_names(self) -> list[x509.GeneralName]:
        # Go's marshalSANs order: DNS, email, IP, URI.
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in self.dns_names]
        for ip in self.ip_addresses:
            try:
                # Go's net.ParseIP takes no IPv6 zone (fe80::1%eth0); Python's ipaddress does.
                if "%" in ip:
                    raise ValueError(ip)
                names.append(x509.IPAddress(ipaddress.ip_address(ip)))
            except ValueError as err:
                raise EmulatorError(f"Invalid IP address: Failed to parse {ip!r}") from err
        names.extend(x509.UniformResourceIdentifier(u) for u in self.uris)
        return names


def alt_names_from_inputs(inputs: Mapping[str, Any]) -> AltNames:
    return AltNames(
        tuple(inputs.get("dnsNames") or ()), tuple(inputs.get("ipAddresses") or ()),
        tuple(inputs.get("uris") or ()),
    )


def alt_names_from_csr(csr: x509.CertificateSigningRequest) -> AltNames:
    """The provider copies DNSNames, IPAddresses and URIs of the CSR; nothing else."""
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return AltNames()
    return AltNames(
        tuple(san.get_values_for_type(x509.DNSName)),
        tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress)),
        tuple(san.get_values_for_type(x509.UniformResourceIdentifier)),
    )


# --- certificates --------------------------------------------------------------------------


@dataclass(frozen=True)
class CertSpec:
    """The certificate options common to SelfSignedCert and LocallySignedCert."""

    validity_period_hours: int
    early_renewal_hours: int
    allowed_uses: tuple[str, ...]
    is_ca: bool
    max_path_length: int | None
    set_subject_key_id: bool
    set_authority_key_id: bool


def cert_spec(inputs: Mapping[str, Any]) -> CertSpec:
    if inputs.get("validityPeriodHours") is None:
        raise EmulatorError("validityPeriodHours is required")
    uses = tuple(str(u) for u in inputs.get("allowedUses") or ())
    unknown = [u for u in uses if u not in SUPPORTED_USES]
    if unknown:
        # The provider's schema validator (listvalidator.ValuesAre(stringvalidator.OneOf(...))).
        raise EmulatorError(
            f"Invalid Attribute Value Match: allowed_uses value {unknown[0]!r} must be one of: "
            f"{list(SUPPORTED_USES)}"
        )
    max_path = inputs.get("maxPathLength")
    return CertSpec(
        validity_period_hours=int(inputs["validityPeriodHours"]),
        early_renewal_hours=int(inputs.get("earlyRenewalHours") or 0),
        allowed_uses=uses,
        is_ca=bool(inputs.get("isCaCertificate")),
        max_path_length=None if max_path is None else int(max_path),
        set_subject_key_id=bool(inputs.get("setSubjectKeyId")),
        set_authority_key_id=bool(inputs.get("setAuthorityKeyId")),
    )


def key_usage(uses: Sequence[str]) -> x509.KeyUsage | None:
    flags = {argument: use in uses for use, argument in KEY_USAGES.items()}
    if not any(flags.values()):
        return None  # Go omits the extension when no bit is set
    if (flags["encipher_only"] or flags["decipher_only"]) and not flags["key_agreement"]:
        raise EmulatorError("encipher_only/decipher_only without key_agreement cannot be emulated")
    return x509.KeyUsage(**flags)


def extended_key_usage(uses: Sequence[str]) -> x509.ExtendedKeyUsage | None:
    oids = [EXTENDED_KEY_USAGES[u] for u in uses if u in EXTENDED_KEY_USAGES]
    return x509.ExtendedKeyUsage(oids) if oids else None


def go_path_length(spec: CertSpec) -> int | None:
    """Go's MaxPathLen: 0 without MaxPathLenZero means "no limit", and the provider never sets
    MaxPathLenZero, so `max_path_length = 0` yields a CA with no pathLen at all."""
    if spec.max_path_length is None or spec.max_path_length <= 0:
        return None
    if not spec.is_ca:
        # Go would encode pathLen on a non-CA; cryptography (rightly) refuses to build that.
        raise EmulatorError("maxPathLength on a non-CA certificate cannot be emulated")
    return spec.max_path_length


@dataclass(frozen=True)
class Issuer:
    """Who signs: the CA's subject and key identifier, and its private key."""

    name: x509.Name
    key: PrivateKey
    subject_key_id: bytes | None


def _random_serial() -> int:
    # Go: rand.Int(rand.Reader, 2^128); cryptography needs > 0.
    return secrets.randbelow(2**128 - 1) + 1


def _aki(subject: x509.Name, issuer: Issuer, spec: CertSpec) -> bytes | None:
    """Go's rule: the parent's SKI unless the certificate is self-signed (issuer == subject),
    where only the provider's set_authority_key_id (SelfSignedCert only) puts one in."""
    aki = None
    if spec.set_authority_key_id:
        if not issuer.subject_key_id:
            raise EmulatorError(
                "Invalid Certificate Authority: Could not determine Authority Key Identifier"
            )
        aki = issuer.subject_key_id
    if subject.public_bytes() != issuer.name.public_bytes() and issuer.subject_key_id:
        aki = issuer.subject_key_id
    return aki


def build_certificate(
    subject: x509.Name, public: PublicKey, alt_names: AltNames, spec: CertSpec, *,
    issuer: Issuer, now: datetime,
) -> x509.Certificate:
    """The provider's createCertificate followed by Go's x509.CreateCertificate."""
    if spec.is_ca and len(subject) == 0:
        raise EmulatorError(
            "Invalid Certificate Subject: Must contain at least one Distinguished Name when "
            "creating Certificate Authority (CA)"
        )
    own_ski = subject_key_id(public) if spec.is_ca or spec.set_subject_key_id else None
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.name)
        .public_key(public)
        .serial_number(_random_serial())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(hours=spec.validity_period_hours))
    )
    # Extension order and criticality as Go's buildCertExtensions emits them.
    usage = key_usage(spec.allowed_uses)
    if usage is not None:
        builder = builder.add_extension(usage, critical=True)
    eku = extended_key_usage(spec.allowed_uses)
    if eku is not None:
        builder = builder.add_extension(eku, critical=False)
    builder = builder.add_extension(
        x509.BasicConstraints(ca=spec.is_ca, path_length=go_path_length(spec)), critical=True
    )
    if own_ski is not None:
        builder = builder.add_extension(x509.SubjectKeyIdentifier(own_ski), critical=False)
    aki = _aki(subject, issuer, spec)
    if aki is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier(aki, None, None), critical=False
        )
    general_names = alt_names.general_names()
    if general_names:
        # RFC 5280 4.2.1.6, as Go: critical exactly when the subject is empty.
        builder = builder.add_extension(
            x509.SubjectAlternativeName(general_names), critical=len(subject) == 0
        )
    return builder.sign(issuer.key, signature_hash(issuer.key))


def self_signed_certificate(
    key: PrivateKey, subject: x509.Name, alt_names: AltNames, spec: CertSpec, now: datetime
) -> x509.Certificate:
    public = key.public_key()
    own_ski = subject_key_id(public) if spec.is_ca or spec.set_subject_key_id else None
    issuer = Issuer(subject, key, own_ski)
    return build_certificate(subject, public, alt_names, spec, issuer=issuer, now=now)


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _cert_outputs(cert: x509.Certificate, spec: CertSpec, now: datetime) -> Outputs:
    end = now + timedelta(hours=spec.validity_period_hours)
    return {
        "certPem": _cert_pem(cert),
        "validityStartTime": rfc3339(now),
        "validityEndTime": rfc3339(end),
        # At creation: true only when earlyRenewalHours >= validityPeriodHours.
        "readyForRenewal": ready_for_renewal(end, spec.early_renewal_hours, now),
        "earlyRenewalHours": spec.early_renewal_hours,
        "isCaCertificate": spec.is_ca,
        "setSubjectKeyId": spec.set_subject_key_id,
    }


def parse_ca_certificate(pem: str) -> x509.Certificate:
    with warnings.catch_warnings():  # cryptography deprecates what Go refuses below
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        try:
            certs = x509.load_pem_x509_certificates(pem.encode())
        except ValueError as err:
            raise EmulatorError(f"Failed to parse CA certificate PEM: {err}") from err
        serials = [cert.serial_number for cert in certs]
    if len(certs) != 1:
        # The provider's parseCertificate decodes one PEM block holding exactly one certificate.
        raise EmulatorError("Failed to parse CA certificate PEM: multiple certificates found")
    if serials[0] < 0:  # Go 1.23+ x509.ParseCertificate, which the provider parses the CA with
        raise EmulatorError("Failed to parse CA certificate PEM: x509: negative serial number")
    return certs[0]


def parse_csr(pem: str) -> x509.CertificateSigningRequest:
    try:
        csr = x509.load_pem_x509_csr(pem.encode())
    except ValueError as err:
        raise EmulatorError(f"Failed to parse certificate request PEM: {err}") from err
    # Stricter than the provider, which never checks: a CSR with a bad signature can only be a
    # hand-made or corrupted one, and failing loudly is the honest choice in tests.
    if not csr.is_signature_valid:
        raise EmulatorError("Invalid certificate request: the CSR signature does not verify")
    return csr


def ca_issuer(ca_cert: x509.Certificate, ca_key: PrivateKey) -> Issuer:
    # Go's CreateCertificate refuses a signing key that is not the parent's key.
    if public_key_der(ca_key.public_key()) != public_key_der(_cert_public_key(ca_cert)):
        raise EmulatorError(
            "Failed to create certificate: x509: provided PrivateKey doesn't match parent's "
            "PublicKey (caPrivateKeyPem is not the key of caCertPem)"
        )
    try:
        ski: bytes | None = ca_cert.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value.digest
    except x509.ExtensionNotFound:
        ski = None
    return Issuer(ca_cert.subject, ca_key, ski)


def _cert_public_key(cert: x509.Certificate) -> PublicKey:
    public = cert.public_key()
    if not isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey
                      | ed25519.Ed25519PublicKey):
        raise EmulatorError(f"unsupported public key type: {type(public).__name__}")
    return public


def _csr_public_key(csr: x509.CertificateSigningRequest) -> PublicKey:
    public = csr.public_key()
    if not isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey
                      | ed25519.Ed25519PublicKey):
        raise EmulatorError(f"unsupported public key type: {type(public).__name__}")
    return public


# --- resources -----------------------------------------------------------------------------


def _echo(inputs: Mapping[str, Any]) -> Outputs:
    """Inputs become outputs as in the provider's state; write-only inputs are not stored."""
    return {k: v for k, v in inputs.items() if k not in WRITE_ONLY_INPUTS}


def _mark_secrets(type_token: str, outputs: Outputs) -> Outputs:
    secret_names = SECRET_OUTPUTS.get(type_token, frozenset())
    return {k: wrap_secret(v) if k in secret_names else v for k, v in outputs.items()}


def _required_key(inputs: Mapping[str, Any], name: str) -> PrivateKey:
    pem = inputs.get(name) or inputs.get(f"{name}Wo")
    if not pem:
        raise EmulatorError(f"{name} (or {name}Wo) is required")
    return parse_private_key_pem(str(pem))


def create_private_key(inputs: Mapping[str, Any]) -> tuple[str, Outputs]:
    plain = unwrap_secrets(inputs)
    algorithm = str(plain.get("algorithm") or "")
    if algorithm not in ALGORITHMS:
        raise EmulatorError(
            f"algorithm value must be one of: {list(ALGORITHMS)}, got {algorithm!r}"
        )
    rsa_bits = int(plain.get("rsaBits") or 2048)
    curve = str(plain.get("ecdsaCurve") or "P224")  # the provider's default, not P256
    key = generate_key(algorithm, rsa_bits, curve)
    public = key.public_key()
    md5, sha256 = ssh_fingerprints(public)
    der = public_key_der(public)
    private_pem = provider_private_key_pem(key)
    # The CertRequest that follows reads this PEM: hand it the key instead of a re-parse.
    _PARSED_KEYS.put(private_pem, key)
    outputs = {
        **_echo(inputs),
        "rsaBits": rsa_bits,
        "ecdsaCurve": curve,
        "privateKeyPem": private_pem,
        "privateKeyPemPkcs8": pkcs8_pem(key),
        "privateKeyOpenssh": openssh_private_key(key),
        "publicKeyPem": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode(),
        "publicKeyOpenssh": openssh_public_key(public),
        "publicKeyFingerprintMd5": md5,
        "publicKeyFingerprintSha256": sha256,
    }
    key_id = hashlib.sha1(der, usedforsecurity=False).hexdigest()  # hashForState(pubKeyBytes)
    return key_id, _mark_secrets(PRIVATE_KEY, {**outputs, "id": key_id})


def create_cert_request(inputs: Mapping[str, Any]) -> tuple[str, Outputs]:
    plain = unwrap_secrets(inputs)
    key = _required_key(plain, "privateKeyPem")
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        go_name(subject_fields(plain.get("subject")))
    )
    general_names = alt_names_from_inputs(plain).general_names()
    if general_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(general_names), critical=False)
    csr = builder.sign(key, signature_hash(key))
    pem = csr.public_bytes(serialization.Encoding.PEM).decode()
    request_id = hashlib.sha1(pem.encode(), usedforsecurity=False).hexdigest()
    outputs = {**_echo(inputs), "certRequestPem": pem, "keyAlgorithm": algorithm_of(key)}
    return request_id, _mark_secrets(CERT_REQUEST, {**outputs, "id": request_id})


def create_self_signed_cert(inputs: Mapping[str, Any], now: datetime) -> tuple[str, Outputs]:
    plain = unwrap_secrets(inputs)
    key = _required_key(plain, "privateKeyPem")
    spec = cert_spec(plain)
    subject = go_name(subject_fields(plain.get("subject")))
    cert = self_signed_certificate(key, subject, alt_names_from_inputs(plain), spec, now)
    serial = str(cert.serial_number)
    outputs = {
        **_echo(inputs),
        **_cert_outputs(cert, spec, now),
        "keyAlgorithm": algorithm_of(key),
        "setAuthorityKeyId": spec.set_authority_key_id,
        "id": serial,
    }
    return serial, _mark_secrets(SELF_SIGNED_CERT, outputs)


def create_locally_signed_cert(inputs: Mapping[str, Any], now: datetime) -> tuple[str, Outputs]:
    plain = unwrap_secrets(inputs)
    csr = parse_csr(str(plain.get("certRequestPem") or ""))
    ca_key = _required_key(plain, "caPrivateKeyPem")
    issuer = ca_issuer(parse_ca_certificate(str(plain.get("caCertPem") or "")), ca_key)
    spec = cert_spec(plain)
    subject = go_name(name_fields(csr.subject))
    cert = build_certificate(
        subject, _csr_public_key(csr), alt_names_from_csr(csr), spec, issuer=issuer, now=now
    )
    serial = str(cert.serial_number)
    outputs = {
        **_echo(inputs),
        **_cert_outputs(cert, spec, now),
        "caKeyAlgorithm": algorithm_of(ca_key),
        "id": serial,
    }
    return serial, _mark_secrets(LOCALLY_SIGNED_CERT, outputs)


def create(type_token: str, inputs: Mapping[str, Any], now: datetime) -> tuple[str, Outputs]:
    """Create one pulumi-tls resource; raises EmulatorError where the provider would fail."""
    if type_token == PRIVATE_KEY:
        return create_private_key(inputs)
    if type_token == CERT_REQUEST:
        return create_cert_request(inputs)
    if type_token == SELF_SIGNED_CERT:
        return create_self_signed_cert(inputs, now)
    if type_token == LOCALLY_SIGNED_CERT:
        return create_locally_signed_cert(inputs, now)
    raise EmulatorError(f"not a pulumi-tls resource type: {type_token}")


# terraform-provider-tls v4, which pulumi-tls bridges: every input of a resource requires
# replacement (RequiresReplace, or a changed PEM) except a certificate's early_renewal_hours,
# which has no such plan modifier: a change of it alone is an in-place update, whose Update
# stores the plan (the same certificate, the new value).
UPDATABLE_INPUTS: Final[Mapping[str, frozenset[str]]] = {
    SELF_SIGNED_CERT: frozenset({"earlyRenewalHours"}),
    LOCALLY_SIGNED_CERT: frozenset({"earlyRenewalHours"}),
}


def replaces(type_token: str, changed: set[str]) -> bool:
    """Whether changing the inputs `changed` replaces the resource (else: updates it)."""
    return not changed <= UPDATABLE_INPUTS.get(type_token, frozenset())


def updated_outputs(type_token: str, prior: Outputs, inputs: Mapping[str, Any]) -> Outputs:
    """An in-place update's outputs: the resource as it was, with its updated inputs."""
    plain = unwrap_secrets(inputs)
    updated = {name: int(plain.get(name) or 0) for name in UPDATABLE_INPUTS[type_token]}
    return {**prior, **updated}


def planned_outputs(type_token: str, inputs: Mapping[str, Any], unknown: Any) -> Outputs:
    """What a preview shows for a create/replace: inputs, computed properties unknown."""
    computed = {name: unknown for name in COMPUTED_OUTPUTS.get(type_token, ())}
    return _mark_secrets(type_token, {**_echo(inputs), **computed})
