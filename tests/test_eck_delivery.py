"""ECK delivery under the mock runtime: manifests valid and consistent, per-pod certificates that
complete mutual TLS in OpenSSL and JSSE, custody of keys, both modes, and scaling."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from components import eck_manifests
from components.model import ClusterSpec
from harness import eck_operator, tls_emulator
from harness.handshake import (
    HandshakePair,
    PemIdentity,
    jdk_available,
    jsse_handshakes,
    openssl_handshakes,
)
from harness.mock_runtime import EngineState, Recording, Registration, Secret, reveal
from tests.stack_runs import JUST_BEFORE_NOW, LOCALLY_SIGNED, cert_of, run_clusters
from tests.test_config import parse
from tests.test_eck_schemas import PASSTHROUGH_SPEC, core_errors, elasticsearch_errors
from tests.x509_factory import make_ca, make_key

NOW = JUST_BEFORE_NOW  # its certificates are handshake-tested
SECRET = "kubernetes:core/v1:Secret"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
ELASTICSEARCH = "kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch"
PROVIDER = "pulumi:providers:kubernetes"
DELIVERY = "es-transport-pki:eck_delivery:EckDelivery"
KUBERNETES_TYPES = (SECRET, CONFIG_MAP, ELASTICSEARCH)
MOUNT = "/usr/share/elasticsearch/config/transport-pki"


def clock() -> datetime:
    return NOW


def eck(name: str, node_sets: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    settings = {"name": name, "namespace": f"{name}-ns", "version": "8.19.2",
                "nodeSets": node_sets, **extra}
    return {"name": name, "delivery": "eck", "eck": settings}


PER_NODE = eck("search", [
    {"name": "masters", "count": 3, "config": {"node.roles": ["master"]},
     "podTemplate": {"spec": {"containers": [{"name": "elasticsearch",
                                              "resources": {"limits": {"memory": "2Gi"}}}]}}},
    {"name": "data", "count": 2},
], extraDns=["search.example.com"], spec=PASSTHROUGH_SPEC)
CA_TO_ECK = eck("logs", [{"name": "default", "count": 3}], certificates="ca-to-eck",
                extraDns=["logs.example.com"])
UNMANAGED = {**eck("metrics", [{"name": "default", "count": 2}]), "eck": {
    "name": "metrics", "namespace": "metrics-ns", "manageElasticsearch": False,
    "nodeSets": [{"name": "default", "count": 2}]}}
CLUSTERS = [PER_NODE, CA_TO_ECK, UNMANAGED]


@pytest.fixture(scope="module")
def run() -> Recording:
    return run_clusters(CLUSTERS, clock=clock)


@pytest.fixture(scope="module")
def specs() -> dict[str, ClusterSpec]:
    return {c.name: c for c in parse({"clusters": CLUSTERS}).clusters}


def manifest(registration: Registration) -> dict[str, Any]:
    return dict(reveal(registration.inputs))


def kubernetes_objects(run: Recording) -> Iterator[Registration]:
    return (r for r in run.registrations if r.type in KUBERNETES_TYPES)


def secret_data(registration: Registration) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in manifest(registration)["data"].items()}


def certificates_in(pem: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem.encode())


def test_one_provider_and_the_component_tree(run: Recording) -> None:
    (provider,) = run.of_type(PROVIDER)
    assert provider.name == "kubernetes"
    # Provider config travels as strings. Mutable: renewals update the Secret in place.
    assert (provider.inputs["enableSecretMutable"], provider.inputs["enableConfigMapMutable"]) == (
        "true", "true")
    for cluster in ("search", "logs", "metrics"):
        delivery = run.named(f"{cluster}-eck")
        assert delivery.type == DELIVERY and delivery.parent == run.named(cluster).urn
    roles = {(r.type, r.name) for r in kubernetes_objects(run)}
    assert roles == {
        (CONFIG_MAP, "search-eck-trust"), (SECRET, "search-eck-node-certs"),
        (ELASTICSEARCH, "search-eck-elasticsearch"),
        (CONFIG_MAP, "logs-eck-trust"), (SECRET, "logs-eck-ca-secret"),
        (ELASTICSEARCH, "logs-eck-elasticsearch"),
        (CONFIG_MAP, "metrics-eck-trust"), (SECRET, "metrics-eck-node-certs"),
    }
    for registration in kubernetes_objects(run):
        assert registration.parent == run.named(registration.name.split("-eck-")[0] + "-eck").urn
        assert registration.provider.startswith(provider.urn + "::")


def test_every_manifest_validates(run: Recording) -> None:
    for registration in kubernetes_objects(run):
        body = manifest(registration)
        errors = (
            elasticsearch_errors(body) if registration.type == ELASTICSEARCH else core_errors(body)
        )
        assert errors == [], (registration.name, errors)


def test_names_and_namespaces_are_consistent(
    run: Recording, specs: dict[str, ClusterSpec]
) -> None:
    expected = {
        "search": {"search-transport-pki-ca", "search-transport-pki-certs", "search"},
        "logs": {"logs-transport-pki-ca", "logs-transport-pki-ca-key", "logs"},
        "metrics": {"metrics-transport-pki-ca", "metrics-transport-pki-certs"},
    }
    for cluster, names in expected.items():
        spec_eck = specs[cluster].eck
        assert spec_eck is not None
        objects = [manifest(r) for r in kubernetes_objects(run)
                   if r.name.startswith(f"{cluster}-eck-")]
        assert {o["metadata"]["name"] for o in objects} == names
        assert {o["metadata"]["namespace"] for o in objects} == {spec_eck.namespace}


def _references(spec: dict[str, Any]) -> set[tuple[str, str]]:
    tls = spec["transport"]["tls"]
    refs = {("ConfigMap", tls["certificateAuthorities"]["configMapName"])}
    if "certificate" in tls:
        refs.add(("Secret", tls["certificate"]["secretName"]))
    for node_set in spec["nodeSets"]:
        for volume in node_set.get("podTemplate", {}).get("spec", {}).get("volumes", []):
            if "secret" in volume:
                refs.add(("Secret", volume["secret"]["secretName"]))
    return refs


def test_every_referenced_secret_and_config_map_is_rendered(run: Recording) -> None:
    rendered = {(m["kind"], m["metadata"]["namespace"], m["metadata"]["name"])
                for m in map(manifest, kubernetes_objects(run))}
    specs_by_cluster = {
        "search": manifest(run.named("search-eck-elasticsearch")),
        "logs": manifest(run.named("logs-eck-elasticsearch")),
    }
    for cluster, body in specs_by_cluster.items():
        namespace = body["metadata"]["namespace"]
        refs = _references(body["spec"])
        assert len(refs) == 2, refs
        assert {(kind, namespace, name) for kind, name in refs} <= rendered, cluster
        # ECK reconciles as soon as the resource exists: what it references comes first.
        resource = run.named(f"{cluster}-eck-elasticsearch")
        referenced = {r.urn for r in kubernetes_objects(run)
                      if r.name.startswith(f"{cluster}-eck-") and r.type != ELASTICSEARCH}
        assert referenced <= set(resource.dependencies)
    # manageElasticsearch: false — the snippets reference rendered objects just the same.
    snippets = reveal(run.named("metrics-eck").outputs["specSnippets"])
    assert {("metrics-ns", kind, name) for kind, name in _references(snippets)} <= {
        (ns, kind, name) for kind, ns, name in rendered}


def test_unmanaged_cluster_gets_no_resource_but_exported_snippets(
    run: Recording, specs: dict[str, ClusterSpec]
) -> None:
    assert "metrics-eck-elasticsearch" not in {r.name for r in run.registrations}
    expected = eck_manifests.spec_snippets(specs["metrics"])
    assert reveal(run.named("metrics-eck").outputs["specSnippets"]) == expected
    assert reveal(run.stack_outputs["eckSpecSnippets"]) == {"metrics": expected}


def test_per_node_wiring_points_every_pod_at_its_own_files(run: Recording) -> None:
    body = manifest(run.named("search-eck-elasticsearch"))
    data = secret_data(run.named("search-eck-node-certs"))
    tls = body["spec"]["transport"]["tls"]
    assert tls["selfSignedCertificates"] == {"disabled": True} and "certificate" not in tls
    pods = [f"search-es-{ns['name']}-{i}" for ns in body["spec"]["nodeSets"]
            for i in range(ns["count"])]
    for node_set in body["spec"]["nodeSets"]:
        config = node_set["config"]
        ssl = {k: v for k, v in config.items() if k.startswith("xpack.security.transport.ssl.")}
        # ECK owns enabled/verification_mode; client auth is never weakened here.
        assert ssl == {
            "xpack.security.transport.ssl.client_authentication": "required",
            "xpack.security.transport.ssl.key": f"{MOUNT}/${{POD_NAME}}.tls.key",
            "xpack.security.transport.ssl.certificate": f"{MOUNT}/${{POD_NAME}}.tls.crt",
        }
        template = node_set["podTemplate"]["spec"]
        (volume,) = template["volumes"]
        (container,) = template["containers"]
        (mount,) = container["volumeMounts"]
        assert container["name"] == "elasticsearch"
        assert volume["secret"]["secretName"] == "search-transport-pki-certs"
        assert (mount["name"], mount["mountPath"], mount["readOnly"]) == (
            volume["name"], MOUNT, True)
        for pod in pods:
            for setting in ("key", "certificate"):
                path = ssl[f"xpack.security.transport.ssl.{setting}"].replace("${POD_NAME}", pod)
                assert path.removeprefix(f"{MOUNT}/") in data
    assert body["spec"]["nodeSets"][0]["config"]["node.roles"] == ["master"]
    assert body["spec"]["nodeSets"][0]["podTemplate"]["spec"]["containers"][0]["resources"]


def test_per_node_secret_holds_exactly_every_pods_key_and_certificate_as_secret(
    run: Recording,
) -> None:
    registration = run.named("search-eck-node-certs")
    assert isinstance(registration.inputs["data"], Secret)
    data = secret_data(registration)
    pods = [f"search-es-masters-{i}" for i in range(3)] + [f"search-es-data-{i}" for i in range(2)]
    assert sorted(data) == sorted(f"{p}.tls.{ext}" for p in pods for ext in ("crt", "key"))
    for pod in pods:
        cert = x509.load_pem_x509_certificate(data[f"{pod}.tls.crt"].encode())
        assert cert == cert_of(run.named(f"search-{pod}-cert"))
        key = serialization.load_pem_private_key(data[f"{pod}.tls.key"].encode(), None)
        assert key.public_key() == cert.public_key()


def test_per_node_ca_key_stays_in_pulumi(run: Recording) -> None:
    trust = run.named("search-eck-trust")
    assert not isinstance(trust.inputs["data"], Secret)
    (ca,) = certificates_in(manifest(trust)["data"]["ca.crt"])
    assert ca == cert_of(run.named("search-ca-cert"))
    for registration in kubernetes_objects(run):
        if registration.name.startswith("search-"):
            text = str(manifest(registration))
            ca_key = str(reveal(run.named("search-ca-key").outputs["privateKeyPem"]))
            assert ca_key.strip() not in text and base64.b64encode(ca_key.encode()).decode() \
                not in text


def _identities(run: Recording, tmp: Path) -> dict[str, PemIdentity]:
    data = secret_data(run.named("search-eck-node-certs"))
    trust = tmp / "ca.crt"
    trust.write_text(manifest(run.named("search-eck-trust"))["data"]["ca.crt"])
    identities = {}
    for file in data:
        if file.endswith(".tls.key"):
            pod = file.removesuffix(".tls.key")
            (tmp / file).write_text(data[file])
            (tmp / file).chmod(0o600)
            (tmp / f"{pod}.tls.crt").write_text(data[f"{pod}.tls.crt"])
            identities[pod] = PemIdentity(tmp / f"{pod}.tls.crt", tmp / file, trust)
    return identities


def _pod_dns(pod: str) -> str:
    statefulset = pod.rsplit("-", 1)[0]
    return f"{pod}.{statefulset}.search-ns.svc"


def _pairs(identities: dict[str, PemIdentity]) -> list[HandshakePair]:
    return [HandshakePair(identities[a], identities[b], _pod_dns(a), verify_hostname=True)
            for a, b in itertools.permutations(sorted(identities), 2)]


def test_pod_certificates_complete_mutual_tls_in_openssl(run: Recording, tmp_path: Path) -> None:
    identities = _identities(run, tmp_path)
    pairs = _pairs(identities)
    assert len(pairs) == 5 * 4
    results = openssl_handshakes(pairs)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    # Control: a pod's certificate does not pass for another pod's DNS name.
    (wrong,) = openssl_handshakes([HandshakePair(
        identities["search-es-data-0"], identities["search-es-data-1"],
        _pod_dns("search-es-data-1"))])
    assert not wrong.ok and "hostname" in wrong.error.lower()


@pytest.mark.jsse
@pytest.mark.skipif(not jdk_available(), reason="no JDK (javac/java) on PATH")
def test_pod_certificates_complete_mutual_tls_in_jsse(run: Recording, tmp_path: Path) -> None:
    identities = _identities(run, tmp_path)
    wrong = HandshakePair(identities["search-es-data-0"], identities["search-es-data-1"],
                          _pod_dns("search-es-data-1"))
    *results, control = jsse_handshakes([*_pairs(identities), wrong])
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert not control.ok


def test_ca_to_eck_hands_over_exactly_the_ca(run: Recording) -> None:
    registration = run.named("logs-eck-ca-secret")
    assert isinstance(registration.inputs["data"], Secret)
    data = secret_data(registration)
    assert sorted(data) == ["ca.crt", "ca.key"]
    (ca,) = certificates_in(data["ca.crt"])
    assert ca == cert_of(run.named("logs-ca-cert"))
    key = serialization.load_pem_private_key(data["ca.key"].encode(), None)
    assert key.public_key() == ca.public_key()
    # ECK issues the pods' certificates: Pulumi issues none for this cluster.
    assert not [r for r in run.of_type(LOCALLY_SIGNED) if r.name.startswith("logs-")]
    body = manifest(run.named("logs-eck-elasticsearch"))
    tls = body["spec"]["transport"]["tls"]
    assert tls == {
        "certificate": {"secretName": "logs-transport-pki-ca-key"},
        "certificateAuthorities": {"configMapName": "logs-transport-pki-ca"},
        "subjectAltNames": [{"dns": "logs.example.com"}],
    }
    assert body["spec"]["nodeSets"] == [{"name": "default", "count": 3, "config": {
        "xpack.security.transport.ssl.client_authentication": "required"}}]


@pytest.mark.parametrize("kind", ["p256", "p384", "rsa2048"])
def test_ca_to_eck_hands_a_provided_pkcs8_key_over_in_a_form_eck_reads(kind: str) -> None:
    """ECK reads `ca.key` as SEC1 `EC PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY`, or PKCS#8 holding
    an RSA key only (cloud-on-k8s pkg/controller/common/certificates/pem.go: "expected an RSA
    private key"). A provided ECDSA CA key in PKCS#8, as `openssl genpkey` writes it, must reach
    ECK in a form it reads, or ECK refuses the Secret and issues no pod certificate."""
    external = make_ca("ops transport CA", key=make_key(kind), not_before=NOW - timedelta(days=1))
    assert external.key_pem.startswith("-----BEGIN PRIVATE KEY-----")
    cluster = {**eck("ext", [{"name": "default", "count": 2}], certificates="ca-to-eck"),
               "ca": {"mode": "provided", "certPem": external.cert_pem,
                      "keyPem": external.key_pem}}
    run = run_clusters([cluster], secret=True, clock=clock)
    registration = run.named("ext-eck-ca-secret")
    assert isinstance(registration.inputs["data"], Secret)
    data = {k: v.encode() for k, v in secret_data(registration).items()}
    handed = eck_operator.custom_ca(data, NOW)  # raises CustomCaError where ECK refuses
    assert handed.cert == external.cert
    assert tls_emulator.public_key_der(handed.key.public_key()) == tls_emulator.public_key_der(
        external.key.public_key())


def _scaled(count: int) -> list[dict[str, Any]]:
    return [eck("search", [{"name": "masters", "count": 3}, {"name": "data", "count": count}])]


def _urns(run: Recording, names: set[str]) -> set[str]:
    return {r.urn for r in run.registrations if r.name in names}


def test_scaling_adds_and_removes_only_the_affected_pods() -> None:
    state = EngineState()
    first = run_clusters(_scaled(3), state=state, clock=clock)
    before = secret_data(first.named("search-eck-node-certs"))
    again = run_clusters(_scaled(3), state=state, clock=clock)
    assert again.changes.created == again.changes.replaced == again.changes.updated == []

    up = run_clusters(_scaled(5), state=state, clock=clock)
    new_pods = {"search-es-data-3", "search-es-data-4"}
    created_certs = {r.name for r in up.of_type(LOCALLY_SIGNED) if r.urn in up.changes.created}
    assert created_certs == {f"search-{p}-cert" for p in new_pods}
    assert up.changes.replaced == [] and up.changes.deleted == []
    assert set(up.changes.updated) == _urns(up, {
        "search-eck-node-certs", "search-eck-elasticsearch"})
    after = secret_data(up.named("search-eck-node-certs"))
    assert {k: v for k, v in after.items() if k in before} == before
    assert set(after) - set(before) == {f"{p}.tls.{e}" for p in new_pods for e in ("crt", "key")}

    down = run_clusters(_scaled(1), state=state, clock=clock)
    dropped = {f"search-es-data-{i}" for i in range(1, 5)}
    deleted = set(down.changes.deleted)
    assert deleted and all(
        any(f"::search-{pod}" in urn for pod in dropped) for urn in deleted), deleted
    assert len(deleted) == 4 * 3  # key + CSR + certificate per dropped pod
    assert down.changes.created == down.changes.replaced == []
    remaining = secret_data(down.named("search-eck-node-certs"))
    assert remaining == {k: v for k, v in before.items()
                         if not any(k.startswith(f"{p}.") for p in dropped)}


def test_imported_variables_that_may_name_settings_are_warned_of() -> None:
    """INV-MTLS: `envFrom` makes a ConfigMap's keys variables, and the image takes those named
    like settings as settings; config validation cannot read them (the pack reads the stack's)."""
    template = {"spec": {"containers": [{"name": "elasticsearch", "envFrom": [
        {"configMapRef": {"name": "jvm"}},
        {"secretRef": {"name": "s3"}, "prefix": "APP_"},
        {"configMapRef": {"name": "es"}, "prefix": "ES_SETTING_"}]}]}}
    cluster = eck("search", [{"name": "default", "count": 1, "podTemplate": template}])
    run = run_clusters([cluster], clock=clock)
    warned = [w for w in run.warnings if "envFrom" in w]
    assert [w.split(" imports ")[0] for w in warned] == [
        "cluster search: eck.nodeSets[0].podTemplate.spec.containers[0].envFrom[0]",
        "cluster search: eck.nodeSets[0].podTemplate.spec.containers[0].envFrom[2]",
    ]
    assert all("(INV-MTLS)" in w and "such as APP_" in w for w in warned)
    assert run.of_type(ELASTICSEARCH)  # warned, not refused


def test_certificate_based_remote_clusters_are_warned_of() -> None:
    """INV-CA-DEDICATED: a certificate-based remote cluster has ECK make the two clusters trust
    each other's transport CA; API-key access (`apiKey`) does not go through transport trust."""
    remotes = [
        {"name": "archive", "elasticsearchRef": {"name": "archive", "namespace": "archive-ns"}},
        {"name": "logs", "elasticsearchRef": {"name": "logs"},
         "apiKey": {"access": {"search": {"names": ["logs-*"]}}}},
    ]
    cluster = eck("search", [{"name": "default", "count": 1}], spec={"remoteClusters": remotes})
    run = run_clusters([cluster], clock=clock)
    [warning] = [w for w in run.warnings if "remoteClusters" in w]
    assert warning.startswith("cluster search: eck.spec.remoteClusters[0] ('archive') ")
    assert "transport-remote-certs/ca.crt" in warning and "(INV-CA-DEDICATED)" in warning
    assert "give the entry an apiKey and enable remoteClusterServer" in warning
    assert run.of_type(ELASTICSEARCH)  # warned, not refused
