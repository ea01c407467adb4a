"""Config validation: every problem reported at once, each naming its stack key and the fix."""

from __future__ import annotations

import copy
import ipaddress
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import certifi
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from components.config import ConfigError, parse_stack_config
from components.model import (
    CaMode,
    ClientAuthentication,
    Delivery,
    KeyAlgorithm,
    VerificationMode,
)
from components.program import main
from harness.mock_runtime import EngineState, run_program
from tests.x509_factory import (
    CA_BASIC_CONSTRAINTS,
    EC_PUBLIC_KEY_OID,
    MALFORMED_BASIC_CONSTRAINTS,
    UNKNOWN_KEY_OID,
    X509_V3,
    X509_V13,
    damaged_pem,
    make_ca,
    make_key,
    negative_serial,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
# Certificates made here start a day before NOW, so they are valid at NOW on any real date
# (the factories' default starts a day before the real clock).
CERTS_FROM = NOW - timedelta(days=1)
REPO = Path(__file__).resolve().parent.parent

Raw = dict[str, Any]


def vm_cluster(name: str = "logs") -> Raw:
    return {
        "name": name,
        "delivery": "vm",
        "nodes": [
            {"name": "es-1", "dns": ["es-1.example.internal"], "ips": ["10.0.0.1"]},
            {"name": "es-2", "dns": ["es-2.example.internal"], "ips": ["10.0.0.2"]},
        ],
    }


def eck_cluster(name: str = "search") -> Raw:
    return {
        "name": name,
        "delivery": "eck",
        "eck": {
            "name": name, "namespace": "elastic", "version": "8.19.2",
            "nodeSets": [{"name": "default", "count": 3}],
        },
    }


def stack(*clusters: Raw) -> Raw:
    return {"clusters": list(clusters) or [vm_cluster()]}


def parse(raw: Raw, secret: bool = True) -> Any:
    """`secret`: the stack file holds every `keyPem` as a `secure:` value (else in plain text),
    and nothing else: messages then quote every other value as given."""
    if not secret:
        return parse_stack_config(raw, stack="dev", now=NOW)
    return parse_stack_config(raw, stack="dev", now=NOW, secret_keys={"clusters"},
                              secure_values={"clusters": frozenset(_key_pems(raw))})


def _key_pems(raw: Raw) -> list[str]:
    clusters = raw.get("clusters")
    return [
        f"clusters[{index}].{section}.keyPem"
        for index, cluster in enumerate(clusters if isinstance(clusters, list) else [])
        for section in ("ca", "http")
        if isinstance(cluster, dict) and isinstance(cluster.get(section), dict)
        and "keyPem" in cluster[section]
    ]


def problems_of(raw: Raw, secret: bool = True) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(raw, secret)
    return [str(problem) for problem in caught.value.problems]


def provided(ca_cert_pem: str, ca_key_pem: str) -> Raw:
    cluster = vm_cluster()
    cluster["ca"] = {"mode": "provided", "certPem": ca_cert_pem, "keyPem": ca_key_pem}
    return stack(cluster)


def mutate(change: Callable[[Raw], None], base: Raw | None = None) -> Raw:
    raw = copy.deepcopy(base or stack(vm_cluster(), eck_cluster()))
    change(raw)
    return raw


def set_path(path: str, value: object) -> Callable[[Raw], None]:
    """Set `clusters[0].nodes[1].dns` style paths, as `pulumi config set --path` does."""

    def change(raw: Raw) -> None:
        parts = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]
        target: Any = raw
        for part in parts[:-1]:
            if isinstance(part, str) and part not in target:
                target[part] = {}
            target = target[part]
        target[parts[-1]] = value

    return change


def delete_path(path: str) -> Callable[[Raw], None]:
    def change(raw: Raw) -> None:
        parts = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]
        target: Any = raw
        for part in parts[:-1]:
            target = target[part]
        del target[parts[-1]]

    return change


def _public_root_pem() -> str:
    roots = Path(certifi.where()).read_text(encoding="utf-8").split("-----END CERTIFICATE-----")
    root = x509.load_pem_x509_certificate((roots[-2] + "-----END CERTIFICATE-----").encode())
    return root.public_bytes(serialization.Encoding.PEM).decode()


GOOD_CA = make_ca("shared transport CA", not_before=CERTS_FROM)
OTHER_CA = make_ca("other CA", not_before=CERTS_FROM)
# GOOD_CA re-issued: same key and subject, another serial and validity.
REISSUED_CA = make_ca("shared transport CA", key=GOOD_CA.key, not_before=CERTS_FROM, days=3000)

