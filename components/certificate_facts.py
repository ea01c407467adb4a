"""Facts read off a PEM certificate for outputs and inventories (fingerprint, serial, expiry)."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes


def sha256_fingerprint(cert: x509.Certificate) -> str:
    """Colon-separated upper-case hex, the form `openssl x509 -fingerprint -sha256` prints."""
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def certificate_facts(cert_pem: str) -> dict[str, str]:
    """Inventory entry of one certificate: serial (hex), SHA-256 fingerprint, not-after."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    return {
        "serial": format(cert.serial_number, "x"),
        "fingerprintSha256": sha256_fingerprint(cert),
        "notAfter": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
