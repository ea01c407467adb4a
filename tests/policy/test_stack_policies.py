"""Stack policies through AnalyzeStack, over deployments shaped like the program's."""

from __future__ import annotations

import base64
import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from cryptography import x509

from harness.analyzer import UNKNOWN, PolicyAnalyzer, Record
from harness.pack_process import PackProcess
from tests.x509_factory import with_mac_rounds

from . import fixtures as f
from . import pems
from .conftest import PACK_DIR
from .scenarios import Pki, eck_ca_to_eck, eck_per_node, pki, vm_bundle
from .verdicts import verdicts

M, A = "mandatory", "advisory"
T = f.TRANSPORT


def stack(analyzer: PolicyAnalyzer, records: list[Record]) -> set[tuple[str, str]]:
    return verdicts(analyzer.analyze_stack(records))


def test_two_clusters_with_their_own_cas_pass(analyzer: PolicyAnalyzer) -> None:
    a, b = pki("a"), pki("b")
    records = [*a.records, *b.records, vm_bundle("a", a), *eck_per_node("es-b", b)]
    assert stack(analyzer, records) == set()
    assert analyzer.preview(records) == []


def test_clusters_sharing_a_ca(analyzer: PolicyAnalyzer) -> None:
    a = pki("a")
    b = pki("b", ca=(a.ca_key, a.ca))
    records = [*a.records, *b.records[2:], vm_bundle("a", a), *eck_per_node("es-b", b)]
    diagnostics = analyzer.analyze_stack(records)
    assert verdicts(diagnostics) == {("es-transport-ca-dedicated", M)}
    assert diagnostics[0].urn == a.ca.urn


def test_clusters_sharing_a_ca_key_under_two_ca_certificates(analyzer: PolicyAnalyzer) -> None:
    """A second CA certificate on the first CA's key is the same CA: its key signs both
    clusters' node certificates (and with the same subject each cluster accepts the other's)."""
    a = pki("a")
    b = pki("b", ca=(a.ca_key, f.ca_cert("b-ca", a.ca_key)))
    records = [*a.records, *b.records[1:], vm_bundle("a", a), *eck_per_node("es-b", b)]
    diagnostics = analyzer.analyze_stack(records)
    assert verdicts(diagnostics) == {("es-transport-ca-dedicated", M)}
    assert diagnostics[0].urn == a.ca.urn
    assert f"CA certificates on one key, {a.ca_key.urn}" in diagnostics[0].message


def test_one_cluster_under_two_ca_certificates_on_one_key_passes(
    analyzer: PolicyAnalyzer,
) -> None:
    """A CA certificate re-issued on the same key (as ECK renews its own CA), both in use by
    one cluster's nodes."""
    a = pki("a")
    renewed = pki("a2", ca=(a.ca_key, f.ca_cert("a-ca-renewed", a.ca_key)))
    bundle = vm_bundle("a", a)
    second = dataclasses.replace(vm_bundle("a2", renewed), properties={
        **vm_bundle("a2", renewed).properties, "cluster": "a"})
    records = [*a.records, *renewed.records[1:], bundle, second]
    assert stack(analyzer, records) == set()


def test_clusters_sharing_an_external_ca_by_pem(analyzer: PolicyAnalyzer) -> None:
    records: list[Record] = []
    for name in ("a", "b"):
        key = f.private_key(f"{name}-node-key")
        request = f.csr(f"{name}-csr", key)
        cert = f.node_cert(f"{name}-cert", request, None, None, caCertPem=pems.PRIVATE_CA)
        files = {"certs/node.key": (UNKNOWN, "0600")}
        records += [key, request, cert, f.bundle(f"{name}-bundle", files, [key, cert], name)]
    assert stack(analyzer, records) == {("es-transport-ca-dedicated", M)}


def _at_stack_root(nodes: dict[str, str | None], *, shared_ca: bool = True) -> list[Record]:
    """A hand-written program: a VM bundle per node (elasticsearch.yml naming the node's
    `cluster.name`, or none; no `cluster` input), every resource a child of the stack."""
    ca = pki("ca")
    records: list[Record] = [ca.ca_key, ca.ca]
    for node, cluster_name in nodes.items():
        material = pki(node, ca=(ca.ca_key, ca.ca) if shared_ca else None)
        settings = {"cluster.name": cluster_name} if cluster_name else {}
        files = {"elasticsearch.yml": (f.yml(f.good_vm_settings(**settings)), "0644"),
                 "certs/node.key": (UNKNOWN, "0600"), "certs/node.crt": (UNKNOWN, "0644"),
                 "certs/ca.crt": (UNKNOWN, "0644")}
        bundle = f.bundle(f"{node}-bundle", files, [material.node_key, material.cert,
                                                    material.ca])
        records += [*(material.records if not shared_ca else material.records[2:]), bundle]
    root = f.record("pulumi:pulumi:Stack", "es-transport-pki-test", {})
    return [root, *(dataclasses.replace(r, parent=root.urn) for r in records)]


def test_clusters_at_the_stack_root_sharing_a_ca(analyzer: PolicyAnalyzer) -> None:
    records = _at_stack_root({"a-1": "logs-a", "b-1": "logs-b"})
    diagnostics = analyzer.analyze_stack(records)
    assert verdicts(diagnostics) == {("es-transport-ca-dedicated", M)}
    assert "shared by clusters ['logs-a', 'logs-b']" in diagnostics[0].message


def test_one_cluster_at_the_stack_root_passes(analyzer: PolicyAnalyzer) -> None:
    assert stack(analyzer, _at_stack_root({"a-1": "logs", "a-2": "logs"})) == set()
    # No cluster.name: Elasticsearch's default, one cluster.
    assert stack(analyzer, _at_stack_root({"a-1": None, "a-2": None})) == set()
    assert stack(analyzer, _at_stack_root({"a-1": "logs-a", "b-1": "logs-b"},
                                          shared_ca=False)) == set()


def test_clusters_at_the_stack_root_with_unknown_settings_are_not_judged(
    analyzer: PolicyAnalyzer,
) -> None:
    records = _at_stack_root({"a-1": "logs-a", "b-1": "logs-b"})
    unknown = [dataclasses.replace(r, properties={**r.properties, "files": {
        **r.properties["files"], "elasticsearch.yml": {"content": UNKNOWN, "mode": "0644"}}})
        if r.type == f.BUNDLE else r for r in records]
    assert stack(analyzer, unknown) == set()


def _in_components(nodes: Mapping[str, tuple[str, str | None]]) -> list[Record]:
    """A hand-written program: node → (component, its `cluster.name`), one CA for all."""
    ca = pki("ca")
    records: list[Record] = [ca.ca_key, ca.ca]
    components: dict[str, Record] = {}
    for node, (component, cluster_name) in nodes.items():
        parent = components.setdefault(
            component, f.record("acme:index:EsCluster", component, {}))
        material = pki(node, ca=(ca.ca_key, ca.ca))
        settings = {"cluster.name": cluster_name} if cluster_name else {}
        files = {"elasticsearch.yml": (f.yml(f.good_vm_settings(**settings)), "0644"),
                 "certs/node.key": (UNKNOWN, "0600"), "certs/node.crt": (UNKNOWN, "0644")}
        bundle = f.bundle(f"{node}-bundle", files, [material.node_key, material.cert])
        records += [dataclasses.replace(r, parent=parent.urn)
                    for r in (*material.records[2:], bundle)]
    return [*components.values(), *records]


@pytest.mark.parametrize("cluster_name", ["logging", None])
def test_same_named_clusters_in_two_components_sharing_a_ca(
    analyzer: PolicyAnalyzer, cluster_name: str | None
) -> None:
    """Two components, each a cluster of two nodes called `logging` (or left at
    Elasticsearch's default name): still two clusters, and one CA between them is flagged."""
    records = _in_components({f"{region}-{n}": (region, cluster_name)
                              for region in ("eu", "us") for n in (1, 2)})
    assert stack(analyzer, records) == {("es-transport-ca-dedicated", M)}


def test_a_component_per_node_at_the_stack_root_is_a_node_of_the_named_cluster(
    analyzer: PolicyAnalyzer,
) -> None:
    """A component holding one consumer of a name cannot be told from a node's own component
    (or VM): its cluster is the name alone, so one cluster's nodes do not count as clusters
    sharing its CA. (So two one-node clusters of one name in two components are one.)"""
    records = _in_components({"node-1": ("node-1", "logging"), "node-2": ("node-2", "logging")})
    assert stack(analyzer, records) == set()
    # Names still tell clusters apart.
    records = _in_components({"node-1": ("node-1", "logging"), "node-2": ("node-2", "metrics")})
    assert stack(analyzer, records) == {("es-transport-ca-dedicated", M)}


def _bundles_in_one_component(second: dict[str, Any]) -> list[Record]:
    """node-1's bundle names its cluster (`cluster` input `logging` and elasticsearch.yml);
    node-2's bundle is changed by `second` (its `cluster` input, its files); one CA."""
    ca = pki("logging")
    component = f.record("acme:index:EsCluster", "logging", {})
    records: list[Record] = [component, ca.ca_key, ca.ca]
    for node in ("node-1", "node-2"):
        material = pki(node, ca=(ca.ca_key, ca.ca))
        files = {"certs/node.key": (UNKNOWN, "0600"), "certs/node.crt": (UNKNOWN, "0644")}
        if node == "node-1":
            files["elasticsearch.yml"] = (f.yml(f.good_vm_settings()), "0644")
        bundle = f.bundle(f"{node}-bundle", files, [material.node_key, material.cert],
                          "logging")
        if node == "node-2":
            props = {k: v for k, v in bundle.properties.items() if k != "cluster"}
            bundle = dataclasses.replace(bundle, properties={**props, **second})
        records += [dataclasses.replace(r, parent=component.urn)
                    for r in (*material.records[2:], bundle)]
    return records


@pytest.mark.parametrize(
    "second",
    [{}, {"cluster": UNKNOWN}, {"cluster": ""}, {"cluster": "logging"}],
    ids=["no-input-no-yml", "input-unknown", "input-empty", "same-input"],
)
def test_a_bundle_joins_the_cluster_its_component_names(
    analyzer: PolicyAnalyzer, second: dict[str, Any]
) -> None:
    """A bundle without a name of its own (no `cluster` input, an empty one, or one unknown at
    preview) is not taken for another cluster: no mandatory verdict on one cluster's CA."""
    assert stack(analyzer, _bundles_in_one_component(second)) == set()


def test_a_bundle_and_a_secret_of_one_named_cluster_are_one_cluster(
    analyzer: PolicyAnalyzer,
) -> None:
    ca = pki("logging")
    component = f.record("acme:index:EsCluster", "logging", {})
    one = pki("node-1", ca=(ca.ca_key, ca.ca))
    two = pki("node-2", ca=(ca.ca_key, ca.ca))
    bundle = f.bundle("node-1-bundle", {"certs/node.key": (UNKNOWN, "0600")},
                      [one.node_key, one.cert], "logging")
    yml = f.yml(f.good_vm_settings(**{"cluster.name": "logging"}))
    config = f.secret("node-2-es-config", {"elasticsearch.yml": yml, "certs/node.key": UNKNOWN},
                      [two.node_key, two.cert, ca.ca], namespace="logging")
    records = [component, ca.ca_key, ca.ca, *(
        dataclasses.replace(r, parent=component.urn)
        for r in (*one.records[2:], *two.records[2:], bundle, config))]
    assert stack(analyzer, records) == set()