# (id, invalid config, stack key the message names, pattern of the message)
BAD_CONFIGS: list[tuple[str, Raw, str, str]] = [
    ("no clusters", {}, "clusters", "is required"),
    ("empty clusters", {"clusters": []}, "clusters", "non-empty list"),
    ("top-level typo", mutate(set_path("clustrs", 1)), "clustrs", "did you mean 'clusters'"),
    ("cluster typo key", mutate(set_path("clusters[0].delivry", "vm")), "clusters[0].delivry",
     "did you mean 'delivery'"),
    # A key the `--path` syntax would read otherwise is named quoted, as `--path` takes it.
    ("empty key", mutate(set_path("clusters[0].ca", {"": "generated"})), 'clusters[0].ca[""]',
     "unknown key; known keys: certPem"),
    ("dotted key", mutate(lambda raw: raw["clusters"][0].update({"node.name": "es-1"})),
     'clusters[0]["node.name"]', "unknown key; did you mean 'name'"),
    ("key with a space", mutate(set_path("clusters[0].nodes[0].dns ", [])),
     'clusters[0].nodes[0]["dns "]', "unknown key; did you mean 'dns'"),
    ("empty top-level key", {**stack(), "": 1}, '[""]', "unknown key; known keys: clusters"),
    ("bad cluster name", mutate(set_path("clusters[0].name", "Logs_1")), "clusters[0].name",
     "'Logs_1' is not a valid cluster name"),
    ("duplicate cluster", stack(vm_cluster("a"), vm_cluster("a")), "clusters",
     "cluster name 'a' is used 2 times"),
    ("no delivery", mutate(delete_path("clusters[0].delivery")), "clusters[0].delivery",
     "is required; one of 'vm', 'eck'"),
    ("bad delivery", mutate(set_path("clusters[0].delivery", "ssh")), "clusters[0].delivery",
     "must be one of 'vm', 'eck', got 'ssh'"),
    ("P-224", mutate(set_path("clusters[0].keyAlgorithm", "ecdsa-p224")),
     "clusters[0].keyAlgorithm", "P-224 is pulumi-tls's ECDSA default"),
    ("RSA-1024", mutate(set_path("clusters[0].keyAlgorithm", "rsa-1024")),
     "clusters[0].keyAlgorithm", "RSA-1024 is broken"),
    ("unknown algorithm", mutate(set_path("clusters[0].keyAlgorithm", "dsa")),
     "clusters[0].keyAlgorithm", "must be one of 'ecdsa-p256'"),
    ("renew >= validity", mutate(set_path("clusters[0].nodeCertificates",
                                           {"validityDays": 30, "renewBeforeDays": 30})),
     "clusters[0].nodeCertificates.renewBeforeDays", "must be shorter than validityDays"),
    ("node validity too long", mutate(set_path("clusters[0].nodeCertificates.validityDays", 3000)),
     "clusters[0].nodeCertificates.validityDays", "between 1 and 825"),
    ("validity not a number", mutate(set_path("clusters[0].ca.validityDays", "ten years")),
     "clusters[0].ca.validityDays", "must be a whole number"),
    ("node outlives CA", mutate(set_path("clusters[0].ca.validityDays", 300)),
     "clusters[0].ca.validityDays", "must not outlive its CA"),
    # `$` matches before a final line break: these went into SANs, file paths and resources.
    ("cluster name with a line break", mutate(set_path("clusters[0].name", "logs\n")),
     "clusters[0].name", r"'logs\\n' is not a valid cluster name"),
    ("node name with a line break", mutate(set_path("clusters[0].nodes[0].name", "es-1\n")),
     "clusters[0].nodes[0].name", r"'es-1\\n' is not a valid node name"),
    ("DNS name with a line break",
     mutate(set_path("clusters[0].nodes[0].dns", ["es-1.example.internal\n"])),
     "clusters[0].nodes[0].dns[0]", r"'es-1.example.internal\\n' is not a valid DNS name"),
    ("bad DNS name", mutate(set_path("clusters[0].nodes[0].dns", ["es_1.example"])),
     "clusters[0].nodes[0].dns[0]", "'es_1.example' is not a valid DNS name"),
    ("wildcard", mutate(set_path("clusters[0].nodes[0].dns", ["*.example.internal"])),
     "clusters[0].nodes[0].dns[0]", "no wildcards"),
    ("IPv4 address as a DNS name", mutate(set_path("clusters[0].nodes[0].dns", ["10.10.0.11"])),
     "clusters[0].nodes[0].dns[0]",
     r"'10.10.0.11' is an IP address; list it under clusters\[0\]\.nodes\[0\]\.ips \(a DNS "
     r"name SAN does not match a peer that connects by address\)"),
    ("IPv6 address as a DNS name", mutate(set_path("clusters[0].nodes[1].dns", ["FD00::2"])),
     "clusters[0].nodes[1].dns[0]",
     r"'FD00::2' is an IP address; list it under clusters\[0\]\.nodes\[1\]\.ips"),
    ("all-digit last label", mutate(set_path("clusters[0].nodes[0].dns", ["es-1.10"])),
     "clusters[0].nodes[0].dns[0]",
     r"'es-1.10' ends in an all-digit label like an address; list it under "
     r"clusters\[0\]\.nodes\[0\]\.ips"),
    ("bad IP", mutate(set_path("clusters[0].nodes[1].ips", ["10.0.0.300"])),
     "clusters[0].nodes[1].ips[0]", "'10.0.0.300' is not an IPv4 or IPv6 address"),
    ("IPv6 address with a zone", mutate(set_path("clusters[0].nodes[1].ips", ["fe80::2%eth0"])),
     "clusters[0].nodes[1].ips[0]",
     r"'fe80::2%eth0' has a zone index \(%eth0\), which a certificate's IP SAN cannot hold "
     r"\(pulumi-tls refuses the address\); list it as 'fe80::2'"),
    # JSSE reads an IPv4-mapped SAN as the IPv4 address (so es-2 passed for es-1's 10.0.0.1
    # under verification_mode full), OpenSSL does not match it at all; neither was noticed.
    ("IPv4-mapped IPv6 address", mutate(set_path("clusters[0].nodes[1].ips", ["::ffff:10.0.0.1"])),
     "clusters[0].nodes[1].ips[0]",
     r"'::ffff:10.0.0.1' is the IPv4 address 10.0.0.1 written as IPv6: .* JSSE.* list it as "
     r"'10.0.0.1'"),
    ("duplicate node", mutate(set_path("clusters[0].nodes[1].name", "es-1")),
     "clusters[0].nodes", "node name 'es-1' is used 2 times"),
    ("node without names", mutate(set_path("clusters[0].nodes[0]", {"name": "es-1"})),
     "clusters[0].nodes[0]", "has neither dns nor ips"),
    ("shared SAN", mutate(set_path("clusters[0].nodes[1].ips", ["10.0.0.1"])),
     "clusters[0].nodes", "'10.0.0.1' is claimed by nodes es-1, es-2"),
    # metrics' bundle was written inside the bundle of logs' node es-1
    # (out/x/logs/es-1/metrics/certs/), so copying that bundle to es-1 delivered metrics' key too.
    ("bundles inside another cluster's", stack(
        {**vm_cluster(), "vm": {"outputDir": "out/x"}},
        {**vm_cluster("metrics"), "vm": {"outputDir": "out/x/logs/es-1"},
         "nodes": [{"name": "certs", "dns": ["m-1.example.internal"]}]}),
     "clusters[1].vm.outputDir",
     r"'out/x/logs/es-1' puts the bundles of cluster metrics inside those of cluster logs "
     r"\(/.*/out/x/logs\): .*another cluster's node key and CA \(INV-CA-DEDICATED, INV-CUSTODY\); "
     r"give cluster metrics an outputDir outside /.*/out/x/logs\Z"),
    ("bundles around another cluster's", stack(
        {**vm_cluster(), "vm": {"outputDir": "out/x/metrics/./"}},
        {**vm_cluster("metrics"), "vm": {"outputDir": "out/x"},
         "nodes": [{"name": "m-1", "dns": ["m-1.example.internal"]}]}),
     "clusters[0].vm.outputDir",
     r"puts the bundles of cluster logs inside those of cluster metrics"),
    # Accepted, then refused by the bundles' provider check after the CA and keys were made.
    ("NUL in outputDir", mutate(set_path("clusters[0].vm", {"outputDir": "out/\0x"})),
     "clusters[0].vm.outputDir", r"'out/\\x00x' holds a NUL character"),
    ("NUL in configDir", mutate(set_path("clusters[0].vm", {"configDir": "/etc/\0es"})),
     "clusters[0].vm.configDir", r"'/etc/\\x00es' holds a NUL character"),
    ("vm without nodes", mutate(set_path("clusters[0].nodes", [])),
     "clusters[0].nodes", "at least one node"),
    ("client auth none", mutate(set_path("clusters[0].transport.clientAuthentication", "none")),
     "clusters[0].transport.clientAuthentication", r"'none' lets anyone .* \(INV-MTLS\)"),
    ("expired waiver", mutate(set_path("clusters[0].transport", {
        "clientAuthentication": "optional",
        "waiver": {"name": "W-1", "reason": "migration", "expires": "2026-01-01"}})),
     "clusters[0].transport.waiver.expires", "the waiver expired on 2026-01-01"),
    ("stale waiver", mutate(set_path("clusters[0].transport.waiver",
                                     {"name": "W-1", "reason": "old"})),
     "clusters[0].transport.waiver", "waives nothing"),
    ("waiver without reason", mutate(set_path("clusters[0].transport", {
        "clientAuthentication": "none", "waiver": {"name": "W-2"}})),
     "clusters[0].transport.waiver.reason", "is required"),
    ("verification none", mutate(set_path("clusters[0].transport.verificationMode", "none")),
     "clusters[0].transport.verificationMode", r"\(INV-VERIFY\)"),
    ("ECK owns verification", mutate(set_path("clusters[1].transport.verificationMode", "full")),
     "clusters[1].transport.verificationMode", "ECK owns"),
    ("ECK without nodeSets", mutate(set_path("clusters[1].eck.nodeSets", [])),
     "clusters[1].eck.nodeSets", "at least one nodeSet"),
    ("ECK nodeSet count", mutate(set_path("clusters[1].eck.nodeSets[0].count", -1)),
     "clusters[1].eck.nodeSets[0].count", "between 0 and 1000"),
    ("nodes under ECK", mutate(set_path("clusters[1].nodes", [{"name": "x", "dns": ["x.y"]}])),
     "clusters[1].nodes", "only used with delivery: vm"),
    ("ECK bad namespace", mutate(set_path("clusters[1].eck.namespace", "Prod")),
     "clusters[1].eck.namespace", "not a valid namespace"),
    ("ECK version with a line break", mutate(set_path("clusters[1].eck.version", "8.19.2\n")),
     "clusters[1].eck.version", r"'8.19.2\\n' is not a version like 8.19.2"),
    ("VM owner with a line break", mutate(set_path("clusters[0].vm.owner", "elasticsearch\n")),
     "clusters[0].vm.owner", r"'elasticsearch\\n' must be 'user' or 'user:group'"),
    ("VM owner root", mutate(set_path("clusters[0].vm.owner", "root:elasticsearch")),
     "clusters[0].vm.owner", r"'root:elasticsearch' makes root the owner of the 0600 transport "
     r"key .* refuses to run as root .*; name the user Elasticsearch runs as, like "
     r"elasticsearch:elasticsearch"),
    # A VM bundle is copied to its node whole; a GitOps tool applies every YAML file rendered.
    ("ECK manifests rendered into a VM bundle", mutate(set_path(
        "kubernetes.renderYamlToDirectory", "out/dev/logs/es-1/manifests")),
     "kubernetes.renderYamlToDirectory", r"'out/dev/logs/es-1/manifests' lies in the VM bundles "
     r"of cluster logs \(.*\): the rendered Secrets, with every pod's transport key .* would be "
     r"copied to the nodes of logs .*\(INV-CUSTODY, INV-CA-DEDICATED\); render outside every "
     r"<vm.outputDir>/<cluster>"),
    ("ECK manifests rendered around the VM bundles", mutate(set_path(
        "kubernetes.renderYamlToDirectory", "out")),
     "kubernetes.renderYamlToDirectory", r"'out' holds the VM bundles of cluster logs .*: its "
     r"node keys would sit among the manifests a GitOps tool applies"),
    ("ECK duplicate target",
     stack(eck_cluster("a"), {**eck_cluster("b"), "eck": eck_cluster("a")["eck"]}),
     "clusters", "ECK Elasticsearch 'elastic/a' is used 2 times"),
    ("generated with certPem", mutate(set_path("clusters[0].ca.certPem", GOOD_CA.cert_pem)),
     "clusters[0].ca.certPem", "only used with ca.mode: provided"),
    ("provided without cert", mutate(set_path("clusters[0].ca.mode", "provided")),
     "clusters[0].ca.certPem", "is required"),
    ("provided not a CA", provided(
        make_ca(is_ca=False, not_before=CERTS_FROM).cert_pem, GOOD_CA.key_pem),
     "clusters[0].ca.certPem", r"is not a CA \(basicConstraints CA:false\)"),
    ("provided without keyCertSign", provided(
        (ca := make_ca(key_cert_sign=False, not_before=CERTS_FROM)).cert_pem, ca.key_pem),
     "clusters[0].ca.certPem", "has no keyCertSign"),
    ("provided expired", provided(
        (old := make_ca(not_before=NOW - timedelta(days=400), days=300)).cert_pem, old.key_pem),
     "clusters[0].ca.certPem", "expired on"),
    ("provided expires soon", provided(
        (short := make_ca(not_before=CERTS_FROM, days=100)).cert_pem, short.key_pem),
     "clusters[0].ca.certPem", "before a node certificate issued today"),
    ("provided key mismatch", provided(GOOD_CA.cert_pem, OTHER_CA.key_pem),
     "clusters[0].ca.keyPem", "does not match the public key of ca.certPem"),
    ("provided key garbage", provided(GOOD_CA.cert_pem, "not a key"),
     "clusters[0].ca.keyPem", "is not an unencrypted PEM private key"),
    # OpenSSL and Go apply a CA's EKU to what it issues: "unsuitable certificate purpose".
    ("provided CA for server auth only", provided(
        (server_ca := make_ca(not_before=CERTS_FROM, extensions=[(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)])).cert_pem,
        server_ca.key_pem),
     "clusters[0].ca.certPem", r"has an extendedKeyUsage without clientAuth: OpenSSL and Go "
     r"refuse every node certificate it issues .*\(INV-EKU\); use a CA certificate without "
     r"extendedKeyUsage, or with both clientAuth and serverAuth"),
    # `cat ca.crt ca.key`: the key went to every node's CA file, the trust ConfigMap and the
    # plain-text stack outputs.
    ("provided certPem with the CA key", provided(GOOD_CA.cert_pem + GOOD_CA.key_pem,
                                                  GOOD_CA.key_pem),
     "clusters[0].ca.certPem", r"holds a private key \(PEM block 'PRIVATE KEY'\) besides "
     r"certificates: it would be delivered with them to every node \(CA bundle or trust "
     r"ConfigMap\) and the stack outputs \(INV-CUSTODY\).*treat that key as exposed"),
    ("provided certPem with a CRL", provided(
        GOOD_CA.cert_pem + "-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n",
        GOOD_CA.key_pem),
     "clusters[0].ca.certPem", r"holds PEM block 'X509 CRL' besides certificates"),
    # pulumi-tls reads the first PEM block as the key: the update failed at the first node
    # certificate ("unable to determine parser for PEM preamble"), its keys already created.
    ("provided key as `openssl ecparam -genkey` writes it", provided(
        GOOD_CA.cert_pem, "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n"
        "-----END EC PARAMETERS-----\n" + GOOD_CA.traditional_key_pem),
     "clusters[0].ca.keyPem", r"holds 2 PEM blocks \('EC PARAMETERS', 'EC PRIVATE KEY'\): "
     r"pulumi-tls and ECK read only the first as the key .* give the one private key block "
     r"alone \(`openssl ecparam -genkey` writes 'EC PARAMETERS' first: add -noout\)"),
    # OpenSSL and Go hold a CA's nameConstraints against its node certificates.
    ("provided CA constrained to other names", provided(
        (narrow := make_ca(not_before=CERTS_FROM, extensions=[(x509.NameConstraints(
            permitted_subtrees=[x509.DNSName("example.internal"),
                                x509.IPAddress(ipaddress.ip_network("10.0.0.0/31"))],
            excluded_subtrees=[x509.DNSName("es-2.example.internal")]), True)])).cert_pem,
        narrow.key_pem),
     "clusters[0].ca.certPem", r"has nameConstraints that do not permit "
     r"'es-2.example.internal', '10.0.0.2' of node es-2: OpenSSL and Go refuse .*; use a CA "
     r"whose nameConstraints permit every node's DNS names and IPs, or none"),
    ("provided weak CA", provided(
        (weak := make_ca(key=make_key("p224"), not_before=CERTS_FROM)).cert_pem, weak.key_pem),
     "clusters[0].ca.certPem", "use P-256 or P-384"),
    ("provided public root", provided(_public_root_pem(), GOOD_CA.key_pem),
     "clusters[0].ca.certPem", r"is a public root CA .* \(INV-CA-DEDICATED\)"),
    ("provided chain", provided(GOOD_CA.cert_pem + OTHER_CA.cert_pem, GOOD_CA.key_pem),
     "clusters[0].ca.certPem", "holds 2 certificates"),
    ("provided not PEM", provided("-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----",
                                  GOOD_CA.key_pem),
     "clusters[0].ca.certPem", "is not a PEM certificate"),
    # `cryptography` loads these, and raises only when a check reads the part that is damaged.
    ("provided CA of an unknown key type", provided(
        damaged_pem(GOOD_CA.cert_pem, EC_PUBLIC_KEY_OID, UNKNOWN_KEY_OID), GOOD_CA.key_pem),
     "clusters[0].ca.certPem",
     r"holds a certificate that cannot be read \(Unknown key type: 1\.2\.840\.10045\.2\.99\): "
     r"it is damaged, or its key is of a type no TLS stack of Elasticsearch takes; paste"),
    ("provided CA with a malformed extension", provided(
        damaged_pem(GOOD_CA.cert_pem, CA_BASIC_CONSTRAINTS, MALFORMED_BASIC_CONSTRAINTS),
        GOOD_CA.key_pem),
     "clusters[0].ca.certPem", r"holds a certificate that cannot be read \(error parsing asn1"),
    ("provided CA of X.509 version 13", provided(
        damaged_pem(GOOD_CA.cert_pem, X509_V3, X509_V13), GOOD_CA.key_pem),
     "clusters[0].ca.certPem", r"is not a PEM certificate \(13 is not a valid X509 version\)"),
    ("provided CA with a negative serial number", provided(
        damaged_pem(GOOD_CA.cert_pem, *negative_serial(GOOD_CA)), GOOD_CA.key_pem),
     "clusters[0].ca.certPem",
     r"has serial number -\d+; RFC 5280 requires a positive one, and pulumi-tls \(Go's x509\) "
     r"refuses a negative one when it signs with the CA: re-issue the CA certificate"),
    ("provided CA key of an unknown type", provided(
        GOOD_CA.cert_pem, damaged_pem(GOOD_CA.key_pem, EC_PUBLIC_KEY_OID, UNKNOWN_KEY_OID)),
     "clusters[0].ca.keyPem", r"is not an unencrypted PEM private key \(Unknown key type"),
    ("shared provided CA", {"clusters": [
        provided(GOOD_CA.cert_pem, GOOD_CA.key_pem)["clusters"][0],
        {**provided(GOOD_CA.cert_pem, GOOD_CA.key_pem)["clusters"][0], "name": "other"},
    ]}, "clusters", r"clusters logs, other share one CA key .*\(INV-CA-DEDICATED\)"),
    ("provided CA re-issued with the same key", {"clusters": [
        provided(GOOD_CA.cert_pem, GOOD_CA.key_pem)["clusters"][0],
        {**provided(REISSUED_CA.cert_pem, REISSUED_CA.key_pem)["clusters"][0], "name": "other"},
    ]}, "clusters", r"clusters logs, other share one CA key \(their ca.certPem hold the same "
     r"public key, even if the certificates differ\); .*\(INV-CA-DEDICATED\)"),
    ("resource name clash", stack(
        {**vm_cluster("a"), "nodes": [{"name": "b-c", "dns": ["b.c"]}]},
        {**vm_cluster("a-b"), "nodes": [{"name": "c", "dns": ["c.d"]}]}),
     "clusters", "cluster-node resource name 'a-b-c' is used 2 times"),
    ("CA common name too long", mutate(set_path("clusters[0].ca.commonName", "x" * 65)),
     "clusters[0].ca.commonName", "is 65 characters; X.509 allows 64"),
    ("cluster not a map", {"clusters": ["logs"]}, "clusters[0]", "must be a map, got a string"),
]


