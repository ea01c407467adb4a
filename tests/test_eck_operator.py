"""The ECK emulator (harness/eck_operator.py) refuses what ECK refuses and issues what ECK
issues; tests/test_lifecycle_fuzz_ca_to_eck.py relies on both. Made with tests/x509_factory.py,
independent of the pulumi-tls emulator."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harness import eck_operator
from harness.eck_operator import CustomCaError, Elasticsearch, Pod
from harness.handshake import HandshakePair, PemIdentity, openssl_handshakes
from tests.stack_runs import JUST_BEFORE_NOW
from tests.x509_factory import Issued, make_ca, make_key

NOW = JUST_BEFORE_NOW  # pod certificates are handshake-tested
ES = Elasticsearch("search", "es", extra_dns=("search.example.com",))
PODS = [Pod(f"search-es-default-{i}", "search-es-default", f"10.1.0.{i + 1}") for i in range(2)]


def secret(issued: Issued, key: bytes | None = None) -> dict[str, bytes]:
    return {"ca.crt": issued.cert_pem.encode(),
            "ca.key": issued.traditional_key_pem.encode() if key is None else key}


@pytest.fixture(scope="module")
def ca() -> Issued:
    return make_ca("search transport CA", not_before=NOW - timedelta(days=1))


def test_the_ca_secret_is_read_as_eck_reads_it(ca: Issued) -> None:
    other = make_ca("other CA", not_before=NOW - timedelta(days=1))
    rsa_ca = make_ca("rsa CA", key=make_key("rsa2048"), not_before=NOW - timedelta(days=1))
    assert eck_operator.custom_ca(secret(ca), NOW).cert == ca.cert
    assert eck_operator.custom_ca(secret(rsa_ca, rsa_ca.key_pem.encode()), NOW)  # PKCS#8 RSA
    refused = {
        "PKCS#8 ECDSA key": secret(ca, ca.key_pem.encode()),
        "a chain in ca.crt": {**secret(ca), "ca.crt": (ca.cert_pem + other.cert_pem).encode()},
        "another CA's key": secret(ca, other.traditional_key_pem.encode()),
        "no ca.key": {"ca.crt": ca.cert_pem.encode()},
        "tls.* beside ca.*": {**secret(ca), "tls.crt": ca.cert_pem.encode()},
    }
    for what, data in refused.items():
        with pytest.raises(CustomCaError):
            eck_operator.custom_ca(data, NOW)
            pytest.fail(f"{what} accepted")
    with pytest.raises(CustomCaError, match="expired"):
        eck_operator.custom_ca(secret(ca), ca.cert.not_valid_after_utc + timedelta(seconds=1))


def test_pod_certificates_are_ecks_and_complete_mutual_tls(ca: Issued, tmp_path: Path) -> None:
    pods = eck_operator.reconcile(ES, PODS, ca_secret=secret(ca), config_map_pem=b"",
                                  current={}, now=NOW)
    pod = PODS[0]
    cert = pods[pod.name].cert
    cert.verify_directly_issued_by(ca.cert)
    assert eck_operator.signed_by(cert, ca.cert)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "search-es-default-0.node.search.es.es.local")
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == [
        "search-es-default-0.node.search.es.es.local", "search-es-transport.es.svc",
        "search-es-default-0.search-es-default.es", "search.example.com"]
    assert isinstance(pods[pod.name].key, ec.EllipticCurvePrivateKey)  # the CA's key type
    # Each pod trusts ECK's CA; both complete mutual TLS with each other.
    assert x509.load_pem_x509_certificates(pods[pod.name].trust_pem) == [ca.cert]
    identities = {}
    for name, material in pods.items():
        directory = tmp_path / name
        directory.mkdir()
        for file, content in material.files().items():
            (directory / file).write_bytes(content)
        identities[name] = PemIdentity(directory / "tls.crt", directory / "tls.key",
                                       directory / "ca.crt")
    first, second = (identities[p.name] for p in PODS)
    results = openssl_handshakes([
        HandshakePair(first, second, eck_operator.common_name(PODS[0], ES)),
        HandshakePair(second, first, eck_operator.common_name(PODS[1], ES))])
    assert all(r.ok for r in results), [r.error for r in results]


def test_pods_are_re_issued_only_when_eck_would(ca: Issued) -> None:
    first = eck_operator.reconcile(ES, PODS, ca_secret=secret(ca), config_map_pem=b"",
                                   current={}, now=NOW)
    again = eck_operator.reconcile(ES, PODS, ca_secret=secret(ca), config_map_pem=b"",
                                   current=first, now=NOW + timedelta(days=30))
    assert again == first  # same CA, same SANs, far from expiry
    renamed = eck_operator.reconcile(Elasticsearch("search", "es"), PODS, ca_secret=secret(ca),
                                     config_map_pem=b"", current=first, now=NOW)
    assert all(renamed[p].key is first[p].key and renamed[p].cert != first[p].cert
               for p in first)
    # A new CA of the same key type: new certificates, same keys; of another: new keys too.
    same_type = make_ca("next CA", not_before=NOW - timedelta(days=1))
    moved = eck_operator.reconcile(ES, PODS, ca_secret=secret(same_type), config_map_pem=b"",
                                   current=first, now=NOW)
    assert all(moved[p].key is first[p].key and eck_operator.signed_by(
        moved[p].cert, same_type.cert) for p in first)
    rsa_ca = make_ca("rsa CA", key=make_key("rsa2048"), not_before=NOW - timedelta(days=1))
    rekeyed = eck_operator.reconcile(ES, PODS[:1], ca_secret=secret(rsa_ca),
                                     config_map_pem=same_type.cert_pem.encode(),
                                     current=first, now=NOW)
    (only,) = rekeyed.values()
    assert isinstance(only.key, rsa.RSAPrivateKey) and only.key.key_size == 2048
    # ECK's CA first, then the certificateAuthorities ConfigMap; pruned pods are gone.
    assert x509.load_pem_x509_certificates(only.trust_pem) == [rsa_ca.cert, same_type.cert]
    assert list(rekeyed) == [PODS[0].name]