def test_one_component_one_cluster_name_is_one_cluster(analyzer: PolicyAnalyzer) -> None:
    both = {"eu-1": ("eu", "logging"), "eu-2": ("eu", "logging")}
    assert stack(analyzer, _in_components(both)) == set()
    # One component may hold two clusters: told apart by their cluster.name.
    two = {"eu-1": ("eu", "logging"), "eu-2": ("eu", "metrics")}
    assert stack(analyzer, _in_components(two)) == {("es-transport-ca-dedicated", M)}


def _cluster_of_node_components(node_parent_type: str) -> list[Record]:
    """One cluster `logging`: a cluster component, a parent per node under it (a component,
    or the node's VM), and each node's material and elasticsearch.yml Secret under that."""
    ca = pki("logging")
    root = f.record("pulumi:pulumi:Stack", "proj-dev", {})
    cluster = f.record("acme:index:EsCluster", "logging", {}, parent=root.urn)
    records = [root, cluster, *(dataclasses.replace(r, parent=cluster.urn)
                                for r in (ca.ca_key, ca.ca))]
    for node in ("node-1", "node-2", "node-3"):
        parent = f.record(node_parent_type, node, {}, parent=cluster.urn)
        material = pki(node, ca=(ca.ca_key, ca.ca))
        yml = f.yml(f.good_vm_settings(**{"cluster.name": "logging"}))
        config = f.secret(f"{node}-es-config", {"elasticsearch.yml": yml,
                                                "certs/node.key": UNKNOWN},
                          [material.node_key, material.cert, ca.ca], namespace="logging")
        records += [parent, *(dataclasses.replace(r, parent=parent.urn)
                              for r in (*material.records[2:], config))]
    return records


@pytest.mark.parametrize("node_parent", ["acme:index:EsNode", "gcp:compute/instance:Instance"])
def test_a_cluster_components_nodes_under_parents_of_their_own_are_one_cluster(
    analyzer: PolicyAnalyzer, node_parent: str
) -> None:
    assert stack(analyzer, _cluster_of_node_components(node_parent)) == set()


def test_a_consumer_without_settings_joins_its_components_named_cluster(
    analyzer: PolicyAnalyzer,
) -> None:
    """node-1's bundle carries elasticsearch.yml (Elasticsearch's default name), node-2's only
    its key and certificate: one cluster, one CA."""
    ca = pki("logging")
    component = f.record("acme:index:EsCluster", "logging", {})
    records: list[Record] = [component, ca.ca_key, ca.ca]
    for node, with_yml in (("node-1", True), ("node-2", False)):
        material = pki(node, ca=(ca.ca_key, ca.ca))
        files = {"certs/node.key": (UNKNOWN, "0600"), "certs/node.crt": (UNKNOWN, "0644")}
        if with_yml:
            files["elasticsearch.yml"] = (f.yml(f.good_vm_settings()), "0644")
        bundle = f.bundle(f"{node}-bundle", files, [material.node_key, material.cert])
        records += [dataclasses.replace(r, parent=component.urn)
                    for r in (*material.records[2:], bundle)]
    assert stack(analyzer, records) == set()


def _unquoted(records: list[Record], *names: str) -> list[Record]:
    """The bundles' elasticsearch.yml with `names` unquoted (YAML then reads another type)."""
    def unquote(text: str) -> str:
        for name in names:
            text = text.replace(f"'{name}'", name)
        return text

    return [dataclasses.replace(r, properties={**r.properties, "files": {
        **r.properties["files"], "elasticsearch.yml": {"content": unquote(r.properties["files"][
            "elasticsearch.yml"]["content"]), "mode": "0644"}}}) if r.type == f.BUNDLE else r
        for r in records]


def test_numeric_cluster_names_are_names(analyzer: PolicyAnalyzer) -> None:
    """YAML reads `cluster.name: 2024` as a number; Elasticsearch as the name "2024"."""
    records = _at_stack_root({"a-1": "2024", "b-1": "2025"})
    assert stack(analyzer, _unquoted(records, "2024", "2025")) == {
        ("es-transport-ca-dedicated", M)}


@pytest.mark.parametrize(("a", "b"), [("010", "8"), ("1.50", "1.5"), ("0x1F", "31")])
def test_numeric_cluster_names_are_their_text(analyzer: PolicyAnalyzer, a: str, b: str) -> None:
    """Elasticsearch stores a number as its text: `010` and `8` name two clusters (PyYAML
    reads both as 8, which made them one and their shared CA unseen)."""
    records = _at_stack_root({"a-1": a, "b-1": b})
    diagnostics = analyzer.analyze_stack(_unquoted(records, a, b))
    assert verdicts(diagnostics) == {("es-transport-ca-dedicated", M)}
    assert f"shared by clusters {sorted([a, b])!r}" in diagnostics[0].message


def test_date_cluster_names_are_names(analyzer: PolicyAnalyzer) -> None:
    """YAML reads `cluster.name: 2024-01-01` as a date; Elasticsearch as the name. Taken for
    no name, two such clusters were one (Elasticsearch's default), their shared CA unseen."""
    records = _at_stack_root({"a-1": "2024-01-01", "b-1": "2024-01-02T10:00:00"})
    diagnostics = analyzer.analyze_stack(_unquoted(records, "2024-01-01", "2024-01-02T10:00:00"))
    assert verdicts(diagnostics) == {("es-transport-ca-dedicated", M)}
    assert "shared by clusters ['2024-01-01', '2024-01-02T10:00:00']" in diagnostics[0].message


def test_boolean_cluster_names_are_true_and_false(analyzer: PolicyAnalyzer) -> None:
    """YAML reads `cluster.name: yes` as a boolean; Elasticsearch's parser (YAML 1.1 booleans
    too) as a boolean it stores as "true". Taken for no name, clusters named `yes` and `off`
    were one (Elasticsearch's default), their shared CA unseen."""
    records = _at_stack_root({"a-1": "yes", "b-1": "off"})
    diagnostics = analyzer.analyze_stack(_unquoted(records, "yes", "off"))
    assert verdicts(diagnostics) == {("es-transport-ca-dedicated", M)}
    assert "shared by clusters ['false', 'true']" in diagnostics[0].message


def test_yaml_booleans_of_one_value_name_one_cluster(analyzer: PolicyAnalyzer) -> None:
    """`yes` and `True` are both "true" to Elasticsearch: one cluster, one CA."""
    records = _at_stack_root({"a-1": "yes", "b-1": "True"})
    assert stack(analyzer, _unquoted(records, "yes", "True")) == set()


def _eck_trusting(es_name: str, material: Pki, ca_pem: str) -> list[Record]:
    """Per-node ECK whose certificateAuthorities ConfigMap holds `ca_pem` as literal text."""
    certs, trust, es = eck_per_node(es_name, material)
    literal = f.config_map(trust.name, {"ca.crt": ca_pem})
    return [certs, literal, es]


@pytest.mark.parametrize(("ca_pem", "problem"), [
    (pems.public_root(), "is a public root CA"), (pems.EXPIRED_CA, "expired on"),
    (pems.NOT_A_CA, "lacks basicConstraints CA:true"),
    (pems.RSA_1024_CA, "has an RSA key of 1024 bits"),
], ids=["public-root", "expired", "not-a-ca", "weak-key"])
def test_eck_trust_config_map_with_an_unfit_ca(
    analyzer: PolicyAnalyzer, ca_pem: str, problem: str
) -> None:
    a = pki("a")
    records = [*a.records, *_eck_trusting("es-a", a, ca_pem)]
    diagnostics = analyzer.analyze_stack(records)
    assert verdicts(diagnostics) == {("es-transport-ca-dedicated", M)}
    assert {d.urn for d in diagnostics} == {records[-2].urn}
    assert any("es-a-transport-pki-ca data[ca.crt]: '" in d.message and problem in d.message
               for d in diagnostics)


def test_a_trust_config_map_two_resources_reference_is_reported_once(
    analyzer: PolicyAnalyzer,
) -> None:
    a = pki("a")
    certs, trust, es = _eck_trusting("es-a", a, pems.public_root())
    twin = dataclasses.replace(es, name="es-a-twin", urn=es.urn + "-twin")
    once = analyzer.analyze_stack([*a.records, certs, trust, es])
    twice = analyzer.analyze_stack([*a.records, certs, trust, es, twin])
    assert sorted(d.message for d in twice) == sorted(d.message for d in once) != []


def _yml_secret_trusting_der(cluster: str, ca_pem: str) -> Record:
    """A Secret holding an elasticsearch.yml of cluster `cluster` and the CA file it trusts
    for transport, `ca_pem` in binary DER."""
    return f.secret(f"{cluster}-es-config", {
        "elasticsearch.yml": f.b64(f.yml(f.good_vm_settings(**{
            "cluster.name": cluster, T + "certificate_authorities": "ca.der"}))),
        "ca.der": base64.b64encode(pems.der(ca_pem)).decode()}, encode=False)


def test_clusters_trusting_one_ca_file_in_der(analyzer: PolicyAnalyzer) -> None:
    """Elasticsearch reads a DER CA file as a PEM one (the JDK's CertificateFactory)."""
    records = [_yml_secret_trusting_der("logs", pems.PRIVATE_CA),
               _yml_secret_trusting_der("metrics", pems.PRIVATE_CA)]
    diagnostics = analyzer.analyze_stack(records)
    assert verdicts(diagnostics) == {("es-transport-ca-dedicated", M)}
    assert "shared by clusters ['logs', 'metrics']" in diagnostics[0].message


def test_clusters_trusting_their_own_ca_file_in_der(analyzer: PolicyAnalyzer) -> None:
    records = [_yml_secret_trusting_der("logs", pems.PRIVATE_CA),
               _yml_secret_trusting_der("metrics", pems.RSA_2048_CA)]
    assert stack(analyzer, records) == set()


def test_a_der_ca_in_an_eck_trust_config_map_reaches_no_node(analyzer: PolicyAnalyzer) -> None:
    """ECK reads the trust ConfigMap's `data` (text) alone (transport/trust.go): `binaryData`
    reaches no node, so the public root there is no trusted CA."""
    a = pki("a")
    certs, trust, es = eck_per_node("es-a", a)
    binary = f.record(f.CONFIG_MAP, trust.name, {
        "metadata": {"name": trust.name, "namespace": "search"},
        "binaryData": {"ca.crt": base64.b64encode(pems.der(pems.public_root())).decode()}})
    assert stack(analyzer, [*a.records, certs, binary, es]) == set()


def test_eck_trust_config_map_with_a_private_ca_passes(analyzer: PolicyAnalyzer) -> None:
    a = pki("a")
    assert stack(analyzer, [*a.records, *_eck_trusting("es-a", a, pems.PRIVATE_CA)]) == set()


def test_eck_clusters_trusting_one_literal_ca(analyzer: PolicyAnalyzer) -> None:
    a, b = pki("a"), pki("b")
    records = [*a.records, *b.records, *_eck_trusting("es-a", a, pems.PRIVATE_CA),
               *_eck_trusting("es-b", b, pems.PRIVATE_CA)]
    diagnostics = analyzer.analyze_stack(records)
    assert verdicts(diagnostics) == {("es-transport-ca-dedicated", M)}
    assert "shared by clusters ['search/es-a', 'search/es-b']" in diagnostics[0].message


def test_eck_trust_config_map_holding_another_clusters_ca_by_value(
    analyzer: PolicyAnalyzer,
) -> None:
    """A literal CA PEM that is a CA resource's known certPem is that CA resource."""
    a, b = pki("a"), pki("b")
    a_ca = dataclasses.replace(a.ca, outputs={**a.ca.properties, "certPem": pems.PRIVATE_CA})
    records = [a.ca_key, a_ca, *a.records[2:], *b.records, *eck_per_node("es-a", a),
               *_eck_trusting("es-b", b, pems.PRIVATE_CA)]
    diagnostics = analyzer.analyze_stack(records)
    assert verdicts(diagnostics) == {("es-transport-ca-dedicated", M)}
    assert [d.urn for d in diagnostics] == [a.ca.urn]


