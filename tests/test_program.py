"""The program under the mock runtime: resources, real certificates, secrets, determinism."""

from __future__ import annotations

import contextlib
import gc
import ipaddress
import runpy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pulumi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store

from components import gc_thresholds, node_certificate, transport_pki
from components.config import ConfigError
from components.node_certificate import NodeCertificate, NodeCertificateArgs, NodeMaterial
from harness.mock_runtime import EngineState, Recording, Secret, reveal, run_program
from harness.stack_file import load_stack_file
from tests.stack_runs import (
    CERT_REQUEST,
    LOCALLY_SIGNED,
    PRIVATE_KEY,
    REPO,
    SELF_SIGNED,
    cert_of,
    children,
    run_clusters,
    run_stack,
)
from tests.x509_factory import make_ca

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


def clock() -> datetime:
    return NOW


@pytest.fixture(scope="module")
def dev() -> Recording:
    return run_stack("dev", clock=clock)


def ca_cert(recording: Recording, cluster: str) -> x509.Certificate:
    return cert_of(recording.named(f"{cluster}-ca-cert"))


def node_certs(recording: Recording, cluster: str) -> dict[str, x509.Certificate]:
    prefix, pki = f"{cluster}-", recording.named(cluster).urn
    return {
        r.name.removeprefix(prefix).removesuffix("-cert"): cert_of(r)
        for r in recording.of_type(LOCALLY_SIGNED) if r.parent == pki
    }


def test_components_and_children_follow_the_naming_convention(dev: Recording) -> None:
    pki = dev.named("logs")
    assert pki.type == "es-transport-pki:transport_pki:TransportPki"
    ca = dev.named("logs-ca")
    assert ca.type == "es-transport-pki:cluster_ca:ClusterCa" and ca.parent == pki.urn
    assert {(r.type, r.name) for r in children(dev, ca)} == {
        (PRIVATE_KEY, "logs-ca-key"), (SELF_SIGNED, "logs-ca-cert")}
    # A node's key, CSR and certificate are the PKI's own children (no component per node).
    # A first deployment has nothing to move: no aliases (test_stacks_with_a_component_per_...).
    node = {(r.type, r.name): r for r in children(dev, pki) if r.name.startswith("logs-es-1-")}
    assert set(node) == {
        (PRIVATE_KEY, "logs-es-1-key"), (CERT_REQUEST, "logs-es-1-csr"),
        (LOCALLY_SIGNED, "logs-es-1-cert")}
    assert all(r.aliases == [] for r in node.values())
    assert dev.stack_outputs["clusters"]["logs"]["nodesUnderPki"] is True  # for the next `up`
    # ECK pods get one certificate each, named after the pod.
    assert sorted(node_certs(dev, "search")) == [
        "search-es-default-0", "search-es-default-1", "search-es-default-2"]


def test_every_key_has_an_explicit_strong_algorithm(dev: Recording) -> None:
    keys = dev.of_type(PRIVATE_KEY)
    assert len(keys) == 2 + 6
    for key in keys:
        assert key.inputs["algorithm"] == "ECDSA"
        assert key.inputs["ecdsaCurve"] == "P256", key.name  # never the provider's P224


def test_ca_has_ca_shape(dev: Recording) -> None:
    cert = ca_cert(dev, "logs")
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    # pulumi-tls cannot encode pathLen 0 (max_path_length=0 means "no constraint" in Go).
    assert constraints.critical and constraints.value.ca and constraints.value.path_length is None
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert cert.subject.rfc4514_string() == "CN=logs transport CA (dev),OU=logs"
    assert cert.not_valid_before_utc == NOW
    assert cert.not_valid_after_utc == NOW + timedelta(days=1825)


def test_node_certificates_are_transport_leaves(dev: Recording) -> None:
    ca = ca_cert(dev, "logs")
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    for name, cert in node_certs(dev, "logs").items():
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
        assert usage.critical and usage.value.digital_signature
        assert not usage.value.key_cert_sign and not usage.value.key_encipherment
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        assert aki.key_identifier == ca_ski.digest
        assert cert.issuer == ca.subject
        key = cert.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
        assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=90), name


def test_sans_are_exactly_the_configured_names(dev: Recording) -> None:
    expected = {
        "es-1": (["es-1.logs.dev.internal"], ["127.0.0.1"]),
        "es-2": (["es-2.logs.dev.internal"], ["127.0.0.2"]),
        "es-3": (["es-3.logs.dev.internal"], ["127.0.0.3"]),
    }
    for name, cert in node_certs(dev, "logs").items():
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns, ips = expected[name]
        assert san.get_values_for_type(x509.DNSName) == dns
        assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address(i) for i in ips]


