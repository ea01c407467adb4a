"""The harness itself: the pulumi-tls emulator issues what the provider would, and the mock
runtime records what the engine would see (secrets, parents, options, state diffs)."""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store
from google.protobuf import json_format, struct_pb2
from pulumi.output import Unknown as SdkUnknown
from pulumi.runtime import rpc
from pulumi.runtime.sync_await import _sync_await

from harness import mock_runtime
from harness import tls_emulator as emu
from harness.mock_runtime import (
    UNKNOWN,
    EngineState,
    ProtectedResourceError,
    Recording,
    Secret,
    from_wire,
    response_struct,
    reveal,
    run_program,
    settle,
    struct_to_python,
)
from tests.stack_runs import run_stack
from tests.x509_factory import damaged_pem, make_ca, negative_serial

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
CA_USES = ["cert_signing", "crl_signing"]
LEAF_USES = ["digital_signature", "server_auth", "client_auth"]


def clock() -> datetime:
    return NOW


# --- helpers: drive the emulator directly --------------------------------------------------


def new_key(algorithm: str = "ECDSA", **extra: Any) -> dict[str, Any]:
    return emu.create(emu.PRIVATE_KEY, {"algorithm": algorithm, **extra}, NOW)[1]


def key_pem(key_outputs: dict[str, Any]) -> str:
    return str(emu.unwrap_secrets(key_outputs["privateKeyPem"]))


def new_ca(key: dict[str, Any], **extra: Any) -> dict[str, Any]:
    inputs = {
        "privateKeyPem": key["privateKeyPem"], "subject": {"commonName": "test CA"},
        "isCaCertificate": True, "setSubjectKeyId": True, "allowedUses": CA_USES,
        "validityPeriodHours": 24 * 365, **extra,
    }
    return emu.create(emu.SELF_SIGNED_CERT, inputs, NOW)[1]


def new_csr(key: dict[str, Any], **extra: Any) -> str:
    inputs = {
        "privateKeyPem": key["privateKeyPem"],
        "subject": {"commonName": "es-1", "organizationalUnit": "logs"},
        "dnsNames": ["es-1.logs.internal"], "ipAddresses": ["10.0.0.1"], **extra,
    }
    return str(emu.create(emu.CERT_REQUEST, inputs, NOW)[1]["certRequestPem"])


def sign(csr: str, ca: dict[str, Any], ca_key: dict[str, Any], **extra: Any) -> dict[str, Any]:
    inputs = {
        "certRequestPem": csr, "caCertPem": ca["certPem"],
        "caPrivateKeyPem": ca_key["privateKeyPem"], "allowedUses": LEAF_USES,
        "validityPeriodHours": 72, **extra,
    }
    return emu.create(emu.LOCALLY_SIGNED_CERT, inputs, NOW)[1]


def cert(outputs: dict[str, Any]) -> x509.Certificate:
    return x509.load_pem_x509_certificate(str(outputs["certPem"]).encode())


def extension(certificate: x509.Certificate, kind: type[Any]) -> x509.Extension[Any]:
    return certificate.extensions.get_extension_for_class(kind)


@pytest.fixture(scope="module")
def ca_key() -> dict[str, Any]:
    return new_key("ECDSA", ecdsaCurve="P256")


@pytest.fixture(scope="module")
def ca(ca_key: dict[str, Any]) -> dict[str, Any]:
    return new_ca(ca_key)


# --- PrivateKey ----------------------------------------------------------------------------