def test_serverauth_only_transport_cert(analyzer: PolicyAnalyzer) -> None:
    a = pki("a", allowedUses=["digital_signature", "server_auth"])
    assert stack(analyzer, [*a.records, vm_bundle("a", a)]) == {("es-transport-eku", M)}


def test_serverauth_only_cert_not_used_for_transport_is_only_advisory(
    analyzer: PolicyAnalyzer,
) -> None:
    a = pki("a", allowedUses=["digital_signature", "server_auth"])
    assert stack(analyzer, a.records) == set()
    assert verdicts(analyzer.analyze(a.cert)) == {("es-transport-leaf-eku", A)}


def _external_csr(uses: list[str], *, protect: bool = False, **props: Any) -> list[Record]:
    """A node that keeps its own key: the stack signs its request (a literal CSR, no
    PrivateKey resource) and delivers the certificate and the CA, never the key."""
    a = pki("a")
    cert = f.record(f.LOCALLY_SIGNED, "a-node-cert", {
        "certRequestPem": pems.NODE_CSR, "caCertPem": UNKNOWN, "caPrivateKeyPem": UNKNOWN,
        "allowedUses": uses, "validityPeriodHours": 8760, "earlyRenewalHours": 720, **props,
    }, {"caCertPem": [a.ca], "caPrivateKeyPem": [a.ca_key]}, protect=protect)
    files = {"elasticsearch.yml": (f.yml(f.good_vm_settings()), "0644"),
             "certs/node.crt": (UNKNOWN, "0644"), "certs/ca.crt": (UNKNOWN, "0644")}
    return [a.ca_key, a.ca, cert, f.bundle("a-bundle", files, [cert, a.ca], cluster="a")]


def test_serverauth_only_cert_for_a_node_keeping_its_key(analyzer: PolicyAnalyzer) -> None:
    """A transport certificate is one whatever holds its key: delivered without it (the key
    is none of the stack's), it is still the node's certificate."""
    records = _external_csr(["digital_signature", "server_auth"])
    assert stack(analyzer, records) == {("es-transport-eku", M)}
    records = _external_csr([*f.NODE_USES, "cert_signing"])
    assert stack(analyzer, records) == {("es-transport-leaf", M)}


def test_cert_for_a_node_keeping_its_key_passes(analyzer: PolicyAnalyzer) -> None:
    assert stack(analyzer, _external_csr(f.NODE_USES)) == set()
    # An intermediate CA signed from a request is a CA the node trusts, no node certificate
    # (protected, as a CA in service is: es-transport-ca-protected).
    assert stack(analyzer, _external_csr(["cert_signing", "crl_signing"], protect=True,
                                         isCaCertificate=True)) == set()


def test_rsa_node_cert_without_key_encipherment(analyzer: PolicyAnalyzer) -> None:
    a = pki("a")
    rsa_key = f.record(f.KEY, "a-node-key", {"algorithm": "RSA", "rsaBits": 2048})
    records = [rsa_key if r.name == "a-node-key" else r for r in a.records]
    assert stack(analyzer, [*records, vm_bundle("a", a)]) == {("es-transport-leaf", M)}


def test_node_cert_that_is_a_ca(analyzer: PolicyAnalyzer) -> None:
    a = pki("a", isCaCertificate=True, allowedUses=["cert_signing", *f.NODE_USES])
    assert ("es-transport-leaf", M) in stack(analyzer, [*a.records, vm_bundle("a", a)])


NODE_NAMES = {"dnsNames": ["es-1.logs.example"], "ipAddresses": ["10.0.0.1"],
              "subject": {"commonName": "es-1"}}


def _published(analyzer: PolicyAnalyzer, names: dict[str, Any], **settings: Any,
               ) -> set[tuple[str, str]]:
    """A VM node whose request has `names` and whose elasticsearch.yml has `settings`."""
    a = pki("a", request_props=names)
    return stack(analyzer, [*a.records, vm_bundle("a", a, **settings)])


@pytest.mark.parametrize(("names", "settings"), [
    # An IP address matches IP SANs only (never a DNS SAN or the CN that spells it).
    (NODE_NAMES, {"transport.publish_host": "10.0.0.2"}),
    ({"dnsNames": ["10.0.0.1"], "subject": {"commonName": "10.0.0.1"}},
     {"network.host": "10.0.0.1"}),
    # A DNS name matches DNS SANs; `*` stands for one label, not two, and never alone.
    (NODE_NAMES, {"network.publish_host": "es-2.logs.example"}),
    ({"dnsNames": ["*.example"]}, {"transport.host": "es-1.logs.example"}),
    ({"dnsNames": ["*"]}, {"transport.host": "es-1"}),
    # The CN counts only when there is no DNS SAN.
    ({"dnsNames": ["es-2.logs.example"], "subject": {"commonName": "es-1.logs.example"}},
     {"network.host": "es-1.logs.example"}),
    # An interface's address (special values, the wildcard) needs some IP SAN.
    ({"dnsNames": ["es-1.logs.example"]}, {"network.host": "_site_"}),
    ({"dnsNames": ["es-1.logs.example"]}, {"network.host": "0.0.0.0"}),
    # Of several publish hosts Elasticsearch picks one: none is covered.
    (NODE_NAMES, {"network.host": ["10.0.0.2", "es-2.logs.example"]}),
    # The first setting of PUBLISH_HOSTS that is set decides (an empty list falls through).
    (NODE_NAMES, {"transport.host": "10.0.0.2", "network.publish_host": "10.0.0.1"}),
    (NODE_NAMES, {"transport.publish_host": [], "network.host": "10.0.0.2"}),
    (NODE_NAMES, {"transport.profiles.default.publish_host": "10.0.0.2",
                  "transport.publish_host": "10.0.0.1"}),
    # verification_mode: FULL is full.
    (NODE_NAMES, {"network.host": "10.0.0.2", T + "verification_mode": "FULL"}),
    # The SNI name a node sends (node.attr.server_name) is not covered either.
    (NODE_NAMES, {"network.host": "10.0.0.2", "node.attr.server_name": "es-2.logs.example"}),
])
def test_published_address_not_covered_by_the_sans(
    analyzer: PolicyAnalyzer, names: dict[str, Any], settings: dict[str, Any]
) -> None:
    """INV-LEAF: peers with verification_mode full check a node's certificate against the
    address it publishes, as JSSE does (test_host_names_jsse.py holds the pack's reading of
    names to real JSSE handshakes)."""
    assert _published(analyzer, names, **settings) == {("es-transport-leaf", M)}


@pytest.mark.parametrize(("names", "settings"), [
    (NODE_NAMES, {"transport.publish_host": "10.0.0.1"}),
    (NODE_NAMES, {"network.host": "::ffff:10.0.0.1"}),  # Java reads it as 10.0.0.1
    (NODE_NAMES, {"network.publish_host": "ES-1.Logs.Example"}),
    ({"dnsNames": ["*.logs.example"]}, {"transport.host": "es-1.logs.example"}),
    ({"dnsNames": ["es*.logs.example"]}, {"transport.host": "es-1.logs.example"}),
    ({"ipAddresses": ["10.0.0.1"], "subject": {"commonName": "es-1.logs.example"}},
     {"network.host": "es-1.logs.example"}),
    (NODE_NAMES, {"network.host": "_site_"}),
    (NODE_NAMES, {"network.host": ["10.0.0.2", "10.0.0.1"]}),
    (NODE_NAMES, {"transport.publish_host": "10.0.0.1", "network.host": "10.0.0.2"}),
    (NODE_NAMES, {"transport.profiles.default.publish_host": "10.0.0.1",
                  "transport.publish_host": "10.0.0.2"}),
    (NODE_NAMES, {"network.host": "10.0.0.2", "node.attr.server_name": "es-1.logs.example"}),
    # Not judged: no address set (a fragment of the node's elasticsearch.yml), one not read
    # here, no hostname verification, names not known at preview.
    ({"dnsNames": ["elsewhere.example"]}, {}),
    (NODE_NAMES, {"network.host": "_ec2:privateDns_"}),
    (NODE_NAMES, {"network.host": "_eth0_"}),
    (NODE_NAMES, {"network.host": ["10.0.0.2", "${HOST}"]}),
    (NODE_NAMES, {"network.host": "${HOST}"}),
    (NODE_NAMES, {"network.host": "10.0.0.2", T + "verification_mode": "certificate"}),
    # ... nor with transport TLS off, or not known to be on (the file may be a fragment).
    (NODE_NAMES, {"network.host": "10.0.0.2", T + "enabled": False}),
    (NODE_NAMES, {"network.host": "10.0.0.2", T + "enabled": UNKNOWN}),
    (NODE_NAMES, {"network.host": "10.0.0.2", "xpack.security.enabled": False}),
    ({"dnsNames": UNKNOWN}, {"network.host": "es-2.logs.example"}),
    ({"ipAddresses": ["10.0.0.1", UNKNOWN]}, {"network.host": "10.0.0.2"}),
])
def test_published_address_covered_or_not_judged_passes(
    analyzer: PolicyAnalyzer, names: dict[str, Any], settings: dict[str, Any]
) -> None:
    assert _published(analyzer, names, **settings) == set()


def test_published_address_message(analyzer: PolicyAnalyzer) -> None:
    a = pki("a", request_props=NODE_NAMES)
    records = [*a.records, vm_bundle("a", a, **{"network.host": "10.0.0.2"})]
    [diagnostic] = analyzer.analyze_stack(records)
    assert diagnostic.urn == a.cert.urn
    assert "[INV-LEAF]" in diagnostic.message
    assert ("its DNS SANs ['es-1.logs.example'], IP SANs ['10.0.0.1'] and subject CN ['es-1'] "
            "do not cover the IP address 10.0.0.2, which network.host in "
            "files[elasticsearch.yml] makes the node publish") in diagnostic.message
    assert "verification_mode full)" in diagnostic.message
    assert "ip_addresses" in diagnostic.message
    assert "publish an address the certificate covers (network.host)" in diagnostic.message


def test_published_address_of_a_node_keeping_its_key(analyzer: PolicyAnalyzer) -> None:
    """The names of a request given as PEM (pems.NODE_CSR: CN node-0, no SAN) are read from
    it: the CN covers a DNS name when there is no DNS SAN, an IP address never."""
    a = pki("a")
    cert = f.record(f.LOCALLY_SIGNED, "a-node-cert", {
        "certRequestPem": pems.NODE_CSR, "caCertPem": UNKNOWN, "caPrivateKeyPem": UNKNOWN,
        "allowedUses": f.NODE_USES, "validityPeriodHours": 8760, "earlyRenewalHours": 720,
    }, {"caCertPem": [a.ca], "caPrivateKeyPem": [a.ca_key]})

    def verdict(host: str) -> set[tuple[str, str]]:
        files = {"elasticsearch.yml": (f.yml(f.good_vm_settings(**{"network.host": host})),
                                       "0644"),
                 "certs/node.crt": (UNKNOWN, "0644"), "certs/ca.crt": (UNKNOWN, "0644")}
        bundle = f.bundle("a-bundle", files, [cert, a.ca], cluster="a")
        return stack(analyzer, [a.ca_key, a.ca, cert, bundle])

    assert verdict("node-0") == set()
    assert verdict("node-0.logs.example") == {("es-transport-leaf", M)}
    assert verdict("10.0.0.1") == {("es-transport-leaf", M)}


