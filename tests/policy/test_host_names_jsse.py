"""The pack's reading of which addresses a certificate covers (es_transport_policy.host_names)
against the JDK's JSSE, which Elasticsearch's transport runs on: real handshakes with endpoint
identification "HTTPS" (verification_mode full) to the address as the peer host, one JVM."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from es_transport_policy.host_names import address, certificate_names, covers

from harness.handshake import HandshakePair, PemIdentity, jdk_available, jsse_handshakes
from tests.http_x509 import make_server_cert
from tests.x509_factory import Issued, make_ca

pytestmark = [pytest.mark.jsse, pytest.mark.skipif(not jdk_available(), reason="no JDK")]

# (DNS SANs, IP SANs, subject CN, the address a peer connects to)
CASES = [
    ((), (), "es-1.example", "es-1.example"),  # no SAN: the CN counts for a DNS name ...
    ((), (), "10.0.0.1", "10.0.0.1"),  # ... never for an IP address
    ((), ("10.0.0.9",), "es-1.example", "es-1.example"),  # no DNS SAN: the CN counts
    (("es-2.example",), (), "es-1.example", "es-1.example"),  # a DNS SAN: the CN does not
    (("10.0.0.1",), (), "x", "10.0.0.1"),  # an IP address in a DNS SAN is no IP SAN
    ((), ("10.0.0.1",), "x", "10.0.0.1"),
    ((), ("10.0.0.1",), "x", "10.0.0.2"),
    ((), ("::ffff:10.0.0.1",), "x", "10.0.0.1"),  # IPv4-mapped: the IPv4 address
    ((), ("fd00::1",), "x", "fd00:0:0:0:0:0:0:1"),  # by value, not by spelling
    (("ES-1.EXAMPLE",), (), "x", "es-1.example"),  # case-insensitive
    (("es-1.example",), (), "x", "ES-1.Example"),
    (("*.example",), (), "x", "es-1.example"),
    (("*.example",), (), "x", "a.es-1.example"),  # one label, not two
    (("*.example",), (), "x", "example"),
    (("es*.example",), (), "x", "es-1.example"),  # partial label
    (("es-1*.example",), (), "x", "es-1.example"),  # `*` may stand for nothing
    (("es-1.*.example",), (), "x", "es-1.a.example"),  # in any label
    (("es-*",), (), "x", "es-1"),  # no dot after the last `*`: refused
    (("*",), (), "x", "es-1"),
    (("*.com",), (), "x", "es.com"),  # a private CA: no public-suffix rule
    (("es-1.example.",), (), "x", "es-1.example"),  # a trailing dot in the SAN: refused
    ((), (), "*.example", "es-1.example"),  # the CN by the same rules
]


def _identity(directory: Path, issued: Issued, ca: Issued) -> PemIdentity:
    directory.mkdir()
    paths = [directory / name for name in ("node.crt", "node.key", "ca.crt")]
    paths[0].write_bytes(issued.cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_text(issued.key_pem)
    paths[2].write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))
    return PemIdentity(*paths)


def test_covers_agrees_with_jsse(tmp_path: Path) -> None:
    ca = make_ca("names CA")
    client = _identity(tmp_path / "client", make_server_cert(ca, ["client"], eku=None), ca)
    servers = [make_server_cert(ca, dns, ips, eku=None, common_name=cn)
               for dns, ips, cn, _ in CASES]
    pairs = [HandshakePair(_identity(tmp_path / str(number), server, ca), client, host)
             for number, (server, (*_, host)) in enumerate(zip(servers, CASES, strict=True))]
    results = jsse_handshakes(pairs)
    seen = []
    for server, (dns, ips, cn, host), result in zip(servers, CASES, results, strict=True):
        names, reached = certificate_names(server.cert), address(host)
        assert names is not None and reached is not None
        seen.append((dns, ips, cn, host, covers(names, reached), result.ok, result.error))
    assert [row[4] for row in seen] == [row[5] for row in seen], seen
    assert any(not row[5] for row in seen) and any(row[5] for row in seen)
