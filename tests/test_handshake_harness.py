"""The handshake harness itself, proven against real OpenSSL and JSSE with hand-made certificates.

Certificates come from a small trustme-like helper below (deliberately independent of the program
and of the pulumi-tls emulator), so these tests vouch for the harness, not for the PKI under test.
Every scenario runs on both stacks; the JSSE scenarios share ONE JVM per module (see ``outcome``).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harness.handshake import (
    HandshakePair,
    HandshakeResult,
    Identity,
    IdentityError,
    JavaCompileError,
    PemIdentity,
    Pkcs12Identity,
    compile_java_harness,
    jdk_available,
    jsse_handshakes,
    openssl_handshake,
    openssl_handshakes,
)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH
BOTH_EKUS = (CLIENT_AUTH, SERVER_AUTH)

# The exact texts each stack uses (see schemas/elasticsearch/transport-ssl-settings.json).
JSSE_NO_CLIENT_AUTH = "Extended key usage does not permit use for TLS client authentication"
JSSE_NO_SERVER_AUTH = "Extended key usage does not permit use for TLS server authentication"
OPENSSL_BAD_PURPOSE = "unsuitable certificate purpose"

jsse = pytest.mark.jsse
needs_jdk = pytest.mark.skipif(not jdk_available(), reason="no JDK (javac/java) on PATH")


# --------------------------------------------------------------------------------------------
# A small certificate factory
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: PrivateKey


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _validity(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    return builder.not_valid_before(now - timedelta(hours=1)).not_valid_after(
        now + timedelta(days=30)
    )


def make_ca(cn: str) -> Issued:
    """Like the transport CA: CA:true pathLen 0, KU keyCertSign + cRLSign."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _validity(x509.CertificateBuilder())
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert, key)


def make_leaf(
    ca: Issued,
    dns: str,
    *,
    ekus: tuple[x509.ObjectIdentifier, ...] | None = BOTH_EKUS,
    rsa_key: bool = False,
) -> Issued:
    """A node certificate: KU digitalSignature (+keyEncipherment for RSA), SANs DNS + 127.0.0.1.

    ``ekus=None`` leaves the EKU extension out entirely.
    """
    key: PrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if rsa_key
        else ec.generate_private_key(ec.SECP256R1())
    )
    builder = (
        _validity(x509.CertificateBuilder())
        .subject_name(_name(dns))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=rsa_key,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(dns), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    if ekus is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(ekus)), critical=False)
    return Issued(builder.sign(ca.key, hashes.SHA256()), key)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def write_pem_identity(
    directory: Path,
    node: Issued,
    trusted: list[Issued],
    key_format: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8,
) -> PemIdentity:
    """``key_format``: TraditionalOpenSSL gives PKCS#1 for RSA and SEC1 for EC keys."""
    directory.mkdir(parents=True)
    cert, key, cas = directory / "node.crt", directory / "node.key", directory / "ca.crt"
    cert.write_bytes(_pem(node.cert))
    key.write_bytes(
        node.key.private_bytes(serialization.Encoding.PEM, key_format, serialization.NoEncryption())
    )
    cas.write_bytes(b"".join(_pem(ca.cert) for ca in trusted))
    return PemIdentity(certificate=cert, key=key, certificate_authorities=cas)


def write_pkcs12_identity(directory: Path, node: Issued, trusted: list[Issued]) -> Pkcs12Identity:
    """Keystore with one key entry; truststore of Java trusted-certificate entries.

    A plain PKCS#12 of certificates is NOT a truststore for JSSE: it only reads certificate bags
    carrying Oracle's trusted-key-usage attribute, which ``serialize_java_truststore`` writes.
    """
    directory.mkdir(parents=True)
    keystore, truststore = directory / "node.p12", directory / "trust.p12"
    keystore.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"node",
            node.key,
            node.cert,
            None,
            serialization.BestAvailableEncryption(b"keystore-secret"),
        )
    )
    truststore.write_bytes(
        pkcs12.serialize_java_truststore(
            [pkcs12.PKCS12Certificate(ca.cert, f"ca-{i}".encode()) for i, ca in enumerate(trusted)],
            serialization.BestAvailableEncryption(b"truststore-secret"),
        )
    )
    return Pkcs12Identity(keystore, "keystore-secret", truststore, "truststore-secret")