def test_published_address_in_a_secret_elasticsearch_yml(analyzer: PolicyAnalyzer) -> None:
    a = pki("a", request_props=NODE_NAMES)

    def verdict(host: str) -> set[tuple[str, str]]:
        yml = f.yml(f.good_vm_settings(**{"transport.publish_host": host}))
        secret = f.secret("a-node-config", {"elasticsearch.yml": yml, "node.key": UNKNOWN,
                                            "node.crt": UNKNOWN}, [a.node_key, a.cert])
        return stack(analyzer, [*a.records, secret])

    assert verdict("es-1.logs.example") == set()
    assert verdict("es-3.logs.example") == {("es-transport-leaf", M)}


@pytest.mark.parametrize(("peer_mode", "expected"), [
    ("full", {("es-transport-leaf", M)}),
    # es-2 connects to es-1 without checking host names; es-1's own mode says nothing of that.
    ("certificate", set()),
])
def test_published_address_where_a_peer_does_not_check_host_names(
    analyzer: PolicyAnalyzer, peer_mode: str, expected: set[tuple[str, str]]
) -> None:
    """Peers, not the node itself, check its certificate: a node's address is judged only in a
    cluster none of whose nodes in the stack is known not to check host names."""
    records = _cluster_logs({"network.host": "10.0.0.3"},
                            {"network.host": "10.0.0.2", T + "verification_mode": peer_mode})
    assert stack(analyzer, records) == expected


def _cluster_logs(es_1: dict[str, Any], es_2: dict[str, Any],
                  es_2_names: dict[str, Any] | None = None) -> list[Record]:
    """Two VM nodes of cluster `logs` with these elasticsearch.yml settings; es-1's request
    has NODE_NAMES, es-2's `es_2_names` (by default es-2.logs.example and 10.0.0.2)."""
    one = pki("es-1", request_props=NODE_NAMES)
    two = pki("es-2", ca=(one.ca_key, one.ca), request_props=es_2_names or {
        "dnsNames": ["es-2.logs.example"], "ipAddresses": ["10.0.0.2"]})
    bundles = [
        f.bundle(f"{name}-bundle", {
            "elasticsearch.yml": (f.yml(f.good_vm_settings(**settings)), "0644"),
            "certs/node.key": (UNKNOWN, "0600"), "certs/node.crt": (UNKNOWN, "0644")},
            [material.node_key, material.cert, material.ca], cluster="logs")
        for name, material, settings in [("es-1", one, es_1), ("es-2", two, es_2)]
    ]
    return [*one.records, *two.records[2:], *bundles]


def _seeded(analyzer: PolicyAnalyzer, seeds: Any, es_1: dict[str, Any] | None = None,
            es_2: dict[str, Any] | None = None) -> list[Any]:
    """Cluster `logs` (`_cluster_logs`); es-1's elasticsearch.yml lists `seeds` (and has the
    settings `es_1`)."""
    records = _cluster_logs({"discovery.seed_hosts": seeds, **(es_1 or {})}, {}, es_2)
    return analyzer.analyze_stack(records)


@pytest.mark.parametrize("seeds", [
    ["es-1.logs.example", "es-3.logs.example:9300"],
    ["10.0.0.3"],
    "[fd00::3]:9300",
])
def test_seed_host_no_node_certificate_of_the_cluster_covers_is_advised(
    analyzer: PolicyAnalyzer, seeds: Any
) -> None:
    diagnostics = _seeded(analyzer, seeds)
    assert verdicts(diagnostics) == {("es-transport-leaf-advisory", A)}
    [diagnostic] = diagnostics
    assert diagnostic.urn.endswith("::es-1-bundle")
    assert "discovery.seed_hosts entry" in diagnostic.message
    assert "2 node certificate(s) of cluster 'logs'" in diagnostic.message


@pytest.mark.parametrize(("seeds", "es_1", "es_2"), [
    # Each seed is covered by some node certificate of the cluster (not the seeding node's).
    (["es-1.logs.example", "ES-2.logs.example:9300", "10.0.0.2", "[::ffff:10.0.0.2]:9301"],
     None, None),
    (["es-3.logs.example"], None, {"dnsNames": ["*.logs.example"]}),
    # Not judged: no hostname verification (or TLS off), names not known, entries not read.
    (["es-3.logs.example"], {T + "verification_mode": "certificate"}, None),
    (["es-3.logs.example"], {T + "enabled": False}, None),
    (["es-3.logs.example"], None, {"dnsNames": UNKNOWN}),
    (["fd00::3", "_site_", "${SEED}", "es-3.logs.example,10.0.0.3"], None, None),
])
def test_seed_hosts_covered_or_not_judged_pass(
    analyzer: PolicyAnalyzer, seeds: Any, es_1: dict[str, Any] | None,
    es_2: dict[str, Any] | None,
) -> None:
    assert _seeded(analyzer, seeds, es_1, es_2) == []


def test_http_and_transport_share_a_certificate(analyzer: PolicyAnalyzer) -> None:
    a = pki("a")
    http = f.secret("es-a-http", {"tls.crt": UNKNOWN, "tls.key": UNKNOWN},
                    [a.node_key, a.cert])
    records = [*a.records, http, *eck_per_node("es-a", a, http_secret=http)]
    assert stack(analyzer, records) == {("es-transport-separate", M)}


def test_transport_ca_signs_an_http_certificate(analyzer: PolicyAnalyzer) -> None:
    a = pki("a")
    http_key = f.private_key("http-key")
    http_req = f.csr("http-csr", http_key)
    http_cert = f.node_cert("http-cert", http_req, a.ca, a.ca_key)
    http = f.secret("es-a-http", {"tls.crt": UNKNOWN, "tls.key": UNKNOWN},
                    [http_key, http_cert])
    records = [*a.records, http_key, http_req, http_cert, http,
               *eck_per_node("es-a", a, http_secret=http)]
    assert stack(analyzer, records) == {("es-transport-separate", M)}


def _eck_cert_and_key_apart(material: Pki, ssl: str = T) -> list[Record]:
    """Per-node ECK where each pod's certificate comes from a mounted ConfigMap and its key
    from a mounted Secret, each named by `ssl`'s certificate / key (transport.ssl's)."""
    keys = f.secret("es-a-keys", {"pod-0.tls.key": UNKNOWN}, [material.node_key])
    crts = f.config_map("es-a-crts", {"pod-0.tls.crt": UNKNOWN}, [material.cert])
    trust = f.config_map("es-a-ca", {"ca.crt": UNKNOWN}, [material.ca])
    config_dir = "/usr/share/elasticsearch/config"
    node_set = f.node_set({ssl + "key": config_dir + "/keys/${POD_NAME}.tls.key",
                           ssl + "certificate": config_dir + "/crts/${POD_NAME}.tls.crt"})
    node_set["podTemplate"] = {"spec": {
        "volumes": [{"name": "k", "secret": {"secretName": keys.name}},
                    {"name": "c", "configMap": {"name": crts.name}}],
        "containers": [{"name": "elasticsearch", "volumeMounts": [
            {"name": "k", "mountPath": config_dir + "/keys"},
            {"name": "c", "mountPath": config_dir + "/crts"}]}]}}
    es = f.elasticsearch("es-a", {"version": "9.1.0", "transport": {"tls": {
        "selfSignedCertificates": {"disabled": True},
        "certificateAuthorities": {"configMapName": trust.name}}}, "nodeSets": [node_set]})
    return [keys, crts, trust, es]


def test_eck_cert_and_key_from_different_objects_are_a_node_certificate(
    analyzer: PolicyAnalyzer,
) -> None:
    a = pki("a", allowedUses=["digital_signature", "server_auth"])
    diagnostics = analyzer.analyze_stack([*a.records, *_eck_cert_and_key_apart(a)])
    assert verdicts(diagnostics) == {("es-transport-eku", M)}
    assert "delivered by urn:pulumi:test::es-transport-pki::kubernetes:elasticsearch" in (
        diagnostics[0].message)


def test_a_transport_profiles_mounted_material_is_transport_material(
    analyzer: PolicyAnalyzer,
) -> None:
    """A named profile serves transport on its own port: its certificate is judged as well."""
    a = pki("a", allowedUses=["digital_signature", "server_auth"])
    profile = "transport.profiles.client.xpack.security.ssl."
    assert stack(analyzer, [*a.records, *_eck_cert_and_key_apart(a, profile)]) == {
        ("es-transport-eku", M)}


def test_eck_cert_and_key_from_different_objects_pass(analyzer: PolicyAnalyzer) -> None:
    a = pki("a")
    assert stack(analyzer, [*a.records, *_eck_cert_and_key_apart(a)]) == set()


CONFIG_DIR = "/usr/share/elasticsearch/config"


def _eck_mounting(material: Pki, volume: dict[str, Any], mounts: list[dict[str, Any]],
                  key: str, certificate: str) -> list[Record]:
    """Per-node ECK whose node certificate and key reach the pod through `volume`, mounted by
    `mounts`, where transport.ssl's `key` and `certificate` point."""
    certs = f.secret("es-a-certs", {"pod-0.tls.key": UNKNOWN, "pod-0.tls.crt": UNKNOWN},
                     [material.node_key, material.cert])
    trust = f.config_map("es-a-ca", {"ca.crt": UNKNOWN}, [material.ca])
    node_set = f.node_set({T + "key": key, T + "certificate": certificate})
    node_set["podTemplate"] = {"spec": {"volumes": [volume], "containers": [
        {"name": "elasticsearch", "volumeMounts": mounts}]}}
    es = f.elasticsearch("es-a", {"version": "9.1.0", "transport": {"tls": {
        "selfSignedCertificates": {"disabled": True},
        "certificateAuthorities": {"configMapName": trust.name}}}, "nodeSets": [node_set]})
    return [certs, trust, es]


def _projected(material: Pki) -> list[Record]:
    """The Secret reaches the pod as a source of a projected volume."""
    volume = {"name": "pki", "projected": {"sources": [{"secret": {"name": "es-a-certs"}}]}}
    mounts = [{"name": "pki", "mountPath": CONFIG_DIR + "/pki"}]
    return _eck_mounting(material, volume, mounts, CONFIG_DIR + "/pki/${POD_NAME}.tls.key",
                         CONFIG_DIR + "/pki/${POD_NAME}.tls.crt")


def _sub_path(material: Pki) -> list[Record]:
    """Each file of the Secret mounted on its own (`subPath`), the settings naming the mount
    itself (one absolute, one relative to the config directory)."""
    volume = {"name": "pki", "secret": {"secretName": "es-a-certs"}}
    mounts = [{"name": "pki", "mountPath": CONFIG_DIR + "/node.key", "subPath": "pod-0.tls.key"},
              {"name": "pki", "mountPath": CONFIG_DIR + "/node.crt", "subPath": "pod-0.tls.crt"}]
    return _eck_mounting(material, volume, mounts, CONFIG_DIR + "/node.key", "node.crt")


def _named_in_env(material: Pki) -> list[Record]:
    """The settings naming the mounted files given in the Elasticsearch container's env (the
    official image's two spellings), none in `config`."""
    volume = {"name": "pki", "secret": {"secretName": "es-a-certs"}}
    mounts = [{"name": "pki", "mountPath": CONFIG_DIR + "/pki"}]
    records = _eck_mounting(material, volume, mounts, "", "")
    node_set = records[-1].properties["spec"]["nodeSets"][0]
    node_set["config"] = {}
    node_set["podTemplate"]["spec"]["containers"][0]["env"] = [
        {"name": T + "key", "value": CONFIG_DIR + "/pki/${POD_NAME}.tls.key"},
        {"name": "ES_SETTING_XPACK_SECURITY_TRANSPORT_SSL_CERTIFICATE",
         "value": CONFIG_DIR + "/pki/${POD_NAME}.tls.crt"}]
    return records


