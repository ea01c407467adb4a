"""What ECK does with a custom transport CA (`spec.transport.tls.certificate.secretName`), for
tests: read the CA Secret as ECK reads it, and issue and renew each pod's transport certificate
from it as ECK's transport reconciler does. No ECK runs on these machines; this lets a test
prove with real TLS stacks that the pods of a `ca-to-eck` cluster keep talking while the CA
handed to ECK rotates.

Facts from elastic/cloud-on-k8s (../shared/schemas/eck/README.md, pkg/controller/common/
certificates/{ca_secret,pem,ca}.go, pkg/controller/elasticsearch/certificates/transport/):

* the Secret holds `ca.crt` (exactly one PEM certificate) and `ca.key` (PEM: `EC PRIVATE KEY`,
  `RSA PRIVATE KEY`, or PKCS#8 `PRIVATE KEY` holding an RSA key only); the CA must be inside its
  validity and its key must match, else ECK refuses it and issues nothing;
* a pod keeps its key while the key's type (RSA or ECDSA, the curve does not count) is the CA
  key's; otherwise ECK makes a new one: RSA 2048, or ECDSA on the CA's curve;
* a pod's certificate is re-issued when it is missing, not signed by the current CA (signature,
  and the AKI→SKI link), not for the pod's key, within `rotate before` of its expiry, or for
  other SANs. It has CN `<pod>.node.<es>.<ns>.es.local` (also the first DNS SAN and an otherName
  SAN), OU `<es>`, SANs the transport Service, the pod's DNS name, the pod IP and loopback plus
  `spec.transport.tls.subjectAltNames`; KU digitalSignature+keyEncipherment, EKU
  serverAuth+clientAuth, no basicConstraints; validity from 10 minutes before now, one year;
* the pods trust `ca.crt` of their transport-certs Secret: ECK's CA, then the PEM of the
  `certificateAuthorities` ConfigMap.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harness.tls_emulator import public_key_der, signature_hash

# ECK's `--cert-validity` and `--cert-rotate-before` defaults.
CERT_VALIDITY = timedelta(hours=8760)
ROTATE_BEFORE = timedelta(hours=24)
BACKDATE = timedelta(minutes=10)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class CustomCaError(ValueError):
    """ECK refuses the custom CA Secret (a Warning event; no certificate is issued)."""


@dataclass(frozen=True)
class CustomCa:
    cert: x509.Certificate
    key: PrivateKey


@dataclass(frozen=True)
class Pod:
    """One pod as ECK sees it: its name, StatefulSet (the headless Service) and IP."""

    name: str
    statefulset: str
    ip: str


@dataclass(frozen=True)
class Elasticsearch:
    name: str
    namespace: str
    # spec.transport.tls.subjectAltNames: DNS names and IP addresses.
    extra_dns: tuple[str, ...] = ()
    extra_ips: tuple[str, ...] = ()


@dataclass(frozen=True)
class PodMaterial:
    """A pod's entries of its transport-certs Secret: key, certificate, and the Secret's
    `ca.crt` (every CA the pod trusts)."""

    key: PrivateKey
    cert: x509.Certificate
    trust_pem: bytes

    def files(self) -> dict[str, bytes]:
        """As mounted in the pod: `tls.key`, `tls.crt`, `ca.crt`."""
        pem = serialization.Encoding.PEM
        key = self.key.private_bytes(
            pem, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
        return {"tls.key": key, "tls.crt": self.cert.public_bytes(pem), "ca.crt": self.trust_pem}


def parse_private_key(pem: bytes) -> PrivateKey:
    """ECK's ParsePEMPrivateKey: SEC1 EC, PKCS#1 RSA, or PKCS#8 holding an RSA key."""
    text = pem.decode("ascii", "replace").lstrip()
    if "ENCRYPTED" in text.split("\n", 1)[0]:
        raise CustomCaError("encrypted private key")
    if text.startswith("-----BEGIN PRIVATE KEY-----"):
        key = serialization.load_pem_private_key(pem, None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise CustomCaError(f"expected an RSA private key but got {type(key).__name__}")
        return key
    if text.startswith(("-----BEGIN EC PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----")):
        key = serialization.load_pem_private_key(pem, None)
        assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
        return key
    raise CustomCaError(f"unsupported private key type {text.split(chr(10), 1)[0]!r}")


def custom_ca(data: Mapping[str, bytes], now: datetime) -> CustomCa:
    """ParseCustomCASecret and ValidateCustomCA of the Secret `data` (decoded)."""
    if {"tls.crt", "tls.key"} & set(data) and {"ca.crt", "ca.key"} & set(data):
        raise CustomCaError("both tls.* keys and ca.* keys exist in secret")
    for name in ("ca.key", "ca.crt"):
        if name not in data:
            raise CustomCaError(f"can't find {name}")
    key = parse_private_key(data["ca.key"])
    certs = x509.load_pem_x509_certificates(data["ca.crt"])
    if len(certs) != 1:
        raise CustomCaError("only expected one PEM formated CA certificate")
    cert = certs[0]
    if now < cert.not_valid_before_utc:
        raise CustomCaError("the CA certificate is not yet valid")
    if now > cert.not_valid_after_utc:
        raise CustomCaError("the CA certificate has expired")
    if public_key_der(key.public_key()) != public_key_der(cert.public_key()):
        raise CustomCaError("the private key does not match the public one")
    return CustomCa(cert, key)


def signed_by(leaf: x509.Certificate, ca: x509.Certificate) -> bool:
    """ECK's CertIsSignedByCA: the signature, and the leaf's AKI naming the CA's SKI."""
    try:
        leaf.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    ski = _extension(ca, x509.SubjectKeyIdentifier)
    aki = _extension(leaf, x509.AuthorityKeyIdentifier)
    aki_id = aki.key_identifier if aki is not None else None
    if ski is None:
        return aki_id is None
    return aki_id == ski.digest


def common_name(pod: Pod, es: Elasticsearch) -> str:
    return f"{pod.name}.node.{es.name}.{es.namespace}.es.local"


def general_names(pod: Pod, es: Elasticsearch) -> list[x509.GeneralName]:
    """csr.go buildGeneralNames, then `subjectAltNames`."""
    cn = common_name(pod, es)
    utf8 = cn.encode()
    assert len(utf8) < 128
    names: list[x509.GeneralName] = [
        x509.OtherName(NameOID.COMMON_NAME, b"\x0c" + bytes([len(utf8)]) + utf8),
        x509.DNSName(cn),
        x509.DNSName(f"{es.name}-es-transport.{es.namespace}.svc"),
        x509.DNSName(f"{pod.name}.{pod.statefulset}.{es.namespace}"),
        x509.IPAddress(ipaddress.ip_address(pod.ip)),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    names += [x509.DNSName(name) for name in es.extra_dns]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in es.extra_ips]
    return names


def new_key_like(ca_key: PrivateKey) -> PrivateKey:
    """NewPrivateKey: RSA 2048 for an RSA CA, the CA's curve for an ECDSA one."""
    if isinstance(ca_key, rsa.RSAPrivateKey):
        return rsa.generate_private_key(65537, 2048)
    return ec.generate_private_key(ca_key.curve)


def _compatible(key: PrivateKey, ca_key: PrivateKey) -> bool:
    """GetCompatiblePrivateKey: Go compares the key types (the curve does not count)."""
    return isinstance(key, rsa.RSAPrivateKey) is isinstance(ca_key, rsa.RSAPrivateKey)


def issue(pod: Pod, es: Elasticsearch, key: PrivateKey, ca: CustomCa, now: datetime
          ) -> x509.Certificate:
    """createValidatedCertificateTemplate signed with the CA (Go's x509.CreateCertificate:
    AKI from the CA's SKI, KU critical, no SKI and no basicConstraints on a leaf)."""
    cn = common_name(pod, es)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, es.name),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CERT_VALIDITY)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=True,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(general_names(pod, es)), critical=False)
    )
    ski = _extension(ca.cert, x509.SubjectKeyIdentifier)
    if ski is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier(ski.digest, None, None), critical=False)
    return builder.sign(ca.key, signature_hash(ca.key))