@pytest.mark.parametrize("cluster", ["logs", "search"])
def test_chain_verifies_for_client_and_server_use(dev: Recording, cluster: str) -> None:
    store = Store([ca_cert(dev, cluster)])
    verify_at = NOW + timedelta(minutes=1)
    for name, cert in node_certs(dev, cluster).items():
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_name = san.get_values_for_type(x509.DNSName)[0]
        server = PolicyBuilder().store(store).time(verify_at).build_server_verifier(
            x509.DNSName(dns_name))
        server.verify(cert, [])
        client = PolicyBuilder().store(store).time(verify_at).build_client_verifier()
        assert client.verify(cert, []).chain[-1] == ca_cert(dev, cluster), name


def test_clusters_do_not_share_a_ca(dev: Recording) -> None:
    logs, search = ca_cert(dev, "logs"), ca_cert(dev, "search")
    assert logs.public_key() != search.public_key()
    store = Store([logs])
    verifier = PolicyBuilder().store(store).time(NOW + timedelta(minutes=1)).build_client_verifier()
    with pytest.raises(x509.verification.VerificationError):
        verifier.verify(node_certs(dev, "search")["search-es-default-0"], [])


def test_rsa_nodes_get_key_encipherment() -> None:
    recording = run_clusters([{
        "name": "rsa", "delivery": "vm", "keyAlgorithm": "rsa-3072",
        "nodes": [{"name": "n1", "dns": ["n1.rsa.internal"]}]}])
    cert = cert_of(recording.named("rsa-n1-cert"))
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 3072
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment
    assert recording.named("rsa-n1-key").inputs["rsaBits"] == 3072
    assert "ecdsaCurve" not in recording.named("rsa-n1-key").inputs


def _walk(value: Any, path: str) -> list[tuple[str, Any, bool]]:
    """Every leaf with its path and whether a Secret wrapper encloses it."""
    if isinstance(value, Secret):
        return [(p, v, True) for p, v, _ in _walk(value.value, path)]
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _walk(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _walk(v, f"{path}[{i}]")]
    return [(path, value, False)]


def test_private_keys_are_only_ever_secrets(dev: Recording) -> None:
    leaks, secrets = [], 0
    for registration in dev.registrations:
        for side in ("inputs", "outputs"):
            for path, value, secret in _walk(getattr(registration, side), registration.name):
                if isinstance(value, str) and "PRIVATE KEY-----" in value:
                    secrets += secret
                    if not secret:
                        leaks.append(f"{side}: {path}")
    assert not leaks
    # Every key's PEM output and every CSR/certificate input that carries a key was seen.
    assert secrets >= len(dev.of_type(PRIVATE_KEY)) * 2
    exported = _walk(dev.stack_outputs, "exports")
    # Exports carry keys only as secrets (the VM cloud-init documents).
    assert exported and not any(
        "PRIVATE KEY" in str(value) and not secret for _, value, secret in exported
    )


def test_stack_outputs_describe_every_certificate(dev: Recording) -> None:
    clusters = reveal(dev.stack_outputs["clusters"])
    assert set(clusters) == {"logs", "search"}
    logs = clusters["logs"]
    assert logs["caCertPem"].startswith("-----BEGIN CERTIFICATE-----")
    ca = ca_cert(dev, "logs")
    assert logs["caFingerprintSha256"] == ca.fingerprint(hashes.SHA256()).hex(":").upper()
    for name, cert in node_certs(dev, "logs").items():
        facts = logs["nodes"][name]
        assert facts["serial"] == format(cert.serial_number, "x")
        assert facts["notAfter"] == cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert len(facts["fingerprintSha256"].split(":")) == 32


def _inputs(recording: Recording) -> dict[str, Any]:
    return {r.urn: reveal(r.inputs) for r in recording.registrations}


def test_same_config_gives_identical_inputs_and_no_changes() -> None:
    state = EngineState()
    first = run_stack("dev", state=state, clock=clock)
    second = run_stack("dev", state=state, clock=lambda: NOW + timedelta(hours=5))
    assert _inputs(first) == _inputs(second)
    assert second.changes.created == second.changes.replaced == second.changes.deleted == []
    assert len(second.changes.unchanged) == len(second.registrations)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_example_stacks_run(stack: str) -> None:
    recording = run_stack(stack, clock=clock)
    assert recording.of_type(LOCALLY_SIGNED)
    assert set(reveal(recording.stack_outputs["clusters"])) == {
        r.name for r in recording.registrations
        if r.type == "es-transport-pki:transport_pki:TransportPki"}