def test_ecdsa_default_curve_is_p224() -> None:
    outputs = new_key("ECDSA")
    key = serialization.load_pem_private_key(key_pem(outputs).encode(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp224r1"
    assert outputs["ecdsaCurve"] == "P224"
    # x/crypto/ssh has no P-224: the provider leaves every OpenSSH field empty.
    assert outputs["publicKeyOpenssh"] == outputs["publicKeyFingerprintSha256"] == ""
    assert emu.unwrap_secrets(outputs["privateKeyOpenssh"]) == ""


@pytest.mark.parametrize(
    ("algorithm", "extra", "preamble", "kind"),
    [
        ("RSA", {}, "RSA PRIVATE KEY", rsa.RSAPrivateKey),
        ("ECDSA", {"ecdsaCurve": "P384"}, "EC PRIVATE KEY", ec.EllipticCurvePrivateKey),
        ("ED25519", {}, "PRIVATE KEY", ed25519.Ed25519PrivateKey),
    ],
)
def test_private_key_pem_uses_the_providers_format(
    algorithm: str, extra: dict[str, Any], preamble: str, kind: type[Any]
) -> None:
    outputs = new_key(algorithm, **extra)
    pem = key_pem(outputs)
    assert pem.startswith(f"-----BEGIN {preamble}-----\n") and pem.endswith("-----\n")
    assert isinstance(serialization.load_pem_private_key(pem.encode(), None), kind)
    pkcs8 = str(emu.unwrap_secrets(outputs["privateKeyPemPkcs8"]))
    assert pkcs8.startswith("-----BEGIN PRIVATE KEY-----")
    public = serialization.load_pem_public_key(str(outputs["publicKeyPem"]).encode())
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert outputs["id"] == hashlib.sha1(der, usedforsecurity=False).hexdigest()
    assert str(outputs["publicKeyFingerprintSha256"]).startswith("SHA256:")


def test_rsa_bits_default_to_2048() -> None:
    key = serialization.load_pem_private_key(key_pem(new_key("RSA")).encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048


def test_private_key_outputs_are_secret_wrapped() -> None:
    outputs = new_key("ECDSA", ecdsaCurve="P256")
    for name in ("privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"):
        assert outputs[name][emu.SECRET_SIG_KEY] == "1b47061264138c4ac30d75fd1eb44270", name
    assert isinstance(outputs["publicKeyPem"], str)


# --- SelfSignedCert ------------------------------------------------------------------------


def test_ca_certificate_has_go_shaped_extensions(ca: dict[str, Any]) -> None:
    certificate = cert(ca)
    constraints = extension(certificate, x509.BasicConstraints)
    # Go: MaxPathLen 0 without MaxPathLenZero is "no limit"; the provider never sets the latter.
    assert constraints.critical and constraints.value.ca and constraints.value.path_length is None
    usage = extension(certificate, x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    with pytest.raises(x509.ExtensionNotFound):
        extension(certificate, x509.ExtendedKeyUsage)
    with pytest.raises(x509.ExtensionNotFound):  # self-signed: Go sets no AKI
        extension(certificate, x509.AuthorityKeyIdentifier)
    ski = extension(certificate, x509.SubjectKeyIdentifier)
    assert ski.value.digest == x509.SubjectKeyIdentifier.from_public_key(
        certificate.public_key()
    ).digest
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "test CA"


def test_validity_starts_now_without_backdating(ca: dict[str, Any]) -> None:
    certificate = cert(ca)
    assert certificate.not_valid_before_utc == NOW
    assert certificate.not_valid_after_utc == NOW + timedelta(hours=24 * 365)
    assert ca["validityStartTime"] == "2026-11-28T09:30:00Z"
    assert ca["validityEndTime"] == "2027-11-28T09:30:00Z"
    assert ca["readyForRenewal"] is False


def test_serial_is_random_128_bit_and_is_the_id(ca_key: dict[str, Any]) -> None:
    serials = [cert(new_ca(ca_key)).serial_number for _ in range(8)]
    assert len(set(serials)) == 8
    assert all(0 < s < 2**128 for s in serials)
    assert max(s.bit_length() for s in serials) > 120  # random, not a counter
    _, outputs = emu.create(emu.SELF_SIGNED_CERT, {
        "privateKeyPem": ca_key["privateKeyPem"], "subject": {"commonName": "x"},
        "allowedUses": [], "validityPeriodHours": 1}, NOW)
    assert outputs["id"] == str(cert(outputs).serial_number)


def test_positive_max_path_length_is_encoded(ca_key: dict[str, Any]) -> None:
    certificate = cert(new_ca(ca_key, maxPathLength=1))
    assert extension(certificate, x509.BasicConstraints).value.path_length == 1


def test_non_ca_certificate_still_has_basic_constraints(ca_key: dict[str, Any]) -> None:
    _, outputs = emu.create(emu.SELF_SIGNED_CERT, {
        "privateKeyPem": ca_key["privateKeyPem"], "subject": {"commonName": "leaf"},
        "allowedUses": ["digital_signature"], "validityPeriodHours": 1}, NOW)
    constraints = extension(cert(outputs), x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca
    with pytest.raises(x509.ExtensionNotFound):  # no SKI unless CA or setSubjectKeyId
        extension(cert(outputs), x509.SubjectKeyIdentifier)


def test_ca_without_subject_is_refused(ca_key: dict[str, Any]) -> None:
    with pytest.raises(emu.EmulatorError, match="at least one Distinguished Name"):
        emu.create(emu.SELF_SIGNED_CERT, {
            "privateKeyPem": ca_key["privateKeyPem"], "isCaCertificate": True,
            "allowedUses": CA_USES, "validityPeriodHours": 1}, NOW)


def test_unknown_allowed_use_is_an_error(ca_key: dict[str, Any]) -> None:
    with pytest.raises(emu.EmulatorError, match=r"allowed_uses value 'clientAuth'"):
        new_ca(ca_key, allowedUses=["cert_signing", "clientAuth"])


def test_ready_for_renewal_when_the_window_covers_the_whole_validity(
    ca_key: dict[str, Any],
) -> None:
    assert new_ca(ca_key, validityPeriodHours=10, earlyRenewalHours=10)["readyForRenewal"] is True
    assert new_ca(ca_key, validityPeriodHours=10, earlyRenewalHours=9)["readyForRenewal"] is False


# --- CertRequest + LocallySignedCert -------------------------------------------------------


def test_leaf_chains_to_the_ca_for_client_and_server_use(
    ca: dict[str, Any], ca_key: dict[str, Any]
) -> None:
    leaf = cert(sign(new_csr(new_key("ECDSA", ecdsaCurve="P256")), ca, ca_key))
    store = Store([cert(ca)])
    at = NOW + timedelta(minutes=1)
    server = PolicyBuilder().store(store).time(at).build_server_verifier(
        x509.DNSName("es-1.logs.internal"))
    assert server.verify(leaf, [])[-1] == cert(ca)
    client = PolicyBuilder().store(store).time(at).build_client_verifier()
    assert client.verify(leaf, []).chain[-1] == cert(ca)
    leaf.verify_directly_issued_by(cert(ca))


def test_leaf_extensions(ca: dict[str, Any], ca_key: dict[str, Any]) -> None:
    leaf = cert(sign(new_csr(new_key("RSA")), ca, ca_key,
                     allowedUses=["key_encipherment", *LEAF_USES]))
    eku = extension(leaf, x509.ExtendedKeyUsage)
    assert not eku.critical
    assert list(eku.value) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    usage = extension(leaf, x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.key_encipherment
    assert not usage.value.key_cert_sign
    constraints = extension(leaf, x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca
    ca_ski = extension(cert(ca), x509.SubjectKeyIdentifier).value.digest
    assert extension(leaf, x509.AuthorityKeyIdentifier).value.key_identifier == ca_ski
    with pytest.raises(x509.ExtensionNotFound):
        extension(leaf, x509.SubjectKeyIdentifier)
    assert leaf.not_valid_before_utc == NOW
    assert leaf.not_valid_after_utc == NOW + timedelta(hours=72)


def test_no_eku_value_means_no_eku_extension(ca: dict[str, Any], ca_key: dict[str, Any]) -> None:
    leaf = cert(sign(new_csr(new_key()), ca, ca_key, allowedUses=["digital_signature"]))
    with pytest.raises(x509.ExtensionNotFound):
        extension(leaf, x509.ExtendedKeyUsage)


def test_subject_and_sans_come_from_the_csr(ca: dict[str, Any], ca_key: dict[str, Any]) -> None:
    leaf = cert(sign(new_csr(new_key(), uris=["spiffe://logs/es-1"]), ca, ca_key))
    assert leaf.subject.rfc4514_string() == "CN=es-1,OU=logs"  # Go order: OU before CN
    assert leaf.issuer == cert(ca).subject
    san = extension(leaf, x509.SubjectAlternativeName)
    assert not san.critical
    assert san.value.get_values_for_type(x509.DNSName) == ["es-1.logs.internal"]
    assert san.value.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.1")]
    assert san.value.get_values_for_type(x509.UniformResourceIdentifier) == ["spiffe://logs/es-1"]


def test_other_csr_extensions_and_attributes_are_ignored(
    ca: dict[str, Any], ca_key: dict[str, Any]
) -> None:
    node_key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, "es-2"),
            x509.NameAttribute(NameOID.EMAIL_ADDRESS, "ops@example.org"),
        ]))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("es-2.internal"), x509.RFC822Name("ops@example.org")]), critical=False)
        .sign(node_key, hashes.SHA256())
    )
    pem = csr.public_bytes(serialization.Encoding.PEM).decode()
    leaf = cert(sign(pem, ca, ca_key))
    assert not extension(leaf, x509.BasicConstraints).value.ca
    assert leaf.subject.rfc4514_string() == "CN=es-2"  # Go's pkix.Name drops emailAddress
    san = extension(leaf, x509.SubjectAlternativeName).value
    assert list(san) == [x509.DNSName("es-2.internal")]  # the provider copies no e-mail SAN