def needs_new_certificate(
    cert: x509.Certificate, key: PrivateKey, pod: Pod, es: Elasticsearch, *, ca: CustomCa,
    now: datetime,
) -> bool:
    sans = _extension(cert, x509.SubjectAlternativeName)
    return (
        not signed_by(cert, ca.cert)
        or public_key_der(cert.public_key()) != public_key_der(key.public_key())
        or now >= cert.not_valid_after_utc - ROTATE_BEFORE
        or sans is None or list(sans) != general_names(pod, es)
    )


def reconcile(
    es: Elasticsearch, pods: Sequence[Pod], *, ca_secret: Mapping[str, bytes],
    config_map_pem: bytes, current: Mapping[str, PodMaterial], now: datetime,
) -> dict[str, PodMaterial]:
    """One reconciliation of the pods' transport certificates: what each pod's Secret entries
    become, from the CA Secret, the `certificateAuthorities` ConfigMap and what they were.
    Entries of pods that no longer exist are pruned. Raises CustomCaError as ECK refuses."""
    ca = custom_ca(ca_secret, now)
    pem = serialization.Encoding.PEM
    trust = ca.cert.public_bytes(pem) + config_map_pem
    result = {}
    for pod in pods:
        previous = current.get(pod.name)
        key = previous.key if previous and _compatible(previous.key, ca.key) else None
        if key is None:
            key = new_key_like(ca.key)
        cert = previous.cert if previous and key is previous.key else None
        if cert is None or needs_new_certificate(cert, key, pod, es, ca=ca, now=now):
            cert = issue(pod, es, key, ca, now)
        result[pod.name] = PodMaterial(key, cert, trust)
    return result


ExtensionT = TypeVar(
    "ExtensionT", x509.SubjectKeyIdentifier, x509.AuthorityKeyIdentifier,
    x509.SubjectAlternativeName)


def _extension(cert: x509.Certificate, kind: type[ExtensionT]) -> ExtensionT | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None