@pytest.mark.parametrize(("raw", "key", "pattern"), [c[1:] for c in BAD_CONFIGS],
                         ids=[c[0] for c in BAD_CONFIGS])
def test_invalid_config_is_refused_with_key_and_fix(raw: Raw, key: str, pattern: str) -> None:
    problems = problems_of(raw)
    prefix = re.escape(f"es-transport-pki:{key}: ")
    assert any(re.match(prefix + ".*" + pattern, p) for p in problems), problems


def test_plain_text_ca_key_is_refused_with_the_secret_command() -> None:
    problems = problems_of(provided(GOOD_CA.cert_pem, GOOD_CA.key_pem), secret=False)
    assert problems == [
        "es-transport-pki:clusters[0].ca.keyPem: is plain text in the stack file; store the CA "
        "key encrypted with `pulumi config set --secret --path 'clusters[0].ca.keyPem' < ca.key`"
        " (INV-CUSTODY)"
    ]


def _two_provided_clusters() -> Raw:
    first = provided(GOOD_CA.cert_pem, GOOD_CA.key_pem)["clusters"][0]
    second = {**provided(OTHER_CA.cert_pem, OTHER_CA.key_pem)["clusters"][0], "name": "other"}
    return stack(first, second)


def test_a_plain_text_ca_key_beside_a_secure_one_is_refused() -> None:
    # The engine reports `clusters` secret as soon as one value in it is `secure:`; the stack
    # file shows that only clusters[0].ca.keyPem is.
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(
            _two_provided_clusters(), stack="dev", now=NOW, secret_keys={"clusters"},
            secure_values={"clusters": frozenset({"clusters[0].ca.keyPem"})},
        )
    assert [str(p) for p in caught.value.problems] == [
        "es-transport-pki:clusters[1].ca.keyPem: is plain text in the stack file; store the CA "
        "key encrypted with `pulumi config set --secret --path 'clusters[1].ca.keyPem' < ca.key`"
        " (INV-CUSTODY)"
    ]