def test_signature_hash_follows_the_ca_key() -> None:
    p384 = new_key("ECDSA", ecdsaCurve="P384")
    leaf = cert(sign(new_csr(new_key("ECDSA", ecdsaCurve="P256")), new_ca(p384), p384))
    assert isinstance(leaf.signature_hash_algorithm, hashes.SHA384)
    rsa_ca = new_key("RSA")
    leaf = cert(sign(new_csr(new_key("ECDSA", ecdsaCurve="P256")), new_ca(rsa_ca), rsa_ca))
    assert isinstance(leaf.signature_hash_algorithm, hashes.SHA256)


def test_mismatched_ca_key_fails(ca: dict[str, Any]) -> None:
    with pytest.raises(emu.EmulatorError, match="doesn't match parent's PublicKey"):
        sign(new_csr(new_key()), ca, new_key("ECDSA", ecdsaCurve="P256"))


def test_csr_with_a_bad_signature_fails(ca: dict[str, Any], ca_key: dict[str, Any]) -> None:
    der = bytearray(x509.load_pem_x509_csr(new_csr(new_key()).encode()).public_bytes(
        serialization.Encoding.DER))
    der[-3] ^= 0x01  # inside the signature value
    tampered = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM)
    with pytest.raises(emu.EmulatorError, match="CSR signature does not verify"):
        sign(tampered.decode(), ca, ca_key)


