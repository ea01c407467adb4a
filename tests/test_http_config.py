"""The `http` section: modes, defaults, provided-chain checks, and every refused overlap with
transport (INV-SEPARATE), each reported with its stack key and the fix."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from components import eck_layout
from components.config import ConfigError, parse_stack_config
from components.http_checks import dns_matches
from components.model_http import HttpCertificates, HttpMode
from tests.http_x509 import make_server_cert
from tests.test_config import (
    CERTS_FROM,
    NOW,
    Raw,
    eck_cluster,
    parse,
    problems_of,
    stack,
    vm_cluster,
)
from tests.x509_factory import (
    CA_BASIC_CONSTRAINTS,
    EC_PUBLIC_KEY_OID,
    MALFORMED_BASIC_CONSTRAINTS,
    UNKNOWN_KEY_OID,
    Issued,
    damaged_pem,
    make_ca,
    make_key,
)

ORG_CA = make_ca("org CA", not_before=CERTS_FROM)
TRANSPORT_CA = make_ca("logs transport CA", not_before=CERTS_FROM)
HTTP_CERT = make_server_cert(ORG_CA, ["*.logs.example.com"], ["10.0.0.10"],
                             not_before=CERTS_FROM)


def with_http(cluster: Raw, **http: Any) -> Raw:
    return {**cluster, "http": http}


def provided_http(**overrides: Any) -> dict[str, Any]:
    return {
        "mode": "provided", "certPem": HTTP_CERT.cert_pem, "keyPem": HTTP_CERT.key_pem,
        "caPem": ORG_CA.cert_pem, "dns": ["es.logs.example.com"], "ips": ["10.0.0.10"],
        **overrides,
    }


def with_transport_ca(cluster: Raw) -> Raw:
    return {**cluster, "ca": {"mode": "provided", "certPem": TRANSPORT_CA.cert_pem,
                              "keyPem": TRANSPORT_CA.key_pem}}


def test_http_is_left_alone_by_default_and_with_mode_none() -> None:
    assert parse(stack(vm_cluster())).clusters[0].http is None
    assert parse(stack(with_http(vm_cluster(), mode="none"))).clusters[0].http is None


def test_generated_defaults_per_node_on_vms_and_shared_under_eck() -> None:
    spec = parse(stack(
        with_http(vm_cluster(), mode="generated", dns=["ES.Logs.example.com"]),
        with_http(eck_cluster(), mode="generated"),
    ))
    vm, eck = (cluster.http for cluster in spec.clusters)
    assert (vm.mode, vm.certificates, vm.dns_names) == (
        HttpMode.GENERATED, HttpCertificates.PER_NODE, ("es.logs.example.com",))
    assert vm.ca_common_name == "logs HTTP CA (dev)"
    assert (eck.certificates, eck.provided) == (HttpCertificates.SHARED, None)


def test_a_provided_chain_from_any_ca_is_accepted_and_its_key_hidden() -> None:
    http = parse(stack(with_transport_ca(with_http(vm_cluster(), **provided_http()))))
    provided = http.clusters[0].http.provided
    assert provided.chain_pem.startswith("-----BEGIN CERTIFICATE-----")
    assert provided.ca_pem is not None
    assert HTTP_CERT.key_pem not in repr(provided)


@pytest.mark.parametrize(
    ("pattern", "name", "covered"),
    [
        ("*.example.com", "a.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.b.example.com", False),
        ("*.com", "example.com", False),
        ("f*.example.com", "foo.example.com", False),
        ("a.*.example.com", "a.b.example.com", False),
        ("es.example.com", "es.example.com", True),
    ],
)
def test_wildcards_cover_exactly_one_left_most_label(
    pattern: str, name: str, covered: bool
) -> None:
    assert dns_matches(pattern, name) is covered


def _transport_signed_http() -> dict[str, Any]:
    cert = make_server_cert(TRANSPORT_CA, ["es.logs.example.com"], not_before=CERTS_FROM)
    return provided_http(certPem=cert.cert_pem, keyPem=cert.key_pem, caPem=None, ips=[])


def _chain_through_transport_ca() -> dict[str, Any]:
    http = _transport_signed_http()
    return {**http, "certPem": http["certPem"] + TRANSPORT_CA.cert_pem}


def _http_with_transport_key() -> dict[str, Any]:
    cert = make_server_cert(ORG_CA, ["es.logs.example.com"], key=TRANSPORT_CA.key,
                            not_before=CERTS_FROM)
    return provided_http(certPem=cert.cert_pem, keyPem=cert.key_pem, ips=[])


def _via_intermediate(*, start: datetime, days: int, ca: bool = True) -> dict[str, Any]:
    """A server certificate from an intermediate of ORG_CA, given with that intermediate."""
    key = make_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "org issuing CA")])
    intermediate = Issued((
        x509.CertificateBuilder().subject_name(name).issuer_name(ORG_CA.cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), True)
        .sign(ORG_CA.key, hashes.SHA256())
    ), key)
    leaf = make_server_cert(intermediate, ["es.logs.example.com"], not_before=CERTS_FROM)
    return provided_http(certPem=leaf.cert_pem + intermediate.cert_pem, keyPem=leaf.key_pem,
                         ips=[])


def _expired() -> dict[str, Any]:
    cert = make_server_cert(ORG_CA, ["es.logs.example.com"], days=1,
                            not_before=NOW.replace(year=2020))
    return provided_http(certPem=cert.cert_pem, keyPem=cert.key_pem, ips=[])


def _client_only() -> dict[str, Any]:
    cert = make_server_cert(ORG_CA, ["es.logs.example.com"],
                            eku=[ExtendedKeyUsageOID.CLIENT_AUTH], not_before=CERTS_FROM)
    return provided_http(certPem=cert.cert_pem, keyPem=cert.key_pem, ips=[])


def _eck_http_settings(config: Raw, **eck: Any) -> Raw:
    cluster = eck_cluster()
    node_set = {"name": "default", "count": 1, "config": config}
    return {**cluster, "eck": {**cluster["eck"], **eck, "nodeSets": [node_set]}}


HTTP_KEY = "clusters[0].http"
REFUSED: dict[str, tuple[Raw, str, str]] = {
    "HTTP certificate signed by the transport CA": (
        with_transport_ca(with_http(vm_cluster(), **_transport_signed_http())),
        f"{HTTP_KEY}.certPem", r"is issued by the transport CA .*INV-SEPARATE"),
    "HTTP key is the transport CA's key": (
        with_transport_ca(with_http(vm_cluster(), **_http_with_transport_key())),
        f"{HTTP_KEY}.keyPem", r"is the key of the transport CA .*INV-SEPARATE"),
    "HTTP CA is the transport CA": (
        with_transport_ca(with_http(vm_cluster(), **provided_http(caPem=TRANSPORT_CA.cert_pem))),
        f"{HTTP_KEY}.caPem", r"holds the transport CA .*INV-SEPARATE"),
    "transport CA as the HTTP chain's issuer certificate": (
        with_transport_ca(with_http(vm_cluster(), **_chain_through_transport_ca())),
        f"{HTTP_KEY}.certPem", r"is issued by the transport CA"),
    "ECK HTTP Secret is the transport Secret": (
        {**eck_cluster(), "eck": {**eck_cluster()["eck"], "spec": {"http": {"tls": {
            "certificate": {"secretName": eck_layout.node_certs_secret("search")}}}}}},
        "clusters[0].eck.spec.http.tls.certificate.secretName", r"holds transport material"),
    # Only this cluster's own Secrets were compared: ECK then issued HTTP certificates from
    # cluster logs' transport CA (the policy pack's es-transport-separate caught it).
    "ECK HTTP Secret is another cluster's CA Secret": (
        {**eck_cluster(), "eck": {**eck_cluster()["eck"], "spec": {"http": {"tls": {
            "certificate": {"secretName": eck_layout.ca_secret("logs")}}}}}},
        "clusters[0].eck.spec.http.tls.certificate.secretName",
        r"'logs-transport-pki-ca-key' holds transport material"),
    "ECK HTTP settings pointed at the transport mount": (
        {**eck_cluster(), "eck": {**eck_cluster()["eck"], "nodeSets": [{
            "name": "default", "count": 1, "config": {
                "xpack.security.http.ssl.key":
                    f"{eck_layout.CERTS_MOUNT_PATH}/${{POD_NAME}}.tls.key"}}]}},
        'clusters[0].eck.nodeSets[0].config["xpack.security.http.ssl.key"]',
        r"points HTTP TLS at the transport certificates .*INV-SEPARATE"),
    # Elasticsearch resolves a relative path against its config directory, where both
    # transport directories are: the check compared the text with the absolute mount path.
    "ECK HTTP key a relative path into the transport mount": (
        _eck_http_settings({"xpack.security.http.ssl.key": "transport-pki/${POD_NAME}.tls.key"}),
        'clusters[0].eck.nodeSets[0].config["xpack.security.http.ssl.key"]',
        r"points HTTP TLS at the transport certificates "
        r"\(/usr/share/elasticsearch/config/transport-pki\).*INV-SEPARATE"),
    "ECK HTTP key a roundabout path into the transport mount": (
        _eck_http_settings({"xpack": {"security": {"http": {"ssl": {
            "certificate": "/usr/share/elasticsearch//config/./x/../transport-pki/a.tls.crt"}}}}}),
        "clusters[0].eck.nodeSets[0].config.xpack.security.http.ssl.certificate",
        r"points HTTP TLS at the transport certificates"),
    # ca-to-eck: ECK's own transport mount holds each pod's key from the transport CA.
    "ECK HTTP key from ECK's transport certificates": (
        _eck_http_settings({"xpack.security.http.ssl.key":
                            "/usr/share/elasticsearch/config/transport-certs/${POD_NAME}.tls.key"},
                           certificates="ca-to-eck"),
        'clusters[0].eck.nodeSets[0].config["xpack.security.http.ssl.key"]',
        r"points HTTP TLS at the transport certificates "
        r"\(/usr/share/elasticsearch/config/transport-certs\).*INV-SEPARATE"),
    "ECK HTTP trusting the transport CAs": (
        _eck_http_settings({"xpack.security.http.ssl.certificate_authorities": [
            "http-ca.crt", "transport-certs/ca.crt"]}),
        'clusters[0].eck.nodeSets[0].config["xpack.security.http.ssl.certificate_authorities"]',
        r"points HTTP TLS at the transport certificates"),
    "ECK HTTP certificate passed through while generated": (
        with_http({**eck_cluster(), "eck": {**eck_cluster()["eck"], "spec": {"http": {"tls": {
            "certificate": {"secretName": "mine"}}}}}}, mode="generated"),
        "clusters[0].eck.spec.http.tls.certificate", r"is set from the http keys"),
    "per-node HTTP certificates under ECK": (
        with_http(eck_cluster(), mode="generated", certificates="per-node"),
        f"{HTTP_KEY}.certificates", r"'per-node' is not possible with delivery: eck"),
    "expired HTTP certificate": (
        with_http(vm_cluster(), **_expired()), f"{HTTP_KEY}.certPem", r"expired on 2020-"),
    # HTTPS clients refuse these chains; only the server certificate's dates were checked.
    "expired intermediate": (
        with_http(vm_cluster(), **_via_intermediate(start=NOW - timedelta(days=400), days=399)),
        f"{HTTP_KEY}.certPem",
        r"certificate 2 of the chain expired on 2026-11-27, so HTTPS clients refuse the chain; "
        r"give the chain your CA issues today"),
    "intermediate not yet valid": (
        with_http(vm_cluster(), **_via_intermediate(start=NOW + timedelta(days=2), days=400)),
        f"{HTTP_KEY}.certPem", r"certificate 2 of the chain is not valid before 2026-11-30"),
    "intermediate that is no CA": (
        with_http(vm_cluster(), **_via_intermediate(start=CERTS_FROM, days=400, ca=False)),
        f"{HTTP_KEY}.certPem", r"certificate 2 of the chain is not a CA"),
    "clientAuth-only HTTP certificate": (
        with_http(vm_cluster(), **_client_only()), f"{HTTP_KEY}.certPem", r"without serverAuth"),
    "key of another certificate": (
        with_http(vm_cluster(), **provided_http(keyPem=ORG_CA.key_pem)),
        f"{HTTP_KEY}.keyPem", r"does not match the first certificate"),
    "name outside the wildcard": (
        with_http(vm_cluster(), **provided_http(dns=["a.b.logs.example.com"])),
        f"{HTTP_KEY}.certPem", r"does not cover a\.b\.logs\.example\.com"),
    "IP not in the certificate": (
        with_http(vm_cluster(), **provided_http(ips=["10.0.0.11"])),
        f"{HTTP_KEY}.certPem", r"does not cover 10\.0\.0\.11"),
    "provided without names": (
        with_http(vm_cluster(), **provided_http(dns=[], ips=[])), HTTP_KEY,
        r"needs http\.dns and/or http\.ips"),
    # Delivered as written: the HTTP CA's key would reach every node and the stack outputs.
    "caPem with the CA's key": (
        with_http(vm_cluster(),
                  **provided_http(caPem=ORG_CA.cert_pem + ORG_CA.traditional_key_pem)),
        f"{HTTP_KEY}.caPem",
        r"holds a private key \(PEM block 'EC PRIVATE KEY'\) besides certificates: .*"
        r"\(INV-CUSTODY\).*treat that key as exposed"),
    "key after its certificate": (
        with_http(vm_cluster(), **provided_http(keyPem=HTTP_CERT.cert_pem + HTTP_CERT.key_pem)),
        f"{HTTP_KEY}.keyPem",
        r"holds 2 PEM blocks \('CERTIFICATE', 'PRIVATE KEY'\): pulumi-tls and ECK read only the "
        r"first as the key"),
    "CA that did not issue the chain": (
        with_http(vm_cluster(),
                  **provided_http(caPem=make_ca("other", not_before=CERTS_FROM).cert_pem)),
        f"{HTTP_KEY}.caPem", r"did not issue http\.certPem"),
    "provided keys with mode generated": (
        with_http(vm_cluster(), mode="generated", certPem=HTTP_CERT.cert_pem),
        f"{HTTP_KEY}.certPem", r"is not used with http\.mode: generated"),
    "IP address in http.dns": (
        with_http(vm_cluster(), **provided_http(dns=["10.0.0.10"], ips=[])), f"{HTTP_KEY}.dns[0]",
        r"'10.0.0.10' is an IP address; list it under clusters\[0\]\.http\.ips"),
    "HTTP certificate of an unknown key type": (
        with_http(vm_cluster(), **provided_http(
            certPem=damaged_pem(HTTP_CERT.cert_pem, EC_PUBLIC_KEY_OID, UNKNOWN_KEY_OID))),
        f"{HTTP_KEY}.certPem",
        r"certificate 1 of 1 cannot be read \(Unknown key type: 1\.2\.840\.10045\.2\.99\): it "
        r"is damaged, or its key is of a type HTTPS clients do not take; paste the PEM text"),
    "HTTP CA with a malformed extension": (
        with_http(vm_cluster(), **provided_http(caPem=damaged_pem(
            ORG_CA.cert_pem, CA_BASIC_CONSTRAINTS, MALFORMED_BASIC_CONSTRAINTS))),
        f"{HTTP_KEY}.caPem", r"certificate 1 of 1 cannot be read \(error parsing asn1"),
    "HTTP key of an unknown type": (
        with_http(vm_cluster(), **provided_http(
            keyPem=damaged_pem(HTTP_CERT.key_pem, EC_PUBLIC_KEY_OID, UNKNOWN_KEY_OID))),
        f"{HTTP_KEY}.keyPem", r"is not an unencrypted PEM private key \(Unknown key type"),
    "settings with mode none": (
        with_http(vm_cluster(), mode="none", dns=["x.example.com"]), f"{HTTP_KEY}.dns",
        r"only used with http\.mode: provided or generated"),
}


@pytest.mark.parametrize(("cluster", "key", "pattern"), REFUSED.values(), ids=REFUSED.keys())
def test_refused_http_config_names_key_and_fix(cluster: Raw, key: str, pattern: str) -> None:
    problems = problems_of(stack(cluster))
    assert any(
        p.startswith(f"es-transport-pki:{key}: ") and re.search(pattern, p) for p in problems
    ), problems


def test_eck_http_settings_outside_the_transport_directories_are_accepted() -> None:
    config = {
        "xpack.security.http.ssl.key": "http-certs/tls.key",
        "xpack.security.http.ssl.certificate": f"{eck_layout.CERTS_MOUNT_PATH}-http/tls.crt",
        "xpack.security.http.ssl.certificate_authorities": ["transport-certs-not/ca.crt"],
    }
    eck = parse(stack(_eck_http_settings(config))).clusters[0].eck
    assert eck is not None and eck.node_sets[0].passthrough["config"] == config


def test_a_chain_through_a_valid_intermediate_is_accepted() -> None:
    http = parse(stack(with_http(vm_cluster(), **_via_intermediate(start=CERTS_FROM, days=400))))
    provided = http.clusters[0].http.provided
    assert provided is not None and provided.chain_pem.count("BEGIN CERTIFICATE") == 2


def test_plain_text_http_key_is_refused_with_the_secret_command() -> None:
    problems = problems_of(stack(with_http(vm_cluster(), **provided_http())), secret=False)
    assert (
        "es-transport-pki:clusters[0].http.keyPem: is plain text in the stack file; store the "
        "HTTP key encrypted with `pulumi config set --secret --path 'clusters[0].http.keyPem' "
        "< http.key` (INV-CUSTODY)"
    ) in problems


def test_a_plain_text_http_key_beside_a_secure_transport_key_is_refused() -> None:
    raw = stack(with_transport_ca(with_http(vm_cluster(), **provided_http())))
    secure = {"clusters": frozenset({"clusters[0].ca.keyPem"})}
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw, stack="dev", now=NOW, secret_keys={"clusters"},
                           secure_values=secure)
    assert [str(p) for p in caught.value.problems] == [
        "es-transport-pki:clusters[0].http.keyPem: is plain text in the stack file; store the "
        "HTTP key encrypted with `pulumi config set --secret --path 'clusters[0].http.keyPem' "
        "< http.key` (INV-CUSTODY)"
    ]
    secure = {"clusters": frozenset({"clusters[0].ca.keyPem", "clusters[0].http.keyPem"})}
    http = parse_stack_config(raw, stack="dev", now=NOW, secret_keys={"clusters"},
                              secure_values=secure).clusters[0].http
    assert http is not None and http.provided is not None


def test_an_http_chain_reusing_another_clusters_transport_ca_is_refused() -> None:
    other = with_transport_ca(vm_cluster("metrics"))
    other["nodes"] = [{"name": "m-1", "dns": ["m-1.example.internal"]}]
    problems = problems_of(stack(with_http(vm_cluster(), **_transport_signed_http()), other))
    assert any(
        p.startswith("es-transport-pki:clusters: the HTTP certificate of cluster logs reuses "
                     "the transport CA of cluster metrics") for p in problems
    ), problems