def _named_in_args(material: Pki) -> list[Record]:
    """The settings naming the mounted files given on Elasticsearch's command line (`-E`)."""
    records = _named_in_env(material)
    container = records[-1].properties["spec"]["nodeSets"][0]["podTemplate"]["spec"][
        "containers"][0]
    del container["env"]
    container["args"] = ["eswrapper", f"-E{T}key={CONFIG_DIR}/pki/${{POD_NAME}}.tls.key",
                         "-E", f"{T}certificate={CONFIG_DIR}/pki/${{POD_NAME}}.tls.crt"]
    return records


def _named_in_env_from(material: Pki) -> list[Record]:
    """The settings naming the mounted files in a ConfigMap the container loads (`envFrom`)."""
    records = _named_in_env(material)
    container = records[-1].properties["spec"]["nodeSets"][0]["podTemplate"]["spec"][
        "containers"][0]
    env = f.config_map("es-a-env", {e["name"]: e["value"] for e in container.pop("env")})
    container["envFrom"] = [{"configMapRef": {"name": env.name}}]
    return [env, *records]


DELIVERIES = [_projected, _sub_path, _named_in_env, _named_in_args, _named_in_env_from]


@pytest.mark.parametrize("delivery", DELIVERIES)
def test_serverauth_only_cert_mounted_by_any_volume_shape(
    analyzer: PolicyAnalyzer, delivery: Callable[[Pki], list[Record]]
) -> None:
    """A projected volume and a `subPath` mount are pod volumes mounted where the transport
    settings point, as much as a plain `secret` volume mounted on a directory."""
    a = pki("a", allowedUses=["digital_signature", "server_auth"])
    assert stack(analyzer, [*a.records, *delivery(a)]) == {("es-transport-eku", M)}


@pytest.mark.parametrize("delivery", DELIVERIES)
def test_node_cert_mounted_by_any_volume_shape_passes(
    analyzer: PolicyAnalyzer, delivery: Callable[[Pki], list[Record]]
) -> None:
    a = pki("a")
    assert stack(analyzer, [*a.records, *delivery(a)]) == set()


def _http_pki(prefix: str) -> tuple[list[Record], Record]:
    """An HTTP certificate from its own CA, serverAuth-only as public/org CAs issue them, and
    the Secret that carries it: (records, Secret)."""
    ca_key = f.ca_key(f"{prefix}-http-ca-key")
    ca = f.ca_cert(f"{prefix}-http-ca", ca_key)
    key = f.private_key(f"{prefix}-http-key")
    request = f.csr(f"{prefix}-http-csr", key)
    cert = f.node_cert(f"{prefix}-http-cert", request, ca, ca_key,
                       allowedUses=["digital_signature", "key_encipherment", "server_auth"])
    http = f.secret(f"{prefix}-http", {"tls.crt": UNKNOWN, "tls.key": UNKNOWN}, [key, cert])
    return [ca_key, ca, key, request, cert, http], http


def _spec_names_by_output(records: list[Record]) -> list[Record]:
    """The usual hand-written idiom: `spec` names its Secrets/ConfigMaps through Outputs
    (`secret.metadata.name`), so `spec` depends on every object it names, HTTP ones too."""
    es = records[-1]
    named = [r.urn for r in records[:-1]]
    return [*records[:-1], dataclasses.replace(
        es, dependencies=named, property_dependencies={"spec": named})]


def test_eck_spec_naming_its_http_secret_by_output_passes(analyzer: PolicyAnalyzer) -> None:
    a = pki("a")
    http_records, http = _http_pki("es-a")
    eck = _spec_names_by_output([http, *eck_per_node("es-a", a, http_secret=http)])
    assert stack(analyzer, [*a.records, *http_records[:-1], *eck]) == set()


def test_eck_spec_by_output_still_judges_the_transport_secret(analyzer: PolicyAnalyzer) -> None:
    a = pki("a", allowedUses=["digital_signature", "server_auth"])
    http_records, http = _http_pki("es-a")
    eck = _spec_names_by_output([http, *eck_per_node("es-a", a, http_secret=http)])
    diagnostics = analyzer.analyze_stack([*a.records, *http_records[:-1], *eck])
    assert verdicts(diagnostics) == {("es-transport-eku", M)}
    assert {d.urn for d in diagnostics} == {a.cert.urn}


def test_bundle_naming_one_key_for_http_and_transport(analyzer: PolicyAnalyzer) -> None:
    settings = f.good_vm_settings(**{"xpack.security.http.ssl.key": "certs/node.key"})
    files = {"elasticsearch.yml": (f.yml(settings), "0644"),
             "certs/node.key": (pems.NODE_KEY, "0600")}
    assert stack(analyzer, [f.bundle("b", files, cluster="a")]) == {
        ("es-transport-separate", M)}


def _bundle_with_http(a: Pki, key: str, certificate: str) -> Record:
    """Preview: a VM bundle whose HTTP settings name `key`/`certificate`, every content
    unknown."""
    settings = f.good_vm_settings(**{"xpack.security.http.ssl.enabled": True,
                                     "xpack.security.http.ssl.key": key,
                                     "xpack.security.http.ssl.certificate": certificate})
    files = {"elasticsearch.yml": (f.yml(settings), "0644"), "certs/node.key": (UNKNOWN, "0600"),
             "certs/node.crt": (UNKNOWN, "0644"), "certs/ca.crt": (UNKNOWN, "0644"),
             "certs/http.key": (UNKNOWN, "0600"), "certs/http.crt": (UNKNOWN, "0644")}
    return f.bundle("a-bundle", files, [a.node_key, a.cert, a.ca], cluster="a")


def test_bundle_naming_transport_files_for_http_at_preview(analyzer: PolicyAnalyzer) -> None:
    a = pki("a")
    bundle = _bundle_with_http(a, "/etc/elasticsearch/certs/node.key", "certs/node.crt")
    diagnostics = analyzer.preview([*a.records, bundle])
    assert verdicts(diagnostics) == {("es-transport-separate", M)}
    assert sorted(d.message.splitlines()[1] for d in diagnostics) == [
        "[INV-SEPARATE] file certs/node.crt is named by both xpack.security.http.ssl.certificate "
        "and xpack.security.transport.ssl.certificate",
        "[INV-SEPARATE] file certs/node.key is named by both xpack.security.http.ssl.key and "
        "xpack.security.transport.ssl.key",
    ]
    assert all(d.urn == bundle.urn for d in diagnostics)


def test_bundle_naming_own_http_files_at_preview(analyzer: PolicyAnalyzer) -> None:
    a = pki("a")
    bundle = _bundle_with_http(a, "certs/http.key", "certs/http.crt")
    assert analyzer.preview([*a.records, bundle]) == []


def _http_in_files(a: Pki, http_ca: Record, http_ca_key: Record,
                   contents: dict[str, str] | None = None) -> list[Record]:
    """A VM bundle that puts its HTTP key and certificate (own key, issued by `http_ca`) into
    `files`, not `httpFiles`: the HTTP material, then the bundle. `contents` (path → PEM)
    makes those files' content known, as after an `up`; the rest stays unknown."""
    key = f.private_key(f"{a.cert.name}-http-key")
    request = f.csr(f"{a.cert.name}-http-csr", key)
    cert = f.node_cert(f"{a.cert.name}-http-cert", request, http_ca, http_ca_key,
                       allowedUses=["digital_signature", "key_encipherment", "server_auth"])
    bundle = _bundle_with_http(a, "certs/http.key", "certs/http.crt")
    files = dict(bundle.properties["files"])
    for file, pem in (contents or {}).items():
        files[file] = {**files[file], "content": pem}
    bundle = f.bundle(bundle.name, {p: (v["content"], v["mode"]) for p, v in files.items()},
                      [a.node_key, a.cert, a.ca, key, cert], cluster=a.cert.name)
    return [key, request, cert, bundle]


def _with_outputs(record: Record, **outputs: str) -> Record:
    return dataclasses.replace(record, outputs={**record.properties, **outputs})


def test_http_files_in_files_signed_by_the_transport_ca_at_preview(
    analyzer: PolicyAnalyzer,
) -> None:
    """Contents unknown: whichever certificate serves HTTP, the transport CA signed it."""
    a = pki("a")
    http = _http_in_files(a, a.ca, a.ca_key)
    diagnostics = [d for d in analyzer.preview([*a.records, *http])
                   if d.enforcement_level == M]
    assert verdicts(diagnostics) == {("es-transport-separate", M)}
    assert [d.urn for d in diagnostics] == [http[-1].urn]
    assert f"is signed by the transport CA {a.ca.urn}" in diagnostics[0].message


def test_http_files_in_files_from_one_org_ca_for_two_clusters_pass(
    analyzer: PolicyAnalyzer,
) -> None:
    """An organisation CA may sign both clusters' HTTP certificates (serverAuth-only): they
    are neither transport certificates nor a shared transport CA."""
    org_key = f.ca_key("org-ca-key")
    org = f.ca_cert("org-ca", org_key)
    records = [org_key, org]
    for name in ("a", "b"):
        material = pki(name)
        records += [*material.records, *_http_in_files(material, org, org_key)]
    assert stack(analyzer, records) == set()
    assert [d for d in analyzer.preview(records) if d.enforcement_level == M] == []


def _known_http_in_files(*, from_transport_ca: bool) -> list[Record]:
    """After an `up`: every file's content known, each layer's key and certificate told apart
    by content. The HTTP certificate is serverAuth-only, from the transport CA or from an
    organisation CA."""
    a = pki("a")
    org_key = f.ca_key("org-ca-key")
    org = f.ca_cert("org-ca", org_key)
    issuer = (a.ca, a.ca_key) if from_transport_ca else (org, org_key)
    key, request, cert, bundle = _http_in_files(a, *issuer, contents={
        "certs/node.key": pems.NODE_KEY, "certs/node.crt": pems.NOT_A_CA,
        "certs/http.key": pems.OTHER_KEY, "certs/http.crt": pems.EXPIRED_CA})
    return [org_key, org, a.ca_key, a.ca,
            _with_outputs(a.node_key, privateKeyPem=pems.NODE_KEY), a.request,
            _with_outputs(a.cert, certPem=pems.NOT_A_CA),
            _with_outputs(key, privateKeyPem=pems.OTHER_KEY), request,
            _with_outputs(cert, certPem=pems.EXPIRED_CA), bundle]


def test_known_http_files_in_files_are_judged_as_http(analyzer: PolicyAnalyzer) -> None:
    assert stack(analyzer, _known_http_in_files(from_transport_ca=False)) == set()


def test_known_http_file_in_files_signed_by_the_transport_ca(analyzer: PolicyAnalyzer) -> None:
    records = _known_http_in_files(from_transport_ca=True)
    diagnostics = analyzer.analyze_stack(records)
    assert verdicts(diagnostics) == {("es-transport-separate", M)}
    assert [d.urn for d in diagnostics] == [records[-2].urn]


def test_ca_key_in_a_bundle(analyzer: PolicyAnalyzer) -> None:
    a = pki("a")
    leaky = f.bundle("a-bundle", {"ca.key": (UNKNOWN, "0600")}, [a.ca_key, a.cert], "a")
    assert stack(analyzer, [*a.records, leaky]) == {("es-transport-ca-key-custody", M)}


def test_literal_ca_key_in_a_secret(analyzer: PolicyAnalyzer) -> None:
    a = pki("a", caCertPem=pems.PRIVATE_CA, caPrivateKeyPem=pems.PRIVATE_CA_KEY)
    leak = f.secret("leak", {"tls.key": pems.PRIVATE_CA_KEY})
    assert stack(analyzer, [*a.records, leak]) == {("es-transport-ca-key-custody", M)}