def test_secret_inputs_are_unwrapped_and_write_only_keys_not_echoed(
    ca: dict[str, Any], ca_key: dict[str, Any]
) -> None:
    csr = new_csr(new_key())
    outputs = sign(csr, ca, ca_key, caPrivateKeyPem=None,
                   caPrivateKeyPemWo=emu.wrap_secret(key_pem(ca_key)), caPrivateKeyPemWoVersion=1)
    assert "caPrivateKeyPemWo" not in outputs
    assert outputs["caKeyAlgorithm"] == "ECDSA"
    cert(outputs).verify_directly_issued_by(cert(ca))
    wrapped = sign(csr, ca, ca_key)
    assert emu.is_secret(wrapped["caPrivateKeyPem"])


# --- the mock runtime ----------------------------------------------------------------------


class Pki(pulumi.ComponentResource):
    """A tiny CA + one leaf, as the real program builds them."""

    def __init__(
        self, name: str, validity: int = 72, trigger: str = "g1", protect: bool = True
    ) -> None:
        super().__init__("test:index:Pki", name)
        child = pulumi.ResourceOptions(parent=self)
        self.ca_key = tls.PrivateKey(f"{name}-ca-key", algorithm="ECDSA", ecdsa_curve="P256",
                                     opts=child)
        self.ca = tls.SelfSignedCert(
            f"{name}-ca", private_key_pem=self.ca_key.private_key_pem,
            subject=tls.SelfSignedCertSubjectArgs(common_name=f"{name} CA"),
            is_ca_certificate=True, set_subject_key_id=True, allowed_uses=CA_USES,
            validity_period_hours=24 * 365,
            opts=pulumi.ResourceOptions(parent=self, protect=protect),
        )
        self.key = tls.PrivateKey(f"{name}-key", algorithm="ECDSA", ecdsa_curve="P256",
                                  opts=child)
        csr = tls.CertRequest(
            f"{name}-csr", private_key_pem=self.key.private_key_pem,
            subject=tls.CertRequestSubjectArgs(common_name="es-1"), dns_names=["es-1.internal"],
            opts=child,
        )
        self.leaf = tls.LocallySignedCert(
            f"{name}-cert", cert_request_pem=csr.cert_request_pem, ca_cert_pem=self.ca.cert_pem,
            ca_private_key_pem=self.ca_key.private_key_pem, allowed_uses=LEAF_USES,
            validity_period_hours=validity,
            opts=pulumi.ResourceOptions(parent=self, replacement_trigger=trigger),
        )
        self.register_outputs({"certPem": self.leaf.cert_pem})


def pki_program(validity: int = 72, trigger: str = "g1", protect: bool = True) -> Any:
    def program() -> None:
        pki = Pki("logs", validity, trigger, protect)
        pulumi.export("caCertPem", pki.ca.cert_pem)
        pulumi.export("leafKey", pki.key.private_key_pem)

    return program


@pytest.fixture(scope="module")
def recording() -> Recording:
    return run_program(pki_program(), clock=clock)