def test_entry_point_runs_the_program_through_pulumi_run(tmp_path: Path) -> None:
    """`__main__.py` hands the program to `pulumi.run` (one yield before the SDK waits, F1 in
    docs/benchmarks.md): same registrations and exports as calling the program directly."""
    def entry_point() -> None:
        runpy.run_path(str(REPO / "__main__.py"), run_name="__main__")

    stack = load_stack_file(REPO / "stacks" / "Pulumi.dev.yaml")
    saved = gc.get_threshold()
    try:
        with contextlib.chdir(tmp_path):
            entry = run_program(entry_point, config=stack.config, stack="dev")
        # The collector runs as components/gc_thresholds.py says for a large graph.
        assert gc.get_threshold() == gc_thresholds.LARGE_GRAPH
    finally:
        gc.set_threshold(*saved)
    direct = run_stack("dev")
    assert sorted((r.urn, r.parent) for r in entry) == sorted((r.urn, r.parent) for r in direct)
    assert set(entry.stack_outputs) == set(direct.stack_outputs) != set()


def test_stacks_with_a_component_per_node_keep_their_keys_and_certificates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stack deployed while every node had a NodeCertificate component of its own: the next
    `up` moves each key, CSR and certificate to the PKI through its alias. Nothing is created
    or replaced; only the empty per-node components are deleted."""
    def per_node_component(
        name: str, args: NodeCertificateArgs, parent: pulumi.Resource, legacy_parent: str
    ) -> NodeMaterial:
        # What TransportPki registered before: a component per node, its children below it.
        component = NodeCertificate(name, args, pulumi.ResourceOptions(parent=parent))
        return NodeMaterial(component.private_key_pem, component.cert_pem)

    state = EngineState()
    with monkeypatch.context() as patched:
        patched.setattr(transport_pki, "issue_node_certificate", per_node_component)
        # Nor did its inventory say where node resources are.
        patched.setattr(transport_pki, "NODES_UNDER_PKI", "notWrittenThen")
        before = run_stack("dev", state=state, clock=clock)
    components = {r.urn for r in before.of_type(node_certificate.TYPE)}
    assert len(components) == 6
    after = run_stack("dev", state=state, clock=clock)
    assert after.changes.created == after.changes.replaced == after.changes.updated == []
    assert sorted(after.changes.deleted) == sorted(components)
    outputs = {(r.type, r.name): r.outputs for r in before if r.custom}
    assert outputs == {(r.type, r.name): r.outputs for r in after if r.custom}
    legacy = ("urn:pulumi:dev::es-transport-pki::es-transport-pki:transport_pki:TransportPki"
              "$es-transport-pki:node_certificate:NodeCertificate$")
    moved = [r for r in after if r.type in (PRIVATE_KEY, CERT_REQUEST, LOCALLY_SIGNED)
             and r.parent.endswith("TransportPki::logs")]
    assert moved and all(r.aliases == [{"urn": f"{legacy}{r.type}::{r.name}"}] for r in moved)
    # That `up` recorded the new place: the one after it needs no aliases and changes nothing.
    again = run_stack("dev", state=state, clock=clock)
    assert all(r.aliases == [] for r in again if r.custom)
    assert again.changes.created == again.changes.replaced == again.changes.deleted == []


def test_invalid_config_registers_nothing() -> None:
    state = EngineState()
    with pytest.raises(ConfigError, match=r"clusters\[0\].keyAlgorithm: 'ecdsa-p224'"):
        run_clusters([{"name": "bad", "delivery": "vm", "keyAlgorithm": "ecdsa-p224",
                       "nodes": [{"name": "n1", "dns": ["n1.x"]}]}], state=state)
    assert state.resources == {}


def test_provided_ca_signs_nodes_and_stays_secret() -> None:
    external = make_ca("ops transport CA", not_before=NOW - timedelta(days=1))
    recording = run_clusters([{
        "name": "ext", "delivery": "vm",
        "ca": {"mode": "provided", "certPem": external.cert_pem, "keyPem": external.key_pem},
        "nodes": [{"name": "n1", "dns": ["n1.ext.internal"]}]}], secret=True, clock=clock)
    assert recording.of_type(SELF_SIGNED) == []
    signed = recording.named("ext-n1-cert")
    assert isinstance(signed.inputs["caPrivateKeyPem"], Secret)
    cert = cert_of(signed)
    cert.verify_directly_issued_by(external.cert)
    exported = reveal(recording.stack_outputs["clusters"])["ext"]
    assert exported["caCertPem"] == external.cert_pem