def test_literal_ca_key_in_a_bundles_stores(analyzer: PolicyAnalyzer) -> None:
    """A bundle's provider builds the node's PKCS#12 keystore from `stores.key`: a CA key
    there reaches the node as one in `files` does (here in another PEM form)."""
    a = pki("a", caCertPem=pems.PRIVATE_CA, caPrivateKeyPem=pems.PRIVATE_CA_KEY)

    def bundle(key: str) -> Record:
        record = vm_bundle("a", a)
        return dataclasses.replace(record, properties={**record.properties, "stores": {
            "key": key, "certificate": UNKNOWN, "certificateAuthorities": pems.PRIVATE_CA}})

    leaky = bundle(pems.PRIVATE_CA_KEY_TRADITIONAL)
    diagnostics = analyzer.analyze_stack([*a.records, leaky])
    assert verdicts(diagnostics) == {("es-transport-ca-key-custody", M)}
    assert [d.urn for d in diagnostics] == [leaky.urn]
    assert stack(analyzer, [*a.records, bundle(pems.NODE_KEY)]) == set()


def test_ca_key_in_a_pkcs12_store(analyzer: PolicyAnalyzer) -> None:
    """elasticsearch-certutil's elastic-stack-ca.p12 (the CA's key and certificate, no
    password) in a Secret is the CA key delivered; a node's keystore (its key, its certificate
    and the CA certificate) is not."""
    a = pki("a")

    def holding(store: bytes) -> Record:
        return f.secret("certs", {"store.p12": base64.b64encode(store).decode()}, encode=False)

    ca_store = holding(pems.keystore(pems.PRIVATE_CA_KEY, pems.PRIVATE_CA))
    diagnostics = analyzer.analyze_stack([*a.records, ca_store])
    assert verdicts(diagnostics) == {("es-transport-ca-key-custody", M)}
    assert [d.urn for d in diagnostics] == [ca_store.urn]
    node_store = holding(pems.keystore(pems.LEAF_KEY, pems.LEAF, pems.PRIVATE_CA))
    assert stack(analyzer, [*a.records, node_store]) == set()


def test_a_provided_ca_key_alone_in_a_pkcs12_store(
    analyzer: PolicyAnalyzer,
) -> None:
    """A store's key is known by its public key: a provided CA's key stored without its
    certificate is still the CA's."""
    a = pki("a", caCertPem=pems.PRIVATE_CA, caPrivateKeyPem=pems.PRIVATE_CA_KEY)
    store = pems.keystore(pems.PRIVATE_CA_KEY, None)
    leak = f.secret("certs", {"store.p12": base64.b64encode(store).decode()}, encode=False)
    assert stack(analyzer, [*a.records, leak]) == {("es-transport-ca-key-custody", M)}


EXTRA = "/usr/share/elasticsearch/config/extra"


def _eck_mounting_trust(
    es_name: str, material: Pki, trust: Record, setting: Any, *, mount: dict[str, Any],
    volume: dict[str, Any],
) -> list[Record]:
    """The program's per-node ECK cluster whose nodeSet config sets its own transport trust
    (`setting`, replacing ECK's) at a file of `trust` mounted with `mount` from `volume`."""
    records = eck_per_node(es_name, material)
    node_set = records[-1].properties["spec"]["nodeSets"][0]
    node_set["config"][T + "certificate_authorities"] = setting
    pod = node_set["podTemplate"]["spec"]
    pod["volumes"].append({"name": "extra", **volume})
    pod["containers"][0]["volumeMounts"].append({"name": "extra", **mount})
    return [*records, trust]


@pytest.mark.parametrize(("setting", "mount", "volume"), [
    ([EXTRA + "/ca.crt"], {"mountPath": EXTRA}, {"configMap": {"name": "extra"}}),
    ("extra/ca.crt", {"mountPath": EXTRA}, {"configMap": {"name": "extra"}}),
    ([EXTRA + "/trust.pem"], {"mountPath": EXTRA + "/trust.pem", "subPath": "ca.crt"},
     {"configMap": {"name": "extra"}}),
    ([EXTRA + "/cas/trust.pem"], {"mountPath": EXTRA}, {"configMap": {
        "name": "extra", "items": [{"key": "ca.crt", "path": "cas/trust.pem"}]}}),
    ([EXTRA + "/ca.crt"], {"mountPath": EXTRA},
     {"projected": {"sources": [{"configMap": {"name": "extra"}}]}}),
], ids=["directory", "relative-path", "subPath", "items", "projected"])
def test_eck_trusting_a_mounted_public_root(
    analyzer: PolicyAnalyzer, setting: Any, mount: dict[str, Any], volume: dict[str, Any]
) -> None:
    """An ECK nodeSet's own certificate_authorities replaces ECK's: the CA file it names in a
    mounted ConfigMap gets es-transport-trusted-ca's checks, as a trust ConfigMap's does."""
    a = pki("a")
    public = f.config_map("extra", {"ca.crt": pems.public_root()})
    records = [*a.records, *_eck_mounting_trust("es-a", a, public, setting, mount=mount,
                                                        volume=volume)]
    diagnostics = analyzer.analyze_stack(records)
    assert verdicts(diagnostics) == {("es-transport-ca-dedicated", M)}
    assert [d.urn for d in diagnostics] == [public.urn]
    assert "public root" in diagnostics[0].message
    private = f.config_map("extra", {"ca.crt": pems.PRIVATE_CA})
    records = [*a.records, *_eck_mounting_trust("es-a", a, private, setting, mount=mount,
                                                        volume=volume)]
    assert stack(analyzer, records) == set()


def test_eck_public_root_mounted_where_no_trust_setting_points_is_not_trust(
    analyzer: PolicyAnalyzer,
) -> None:
    a = pki("a")
    public = f.config_map("extra", {"ca.crt": pems.public_root()})
    records = [*a.records, *_eck_mounting_trust(
        "es-a", a, public, [EXTRA + "/other.crt"], mount={"mountPath": EXTRA},
        volume={"configMap": {"name": "extra"}})]
    assert stack(analyzer, records) == set()


def test_two_eck_clusters_trusting_one_mounted_external_ca(analyzer: PolicyAnalyzer) -> None:
    a, b = pki("a"), pki("b")
    mount = {"mountPath": EXTRA}
    records = [*a.records, *b.records] + [
        record for name, material in (("a", a), ("b", b))
        for record in _eck_mounting_trust(
            f"es-{name}", material, f.config_map(f"extra-{name}", {"ca.crt": pems.PRIVATE_CA}),
            [EXTRA + "/ca.crt"], mount=mount, volume={"configMap": {"name": f"extra-{name}"}})]
    assert stack(analyzer, records) == {("es-transport-ca-dedicated", M)}


SERVER_AUTH = x509.oid.ExtendedKeyUsageOID.SERVER_AUTH
CLIENT_AUTH = x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH


@pytest.mark.parametrize(("usages", "expected"), [
    ((SERVER_AUTH,), {("es-transport-eku", M)}),
    ((SERVER_AUTH, CLIENT_AUTH), set()),
    ((), set()),
], ids=["server-only", "both", "none"])
def test_a_node_certificate_given_as_pem_in_a_bundle(
    analyzer: PolicyAnalyzer, usages: tuple[x509.ObjectIdentifier, ...],
    expected: set[tuple[str, str]],
) -> None:
    """A node certificate from outside the stack (e.g. a public CA's, serverAuth only) that a
    bundle delivers as PEM for transport: JSSE refuses it as a TLS client."""
    cert, key = pems.node_leaf(*usages)
    bundle = f.bundle("b", {"elasticsearch.yml": (f.yml(f.good_vm_settings()), "0644"),
                            "certs/node.key": (key, "0600"), "certs/node.crt": (cert, "0644"),
                            "certs/ca.crt": (pems.PRIVATE_CA, "0644")}, cluster="b")
    assert stack(analyzer, [bundle]) == expected


@pytest.mark.parametrize(("usages", "expected"), [
    ((SERVER_AUTH,), {("es-transport-eku", M)}),
    ((SERVER_AUTH, CLIENT_AUTH), set()),
], ids=["server-only", "both"])
def test_a_node_certificate_in_a_pkcs12_keystore(
    analyzer: PolicyAnalyzer, usages: tuple[x509.ObjectIdentifier, ...],
    expected: set[tuple[str, str]],
) -> None:
    cert, key = pems.node_leaf(*usages)
    store = base64.b64encode(pems.keystore(key, cert, pems.PRIVATE_CA)).decode()
    settings = {T + "enabled": True, T + "keystore.path": "node.p12",
                T + "truststore.path": "node.p12"}
    secret = f.secret("s", {"elasticsearch.yml": f.b64(f.yml(settings)), "node.p12": store},
                      encode=False)
    assert stack(analyzer, [secret]) == expected


@pytest.mark.parametrize(("http_key", "http_cert", "expected"), [
    (pems.LEAF_KEY, pems.LEAF, {("es-transport-separate", M)}),
    (pems.NODE_KEY, None, {("es-transport-separate", M)}),
    (pems.OTHER_KEY, None, set()),
], ids=["same-certificate-and-key", "same-key-in-another-form", "own-key"])
def test_http_keystore_sharing_the_transport_pem_key(
    analyzer: PolicyAnalyzer, http_key: str, http_cert: str | None,
    expected: set[tuple[str, str]],
) -> None:
    """HTTP reads a PKCS#12 keystore, transport PEM files: the same key (or certificate) in
    both is shared material whatever its form."""
    transport_key = pems.LEAF_KEY if http_cert else pems.NODE_KEY_TRADITIONAL
    settings = {**f.good_vm_settings(**{T + "certificate_authorities": "ca.crt",
                                        T + "key": "node.key", T + "certificate": "node.crt"}),
                "xpack.security.http.ssl.enabled": True,
                "xpack.security.http.ssl.keystore.path": "http.p12"}
    secret = f.secret("s", {
        "elasticsearch.yml": f.b64(f.yml(settings)), "ca.crt": f.b64(pems.PRIVATE_CA),
        "node.key": f.b64(transport_key), "node.crt": f.b64(pems.LEAF),
        "http.p12": base64.b64encode(pems.keystore(http_key, http_cert)).decode()},
        encode=False)
    assert stack(analyzer, [secret]) == expected


@pytest.mark.parametrize(("http_key", "http_cert", "expected"), [
    (pems.LEAF_KEY, pems.LEAF, {("es-transport-separate", M)}),
    (pems.OTHER_KEY, pems.PRIVATE_CA, set()),
], ids=["copied", "own"])
def test_eck_http_secret_holding_a_copy_of_the_transport_material(
    analyzer: PolicyAnalyzer, http_key: str, http_cert: str, expected: set[tuple[str, str]],
) -> None:
    """Literal PEMs copied into the HTTP Secret share no dependency with the transport
    Secret's (per pod, `${POD_NAME}` files): they are compared by value."""
    a = pki("a")
    http = f.secret("es-a-http", {"tls.key": http_key, "tls.crt": http_cert})
    records = eck_per_node("es-a", a, http)
    records[0] = f.secret(records[0].name, {"pod-0.tls.key": pems.LEAF_KEY,
                                            "pod-0.tls.crt": pems.LEAF})
    diagnostics = analyzer.analyze_stack([*a.records, *records, http])
    assert verdicts(diagnostics) == expected
    assert {d.urn for d in diagnostics} <= {http.urn}