def test_registrations_carry_parents_dependencies_and_options(recording: Recording) -> None:
    component = recording.named("logs")
    assert component.type == "test:index:Pki" and not component.custom
    assert component.parent == recording.stack_urn
    assert component.urn == "urn:pulumi:dev::es-transport-pki::test:index:Pki::logs"
    leaf = recording.named("logs-cert")
    assert leaf.urn == (
        "urn:pulumi:dev::es-transport-pki::"
        "test:index:Pki$tls:index/locallySignedCert:LocallySignedCert::logs-cert"
    )
    assert leaf.parent == component.urn and leaf.custom
    assert leaf.property_dependencies["caCertPem"] == [recording.named("logs-ca").urn]
    assert leaf.property_dependencies["certRequestPem"] == [recording.named("logs-csr").urn]
    assert set(leaf.dependencies) >= {recording.named("logs-ca-key").urn}
    assert leaf.replacement_trigger == "g1"
    assert recording.named("logs-ca").protect is True
    assert recording.named("logs-ca-key").additional_secret_outputs == [
        "privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"]
    # Components have no outputs of their own, only what they register.
    assert reveal(component.outputs["certPem"]) == reveal(leaf.outputs["certPem"])


def test_private_keys_are_secret_in_the_recording(recording: Recording) -> None:
    key = recording.named("logs-key")
    assert isinstance(key.outputs["privateKeyPem"], Secret)
    assert isinstance(key.outputs["privateKeyPemPkcs8"], Secret)
    assert isinstance(recording.named("logs-csr").inputs["privateKeyPem"], Secret)
    assert isinstance(recording.named("logs-cert").inputs["caPrivateKeyPem"], Secret)
    assert isinstance(recording.stack_outputs["leafKey"], Secret)
    assert isinstance(recording.stack_outputs["caCertPem"], str)


def test_private_key_output_is_secret_in_the_program() -> None:
    captured: list[pulumi.Output[str]] = []

    def program() -> None:
        key = tls.PrivateKey("k", algorithm="ECDSA", ecdsa_curve="P256")
        captured.extend([key.private_key_pem, key.public_key_pem])

    run_program(program, clock=clock)
    private, public = (settle(output) for output in captured)
    assert private.secret and private.known
    assert str(private.value).startswith("-----BEGIN EC PRIVATE KEY-----")
    assert not public.secret


def test_chain_from_the_runtime_verifies(recording: Recording) -> None:
    ca = x509.load_pem_x509_certificate(str(recording.stack_outputs["caCertPem"]).encode())
    leaf = x509.load_pem_x509_certificate(
        str(reveal(recording.named("logs-cert").outputs["certPem"])).encode())
    leaf.verify_directly_issued_by(ca)
    assert leaf.not_valid_before_utc == NOW


def test_same_inputs_same_state_give_identical_outputs() -> None:
    state = EngineState()
    first = run_program(pki_program(), state=state, clock=clock)
    second = run_program(pki_program(), state=state, clock=lambda: NOW + timedelta(days=3))
    # By URN: independent resources register from several SDK threads, in varying order.
    assert {r.urn: r.outputs for r in first} == {r.urn: r.outputs for r in second}
    assert first.stack_outputs == second.stack_outputs
    assert len(first.changes.created) == len(first.registrations)
    assert sorted(second.changes.unchanged) == sorted(r.urn for r in second.registrations)


def test_changed_input_replaces_only_that_resource() -> None:
    state = EngineState()
    first = run_program(pki_program(), state=state, clock=clock)
    second = run_program(pki_program(validity=96), state=state, clock=clock)
    leaf = second.named("logs-cert")
    assert second.changes.replaced == [leaf.urn]
    assert leaf.step == "replace"
    assert reveal(leaf.outputs["certPem"]) != reveal(first.named("logs-cert").outputs["certPem"])
    assert second.named("logs-key").outputs == first.named("logs-key").outputs


def test_changed_replacement_trigger_replaces() -> None:
    state = EngineState()
    run_program(pki_program(), state=state, clock=clock)
    second = run_program(pki_program(trigger="g2"), state=state, clock=clock)
    assert second.changes.replaced == [second.named("logs-cert").urn]


def _smaller() -> None:
    tls.PrivateKey("other", algorithm="ED25519")


def test_resources_no_longer_registered_are_deleted() -> None:
    state = EngineState()
    first = run_program(pki_program(protect=False), state=state, clock=clock)
    second = run_program(_smaller, state=state, clock=clock)
    assert sorted(second.changes.deleted) == sorted(r.urn for r in first.registrations)
    assert list(state.resources) == [second.named("other").urn]


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_a_protected_resource_is_not_deleted(preview: bool) -> None:
    """As the engine's DeleteStep: the run fails, and nothing is deleted."""
    state = EngineState()
    first = run_program(pki_program(), state=state, clock=clock)
    outputs = copy.deepcopy(state.stack_outputs)
    with pytest.raises(ProtectedResourceError) as refused:
        run_program(_smaller, state=state, clock=clock, preview=preview)
    protected = first.named("logs-ca").urn
    assert refused.value.urn == protected
    assert f"pulumi state unprotect {protected}" in str(refused.value)
    assert {r.urn for r in first.registrations} <= set(state.resources)
    assert state.stack_outputs == outputs