@pytest.mark.parametrize("secure", [
    {"clusters": frozenset({"clusters[0].ca.keyPem", "clusters[1].ca.keyPem"})},
    {"clusters": frozenset({"clusters"})},  # `pulumi config set --secret clusters '[...]'`
    {"clusters": frozenset({"clusters[1].ca", "clusters[0]"})},
    {},  # the stack file does not hold `clusters` (e.g. it comes from an ESC environment)
], ids=["each key", "whole list", "enclosing maps", "key not in the stack file"])
def test_ca_keys_under_a_secure_value_are_accepted(secure: dict[str, frozenset[str]]) -> None:
    spec = parse_stack_config(
        _two_provided_clusters(), stack="dev", now=NOW, secret_keys={"clusters"},
        secure_values=secure,
    )
    assert [c.ca.provided is not None for c in spec.clusters] == [True, True]


def test_every_problem_is_reported_at_once() -> None:
    changes = [
        set_path("clusters[0].keyAlgorithm", "ecdsa-p224"),
        set_path("clusters[0].nodes[0].dns", ["bad_name"]),
        set_path("clusters[0].transport.verificationMode", "none"),
        set_path("clusters[1].eck.nodeSets[0].count", "three"),
        set_path("unknown", True),
    ]
    raw = stack(vm_cluster(), eck_cluster())
    for change in changes:
        change(raw)
    keys = [p.split(": ")[0] for p in problems_of(raw)]
    assert sorted(keys) == sorted([
        "es-transport-pki:unknown",
        "es-transport-pki:clusters[0].keyAlgorithm",
        "es-transport-pki:clusters[0].nodes[0].dns[0]",
        "es-transport-pki:clusters[0].transport.verificationMode",
        "es-transport-pki:clusters[1].eck.nodeSets[0].count",
    ])


