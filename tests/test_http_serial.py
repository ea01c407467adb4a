"""A provided HTTP certificate whose serial number is 0 or negative is taken, as Elasticsearch
takes it.

RFC 5280 wants a positive serial, but the HTTP certificate's consumer is Elasticsearch's HTTP
layer, which is JSSE: the JDK loads such a certificate, serves it, and a JSSE client (like an
OpenSSL one) accepts it. Refusing it would refuse what Elasticsearch runs with. (A provided
transport CA with a negative serial is refused: pulumi-tls, Go's x509, cannot sign with it.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from components import vm_bundle
from harness.handshake import (
    HandshakePair,
    PemIdentity,
    jdk_available,
    jsse_handshakes,
    openssl_server_auth_handshake,
)
from tests.http_x509 import make_server_cert
from tests.stack_runs import run_clusters
from tests.test_http_delivery import vm_http_cluster
from tests.x509_factory import Issued, make_ca, with_serial

# cryptography warns of each such certificate the program, the harness and the test load.
pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")

NAME = "logs.example.com"
ORG_CA = make_ca("org CA")
CLIENT_CA = make_ca("REST client CA")


def serial_of(pem: bytes) -> int:
    return x509.load_pem_x509_certificate(pem).serial_number


@pytest.fixture(scope="module", params=[0, -1], ids=["serial 0", "serial -1"])
def node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A node bundle the program wrote with a provided HTTP certificate of that serial."""
    chain = with_serial(make_server_cert(ORG_CA, [NAME]), ORG_CA, request.param)
    out = tmp_path_factory.mktemp("http-serial")
    http = {"mode": "provided", "dns": [NAME], "certPem": chain.cert_pem,
            "keyPem": chain.key_pem, "caPem": ORG_CA.cert_pem}
    run_clusters([vm_http_cluster(out, **http)], secret=True)
    directory = out / "logs" / "es-1"
    assert serial_of((directory / vm_bundle.HTTP_CERTIFICATE).read_bytes()) == request.param
    return directory


def _pem_files(directory: Path, issued: Issued, trusted: Issued) -> PemIdentity:
    paths = [directory / name for name in ("client.crt", "client.key", "ca.crt")]
    for path, text in zip(paths, (issued.cert_pem, issued.key_pem, trusted.cert_pem),
                          strict=True):
        path.write_text(text)
    return PemIdentity(*paths)


@pytest.mark.jsse
@pytest.mark.skipif(not jdk_available(), reason="no JDK (javac/java) on PATH")
def test_jsse_serves_it_and_a_jsse_client_accepts_it(node: Path, tmp_path: Path) -> None:
    """Elasticsearch's side and a Java client's, on loopback; the server also asks the client
    for a certificate (the harness runs mutual TLS), from a CA of its own."""
    client_cas = tmp_path / "client-ca.crt"
    client_cas.write_text(CLIENT_CA.cert_pem)
    server = PemIdentity(node / vm_bundle.HTTP_CERTIFICATE, node / vm_bundle.HTTP_KEY, client_cas)
    client = _pem_files(tmp_path, make_server_cert(CLIENT_CA, ["client"], eku=None), ORG_CA)
    [result] = jsse_handshakes([HandshakePair(server, client, NAME)])
    assert result.ok, result.error


def test_an_openssl_client_accepts_it(node: Path) -> None:
    server = PemIdentity(node / vm_bundle.HTTP_CERTIFICATE, node / vm_bundle.HTTP_KEY,
                         node / vm_bundle.HTTP_CERTIFICATE_AUTHORITIES)
    result = openssl_server_auth_handshake(
        server, node / vm_bundle.HTTP_CERTIFICATE_AUTHORITIES, NAME)
    assert result.ok, result.error