def test_unprotecting_takes_one_update_and_deleting_the_next() -> None:
    state = EngineState()
    run_program(pki_program(), state=state, clock=clock)
    unprotected = run_program(pki_program(protect=False), state=state, clock=clock)
    assert unprotected.named("logs-ca").step == "same"
    gone = run_program(_smaller, state=state, clock=clock)
    assert unprotected.named("logs-ca").urn in gone.changes.deleted


def _ca_key(algorithm: str, protect: bool) -> Any:
    def program() -> None:
        tls.PrivateKey("logs-ca-key", algorithm=algorithm, rsa_bits=3072,
                       ecdsa_curve="P256", opts=pulumi.ResourceOptions(protect=protect))

    return program


def test_a_protected_resource_is_not_replaced_unless_unprotected_in_the_same_update() -> None:
    state = EngineState()
    run_program(_ca_key("ECDSA", protect=True), state=state, clock=clock)
    with pytest.raises(ProtectedResourceError, match="unable to replace resource"):
        run_program(_ca_key("RSA", protect=True), state=state, clock=clock)
    # As the engine (it looks at old and new `protect`): unprotect and replace in one update.
    replaced = run_program(_ca_key("RSA", protect=False), state=state, clock=clock)
    assert replaced.named("logs-ca-key").step == "replace"


def _key_under(parent: str, aliases: list[pulumi.Alias] | None = None) -> Any:
    def program() -> None:
        component = pulumi.ComponentResource(f"test:index:{parent}", "logs")
        tls.PrivateKey("logs-key", algorithm="ECDSA", ecdsa_curve="P256",
                       opts=pulumi.ResourceOptions(parent=component, aliases=aliases))
        component.register_outputs({})

    return program


def test_an_alias_carries_a_resource_over_to_its_new_urn() -> None:
    """As the engine: a resource registered under a new URN that names its old URN as an alias
    (spec: old parent) keeps its state and outputs; the old URN is neither kept nor deleted."""
    state = EngineState()
    first = run_program(_key_under("Old"), state=state, clock=clock)
    old_parent = first.named("logs").urn
    second = run_program(
        _key_under("New", [pulumi.Alias(parent=old_parent)]), state=state, clock=clock
    )
    key = second.named("logs-key")
    assert key.step == "same" and key.outputs == first.named("logs-key").outputs
    assert key.urn != first.named("logs-key").urn
    # The old component is gone (it has no alias); the key moved rather than being deleted.
    assert second.changes.deleted == [old_parent]
    assert sorted(state.resources) == sorted(r.urn for r in second.registrations)


def test_an_alias_to_nothing_in_state_creates() -> None:
    state = EngineState()
    run_program(_key_under("Old"), state=state, clock=clock)
    other = "urn:pulumi:dev::es-transport-pki::test:index:Elsewhere::logs"
    second = run_program(
        _key_under("New", [pulumi.Alias(parent=other)]), state=state, clock=clock
    )
    assert second.named("logs-key").step == "create"
    assert len(second.changes.deleted) == 2


def test_a_preview_through_an_alias_changes_no_state() -> None:
    state = EngineState()
    first = run_program(_key_under("Old"), state=state, clock=clock)
    before = dict(state.resources)
    preview = run_program(
        _key_under("New", [pulumi.Alias(parent=first.named("logs").urn)]), state=state,
        preview=True, clock=clock,
    )
    assert preview.named("logs-key").step == "same"
    assert preview.changes.deleted == [first.named("logs").urn]
    assert state.resources == before


class ProgramError(Exception):
    """Raised by a test program, to prove it reaches the caller unchanged."""


def test_exception_in_the_program_propagates_and_the_next_run_is_clean() -> None:
    state = EngineState()

    def failing() -> None:
        tls.PrivateKey("before", algorithm="ED25519")
        raise ProgramError("boom")

    with pytest.raises(ProgramError, match="boom"):
        run_program(failing, state=state, clock=clock)
    after = run_program(pki_program(), clock=clock)
    assert "before" not in {r.name for r in after.registrations}