def test_a_pkcs12_store_asking_endless_key_derivation_is_not_opened(
    analyzer: PolicyAnalyzer,
) -> None:
    """Opening a store runs its key derivation once per password tried: 30 million rounds
    take seconds each. Such a store is not read (pem.MAX_STORE_ROUNDS), and AnalyzeStack stays
    fast."""
    store = with_mac_rounds(pems.keystore(pems.PRIVATE_CA_KEY, pems.PRIVATE_CA), 30_000_000)
    holder = f.secret("certs", {"store.p12": base64.b64encode(store).decode()}, encode=False)
    start = time.perf_counter()
    assert stack(analyzer, [*pki("a").records, holder]) == set()
    assert time.perf_counter() - start < 5


def test_literal_ca_key_in_a_secret_patch(analyzer: PolicyAnalyzer) -> None:
    """A SecretPatch (server-side apply) writes its data into the Secret it names."""
    a = pki("a", caCertPem=pems.PRIVATE_CA, caPrivateKeyPem=pems.PRIVATE_CA_KEY)
    leak = dataclasses.replace(f.secret("leak", {"tls.key": pems.PRIVATE_CA_KEY}),
                               type=f.SECRET + "Patch")
    node_key = dataclasses.replace(f.secret("node", {"tls.key": pems.NODE_KEY}),
                                   type=f.SECRET + "Patch")
    assert stack(analyzer, [*a.records, leak]) == {("es-transport-ca-key-custody", M)}
    assert stack(analyzer, [*a.records, node_key]) == set()


def test_literal_ca_key_in_another_pem_form_in_a_secret(analyzer: PolicyAnalyzer) -> None:
    """A provided CA's key converted to SEC1: another body, known by its public key."""
    a = pki("a", caCertPem=pems.PRIVATE_CA, caPrivateKeyPem=pems.PRIVATE_CA_KEY)
    leak = f.secret("leak", {"tls.key": pems.PRIVATE_CA_KEY_TRADITIONAL})
    diagnostics = analyzer.analyze_stack([*a.records, leak])
    assert verdicts(diagnostics) == {("es-transport-ca-key-custody", M)}
    assert [d.urn for d in diagnostics] == [leak.urn]


def test_literal_ca_key_in_openssh_form_in_a_secret(analyzer: PolicyAnalyzer) -> None:
    """The OpenSSH form (pulumi-tls's `privateKeyOpenssh`) is one more PEM form of the key."""
    a = pki("a", caCertPem=pems.PRIVATE_CA, caPrivateKeyPem=pems.PRIVATE_CA_KEY)
    leak = f.secret("leak", {"id": pems.PRIVATE_CA_KEY_OPENSSH})
    assert stack(analyzer, [*a.records, leak]) == {("es-transport-ca-key-custody", M)}
    node = f.secret("node", {"id": pems.NODE_KEY_OPENSSH})
    assert stack(analyzer, [*a.records, node]) == set()


def _eck_with_env(material: Pki, value: str) -> list[Record]:
    """Per-node ECK whose Elasticsearch container gets `value` in its env."""
    records = eck_per_node("es-a", material)
    node_set = records[-1].properties["spec"]["nodeSets"][0]
    node_set["podTemplate"]["spec"]["containers"][0]["env"] = [{"name": "X", "value": value}]
    return records


def test_literal_ca_key_in_an_elasticsearch_pod_template(analyzer: PolicyAnalyzer) -> None:
    """The env of the pod template reaches every pod: the CA key reaches every node."""
    a = pki("a", caCertPem=pems.PRIVATE_CA, caPrivateKeyPem=pems.PRIVATE_CA_KEY)
    records = [*a.records, *_eck_with_env(a, pems.PRIVATE_CA_KEY_TRADITIONAL)]
    diagnostics = analyzer.analyze_stack(records)
    assert verdicts(diagnostics) == {("es-transport-ca-key-custody", M)}
    assert [d.urn for d in diagnostics] == [records[-1].urn]


def test_ca_certificate_in_an_elasticsearch_pod_template_passes(
    analyzer: PolicyAnalyzer,
) -> None:
    a = pki("a", caCertPem=pems.PRIVATE_CA, caPrivateKeyPem=pems.PRIVATE_CA_KEY)
    assert stack(analyzer, [*a.records, *_eck_with_env(a, pems.PRIVATE_CA)]) == set()


def _generated_ca_after_up() -> Pki:
    """A generated CA once created: its key and certificate known, as after an `up`."""
    a = pki("a")
    return dataclasses.replace(
        a, ca_key=_with_outputs(a.ca_key, privateKeyPem=pems.PRIVATE_CA_KEY),
        ca=_with_outputs(a.ca, certPem=pems.PRIVATE_CA),
        node_key=_with_outputs(a.node_key, privateKeyPem=pems.NODE_KEY),
    )


def test_generated_ca_key_pasted_in_another_pem_form(analyzer: PolicyAnalyzer) -> None:
    """No dependency leads from the CA key to the Secret, and the body differs: the public
    key still gives it away."""
    a = _generated_ca_after_up()
    leak = f.secret("leak", {"ca.key": pems.PRIVATE_CA_KEY_TRADITIONAL})
    assert stack(analyzer, [*a.records, leak]) == {("es-transport-ca-key-custody", M)}


def test_node_keys_in_any_pem_form_are_not_ca_keys(analyzer: PolicyAnalyzer) -> None:
    a = _generated_ca_after_up()
    node = f.secret("node", {"tls.key": pems.NODE_KEY, "other.key": pems.NODE_KEY_TRADITIONAL,
                             "third.key": pems.OTHER_KEY})
    assert stack(analyzer, [*a.records, node]) == set()


def test_ca_to_eck_is_reported_as_advisory(analyzer: PolicyAnalyzer) -> None:
    a = pki("a")
    records = [a.ca_key, a.ca, *eck_ca_to_eck("es-a", a.ca_key, a.ca)]
    assert stack(analyzer, records) == {("es-transport-ca-key-custody-advisory", A)}


def _provided_ca_to_eck(ca_pem: str, es_name: str = "es-a") -> list[Record]:
    """A provided CA (PEM text, no tls resource) handed to ECK to issue node certificates."""
    ca_secret = f.secret(f"{es_name}-transport-ca", {"ca.crt": ca_pem, "ca.key": UNKNOWN})
    spec = {"version": "9.1.0",
            "transport": {"tls": {"certificate": {"secretName": ca_secret.name}}},
            "nodeSets": [f.node_set({})]}
    return [ca_secret, f.elasticsearch(es_name, spec)]


def test_one_provided_ca_handed_to_two_eck_clusters(analyzer: PolicyAnalyzer) -> None:
    records = [*_provided_ca_to_eck(pems.PRIVATE_CA), *_provided_ca_to_eck(pems.PRIVATE_CA, "es-b")]
    diagnostics = analyzer.analyze_stack(records)
    assert verdicts(diagnostics) == {("es-transport-ca-dedicated", M)}
    assert "shared by clusters ['search/es-a', 'search/es-b']" in diagnostics[0].message
    # Each its own CA: two clusters, two CAs.
    assert stack(analyzer, [*_provided_ca_to_eck(pems.PRIVATE_CA),
                            *_provided_ca_to_eck(pems.RSA_2048_CA, "es-b")]) == set()


def test_provided_ca_to_eck_on_a_weak_key(analyzer: PolicyAnalyzer) -> None:
    """ECK issues every node certificate from the CA it is handed: it is the cluster's
    transport CA, held to what es-transport-trusted-ca holds a provided CA to."""
    diagnostics = analyzer.analyze_stack(_provided_ca_to_eck(pems.RSA_1024_CA))
    assert verdicts(diagnostics) == {("es-transport-ca-dedicated", M)}
    assert "has an RSA key of 1024 bits" in diagnostics[0].message


def test_provided_ca_to_eck_passes(analyzer: PolicyAnalyzer) -> None:
    assert stack(analyzer, _provided_ca_to_eck(pems.PRIVATE_CA)) == set()


def test_ca_to_eck_secret_with_extra_keys_is_mandatory(analyzer: PolicyAnalyzer) -> None:
    a = pki("a")
    records = [a.ca_key, a.ca, *eck_ca_to_eck("es-a", a.ca_key, a.ca, **{"tls.crt": UNKNOWN})]
    assert stack(analyzer, records) == {("es-transport-ca-key-custody", M)}


def _ca_to_eck_secret_with_unknown_data(a: Pki, **string_data: str) -> list[Record]:
    """ca-to-eck whose Secret `data` map is computed as a whole (unknown at preview)."""
    secret, es = eck_ca_to_eck("es-a", a.ca_key, a.ca)
    props = {**secret.properties, "data": UNKNOWN,
             **({"stringData": string_data} if string_data else {})}
    return [dataclasses.replace(secret, properties=props), es]


def test_ca_to_eck_with_unknown_data_is_advisory_at_preview(analyzer: PolicyAnalyzer) -> None:
    a = pki("a")
    diagnostics = analyzer.preview([a.ca_key, a.ca, *_ca_to_eck_secret_with_unknown_data(a)])
    assert verdicts(diagnostics) == {("es-transport-ca-key-custody-advisory", A)}
    [finding] = diagnostics
    assert "[INV-CUSTODY]" in finding.message
    assert "the Secret's data is unknown at preview" in finding.message
    assert "could not be checked" in finding.message


def test_ca_to_eck_with_unknown_data_and_a_known_extra_key_is_mandatory(
    analyzer: PolicyAnalyzer,
) -> None:
    a = pki("a")
    records = [a.ca_key, a.ca, *_ca_to_eck_secret_with_unknown_data(a, **{"tls.crt": "x"})]
    diagnostics = analyzer.preview(records)
    assert verdicts(diagnostics) == {("es-transport-ca-key-custody", M)}
    assert "a CA private key is delivered to this resource" in diagnostics[0].message


def test_renewal_window(analyzer: PolicyAnalyzer) -> None:
    a = pki("a")
    soon = Record(a.cert.type, a.cert.name, a.cert.urn, a.cert.properties,
                  outputs={**a.cert.properties, "validityEndTime": "2000-01-01T00:00:00Z"})
    later = Record(a.cert.type, a.cert.name, a.cert.urn, a.cert.properties,
                   outputs={**a.cert.properties, "validityEndTime": "2999-01-01T00:00:00Z"})
    assert stack(analyzer, [soon]) == {("es-transport-renewal", A)}
    assert stack(analyzer, [later]) == set()
    assert stack(analyzer, [a.cert]) == set()  # unknown at preview: being (re)created


def _unprotected(record: Record) -> Record:
    return dataclasses.replace(record, protect=False)


def test_an_unprotected_ca_in_service_is_reported(analyzer: PolicyAnalyzer) -> None:
    a = pki("a")
    records = [_unprotected(a.ca_key), a.ca, *a.records[2:], vm_bundle("a", a)]
    diagnostics = analyzer.analyze_stack(records)
    assert verdicts(diagnostics) == {("es-transport-ca-protected", A)}
    [finding] = diagnostics
    assert finding.urn == a.ca_key.urn
    assert "the private key of CA a-ca, which certificates depend on, is not protected" in (
        finding.message)
    assert "protect=True" in finding.message
    both = [_unprotected(a.ca_key), _unprotected(a.ca), *a.records[2:], vm_bundle("a", a)]
    assert {d.urn for d in analyzer.analyze_stack(both)} == {a.ca_key.urn, a.ca.urn}


def test_a_ca_nothing_depends_on_may_be_unprotected(analyzer: PolicyAnalyzer) -> None:
    """A rotation's retiring generation: protection lifted so that the next `up` deletes it."""
    a = pki("a")
    retiring = pki("old")
    records = [*a.records, vm_bundle("a", a), _unprotected(retiring.ca_key),
               _unprotected(retiring.ca)]
    assert stack(analyzer, records) == set()