# --------------------------------------------------------------------------------------------
# Scenarios, shared by both stacks
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> dict[str, HandshakePair]:
    root = tmp_path_factory.mktemp("pki")
    ca1, ca2 = make_ca("transport CA one"), make_ca("transport CA two")

    pkcs8 = serialization.PrivateFormat.PKCS8
    # TraditionalOpenSSL: "EC PRIVATE KEY" (SEC1) for EC keys, "RSA PRIVATE KEY" (PKCS#1) for RSA.
    traditional = serialization.PrivateFormat.TraditionalOpenSSL

    def pem(
        name: str,
        node: Issued,
        trusted: list[Issued],
        key_format: serialization.PrivateFormat = pkcs8,
    ) -> PemIdentity:
        return write_pem_identity(root / name, node, trusted, key_format)

    node_a = pem("a", make_leaf(ca1, "a.es.local"), [ca1], key_format=traditional)
    node_b = pem("b", make_leaf(ca1, "b.es.local"), [ca1])  # PKCS#8
    foreign = pem("foreign", make_leaf(ca2, "x.es.local"), [ca1, ca2])
    foreign_trusting_ca2 = pem("foreign2", make_leaf(ca2, "y.es.local"), [ca2])
    server_only = pem("srv-only", make_leaf(ca1, "s.es.local", ekus=(SERVER_AUTH,)), [ca1])
    client_only = pem("cli-only", make_leaf(ca1, "c.es.local", ekus=(CLIENT_AUTH,)), [ca1])
    no_eku_1 = pem("no-eku-1", make_leaf(ca1, "n1.es.local", ekus=None), [ca1])
    no_eku_2 = pem("no-eku-2", make_leaf(ca1, "n2.es.local", ekus=None), [ca1])
    rsa_node = pem(
        "rsa",
        make_leaf(ca1, "r.es.local", rsa_key=True),
        [ca1],
        key_format=traditional,
    )
    p12_node = write_pkcs12_identity(root / "p12", make_leaf(ca1, "p.es.local"), [ca1])
    bundle_ca1 = pem("bundle1", make_leaf(ca1, "m1.es.local"), [ca1, ca2])
    bundle_ca2 = pem("bundle2", make_leaf(ca2, "m2.es.local"), [ca1, ca2])

    p = HandshakePair
    return {
        "same_ca_a_to_b": p(server=node_b, client=node_a, server_name="b.es.local"),
        "same_ca_b_to_a": p(server=node_a, client=node_b, server_name="a.es.local"),
        # The client trusts both CAs, so only the server can object.
        "client_from_other_ca": p(server=node_a, client=foreign, server_name="a.es.local"),
        # The server trusts its own CA only... and the client (CA1 only) objects first.
        "server_from_other_ca": p(
            server=foreign_trusting_ca2, client=node_a, server_name="y.es.local"
        ),
        "server_auth_only_client": p(server=node_a, client=server_only, server_name="a.es.local"),
        "server_auth_only_client_tls12": p(
            server=node_a, client=server_only, server_name="a.es.local", protocols=("TLSv1.2",)
        ),
        "server_auth_only_as_server": p(
            server=server_only, client=node_a, server_name="s.es.local"
        ),
        "client_auth_only_server": p(server=client_only, client=node_a, server_name="c.es.local"),
        "no_eku": p(server=no_eku_1, client=no_eku_2, server_name="n1.es.local"),
        "hostname_mismatch_full": p(server=node_a, client=node_b, server_name="wrong.es.local"),
        "hostname_mismatch_certificate_mode": p(
            server=node_a, client=node_b, server_name="wrong.es.local", verify_hostname=False
        ),
        "ip_san": p(server=node_a, client=node_b, server_name="127.0.0.1"),
        "rsa_server": p(server=rsa_node, client=node_a, server_name="r.es.local"),
        "rsa_client": p(server=node_a, client=rsa_node, server_name="a.es.local"),
        "rsa_tls12": p(
            server=rsa_node, client=rsa_node, server_name="r.es.local", protocols=("TLSv1.2",)
        ),
        "pkcs12_server": p(server=p12_node, client=node_a, server_name="p.es.local"),
        "pkcs12_client": p(server=node_a, client=p12_node, server_name="a.es.local"),
        "two_ca_bundle_ca1_to_ca2": p(
            server=bundle_ca2, client=bundle_ca1, server_name="m2.es.local"
        ),
        "two_ca_bundle_ca2_to_ca1": p(
            server=bundle_ca1, client=bundle_ca2, server_name="m1.es.local"
        ),
    }