def test_the_name_key_and_trust_checks_report_together() -> None:
    shared = provided(GOOD_CA.cert_pem, GOOD_CA.key_pem)["clusters"][0]
    eck = eck_cluster()
    eck["ca"] = {"mode": "provided", "certPem": REISSUED_CA.cert_pem,
                 "keyPem": REISSUED_CA.key_pem}
    eck["eck"] |= {"name": "s" * 37, "extraDns": ["10.1.2.3"], "nodeSets": [{
        "name": "n" * 24, "count": 1,
        "config": {"transport.profiles.open.xpack.security.ssl.client_authentication": "none"}}]}
    shared["nodes"][0]["dns"] = ["10.0.0.9"]
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(
            stack(shared, eck), stack="dev", now=NOW, secret_keys={"clusters"},
            secure_values={"clusters": frozenset({"clusters[1].ca.keyPem"})},
        )
    keys = [p.key for p in caught.value.problems]
    assert keys == [
        "clusters[0].ca.keyPem",
        "clusters[0].nodes[0].dns[0]",
        "clusters[1].eck.name",
        "clusters[1].eck.nodeSets[0].config"
        '["transport.profiles.open.xpack.security.ssl.client_authentication"]',
        "clusters[1].eck.nodeSets[0].name",
        "clusters[1].eck.extraDns[0]",
        "clusters",
    ], caught.value.problems