def test_exempt_stacks_are_not_checked() -> None:
    a = pki("a")
    records = [_unprotected(a.ca_key), _unprotected(a.ca), *a.records[2:], vm_bundle("a", a)]
    with PolicyAnalyzer(PackProcess(PACK_DIR)) as exempting:
        exempting.configure_stack()
        exempting.configure({"es-transport-ca-protected": {"exemptStacks": ["te*"]}})
        assert stack(exempting, records) == set()


def _eck_env_from(*sources: Record, env_from: list[dict[str, Any]],
                  env: list[dict[str, Any]] | None = None, args: list[str] | None = None,
                  container_name: str = "elasticsearch") -> list[Record]:
    """ECK whose Elasticsearch container (or `container_name`) loads `env_from` (and `env`,
    `args`), next to `sources`."""
    container: dict[str, Any] = {"name": container_name, "envFrom": env_from}
    if env is not None:
        container["env"] = env
    if args is not None:
        container["args"] = args
    es = f.elasticsearch("es-a", {"version": "9.1.0", "nodeSets": [{
        "name": "d", "count": 1, "config": {}, "podTemplate": {"spec": {
            "containers": [container]}}}]})
    return [*sources, es]


def _eck_args(*sources: Record) -> list[Record]:
    """ECK whose Elasticsearch container reads variable MODE from ConfigMap es-env's key `mode`
    and passes it on its command line as client_authentication."""
    return _eck_env_from(*sources, env_from=[], env=[{"name": "MODE", "valueFrom": {
        "configMapKeyRef": {"name": "es-env", "key": "mode"}}}], args=[
        "eswrapper", "-E", T + "client_authentication=$(MODE)"])


def _eck_optional_ref(data: dict[str, str]) -> list[Record]:
    """ECK whose Elasticsearch container loads client_authentication `optional` with envFrom,
    then reads key `client-auth` of ConfigMap es-env (`data`) with an optional valueFrom."""
    return _eck_env_from(
        f.config_map("weak", {T + "client_authentication": "optional"}),
        f.config_map("es-env", data), env_from=[{"configMapRef": {"name": "weak"}}],
        env=[{"name": T + "client_authentication", "valueFrom": {"configMapKeyRef": {
            "name": "es-env", "key": "client-auth", "optional": True}}}])


ENV_FROM_CASES: dict[str, tuple[list[Record], set[tuple[str, str]]]] = {
    "config-map-client-auth-optional": (_eck_env_from(
        f.config_map("es-env", {T + "client_authentication": "optional"}),
        env_from=[{"configMapRef": {"name": "es-env"}}]),
        {("es-transport-mtls-env-from", M)}),
    "secret-prefixed-verification-none": (_eck_env_from(
        f.secret("es-env", {"XPACK_SECURITY_TRANSPORT_SSL_VERIFICATION__MODE": "none"}),
        env_from=[{"secretRef": {"name": "es-env"}, "prefix": "ES_SETTING_"}]),
        {("es-transport-verify-env-from", M), ("es-transport-verify-env-from-advisory", A)}),
    "secret-string-data-unknown-setting": (_eck_env_from(
        f.record(f.SECRET, "es-env", {"metadata": {"name": "es-env", "namespace": "search"},
                                      "stringData": {T + "certificate_authorites": "ca.crt"}}),
        env_from=[{"secretRef": {"name": "es-env"}}]),
        {("es-transport-settings-env-from", M)}),
    "later-source-wins": (_eck_env_from(
        f.config_map("weak", {T + "client_authentication": "optional"}),
        f.config_map("strict", {T + "client_authentication": "required"}),
        env_from=[{"configMapRef": {"name": "weak"}}, {"configMapRef": {"name": "strict"}}]),
        set()),
    "env-wins": (_eck_env_from(
        f.config_map("es-env", {T + "client_authentication": "optional"}),
        env_from=[{"configMapRef": {"name": "es-env"}}],
        env=[{"name": T + "client_authentication", "value": "required"}]), set()),
    "config-map-client-auth-required": (_eck_env_from(
        f.config_map("es-env", {T + "client_authentication": "required",
                                "ES_JAVA_OPTS": "-Xms2g"}),
        env_from=[{"configMapRef": {"name": "es-env"}}]), set()),
    "not-in-the-stack": (_eck_env_from(env_from=[{"configMapRef": {"name": "es-env"}}]), set()),
    "in-another-namespace": (_eck_env_from(
        f.config_map("es-env", {T + "client_authentication": "optional"}, namespace="other"),
        env_from=[{"configMapRef": {"name": "es-env"}}]), set()),
    "data-unknown-at-preview": (_eck_env_from(
        f.record(f.CONFIG_MAP, "es-env", {"metadata": {"name": "es-env", "namespace": "search"},
                                          "data": UNKNOWN}),
        env_from=[{"configMapRef": {"name": "es-env"}}]), set()),
    "later-source-unknown": (_eck_env_from(
        f.config_map("weak", {T + "client_authentication": "optional"}),
        env_from=[{"configMapRef": {"name": "weak"}}, {"secretRef": {"name": UNKNOWN}}]),
        set()),
    # `env` entries read a ConfigMap's or Secret's key with `valueFrom`, and take a `$(VAR)`
    # from what the container's environment holds (kubelet's makeEnvironmentVariables).
    "value-from-config-map-optional": (_eck_env_from(
        f.config_map("es-env", {"client-auth": "optional"}), env_from=[],
        env=[{"name": T + "client_authentication", "valueFrom": {
            "configMapKeyRef": {"name": "es-env", "key": "client-auth"}}}]),
        {("es-transport-mtls-env-from", M)}),
    "value-from-config-map-required": (_eck_env_from(
        f.config_map("es-env", {"client-auth": "required"}), env_from=[],
        env=[{"name": T + "client_authentication", "valueFrom": {
            "configMapKeyRef": {"name": "es-env", "key": "client-auth"}}}]), set()),
    "value-from-secret-verification-none": (_eck_env_from(
        f.secret("es-env", {"mode": "none"}), env_from=[],
        env=[{"name": "ES_SETTING_XPACK_SECURITY_TRANSPORT_SSL_VERIFICATION__MODE",
              "valueFrom": {"secretKeyRef": {"name": "es-env", "key": "mode"}}}]),
        {("es-transport-verify-env-from", M), ("es-transport-verify-env-from-advisory", A)}),
    "value-from-secret-misspelt-mode": (_eck_env_from(
        f.secret("es-env", {"mode": "requried"}), env_from=[],
        env=[{"name": T + "client_authentication",
              "valueFrom": {"secretKeyRef": {"name": "es-env", "key": "mode"}}}]),
        {("es-transport-settings-env-from", M)}),
    "value-from-overridden-by-a-later-entry": (_eck_env_from(
        f.config_map("es-env", {"client-auth": "optional"}), env_from=[],
        env=[{"name": T + "client_authentication", "valueFrom": {
            "configMapKeyRef": {"name": "es-env", "key": "client-auth"}}},
             {"name": T + "client_authentication", "value": "required"}]), set()),
    "value-from-overriding-an-earlier-entry": (_eck_env_from(
        f.config_map("es-env", {"client-auth": "optional"}), env_from=[],
        env=[{"name": T + "client_authentication", "value": "required"},
             {"name": T + "client_authentication", "valueFrom": {
                 "configMapKeyRef": {"name": "es-env", "key": "client-auth"}}}]),
        {("es-transport-mtls-env-from", M)}),
    # An optional ref to a key the object lacks sets nothing: what envFrom loaded stays.
    "value-from-optional-missing-key": (_eck_optional_ref({"other": "required"}),
                                        {("es-transport-mtls-env-from", M)}),
    "value-from-optional-present-key": (_eck_optional_ref({"client-auth": "required"}), set()),
    # A required ref to a missing key: kubelet does not start the container.
    "value-from-required-missing-key": (_eck_env_from(
        f.config_map("es-env", {"other": "optional"}), env_from=[],
        env=[{"name": T + "client_authentication", "valueFrom": {
            "configMapKeyRef": {"name": "es-env", "key": "client-auth"}}}]), set()),
    "value-from-not-in-the-stack": (_eck_env_from(
        env_from=[], env=[{"name": T + "client_authentication", "valueFrom": {
            "secretKeyRef": {"name": "es-env", "key": "client-auth"}}}]), set()),
    "value-from-field-ref": (_eck_env_from(
        env_from=[], env=[{"name": T + "client_authentication", "valueFrom": {
            "fieldRef": {"fieldPath": "metadata.annotations['mode']"}}}]), set()),
    "var-from-env-from-in-env": (_eck_env_from(
        f.config_map("es-env", {"MODE": "none"}),
        env_from=[{"configMapRef": {"name": "es-env"}}],
        env=[{"name": T + "client_authentication", "value": "$(MODE)"}]),
        {("es-transport-mtls-env-from", M)}),
    "var-from-env-from-in-env-required": (_eck_env_from(
        f.config_map("es-env", {"MODE": "required"}),
        env_from=[{"configMapRef": {"name": "es-env"}}],
        env=[{"name": T + "client_authentication", "value": "$(MODE)"}]), set()),
    "var-from-value-from-in-args": (_eck_args(
        f.config_map("es-env", {"mode": "none"})),
        {("es-transport-mtls-env-from", M)}),
    "var-from-value-from-in-args-required": (_eck_args(
        f.config_map("es-env", {"mode": "required"})), set()),
    "sidecar": (_eck_env_from(
        f.config_map("es-env", {T + "client_authentication": "optional"}),
        env_from=[{"configMapRef": {"name": "es-env"}}], container_name="log-shipper"), set()),
}


@pytest.mark.parametrize("case", sorted(ENV_FROM_CASES))
def test_settings_loaded_with_env_from(analyzer: PolicyAnalyzer, case: str) -> None:
    """`envFrom` loads every key of a ConfigMap/Secret (prefixed) as a variable of the
    Elasticsearch container: settings, as its env's (`env` wins, then the later source)."""
    records, expected = ENV_FROM_CASES[case]
    diagnostics = analyzer.analyze_stack(records)
    assert verdicts(diagnostics) == expected, [d.message for d in diagnostics]
    assert all(d.urn == records[-1].urn for d in diagnostics)


def test_a_setting_loaded_with_env_from_is_named_with_its_route(analyzer: PolicyAnalyzer) -> None:
    records = _eck_env_from(
        f.secret("es-env", {T + "keystore.password": "changeme"}),
        env_from=[{"secretRef": {"name": "es-env"}}])
    (diagnostic,) = analyzer.analyze_stack(records)
    assert diagnostic.policy_name == "es-transport-settings-env-from"
    assert ("spec.nodeSets[0].podTemplate.spec.containers[0].envFrom: " + T + "keystore.password"
            in diagnostic.message)
    assert "remove it from the ConfigMap/Secret the container's envFrom loads" in (
        diagnostic.message)
    assert "changeme" not in diagnostic.message


def test_a_response_beyond_grpcs_default_4_mib_reaches_the_engine(
    analyzer: PolicyAnalyzer,
) -> None:
    """The engine reads analyzer responses of up to 400 MiB (the Pulumi SDKs' and pulumi-policy's
    `_MAX_RPC_MESSAGE_SIZE`), not gRPC's default 4 MiB: a large stack's findings must arrive,
    in preflight too."""
    seeds = [f"es-{number}.elsewhere.example" for number in range(4000)]
    diagnostics = _seeded(analyzer, seeds)
    assert sum(len(d.message) for d in diagnostics) > 4 * 1024 * 1024
    assert len(diagnostics) == len(seeds)