Outcome = Callable[[str], HandshakeResult]


@pytest.fixture(scope="module")
def _jsse_batch(scenarios: dict[str, HandshakePair]) -> dict[str, HandshakeResult]:
    """Every scenario in one JVM: the batch API as the real suite will use it."""
    names = list(scenarios)
    return dict(zip(names, jsse_handshakes([scenarios[n] for n in names]), strict=True))


@pytest.fixture(
    params=[
        "openssl",
        pytest.param("jsse", marks=[jsse, needs_jdk]),
    ]
)
def stack(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def outcome(
    stack: str, scenarios: dict[str, HandshakePair], request: pytest.FixtureRequest
) -> Outcome:
    if stack == "jsse":
        batch: dict[str, HandshakeResult] = request.getfixturevalue("_jsse_batch")
        return batch.__getitem__
    return lambda name: openssl_handshake(scenarios[name])


def assert_ok(result: HandshakeResult) -> None:
    assert result.ok, result.error
    assert (result.server_error, result.client_error) == ("", "")


# --------------------------------------------------------------------------------------------
# Behaviour, on both stacks
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["same_ca_a_to_b", "same_ca_b_to_a"])
def test_two_nodes_of_one_ca_connect_both_ways(outcome: Outcome, name: str) -> None:
    result = outcome(name)
    assert_ok(result)
    assert result.protocol == "TLSv1.3"  # both stacks prefer 1.3, as Elasticsearch does


def test_server_rejects_client_from_another_ca(outcome: Outcome, stack: str) -> None:
    result = outcome("client_from_other_ca")
    assert not result.ok
    if stack == "openssl":
        # The OpenSSL client completes its chain from its own trust store (it trusts both CAs)
        # and sends CA two along, hence "self-signed certificate in certificate chain".
        assert "certificate verify failed" in result.server_error, result.error
    else:
        # JSSE's key manager only offers a certificate issued by a CA the server names in its
        # CertificateRequest, so the foreign node sends none: what Elasticsearch logs too.
        assert "Empty client certificate chain" in result.server_error, result.error
    # TLS 1.3: the client learns only from the server's alert, after its own handshake.
    assert result.client_error, "the rejection must be observed on the client side too"


def test_client_rejects_server_from_another_ca(outcome: Outcome, stack: str) -> None:
    result = outcome("server_from_other_ca")
    assert not result.ok
    # OpenSSL's detail reads "self-signed certificate in certificate chain": the server sends
    # its CA along, completed from its own trust store.
    expected = "certificate verify failed" if stack == "openssl" else "PKIX path building failed"
    assert expected in result.client_error, result.error
    assert result.server_error


@pytest.mark.parametrize("name", ["server_auth_only_client", "server_auth_only_client_tls12"])
def test_server_auth_only_client_certificate_is_rejected(
    outcome: Outcome, stack: str, name: str
) -> None:
    result = outcome(name)
    assert not result.ok
    expected = OPENSSL_BAD_PURPOSE if stack == "openssl" else JSSE_NO_CLIENT_AUTH
    assert expected in result.server_error, result.error
    assert result.client_error


def test_server_auth_only_certificate_is_fine_as_server(outcome: Outcome) -> None:
    assert_ok(outcome("server_auth_only_as_server"))


def test_client_auth_only_certificate_is_rejected_as_server(outcome: Outcome, stack: str) -> None:
    result = outcome("client_auth_only_server")
    assert not result.ok
    expected = OPENSSL_BAD_PURPOSE if stack == "openssl" else JSSE_NO_SERVER_AUTH
    assert expected in result.client_error, result.error


def test_certificates_without_eku_are_accepted(outcome: Outcome) -> None:
    assert_ok(outcome("no_eku"))


def test_hostname_mismatch_fails_in_full_mode(outcome: Outcome, stack: str) -> None:
    result = outcome("hostname_mismatch_full")
    assert not result.ok
    expected = (
        "certificate verify failed: Hostname mismatch"
        if stack == "openssl"
        else "No subject alternative DNS name matching wrong.es.local found"
    )
    assert expected in result.client_error, result.error