def test_provider_error_fails_the_run() -> None:
    def mismatched() -> None:
        ca_key = tls.PrivateKey("ca-key", algorithm="ECDSA", ecdsa_curve="P256")
        other = tls.PrivateKey("other", algorithm="ECDSA", ecdsa_curve="P256")
        ca = tls.SelfSignedCert(
            "ca", private_key_pem=ca_key.private_key_pem, is_ca_certificate=True,
            subject=tls.SelfSignedCertSubjectArgs(common_name="ca"), allowed_uses=CA_USES,
            validity_period_hours=10)
        csr = tls.CertRequest("csr", private_key_pem=other.private_key_pem)
        tls.LocallySignedCert(
            "leaf", cert_request_pem=csr.cert_request_pem, ca_cert_pem=ca.cert_pem,
            ca_private_key_pem=other.private_key_pem, allowed_uses=LEAF_USES,
            validity_period_hours=10)

    with pytest.raises(emu.EmulatorError, match="doesn't match parent's PublicKey"):
        run_program(mismatched, clock=clock)


def test_config_reaches_the_program_as_the_engine_passes_it() -> None:
    seen: dict[str, Any] = {}

    def program() -> None:
        config = pulumi.Config()
        seen["clusters"] = config.require_object("clusters")
        seen["epoch"] = config.require_int("rotationEpoch")
        seen["token"] = config.require_secret("token")

    run_program(program, config={
        "es-transport-pki:clusters": [{"name": "logs"}], "es-transport-pki:rotationEpoch": "3",
        "es-transport-pki:token": "s3cret"}, secret_keys=["es-transport-pki:token"])
    assert seen["clusters"] == [{"name": "logs"}] and seen["epoch"] == 3
    assert settle(seen["token"]).secret

    def reads_nothing() -> None:
        seen["again"] = pulumi.Config().get("clusters")

    run_program(reads_nothing)
    assert seen["again"] is None  # config does not leak from one run into the next


def test_kubernetes_resources_echo_inputs_and_keep_secrets() -> None:
    def program() -> None:
        k8s.core.v1.Secret(
            "certs", metadata={"name": "certs"},
            string_data={"tls.key": pulumi.Output.secret("KEY")},
        )

    secret = run_program(program).named("certs")
    assert secret.outputs["metadata"] == {"name": "certs"}
    assert secret.outputs["stringData"] == Secret({"tls.key": "KEY"})


def test_preview_leaves_state_alone_and_computed_values_unknown() -> None:
    state = EngineState()
    preview = run_program(pki_program(), state=state, preview=True, clock=clock)
    assert state.resources == {}
    assert preview.named("logs-ca-key").outputs["privateKeyPem"] == Secret(UNKNOWN)
    assert preview.named("logs-ca-key").inputs["ecdsaCurve"] == "P256"
    assert preview.named("logs-cert").inputs["certRequestPem"] == UNKNOWN
    run_program(pki_program(), state=state, clock=clock)
    again = run_program(pki_program(), state=state, preview=True, clock=clock)
    assert again.changes.unchanged == [r.urn for r in again.registrations]


def test_urns_follow_the_engine_with_nested_components() -> None:
    def program() -> None:
        outer = pulumi.ComponentResource("test:index:Outer", "outer")
        inner = pulumi.ComponentResource(
            "test:index:Inner", "inner", opts=pulumi.ResourceOptions(parent=outer))
        tls.PrivateKey("k", algorithm="ED25519", opts=pulumi.ResourceOptions(parent=inner))

    key = run_program(program, stack="prod").named("k")
    assert key.urn == (
        "urn:pulumi:prod::es-transport-pki::"
        "test:index:Outer$test:index:Inner$tls:index/privateKey:PrivateKey::k"
    )


# --------------------------------------------------------------------------- wire decoding


