"""Both layers rendered side by side, under the mock runtime: a VM stack (bundle files, modes,
settings) and an ECK stack (HTTP Secret, Elasticsearch resource against the CRD); HTTPS
handshakes against the HTTP certificate with its CA, and neither layer's CA vouching for the
other's certificates."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID

from components import eck_layout, http_settings, vm_bundle
from components import transport_settings as ts
from harness.handshake import PemIdentity, openssl_server_auth_handshake
from harness.mock_runtime import Recording, Secret, reveal
from tests.http_x509 import make_server_cert
from tests.stack_runs import run_clusters
from tests.test_eck_schemas import elasticsearch_errors
from tests.test_vm_delivery import bundle_files, mode, settings_of
from tests.x509_factory import make_ca

SECRET_TYPE = "kubernetes:core/v1:Secret"
ES_TYPE = "kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch"


def vm_http_cluster(output_dir: Path, **http: Any) -> dict[str, Any]:
    return {
        "name": "logs", "delivery": "vm", "vm": {"outputDir": str(output_dir)},
        "nodes": [{"name": f"es-{i}", "dns": [f"es-{i}.logs.internal"], "ips": [f"127.0.0.{i}"]}
                  for i in (1, 2)],
        "http": {"mode": "generated", "dns": ["logs.example.com"], **http},
    }


def eck_http_cluster() -> dict[str, Any]:
    return {
        "name": "search", "delivery": "eck",
        "eck": {"name": "search", "namespace": "search-dev", "version": "8.19.2",
                "nodeSets": [{"name": "default", "count": 2}],
                "spec": {"http": {"service": {"spec": {"type": "ClusterIP"}}}}},
        "http": {"mode": "generated", "dns": ["search.example.com"]},
    }


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("http-out")


@pytest.fixture(scope="module")
def run(out: Path) -> Recording:
    return run_clusters([vm_http_cluster(out), eck_http_cluster()])


@pytest.fixture(scope="module")
def logs(run: Recording, out: Path) -> Path:
    """The VM cluster's bundles, written by `run`."""
    return out / "logs"