def test_defaults_are_safe() -> None:
    spec = parse(stack(vm_cluster(), eck_cluster()))
    vm, eck = spec.clusters
    assert vm.delivery is Delivery.VM and eck.delivery is Delivery.ECK
    assert vm.key_algorithm is KeyAlgorithm.ECDSA_P256
    assert vm.key_algorithm.ecdsa_curve == "P256"
    assert vm.ca.mode is CaMode.GENERATED
    assert (vm.ca.lifetime.validity_days, vm.ca.lifetime.renew_before_days) == (1825, 180)
    assert (vm.node_lifetime.validity_days, vm.node_lifetime.renew_before_days) == (365, 30)
    assert vm.transport.client_authentication is ClientAuthentication.REQUIRED
    assert vm.transport.verification_mode is VerificationMode.FULL
    # ECK sets verification_mode itself; the model says what will be in force.
    assert eck.transport.verification_mode is VerificationMode.CERTIFICATE
    assert vm.ca.common_name == "logs transport CA (dev)"


def test_names_are_normalised() -> None:
    raw = mutate(set_path("clusters[0].nodes[0]", {
        "name": "es-1", "dns": ["ES-1.Example.Internal"], "ips": ["2001:DB8:0:0::1"]}))
    node = parse(raw).clusters[0].nodes[0]
    assert node.dns_names == ("es-1.example.internal",)
    assert node.ip_addresses == ("2001:db8::1",)