def wire_value(rng: random.Random, depth: int = 0) -> Any:
    """A random value as the wire carries it: JSON, secrets as signature maps, unknowns."""
    kind = rng.randrange(5 if depth < 4 else 1)
    if kind == 1:
        return {f"k{i}": wire_value(rng, depth + 1) for i in range(rng.randrange(4))}
    if kind == 2:
        return [wire_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 3:
        return {emu.SECRET_SIG_KEY: emu.SECRET_SIG, "value": wire_value(rng, depth + 1)}
    if kind == 4:
        return {emu.SECRET_SIG_KEY: "not-a-secret", "value": wire_value(rng, depth + 1)}
    return rng.choice(["", "text", rpc.UNKNOWN, 0, 3, -2.5, 3072.0, 1e20, 2**70, True, False,
                       None])


def test_struct_decoding_is_json_formats_followed_by_from_wire() -> None:
    """`struct_to_python` decodes in one pass what `from_wire(MessageToDict(...))` decodes."""
    rng = random.Random(5)
    for _ in range(500):
        struct = struct_pb2.Struct()
        struct.update({f"p{i}": wire_value(rng) for i in range(rng.randrange(1, 5))})
        # repr: 3 == 3.0 and key order do not count for ==; they do here.
        assert repr(struct_to_python(struct)) == repr(
            from_wire(json_format.MessageToDict(struct))
        )


def _sdk_encoded(outputs: dict[str, Any]) -> bytes:
    struct = _sync_await(rpc.serialize_properties(outputs, {}))
    return bytes(struct.SerializeToString(deterministic=True))


def test_response_encoding_is_the_sdks_for_generated_outputs() -> None:
    """`response_struct` encodes what `rpc.serialize_properties(outputs, {})` encodes: plain
    values directly, anything else (tuples, SDK unknowns, objects) through the SDK itself."""
    rng = random.Random(7)
    for _ in range(500):
        outputs = {f"p{i}": wire_value(rng) for i in range(rng.randrange(0, 5))}
        encoded = response_struct(outputs).SerializeToString(deterministic=True)
        assert encoded == _sdk_encoded(outputs)
    sdk_unknown = SdkUnknown()  # type: ignore[no-untyped-call]
    odd: list[dict[str, Any]] = [
        {"t": ("a", 1)}, {"u": {"x": sdk_unknown}}, {"n": {"none": None}, "top": None}]
    for outputs in odd:
        encoded = response_struct(outputs).SerializeToString(deterministic=True)
        assert encoded == _sdk_encoded(outputs)


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_response_encoding_is_the_sdks_for_every_registration_of_the_stacks(
    monkeypatch: pytest.MonkeyPatch, preview: bool
) -> None:
    """Every response the monitor sends for the example stacks, against the SDK's encoding."""
    compared = [0]
    encode = mock_runtime.response_struct

    def checked(outputs: dict[str, Any]) -> struct_pb2.Struct:
        struct = encode(outputs)
        assert struct.SerializeToString(deterministic=True) == _sdk_encoded(outputs)
        compared[0] += 1
        return struct

    monkeypatch.setattr(mock_runtime, "response_struct", checked)
    registrations = sum(
        len(run_stack(stack, preview=preview).registrations) for stack in ("dev", "staging", "prod")
    )
    assert compared[0] == registrations > 100


@pytest.mark.parametrize("ip", ["fe80::1%eth0", "10.0.0.1%1"])
def test_an_ip_with_a_zone_fails_as_gos_parse_ip_does(ip: str) -> None:
    """net.ParseIP, which the provider uses, takes no zone; Python's ipaddress takes one."""
    with pytest.raises(emu.EmulatorError, match=re.escape(f"Failed to parse {ip!r}")):
        new_csr(new_key(), ipAddresses=[ip])


def test_a_ca_certificate_with_a_negative_serial_fails_as_gos_x509_does(
    ca_key: dict[str, Any]
) -> None:
    """Go 1.23+ x509.ParseCertificate refuses it; the provider parses the CA with it."""
    issued = make_ca("negative CA")
    negative = damaged_pem(issued.cert_pem, *negative_serial(issued))
    with pytest.raises(emu.EmulatorError, match="x509: negative serial number"):
        sign(new_csr(new_key()), {"certPem": negative}, ca_key)


def test_only_a_certificates_early_renewal_hours_is_updated_in_place() -> None:
    """terraform-provider-tls v4 (bridged by pulumi-tls) puts RequiresReplace on every input but
    early_renewal_hours; its Update keeps the certificate."""
    assert not emu.replaces(emu.LOCALLY_SIGNED_CERT, {"earlyRenewalHours"})
    assert not emu.replaces(emu.SELF_SIGNED_CERT, {"earlyRenewalHours"})
    assert emu.replaces(emu.LOCALLY_SIGNED_CERT, {"earlyRenewalHours", "validityPeriodHours"})
    assert emu.replaces(emu.SELF_SIGNED_CERT, {"allowedUses"})
    assert emu.replaces(emu.PRIVATE_KEY, {"rsaBits"})
    assert emu.replaces(emu.CERT_REQUEST, {"dnsNames"})
    prior = {"certPem": "PEM", "earlyRenewalHours": 24, "readyForRenewal": False}
    assert emu.updated_outputs(emu.LOCALLY_SIGNED_CERT, prior, {"earlyRenewalHours": 48}) == {
        "certPem": "PEM", "earlyRenewalHours": 48, "readyForRenewal": False}
