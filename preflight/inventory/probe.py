"""`--probe host:port`: the certificate a live node presents on its transport port, checked
against the inventory (known certificate, issuer among the cluster's CA generations, both EKUs,
not expired, not past its renewal date).

The probe offers no client certificate, and Elasticsearch (client_authentication: required)
then rejects the connection. With TLS 1.3 the client has the server's certificate before the
server judges the client, so the handshake still yields it; over TLS 1.2 the server aborts
first, which the probe reports as such.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from components.certificate_facts import sha256_fingerprint
from components.quoting import quoted
from preflight.inventory.rows import CertRow


@dataclass(frozen=True)
class ProbeResult:
    target: str
    fingerprint: str
    subject: str
    problems: tuple[str, ...]
    matched: CertRow | None

    @property
    def ok(self) -> bool:
        return not self.problems


def presented_certificate(host: str, port: int, timeout: float = 10) -> x509.Certificate:
    """The server certificate, read without verifying it and without a client certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if der is None:
        raise ssl.SSLError(f"{host}:{port} presented no certificate")
    return x509.load_der_x509_certificate(der)


def check(
    target: str, cert: x509.Certificate, rows: Sequence[CertRow], now: datetime
) -> ProbeResult:
    fingerprint = sha256_fingerprint(cert)
    matched = next((r for r in rows if r.fingerprint == fingerprint and not r.is_ca), None)
    problems: list[str] = []
    if matched is None:
        problems.append("not in the inventory: the node serves a certificate this stack did "
                        "not issue, or one that was already replaced (reload pending?)")
    issuers = [r for r in rows if r.is_ca and (matched is None or r.cluster == matched.cluster)]
    issuer = next((r for r in issuers if matched and r.generation == matched.generation), None)
    if matched is not None and issuer is None:
        problems.append(f"issuer generation g{matched.generation} is not a live CA generation")
    try:
        eku = set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        eku = None  # no EKU at all is acceptable (INV-EKU)
    wanted = {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    if eku is not None and not wanted <= eku:
        problems.append("EKU lacks clientAuth or serverAuth (INV-EKU)")
    if cert.not_valid_after_utc <= now:
        problems.append(f"expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    elif matched is not None and now >= matched.renewal_due:
        problems.append(f"past its renewal date {matched.renewal_due:%Y-%m-%d}: run `pulumi up`")
    return ProbeResult(
        target, fingerprint, cert.subject.rfc4514_string(), tuple(problems), matched
    )


def parse_target(target: str) -> tuple[str, int]:
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"{quoted(target)}: expected host:port, e.g. es-1.internal:9300")
    return host.strip("[]"), int(port)