def test_digits_inside_a_dns_name_are_fine() -> None:
    raw = mutate(set_path("clusters[0].nodes[0].dns", ["10.example.internal", "es-1.0x10"]))
    assert parse(raw).clusters[0].nodes[0].dns_names == ("10.example.internal", "es-1.0x10")


def test_eck_pods_follow_eck_naming() -> None:
    cluster = eck_cluster()
    cluster["eck"]["nodeSets"] = [{"name": "masters", "count": 2}, {"name": "data", "count": 1}]
    cluster["eck"]["extraDns"] = ["search.example.com"]
    nodes = parse(stack(cluster)).clusters[0].nodes
    assert [n.name for n in nodes] == [
        "search-es-masters-0", "search-es-masters-1", "search-es-data-0"]
    assert nodes[2].dns_names == (
        "search-es-data-0.search-es-data.elastic.svc",
        "search-es-data-0.search-es-data.elastic.svc.cluster.local",
        "search-es-transport.elastic.svc",
        "search-es-transport.elastic.svc.cluster.local",
        "search.example.com",
    )


def test_waiver_allows_optional_client_auth() -> None:
    raw = mutate(set_path("clusters[0].transport", {
        "clientAuthentication": "optional",
        "waiver": {"name": "SEC-42", "reason": "rolling migration", "expires": "2027-01-31"}}))
    transport = parse(raw).clusters[0].transport
    assert transport.client_authentication is ClientAuthentication.OPTIONAL
    assert transport.waiver is not None and transport.waiver.name == "SEC-42"


def test_provided_ca_is_accepted_and_key_hidden_from_repr() -> None:
    spec = parse(provided(GOOD_CA.cert_pem, GOOD_CA.key_pem))
    ca = spec.clusters[0].ca
    assert ca.mode is CaMode.PROVIDED and ca.provided is not None
    assert ca.provided.public_key_der == GOOD_CA.cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert "PRIVATE KEY" not in repr(ca)


@pytest.mark.parametrize("owner", ["es:root", "rootless", "elasticsearch"])
def test_a_vm_owner_elasticsearch_can_run_as_is_accepted(owner: str) -> None:
    # Only the user must not be root: the key is 0600, read by its owner alone.
    vm = parse(mutate(set_path("clusters[0].vm.owner", owner))).clusters[0].vm
    assert vm is not None and vm.owner == owner


def test_provided_ca_text_around_its_certificate_is_accepted() -> None:
    # What `openssl pkcs12 -nokeys` prints: attributes before the block, no other PEM block.
    text = "Bag Attributes\n    friendlyName: ca\nsubject=CN = shared transport CA\n"
    spec = parse(provided(text + GOOD_CA.cert_pem, GOOD_CA.key_pem))
    assert spec.clusters[0].ca.provided is not None


def test_provided_ca_key_with_text_before_it_is_accepted() -> None:
    # What `openssl pkcs12 -nocerts -nodes` prints; pulumi-tls and ECK skip to the first block.
    text = "Bag Attributes\n    friendlyName: ca\nKey Attributes: <No Attributes>\n"
    provided_ca = parse(provided(GOOD_CA.cert_pem, text + GOOD_CA.key_pem)).clusters[0].ca.provided
    assert provided_ca is not None and provided_ca.key_pem == text + GOOD_CA.key_pem


def test_provided_ca_whose_name_constraints_permit_every_node_is_accepted() -> None:
    ca = make_ca(not_before=CERTS_FROM, extensions=[(x509.NameConstraints(
        permitted_subtrees=[x509.DNSName(".example.internal"), x509.RFC822Name("example.com"),
                            x509.IPAddress(ipaddress.ip_network("10.0.0.0/24"))],
        excluded_subtrees=[x509.DNSName("es-3.example.internal")]), True)])
    assert parse(provided(ca.cert_pem, ca.key_pem)).clusters[0].ca.provided is not None


@pytest.mark.parametrize("directory", ["rendered/dev", "out/dev-manifests", "out/dev/logs-k8s"])
def test_manifests_rendered_apart_from_the_vm_bundles_are_accepted(directory: str) -> None:
    raw = mutate(set_path("kubernetes.renderYamlToDirectory", directory))
    assert parse(raw).kubernetes.render_yaml_to_directory == directory
    # Without an ECK cluster nothing is rendered.
    del raw["clusters"][1]
    raw["kubernetes"]["renderYamlToDirectory"] = "out"
    assert parse(raw).kubernetes.render_yaml_to_directory == "out"


def test_provided_ca_with_both_transport_usages_is_accepted() -> None:
    ca = make_ca(not_before=CERTS_FROM, extensions=[(x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), False)])
    provided_ca = parse(provided(ca.cert_pem, ca.key_pem)).clusters[0].ca.provided
    assert provided_ca is not None and provided_ca.cert_pem == ca.cert_pem


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_example_stacks_are_valid(name: str) -> None:
    config = yaml.safe_load((REPO / "stacks" / f"Pulumi.{name}.yaml").read_text())["config"]
    raw = {key.split(":", 1)[1]: value for key, value in config.items()
           if key.startswith("es-transport-pki:")}
    spec = parse_stack_config(raw, stack=name, now=NOW)
    # Every cluster has nodes to issue certificates for, except where ECK issues them.
    assert spec.clusters and all(
        cluster.nodes or (cluster.eck and cluster.eck.certificates.value == "ca-to-eck")
        for cluster in spec.clusters
    )


