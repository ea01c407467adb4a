"""HTTP server certificates made in tests with `cryptography` (issued by `x509_factory` CAs)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.x509_factory import Issued, PrivateKey, make_key

SERVER_AUTH = (ExtendedKeyUsageOID.SERVER_AUTH,)


def make_server_cert(
    issuer: Issued,
    dns: Sequence[str] = ("es.example.com",),
    ips: Sequence[str] = (),
    *,
    eku: Sequence[x509.ObjectIdentifier] | None = SERVER_AUTH,
    key: PrivateKey | None = None,
    days: int = 365,
    not_before: datetime | None = None,
    common_name: str = "es http",
) -> Issued:
    """No `dns` and no `ips`: a certificate without a SAN extension."""
    key = key or make_key()
    start = not_before or datetime.now(UTC) - timedelta(days=1)
    sans: list[x509.GeneralName] = [x509.DNSName(name) for name in dns]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), False)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), False)
    return Issued(builder.sign(issuer.key, hashes.SHA256()), key)
