"""Checks of a provided HTTP certificate chain and of its separation from transport.

Pure functions over `cryptography` objects returning sentences (what is wrong, how to fix it),
so the config module can report every problem at once. Any CA may issue an HTTP certificate
(public or organisation); what matters is that it serves HTTPS for the configured names and
shares nothing with transport (INV-SEPARATE).
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from components.ca_checks import (
    foreign_pem_block,
    key_strength_problem,
    single_key_block,
    spki,
    unreadable,
)
from components.certificate_facts import sha256_fingerprint


def load_certificates(pem: str) -> tuple[list[x509.Certificate], str | None]:
    if problem := foreign_pem_block(pem):
        return [], problem
    try:
        certs = x509.load_pem_x509_certificates(pem.encode())
    except (ValueError, x509.InvalidVersion) as err:
        return [], f"is not PEM certificate text ({err})"
    for number, cert in enumerate(certs, 1):
        if why := unreadable(cert):
            return [], (
                f"certificate {number} of {len(certs)} cannot be read ({why}): it is damaged, "
                "or its key is of a type HTTPS clients do not take; paste the PEM text again"
            )
    return certs, None


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def check_chain(chain: Sequence[x509.Certificate], now: datetime) -> list[str]:
    """The leaf (first) serves HTTPS today; each further certificate issued the one before."""
    leaf = chain[0]
    problems: list[str] = []
    if leaf.not_valid_after_utc <= now:
        problems.append(f"expired on {leaf.not_valid_after_utc:%Y-%m-%d}; provide a valid one")
    if leaf.not_valid_before_utc > now:
        problems.append(f"is not valid before {leaf.not_valid_before_utc:%Y-%m-%d}")
    if _is_ca(leaf):
        problems.append("starts with a CA certificate; put the server certificate first")
    try:
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.SERVER_AUTH not in usages:
            problems.append(
                "has an Extended Key Usage without serverAuth, so HTTPS clients refuse it; "
                "use a server certificate (EKU serverAuth, or no EKU)"
            )
    except x509.ExtensionNotFound:
        pass
    strength = key_strength_problem(leaf.public_key())
    if strength:
        problems.append(strength)
    for index, (cert, issuer) in enumerate(itertools.pairwise(chain)):
        if not issued_by(cert, issuer):
            problems.append(
                f"certificate {index + 2} did not issue certificate {index + 1}: give the "
                "chain in order, server certificate first, then each issuer"
            )
        problems += _issuer_problems(issuer, index + 2, now)
    return problems


def _issuer_problems(issuer: x509.Certificate, number: int, now: datetime) -> list[str]:
    """A chain certificate after the leaf: HTTPS clients refuse the chain unless it is a CA
    inside its validity."""
    problems: list[str] = []
    fix = "give the chain your CA issues today"
    if issuer.not_valid_after_utc <= now:
        problems.append(
            f"certificate {number} of the chain expired on {issuer.not_valid_after_utc:%Y-%m-%d}, "
            f"so HTTPS clients refuse the chain; {fix}"
        )
    if issuer.not_valid_before_utc > now:
        problems.append(
            f"certificate {number} of the chain is not valid before "
            f"{issuer.not_valid_before_utc:%Y-%m-%d}; {fix}"
        )
    if not _is_ca(issuer):
        problems.append(
            f"certificate {number} of the chain is not a CA (basicConstraints CA:true), so it "
            f"may issue no certificate; {fix}"
        )
    return problems


def _is_ca(cert: x509.Certificate) -> bool:
    """basicConstraints CA:true (no such extension: not a CA)."""
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def check_key_matches(leaf: x509.Certificate, key_pem: str) -> list[str]:
    if problem := single_key_block(key_pem):
        return [problem]
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        return [f"is not an unencrypted PEM private key ({err})"]
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if public != spki(leaf):
        return ["does not match the first certificate of http.certPem; give that key"]
    return []


def _dns_sans(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    dns = [name.lower().rstrip(".") for name in sans.get_values_for_type(x509.DNSName)]
    ips = [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]
    return dns, ips


def dns_matches(pattern: str, name: str) -> bool:
    """RFC 6125 §6.4.3 as browsers apply it: a wildcard is the whole left-most label and stands
    for exactly one label (`*.example.com` covers `a.example.com`, not `example.com` nor
    `a.b.example.com`); it needs at least two labels after it."""
    if not pattern.startswith("*."):
        return "*" not in pattern and pattern == name
    rest = pattern[2:]
    if "*" in rest or rest.count(".") < 1:
        return False
    head, _, tail = name.partition(".")
    return bool(head) and tail == rest


def uncovered_names(
    leaf: x509.Certificate, dns_names: Sequence[str], ip_addresses: Sequence[str]
) -> list[str]:
    """Configured names the certificate's SANs do not cover (the CN is never consulted)."""
    dns, ips = _dns_sans(leaf)
    missing = [n for n in dns_names if not any(dns_matches(p, n) for p in dns)]
    wanted = [ipaddress.ip_address(ip) for ip in ip_addresses]
    missing += [str(ip) for ip in wanted if ip not in {ipaddress.ip_address(i) for i in ips}]
    return missing


def chains_to(chain: Sequence[x509.Certificate], cas: Sequence[x509.Certificate]) -> bool:
    """The last certificate of `chain` is one of `cas` or was issued by one of them."""
    last = chain[-1]
    return any(spki(ca) == spki(last) or issued_by(last, ca) for ca in cas)


def transport_ca_overlaps(
    chain: Sequence[x509.Certificate], cas: Sequence[x509.Certificate],
    transport_ca: x509.Certificate,
) -> list[tuple[str, str]]:
    """(stack key suffix, problem) for every way the HTTP material reuses the transport CA,
    compared by key (SPKI) and by fingerprint: a re-issued CA keeps its key."""
    transport_key, transport_print = spki(transport_ca), sha256_fingerprint(transport_ca)

    def same(cert: x509.Certificate) -> bool:
        return spki(cert) == transport_key or sha256_fingerprint(cert) == transport_print

    problems: list[tuple[str, str]] = []
    if same(chain[0]):
        problems.append((
            "keyPem",
            "is the key of the transport CA (ca.certPem): HTTP and transport must not share "
            "a certificate or key (INV-SEPARATE); use a separate HTTP certificate and key",
        ))
    if any(same(cert) for cert in chain[1:]) or any(
        issued_by(cert, transport_ca) for cert in chain
    ):
        problems.append((
            "certPem",
            "is issued by the transport CA (ca.certPem): the transport CA must sign no HTTP "
            "certificate (INV-SEPARATE); issue it from another CA or use http.mode: generated",
        ))
    if any(same(ca) for ca in cas):
        problems.append((
            "caPem",
            "holds the transport CA (ca.certPem): HTTPS clients would then trust the "
            "certificates that admit nodes to the cluster (INV-SEPARATE, INV-CA-DEDICATED); "
            "give the CA that issued http.certPem",
        ))
    return problems