@pytest.mark.parametrize(("raw", "key", "pattern"), [c[1:] for c in BAD_CONFIGS],
                         ids=[c[0] for c in BAD_CONFIGS])
def test_the_program_registers_nothing_for_invalid_config(
    raw: Raw, key: str, pattern: str
) -> None:
    state = EngineState()
    config = {f"es-transport-pki:{name}": json.dumps(value) for name, value in raw.items()}
    with pytest.raises(ConfigError, match=re.escape(f"es-transport-pki:{key}: ") + ".*" + pattern):
        run_program(main, config=config, secret_keys=["es-transport-pki:clusters"], state=state)
    assert state.resources == {}


def test_clusters_may_share_an_output_dir_or_use_neighbouring_ones() -> None:
    metrics = {**vm_cluster("metrics"), "nodes": [{"name": "m-1", "dns": ["m-1.example.internal"]}]}
    shared = parse(stack({**vm_cluster(), "vm": {"outputDir": "out/x"}},
                         {**metrics, "vm": {"outputDir": "out/x"}}))
    assert [c.vm.output_dir for c in shared.clusters] == ["out/x", "out/x"]
    # out/x/logs-2/metrics is beside out/x/logs, not in it; without local files nothing is written.
    beside = parse(stack({**vm_cluster(), "vm": {"outputDir": "out/x"}},
                         {**metrics, "vm": {"outputDir": "out/x/logs-2"}},
                         {**vm_cluster("audit"), "nodes": [{"name": "a-1", "dns": ["a.internal"]}],
                          "vm": {"outputDir": "out/x/logs", "writeLocalFiles": False}}))
    assert [c.vm.output_dir for c in beside.clusters] == ["out/x", "out/x/logs-2", None]


def _nested(levels: int) -> object:
    value: object = "x"
    for _ in range(levels):
        value = {"a": value}
    return value


def test_a_value_nested_deeper_than_any_setting_is_refused_naming_where() -> None:
    """The checks read values recursively: 500 levels of ECK passthrough settings were a
    RecursionError. A nodeSet's `config` is the sixth map or list; 64 in all are read."""
    def config_of_depth(depth: int) -> Raw:
        return mutate(set_path("clusters[1].eck.nodeSets[0].config", _nested(depth - 5)))

    parse(config_of_depth(64))
    for depth in (65, 500, 5000):
        with pytest.raises(ConfigError) as caught:
            parse(config_of_depth(depth))
        [problem] = caught.value.problems
        assert problem.key == "clusters[1].eck.nodeSets[0].config" + ".a" * 59
        assert problem.message == (
            "nests more than 64 maps and lists deep, deeper than any setting, so it is not read; "
            "remove the nesting below this key (a value pasted or generated into it?)")


def test_config_text_nested_deeper_than_json_reads_is_refused_naming_the_key() -> None:
    """The engine hands the program each key as JSON text; Python's decoder gives up (a
    RecursionError) before 1000 levels."""
    config = {"es-transport-pki:clusters": "[" * 5000 + "]" * 5000,
              "es-transport-pki:protectCa": "false"}
    state = EngineState()
    with pytest.raises(ConfigError) as caught:
        run_program(main, config=config, state=state)
    assert [str(p) for p in caught.value.problems] == [
        "es-transport-pki:clusters: nests more than 64 maps and lists deep, deeper than any "
        "setting, so it is not read; remove the nesting below this key (a value pasted or "
        "generated into it?)"]
    assert state.resources == {}


def _message_of(raw: Raw, **secrecy: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw, stack="dev", now=NOW, **secrecy)
    return str(caught.value)


def test_a_refused_value_that_was_encrypted_is_not_quoted() -> None:
    """`pulumi config set --secret --path 'clusters[0].ca' '<json>'` hands the program the
    whole `ca` as one decrypted string; refusing it ("must be a map, got a string '...'")
    must not print the CA key it holds, neither plain nor escaped."""
    ca = make_ca("logs transport CA")
    secure_ca = json.dumps({"mode": "provided", "certPem": ca.cert_pem, "keyPem": ca.key_pem})
    raw: Raw = {"clusters": [{**vm_cluster(), "ca": secure_ca}]}
    message = _message_of(raw, secret_keys={"clusters"},
                          secure_values={"clusters": frozenset({"clusters[0].ca"})})
    assert message.endswith("clusters[0].ca: must be a map, got a string '[secret]...")
    assert "PRIVATE KEY" not in message and "mode" not in message
    # The whole `clusters` encrypted, decrypted to a map: each of its strings is a secret.
    whole = {"clusters": {"logs": {"ca": {"keyPem": ca.key_pem}}}}
    message = _message_of(whole, secret_keys={"clusters"},
                          secure_values={"clusters": frozenset({"clusters"})})
    assert "must be a non-empty list of clusters" in message
    assert "PRIVATE KEY" not in message and "[secret]" in message
    # No stack file to say which (an ESC environment): all of a secret top-level key's values.
    message = _message_of({"clusters": "TOPSECRETVALUE-abcdef"}, secret_keys={"clusters"})
    assert "got '[secret]'" in message and "TOPSECRET" not in message
    # Plain values are still quoted: that is what makes a message useful.
    plain = {"clusters": [{**vm_cluster(), "ca": "generated-please"}]}
    assert "got a string 'generated-please'" in _message_of(plain)