def cert(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def issued_by(leaf: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        leaf.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def test_vm_bundle_holds_both_layers_in_files_of_their_own(logs: Path) -> None:
    for node in ("es-1", "es-2"):
        directory = logs / node
        files = bundle_files(directory)
        assert {vm_bundle.HTTP_KEY, vm_bundle.HTTP_CERTIFICATE,
                vm_bundle.HTTP_CERTIFICATE_AUTHORITIES, vm_bundle.KEY} <= set(files)
        assert mode(directory / vm_bundle.HTTP_KEY) == "0600"
        settings = settings_of(directory)
        assert {k: v for k, v in settings.items() if k.startswith(http_settings.PREFIX)} == {
            http_settings.ENABLED: True,
            http_settings.KEY: vm_bundle.HTTP_KEY,
            http_settings.CERTIFICATE: vm_bundle.HTTP_CERTIFICATE,
            http_settings.CERTIFICATE_AUTHORITIES: [vm_bundle.HTTP_CERTIFICATE_AUTHORITIES],
        }
        transport_files = {settings[ts.KEY], settings[ts.CERTIFICATE],
                           *settings[ts.CERTIFICATE_AUTHORITIES]}
        http_files = {settings[http_settings.KEY], settings[http_settings.CERTIFICATE]}
        assert not transport_files & http_files
        assert files[vm_bundle.HTTP_KEY] != files[vm_bundle.KEY]
        http_cert = cert(files[vm_bundle.HTTP_CERTIFICATE].decode())
        eku = http_cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
        sans = http_cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert {f"{node}.logs.internal", "logs.example.com"} <= set(
            sans.get_values_for_type(x509.DNSName))


def test_neither_layers_ca_vouches_for_the_others_certificates(logs: Path) -> None:
    files = bundle_files(logs / "es-1")
    http_ca = cert(files[vm_bundle.HTTP_CERTIFICATE_AUTHORITIES].decode())
    transport_ca = cert(files[vm_bundle.CERTIFICATE_AUTHORITIES].decode())
    http_leaf = cert(files[vm_bundle.HTTP_CERTIFICATE].decode())
    transport_leaf = cert(files[vm_bundle.CERTIFICATE].decode())
    assert http_ca.public_key() != transport_ca.public_key()
    assert issued_by(http_leaf, http_ca) and issued_by(transport_leaf, transport_ca)
    assert not issued_by(http_leaf, transport_ca)
    assert not issued_by(transport_leaf, http_ca)


def _https(directory: Path, trust: str, server_name: str) -> Any:
    server = PemIdentity(directory / vm_bundle.HTTP_CERTIFICATE, directory / vm_bundle.HTTP_KEY,
                         directory / vm_bundle.HTTP_CERTIFICATE_AUTHORITIES)
    return openssl_server_auth_handshake(server, directory / trust, server_name)


def test_https_handshake_with_the_http_ca_and_not_with_the_transport_ca(logs: Path) -> None:
    directory = logs / "es-1"
    for name in ("es-1.logs.internal", "logs.example.com", "127.0.0.1"):
        result = _https(directory, vm_bundle.HTTP_CERTIFICATE_AUTHORITIES, name)
        assert result.ok, result.error
    refused = _https(directory, vm_bundle.CERTIFICATE_AUTHORITIES, "es-1.logs.internal")
    assert not refused.ok
    assert "certificate verify failed" in refused.client_error
    wrong_name = _https(directory, vm_bundle.HTTP_CERTIFICATE_AUTHORITIES, "es-2.logs.internal")
    assert "Hostname mismatch" in wrong_name.client_error


def test_transport_certificate_fails_https_verification_with_the_http_ca(logs: Path) -> None:
    directory = logs / "es-1"
    server = PemIdentity(directory / vm_bundle.CERTIFICATE, directory / vm_bundle.KEY,
                         directory / vm_bundle.CERTIFICATE_AUTHORITIES)
    result = openssl_server_auth_handshake(
        server, directory / vm_bundle.HTTP_CERTIFICATE_AUTHORITIES, "es-1.logs.internal")
    assert "certificate verify failed" in result.client_error


def test_http_keys_are_secrets(run: Recording) -> None:
    bundle = run.named("logs-vm-es-1")
    http_key = bundle.inputs["httpFiles"][vm_bundle.HTTP_KEY]["content"]
    assert isinstance(http_key, Secret)
    secret = run.named("search-eck-http-cert")
    assert isinstance(secret.inputs["data"], Secret)
    for key in run.of_type("tls:index/privateKey:PrivateKey"):
        assert isinstance(key.outputs["privateKeyPem"], Secret)


def test_eck_http_secret_has_ecks_keys_and_never_a_ca_key(run: Recording) -> None:
    secret = run.named("search-eck-http-cert")
    assert secret.inputs["metadata"]["name"] == eck_layout.http_secret("search")
    data = {k: base64.b64decode(v).decode() for k, v in reveal(secret.inputs["data"]).items()}
    assert set(data) == {"tls.crt", "tls.key", "ca.crt"}
    leaf, ca = cert(data["tls.crt"]), cert(data["ca.crt"])
    assert issued_by(leaf, ca)
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"search-es-http.search-dev.svc", "search.example.com"} <= set(
        sans.get_values_for_type(x509.DNSName))
    transport_ca = cert(str(reveal(run.named("search-ca-cert").outputs["certPem"])))
    assert not issued_by(leaf, transport_ca)


def test_eck_resource_wires_both_layers_and_matches_the_crd(run: Recording) -> None:
    [es] = run.of_type(ES_TYPE)
    manifest = {"apiVersion": es.inputs["apiVersion"], "kind": es.inputs["kind"],
                "metadata": es.inputs["metadata"], "spec": reveal(es.inputs["spec"])}
    assert elasticsearch_errors(manifest) == []
    spec = manifest["spec"]
    assert spec["http"]["tls"] == {"certificate": {"secretName": "search-http-pki-cert"}}
    assert spec["http"]["service"] == {"spec": {"type": "ClusterIP"}}
    assert spec["transport"]["tls"]["selfSignedCertificates"] == {"disabled": True}
    referenced = {spec["http"]["tls"]["certificate"]["secretName"]}
    transport_secret = run.named("search-eck-node-certs").inputs["metadata"]["name"]
    assert transport_secret not in referenced


def test_provided_chain_without_ca_renders_no_ca_file(tmp_path: Path) -> None:
    chain = make_server_cert(make_ca("public-ish CA"), ["logs.example.com"])
    http = {"mode": "provided", "certPem": chain.cert_pem, "keyPem": chain.key_pem}
    run_clusters([vm_http_cluster(tmp_path, **http)], secret=True)
    directory = tmp_path / "logs" / "es-1"
    assert vm_bundle.HTTP_CERTIFICATE_AUTHORITIES not in bundle_files(directory)
    assert http_settings.CERTIFICATE_AUTHORITIES not in settings_of(directory)
    assert bundle_files(directory)[vm_bundle.HTTP_CERTIFICATE].decode() == chain.cert_pem


@pytest.mark.parametrize("certificates", ["shared", "per-node"])
def test_the_http_inventory_lists_each_issued_certificate(
    tmp_path: Path, certificates: str
) -> None:
    recording = run_clusters([vm_http_cluster(tmp_path, certificates=certificates)])
    listed = reveal(recording.stack_outputs["http"])["logs"]["certificates"]
    roles = ["shared"] if certificates == "shared" else ["es-1", "es-2"]
    assert sorted(listed) == roles
    for role in roles:
        issued = cert(reveal(recording.named(f"logs-http-{role}-cert").outputs["certPem"]))
        assert listed[role]["serial"] == format(issued.serial_number, "x")
        assert listed[role]["notAfter"] == f"{issued.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}"
