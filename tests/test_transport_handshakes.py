"""Certificates the program issues complete real mutual TLS, in OpenSSL and in the JDK's JSSE.

`verification_mode: full` semantics: the server demands a client certificate, the client checks
the server's DNS name while connecting to 127.0.0.1. A node of another cluster and a
serverAuth-only certificate (INV-EKU) must be rejected, with the stacks' own error texts.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harness.handshake import (
    HandshakePair,
    HandshakeResult,
    PemIdentity,
    jdk_available,
    jsse_handshakes,
    openssl_handshakes,
)
from harness.mock_runtime import Recording, reveal
from tests.http_x509 import make_server_cert
from tests.stack_runs import run_stack
from tests.x509_factory import Issued, make_ca

Runner = Callable[[Sequence[HandshakePair]], list[HandshakeResult]]
RUNNERS = [
    pytest.param(openssl_handshakes, id="openssl"),
    pytest.param(
        jsse_handshakes, id="jsse",
        marks=[pytest.mark.jsse, pytest.mark.skipif(not jdk_available(), reason="no JDK")],
    ),
]


@pytest.fixture(scope="module")
def dev() -> Recording:
    return run_stack("dev")


def _write(directory: Path, name: str, text: str, mode: int = 0o644) -> Path:
    path = directory / name
    path.write_text(text)
    path.chmod(mode)
    return path


def node_identity(recording: Recording, cluster: str, node: str, directory: Path) -> PemIdentity:
    """A node's material as its bundle would hold it: key, certificate, the cluster's CA."""
    prefix = f"{cluster}-{node}"
    key = reveal(recording.named(f"{prefix}-key").outputs["privateKeyPem"])
    cert = reveal(recording.named(f"{prefix}-cert").outputs["certPem"])
    ca = reveal(recording.named(f"{cluster}-ca-cert").outputs["certPem"])
    return PemIdentity(
        certificate=_write(directory, f"{prefix}.crt", cert),
        key=_write(directory, f"{prefix}.key", key, 0o600),
        certificate_authorities=_write(directory, f"{cluster}-ca.crt", ca),
    )


def dns_name(recording: Recording, cluster: str, node: str) -> str:
    request = recording.named(f"{cluster}-{node}-csr")
    return str(reveal(request.inputs["dnsNames"])[0])


@pytest.mark.parametrize("run", RUNNERS)
def test_every_pair_of_a_cluster_completes_mutual_tls(
    dev: Recording, run: Runner, tmp_path: Path
) -> None:
    nodes = ["es-1", "es-2", "es-3"]
    identities = {n: node_identity(dev, "logs", n, tmp_path) for n in nodes}
    pairs = [
        HandshakePair(identities[server], identities[client], dns_name(dev, "logs", server))
        for server, client in itertools.permutations(nodes, 2)
    ]
    results = run(pairs)
    assert [r.error for r in results if not r.ok] == []
    assert len(results) == 6


@pytest.mark.parametrize("run", RUNNERS)
def test_a_node_of_another_cluster_is_rejected(
    dev: Recording, run: Runner, tmp_path: Path
) -> None:
    logs = node_identity(dev, "logs", "es-1", tmp_path)
    search = node_identity(dev, "search", "search-es-default-0", tmp_path)
    as_client, as_server = run([
        HandshakePair(logs, search, dns_name(dev, "logs", "es-1")),
        HandshakePair(search, logs, dns_name(dev, "search", "search-es-default-0")),
    ])
    assert not as_client.ok and not as_server.ok


def _server_auth_only(recording: Recording, directory: Path) -> PemIdentity:
    """What a public CA typically issues: serverAuth only, here signed by the cluster's own CA
    so that the EKU is the only thing wrong."""
    ca_cert = x509.load_pem_x509_certificate(
        reveal(recording.named("logs-ca-cert").outputs["certPem"]).encode())
    ca_key = serialization.load_pem_private_key(
        reveal(recording.named("logs-ca-key").outputs["privateKeyPem"]).encode(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "es-9")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("es-9.logs.dev.internal")]), False)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    return PemIdentity(
        certificate=_write(directory, "es-9.crt", cert.public_bytes(serialization.Encoding.PEM)
                           .decode()),
        key=_write(directory, "es-9.key", key_pem, 0o600),
        certificate_authorities=_write(directory, "logs-ca.crt", ca_cert.public_bytes(
            serialization.Encoding.PEM).decode()),
    )


@pytest.mark.parametrize(("run", "server_error"), [
    pytest.param(openssl_handshakes, "unsuitable certificate purpose", id="openssl"),
    pytest.param(
        jsse_handshakes,
        "Extended key usage does not permit use for TLS client authentication",
        id="jsse",
        marks=[pytest.mark.jsse, pytest.mark.skipif(not jdk_available(), reason="no JDK")],
    ),
])
def test_a_server_auth_only_client_certificate_is_rejected(
    dev: Recording, run: Runner, server_error: str, tmp_path: Path
) -> None:
    server = node_identity(dev, "logs", "es-1", tmp_path)
    impostor = _server_auth_only(dev, tmp_path)
    [result] = run([HandshakePair(server, impostor, dns_name(dev, "logs", "es-1"))])
    assert not result.ok
    assert server_error in result.server_error


def _issued_by(ca: Issued, name: str, directory: Path) -> PemIdentity:
    """A node certificate as the program issues it (EKU clientAuth+serverAuth, a DNS SAN),
    from the provided CA `ca`."""
    node = make_server_cert(ca, [f"{name}.internal"], common_name=name, eku=(
        ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH))
    return PemIdentity(
        certificate=_write(directory, f"{name}.crt", node.cert_pem),
        key=_write(directory, f"{name}.key", node.key_pem, 0o600),
        certificate_authorities=_write(directory, "ca.crt", ca.cert_pem),
    )


def _constrained(subtree: str) -> x509.NameConstraints:
    return x509.NameConstraints(permitted_subtrees=[x509.DNSName(subtree)], excluded_subtrees=None)


@pytest.mark.parametrize("run", RUNNERS)
@pytest.mark.parametrize(("extension", "openssl_error"), [
    # Refused as ca.certPem (components.ca_checks, components.config): OpenSSL holds a CA's
    # EKU and nameConstraints against the node certificates it issued; JSSE does not apply a
    # trust anchor's, so only non-JVM peers and tools fail.
    pytest.param(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                 "unsuitable certificate purpose", id="eku-server-only"),
    pytest.param(x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), None, id="eku-both"),
    pytest.param(_constrained("other.internal"), "permitted subtree violation",
                 id="names-outside"),
    pytest.param(_constrained("internal"), None, id="names-inside"),
])
def test_a_provided_ca_s_extensions_bind_its_node_certificates_in_openssl(
    run: Runner, extension: x509.ExtensionType, openssl_error: str | None, tmp_path: Path
) -> None:
    ca = make_ca(extensions=[(extension, isinstance(extension, x509.NameConstraints))])
    server, client = (_issued_by(ca, name, tmp_path) for name in ("es-1", "es-2"))
    [result] = run([HandshakePair(server, client, "es-1.internal")])
    if openssl_error is None or run is jsse_handshakes:
        assert result.ok, result.error
    else:
        assert not result.ok and openssl_error in result.error