def test_hostname_mismatch_passes_in_certificate_mode(outcome: Outcome) -> None:
    assert_ok(outcome("hostname_mismatch_certificate_mode"))


def test_ip_san_verifies_in_full_mode(outcome: Outcome) -> None:
    assert_ok(outcome("ip_san"))


@pytest.mark.parametrize("name", ["rsa_server", "rsa_client", "rsa_tls12"])
def test_rsa_node_with_pkcs1_key(
    outcome: Outcome, scenarios: dict[str, HandshakePair], name: str
) -> None:
    rsa_key = scenarios["rsa_server"].server
    assert isinstance(rsa_key, PemIdentity)
    assert rsa_key.key.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    result = outcome(name)
    assert_ok(result)
    if name == "rsa_tls12":
        assert result.protocol == "TLSv1.2"


def test_key_formats_covered(scenarios: dict[str, HandshakePair]) -> None:
    """The pair a/b uses SEC1 and PKCS#8 keys; with the RSA node all three PEM formats run."""
    server, client = scenarios["same_ca_a_to_b"].server, scenarios["same_ca_a_to_b"].client
    assert isinstance(server, PemIdentity)
    assert isinstance(client, PemIdentity)
    assert server.key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert client.key.read_text().startswith("-----BEGIN EC PRIVATE KEY-----")


@pytest.mark.parametrize("name", ["pkcs12_server", "pkcs12_client"])
def test_pkcs12_keystore_and_truststore(outcome: Outcome, name: str) -> None:
    assert_ok(outcome(name))


@pytest.mark.parametrize("name", ["two_ca_bundle_ca1_to_ca2", "two_ca_bundle_ca2_to_ca1"])
def test_bundle_of_two_cas_trusts_leaves_of_both(outcome: Outcome, name: str) -> None:
    assert_ok(outcome(name))


# --------------------------------------------------------------------------------------------
# The harness mechanics
# --------------------------------------------------------------------------------------------


def test_result_error_combines_both_sides() -> None:
    r = HandshakeResult(False, "boom", "bang")
    assert r.error == "server: boom; client: bang"
    assert HandshakeResult(True, "", "").error == ""


def test_openssl_handshakes_keeps_order(scenarios: dict[str, HandshakePair]) -> None:
    results = openssl_handshakes([scenarios["same_ca_a_to_b"], scenarios["hostname_mismatch_full"]])
    assert [r.ok for r in results] == [True, False]


@pytest.fixture
def unreadable_key(scenarios: dict[str, HandshakePair], tmp_path: Path) -> Iterator[HandshakePair]:
    good = scenarios["same_ca_a_to_b"]
    assert isinstance(good.client, PemIdentity)
    bad_key = tmp_path / "bad.key"
    bad_key.write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    client: Identity = PemIdentity(
        good.client.certificate, bad_key, good.client.certificate_authorities
    )
    yield HandshakePair(server=good.server, client=client, server_name=good.server_name)


def test_openssl_unloadable_identity_raises(unreadable_key: HandshakePair) -> None:
    with pytest.raises(IdentityError, match="client identity"):
        openssl_handshake(unreadable_key)


@jsse
@needs_jdk
def test_jsse_unloadable_identity_raises(unreadable_key: HandshakePair) -> None:
    with pytest.raises(IdentityError, match=r"bad\.key"):
        jsse_handshakes([unreadable_key])


@jsse
@needs_jdk
def test_jsse_empty_batch_starts_no_jvm() -> None:
    assert jsse_handshakes([]) == []


@jsse
@needs_jdk
def test_java_compiled_once_per_source_hash() -> None:
    first = compile_java_harness()
    stamp = (first / "TransportHandshake.class").stat().st_mtime_ns
    second = compile_java_harness()
    assert second == first
    assert (second / "TransportHandshake.class").stat().st_mtime_ns == stamp


@jsse
@needs_jdk
def test_java_compile_error_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "TransportHandshake.java"
    broken.write_text(f"public final class TransportHandshake {{ int x = ; }} // {time.time()}\n")
    with pytest.raises(JavaCompileError, match=r"javac failed .*TransportHandshake\.java"):
        compile_java_harness(broken)
