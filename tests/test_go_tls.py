"""The program's certificates as Go's crypto/x509 and crypto/tls see them: ECK's operator, Beats
and Elastic Agent are Go programs, and Go is stricter than OpenSSL in places (client EKU
enforced, SANs only, strict DER, key formats by type).

* transport mutual TLS in Go between the nodes of a cluster, for every `keyAlgorithm`, on TLS
  1.3 and 1.2, and across every mix of adjacent CA rotation steps; a node of another cluster, a
  wrong server name, a serverAuth-only client certificate and a skipped rotation step fail with
  Go's own error texts (INV-EKU, seen from Go);
* HTTP certificates (ECK's `<name>-http-pki-cert` Secret, VM per-node files) verified by a Go
  client for every service name, and refused by Go as a transport client certificate
  (INV-SEPARATE);
* the `ca-to-eck` CA Secret read by ECK's key rules (generated CAs, and provided PKCS#8 keys the
  program re-encodes), checked to be a signing CA and used to sign a pod certificate;
* every certificate of every stack file parsed and verified by Go against its CA, for its uses
  and names.

Needs Go (Debian: golang-go; `.ci/run` installs it); skipped without it. The oracle is
harness/go/tlscheck.go, stdlib only, built once per session; each test runs it once per batch.
"""

from __future__ import annotations

import base64
import itertools
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from components.model import KeyAlgorithm
from harness.go_tls import ChainCheck, GoOracle, ServerAuthCheck, build_go_oracle, go_available
from harness.handshake import HandshakePair, Identity, PemIdentity
from harness.mock_runtime import EngineState, Recording, Registration, reveal
from tests.stack_runs import (
    CERT_REQUEST,
    JUST_BEFORE_NOW,
    LOCALLY_SIGNED,
    REPO,
    SELF_SIGNED,
    run_clusters,
    run_stack,
)
from tests.test_http_delivery import eck_http_cluster, vm_http_cluster
from tests.test_rotation import NODES, ORDER, STEPS, mixes, pairs, up
from tests.test_transport_handshakes import _server_auth_only, dns_name, node_identity
from tests.x509_factory import Issued, make_ca, make_key

UNKNOWN_AUTHORITY = "x509: certificate signed by unknown authority"
INCOMPATIBLE_USAGE = "x509: certificate specifies an incompatible key usage"
CLIENT_CERT_REFUSED = f"tls: failed to verify client certificate: {INCOMPATIBLE_USAGE}"
ALGORITHMS = [algorithm.value for algorithm in KeyAlgorithm]


def clock() -> datetime:
    return JUST_BEFORE_NOW  # Go checks validity against the real clock


@pytest.fixture(scope="session")
def go(tmp_path_factory: pytest.TempPathFactory) -> GoOracle:
    if not go_available():
        pytest.skip("no Go toolchain (Debian: golang-go; .ci/run installs it)")
    return build_go_oracle(tmp_path_factory.mktemp("go-tlscheck"))


def pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def write(directory: Path, files: dict[str, str]) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, text in files.items():
        paths[name] = directory / name
        paths[name].write_text(text)
    return paths


# ----------------------------------------------------------------------------------------------
# 1. Transport mutual TLS
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dev() -> Recording:
    return run_stack("dev", clock=clock)


def test_eck_pods_complete_mutual_tls_in_go_from_the_delivered_secret_and_config_map(
    go: GoOracle, dev: Recording, tmp_path: Path
) -> None:
    """As mounted in the pods: `<pod>.tls.crt`/`.tls.key` from the node-certs Secret, and the
    trust bundle ECK builds from the `certificateAuthorities` ConfigMap's `ca.crt`."""
    secret = {name: base64.b64decode(value).decode()
              for name, value in reveal(dev.named("search-eck-node-certs").inputs["data"]).items()}
    trust = reveal(dev.named("search-eck-trust").inputs["data"])["ca.crt"]
    files = write(tmp_path, {**secret, "ca.crt": trust})
    pods = sorted(name.removesuffix(".tls.crt") for name in secret if name.endswith(".tls.crt"))
    identities = {pod: PemIdentity(files[f"{pod}.tls.crt"], files[f"{pod}.tls.key"],
                                   files["ca.crt"]) for pod in pods}
    batch = [HandshakePair(identities[server], identities[client],
                           f"{server}.search-es-default.search-dev.svc.cluster.local")
             for server, client in itertools.permutations(pods, 2)]
    results = go.handshakes(batch)
    assert [r.error for r in results if not r.ok] == [] and len(results) == 6


def cluster_name(algorithm: str) -> str:
    return algorithm.replace("-", "")


@pytest.fixture(scope="module")
def per_algorithm() -> Recording:
    """One two-node VM cluster per key algorithm the config allows."""
    return run_clusters([
        {"name": cluster_name(algorithm), "delivery": "vm", "keyAlgorithm": algorithm,
         "vm": {"writeLocalFiles": False},
         "nodes": [{"name": n, "dns": [f"{n}.{cluster_name(algorithm)}.internal"]}
                   for n in ("es-1", "es-2")]}
        for algorithm in ALGORITHMS
    ], clock=clock)


def test_every_pair_of_a_cluster_completes_mutual_tls_in_go(
    go: GoOracle, dev: Recording, tmp_path: Path
) -> None:
    nodes = ["es-1", "es-2", "es-3"]
    identities = {n: node_identity(dev, "logs", n, tmp_path) for n in nodes}
    batch = [HandshakePair(identities[server], identities[client], dns_name(dev, "logs", server))
             for server in nodes for client in nodes if server != client]
    results = go.handshakes(batch)
    assert [r.error for r in results if not r.ok] == []
    assert {r.protocol for r in results} == {"TLSv1.3"} and len(results) == 6


@pytest.mark.parametrize("protocol", ["TLSv1.3", "TLSv1.2"])
def test_every_key_algorithm_completes_mutual_tls_in_go(
    go: GoOracle, per_algorithm: Recording, protocol: str, tmp_path: Path
) -> None:
    batch = []
    for algorithm in ALGORITHMS:
        cluster = cluster_name(algorithm)
        one, two = (node_identity(per_algorithm, cluster, n, tmp_path) for n in ("es-1", "es-2"))
        batch += [
            HandshakePair(one, two, dns_name(per_algorithm, cluster, "es-1"),
                          protocols=(protocol,)),
            HandshakePair(two, one, dns_name(per_algorithm, cluster, "es-2"),
                          protocols=(protocol,)),
        ]
    results = go.handshakes(batch)
    failed = {f"{pair.server_name} ({pair.protocols})": result.error
              for pair, result in zip(batch, results, strict=True) if not result.ok}
    assert failed == {}
    assert [r.protocol for r in results] == [protocol] * 2 * len(ALGORITHMS)


def test_a_node_of_another_cluster_is_rejected_by_go(
    go: GoOracle, dev: Recording, tmp_path: Path
) -> None:
    logs = node_identity(dev, "logs", "es-1", tmp_path)
    search = node_identity(dev, "search", "search-es-default-0", tmp_path)
    search_client, logs_client = go.handshakes([
        HandshakePair(logs, search, dns_name(dev, "logs", "es-1")),
        HandshakePair(search, logs, dns_name(dev, "search", "search-es-default-0")),
    ])
    for result in (search_client, logs_client):
        assert not result.ok
        # Each client refuses the other cluster's server chain; the server sees its alert.
        assert UNKNOWN_AUTHORITY in result.client_error, result.error
        assert "remote error: tls: bad certificate" in result.server_error, result.error


def test_a_wrong_server_name_is_rejected_by_go(
    go: GoOracle, dev: Recording, tmp_path: Path
) -> None:
    one, two = (node_identity(dev, "logs", n, tmp_path) for n in ("es-1", "es-2"))
    other_name = dns_name(dev, "logs", "es-2")
    [result] = go.handshakes([HandshakePair(one, two, other_name)])
    assert not result.ok
    assert (f"x509: certificate is valid for {dns_name(dev, 'logs', 'es-1')}, not {other_name}"
            in result.client_error), result.error
    # verification_mode: certificate checks the chain only: the same pair then succeeds.
    [chain_only] = go.handshakes([HandshakePair(one, two, other_name, verify_hostname=False)])
    assert chain_only.ok, chain_only.error


def test_a_server_auth_only_client_certificate_is_rejected_by_go(
    go: GoOracle, dev: Recording, tmp_path: Path
) -> None:
    """Go's RequireAndVerifyClientCert demands EKU clientAuth: the check that proves the node
    certificates' clientAuth (INV-EKU) matters to Go peers, and that this oracle can fail."""
    server = node_identity(dev, "logs", "es-1", tmp_path)
    [result] = go.handshakes(
        [HandshakePair(server, _server_auth_only(dev, tmp_path), dns_name(dev, "logs", "es-1"))])
    assert not result.ok
    assert CLIENT_CERT_REFUSED in result.server_error, result.error


def node_of(identity: Identity) -> str:
    """The node whose bundle (`<snapshot>/logs/<node>/certs/...`) an identity was read from."""
    assert isinstance(identity, PemIdentity)
    return identity.certificate.parent.parent.name


@pytest.fixture(scope="module")
def rotation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundles the nodes hold after each rotation step (`<root>/<step>/logs/<node>/...`),
    from one EngineState, as tests/test_rotation.py makes them."""
    root = tmp_path_factory.mktemp("go-rotation")
    out = root / "live"
    state = EngineState()
    for hours, ca in enumerate(STEPS.values()):
        up(state, out, ca, hours)
        shutil.copytree(out, root / ORDER[hours])
    return root


def test_every_mix_of_adjacent_rotation_steps_completes_mutual_tls_in_go(
    go: GoOracle, rotation: Path
) -> None:
    labelled = [(f"{before}->{after} {label}", pair)
                for before, after in itertools.pairwise(ORDER)
                for label, mix in mixes(rotation / before, rotation / after) for pair in mix]
    results = go.handshakes([pair for _, pair in labelled])
    failed = [f"{label}: {node_of(pair.client)} -> {pair.server_name}: {result.error}"
              for (label, pair), result in zip(labelled, results, strict=True) if not result.ok]
    assert failed == []
    assert len(results) == (len(ORDER) - 1) * 2 ** len(NODES) * len(NODES) * (len(NODES) - 1)


def test_skipping_a_rotation_step_breaks_mutual_tls_in_go(
    go: GoOracle, rotation: Path
) -> None:
    snapshot = {"es-1": rotation / "introduce", "es-2": rotation / "retire",
                "es-3": rotation / "retire"}
    batch = pairs(snapshot.__getitem__)
    results = go.handshakes(batch)
    outcome = {(node_of(pair.server), node_of(pair.client)):
               result for pair, result in zip(batch, results, strict=True)}
    # es-1 still holds a g1 certificate that the retired bundles no longer trust.
    assert [pair for pair, result in outcome.items() if not result.ok] == [
        ("es-1", "es-2"), ("es-1", "es-3"), ("es-2", "es-1"), ("es-3", "es-1")]
    for server in ("es-2", "es-3"):
        # As client, es-1's g1 chain matches no CA the server asks for (TLS
        # certificate_authorities): Go then sends no certificate at all, unlike OpenSSL.
        assert "tls: client didn't provide a certificate" in outcome[server, "es-1"].server_error
        assert UNKNOWN_AUTHORITY in outcome["es-1", server].client_error


# ----------------------------------------------------------------------------------------------
# 2. HTTP certificates
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("go-http-out")


@pytest.fixture(scope="module")
def http_run(http_out: Path) -> Recording:
    return run_clusters([vm_http_cluster(http_out, certificates="per-node"), eck_http_cluster()],
                        clock=clock)


@pytest.fixture(scope="module")
def eck_http_files(http_run: Recording, tmp_path_factory: pytest.TempPathFactory) -> PemIdentity:
    """The `search-http-pki-cert` Secret's tls.crt, tls.key and ca.crt, as mounted."""
    data = reveal(http_run.named("search-eck-http-cert").inputs["data"])
    files = write(tmp_path_factory.mktemp("go-eck-http"),
                  {name: base64.b64decode(value).decode() for name, value in data.items()})
    return PemIdentity(files["tls.crt"], files["tls.key"], files["ca.crt"])


ECK_SERVICE = "search-es-http"
ECK_SERVICE_NAMES = [ECK_SERVICE, f"{ECK_SERVICE}.search-dev", f"{ECK_SERVICE}.search-dev.svc",
                     f"{ECK_SERVICE}.search-dev.svc.cluster.local", "search.example.com"]


def test_a_go_client_verifies_every_eck_http_service_name(
    go: GoOracle, eck_http_files: PemIdentity
) -> None:
    checks = [ServerAuthCheck(eck_http_files, eck_http_files.certificate_authorities, name)
              for name in [*ECK_SERVICE_NAMES, "search-es-transport.search-dev.svc"]]
    *served, transport_name = go.server_auth_handshakes(checks)
    assert [r.error for r in served if not r.ok] == []
    assert not transport_name.ok
    assert "x509: certificate is valid for" in transport_name.client_error
    assert "not search-es-transport.search-dev.svc" in transport_name.client_error


def test_eck_http_chain_verifies_for_server_auth_only_in_go(
    go: GoOracle, eck_http_files: PemIdentity
) -> None:
    chain = eck_http_files.certificate.read_text()
    roots = eck_http_files.certificate_authorities.read_text()
    server, client = go.verify([
        ChainCheck(chain, roots, ECK_SERVICE_NAMES[2], ("serverAuth",)),
        ChainCheck(chain, roots, "", ("clientAuth",)),
    ])
    assert server.ok, server.error
    assert not client.ok and client.error == INCOMPATIBLE_USAGE


def test_an_http_certificate_is_refused_as_a_transport_client_certificate_by_go(
    go: GoOracle, eck_http_files: PemIdentity
) -> None:
    """INV-SEPARATE from Go's side: the server trusts the HTTP CA, so the EKU is all that is
    wrong with the HTTP certificate as a client certificate."""
    [result] = go.handshakes(
        [HandshakePair(eck_http_files, eck_http_files, ECK_SERVICE_NAMES[2])])
    assert not result.ok
    assert CLIENT_CERT_REFUSED in result.server_error, result.error


def vm_http_identity(logs: Path, node: str) -> PemIdentity:
    certs = logs / node / "certs"
    return PemIdentity(certs / "http.crt", certs / "http.key", certs / "http-ca.crt")


def test_a_go_client_verifies_vm_per_node_http_files(
    go: GoOracle, http_run: Recording, http_out: Path
) -> None:
    logs = http_out / "logs"
    checks = []
    for index, node in enumerate(("es-1", "es-2"), start=1):
        server = vm_http_identity(logs, node)
        for name in (f"{node}.logs.internal", "logs.example.com", f"127.0.0.{index}"):
            checks.append(ServerAuthCheck(server, server.certificate_authorities, name))
    es_1 = vm_http_identity(logs, "es-1")
    checks += [
        ServerAuthCheck(es_1, es_1.certificate_authorities, "es-2.logs.internal"),
        # The transport CA vouches for no HTTP certificate.
        ServerAuthCheck(es_1, logs / "es-1" / "certs" / "transport-ca.crt", "es-1.logs.internal"),
    ]
    *served, wrong_name, wrong_ca = go.server_auth_handshakes(checks)
    assert [r.error for r in served if not r.ok] == [] and len(served) == 6
    assert "not es-2.logs.internal" in wrong_name.client_error, wrong_name.error
    assert UNKNOWN_AUTHORITY in wrong_ca.client_error, wrong_ca.error
    [as_client] = go.handshakes([HandshakePair(es_1, es_1, "es-1.logs.internal")])
    assert CLIENT_CERT_REFUSED in as_client.server_error, as_client.error


# ----------------------------------------------------------------------------------------------
# 3. The ca-to-eck CA Secret, read as ECK reads it
# ----------------------------------------------------------------------------------------------

PROVIDED_KINDS = {"p256": "ecdsa-P-256", "p384": "ecdsa-P-384", "rsa2048": "rsa-2048"}
GENERATED = {"ecdsa-p256": "ecdsa-P-256", "ecdsa-p384": "ecdsa-P-384", "rsa-2048": "rsa-2048"}


def ca_to_eck(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "delivery": "eck", **extra,
            "eck": {"name": name, "namespace": f"{name}-ns", "version": "8.19.2",
                    "certificates": "ca-to-eck", "nodeSets": [{"name": "default", "count": 2}]}}


def secret_bytes(run: Recording, name: str) -> dict[str, bytes]:
    data = reveal(run.named(f"{name}-eck-ca-secret").inputs["data"])
    return {key: base64.b64decode(value) for key, value in data.items()}


def test_generated_ca_to_eck_secrets_are_read_by_eck_rules_in_go(go: GoOracle) -> None:
    names = {algorithm: f"gen{cluster_name(algorithm)}" for algorithm in GENERATED}
    run = run_clusters([ca_to_eck(name, keyAlgorithm=algorithm)
                        for algorithm, name in names.items()], clock=clock)
    secrets = [secret_bytes(run, name) for name in names.values()]
    results = go.eck_custom_cas(secrets)
    for (algorithm, name), data, result in zip(names.items(), secrets, results, strict=True):
        assert result.ok, f"{name}: {result.error}"
        assert result.key_type == GENERATED[algorithm]
        assert result.is_ca and result.cert_sign and result.signed_and_verified
        assert x509.load_pem_x509_certificate(data["ca.crt"]) == x509.load_pem_x509_certificate(
            str(reveal(run.named(f"{name}-ca-cert").outputs["certPem"])).encode())


def test_provided_pkcs8_ca_keys_reach_eck_in_a_form_go_reads(go: GoOracle) -> None:
    """A provided key in PKCS#8 (`openssl genpkey`): ECK reads PKCS#8 for RSA only, so the
    program must re-encode an ECDSA key. The provided PEM itself is checked too: Go refuses the
    ECDSA ones as ECK would, so the oracle can tell the difference."""
    provided = {kind: make_ca(f"ops {kind} CA", key=make_key(kind),
                              not_before=JUST_BEFORE_NOW - timedelta(days=1))
                for kind in PROVIDED_KINDS}
    run = run_clusters([ca_to_eck(f"ext{kind}", ca={"mode": "provided", "certPem": ca.cert_pem,
                                                    "keyPem": ca.key_pem})
                        for kind, ca in provided.items()], secret=True, clock=clock)
    handed = [secret_bytes(run, f"ext{kind}") for kind in provided]
    as_provided = [{"ca.crt": ca.cert_pem.encode(), "ca.key": ca.key_pem.encode()}
                   for ca in provided.values()]
    results = go.eck_custom_cas(handed + as_provided)
    for (kind, ca), data, result in zip(provided.items(), handed, results[:len(handed)],
                                        strict=True):
        assert result.ok, f"{kind}: {result.error}"
        assert result.key_type == PROVIDED_KINDS[kind]
        assert result.is_ca and result.cert_sign and result.signed_and_verified
        assert x509.load_pem_x509_certificate(data["ca.crt"]) == ca.cert
    raw = dict(zip(provided, results[len(handed):], strict=True))
    assert raw["rsa2048"].ok, raw["rsa2048"].error
    for kind in ("p256", "p384"):
        assert not raw[kind].ok
        assert raw[kind].error == (
            "ca.key: expected an RSA private key but got *ecdsa.PrivateKey")


def test_a_secret_eck_must_refuse_is_refused_by_the_go_oracle(go: GoOracle) -> None:
    ca, other = make_ca("search CA"), make_ca("other CA")
    not_a_ca = make_ca("leaf", is_ca=False)

    def key_of(issued: Issued) -> bytes:
        return issued.traditional_key_pem.encode()

    mismatched, chain, leaf = go.eck_custom_cas([
        {"ca.crt": ca.cert_pem.encode(), "ca.key": key_of(other)},
        {"ca.crt": (ca.cert_pem + other.cert_pem).encode(), "ca.key": key_of(ca)},
        {"ca.crt": not_a_ca.cert_pem.encode(), "ca.key": key_of(not_a_ca)},
    ])
    assert mismatched.error == "the private key does not match the public one"
    assert chain.error.startswith("ca.crt: only expected one PEM formated CA certificate")
    assert not leaf.ok and not leaf.is_ca


# ----------------------------------------------------------------------------------------------
# 4. Every certificate of every stack file
# ----------------------------------------------------------------------------------------------

STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml")
                for p in (REPO / "stacks").glob("Pulumi.*.yaml"))


def issued(run: Recording) -> Iterator[tuple[Registration, Registration]]:
    """Each locally signed certificate with the self-signed CA registration that signed it."""
    cas = {str(reveal(ca.outputs["certPem"])): ca for ca in run.of_type(SELF_SIGNED)}
    for registration in run.of_type(LOCALLY_SIGNED):
        yield registration, cas[str(reveal(registration.inputs["caCertPem"]))]


def names_of(run: Recording, certificate: Registration) -> list[str]:
    """The DNS names and IPs the certificate was requested for (its CSR's inputs)."""
    request = run.named(certificate.name.removesuffix("-cert") + "-csr")
    assert request.type == CERT_REQUEST
    inputs = reveal(request.inputs)
    return [*inputs.get("dnsNames", []), *inputs.get("ipAddresses", [])]


@pytest.mark.parametrize("stack", STACKS)
def test_every_certificate_of_the_stack_parses_and_verifies_in_go(
    go: GoOracle, stack: str
) -> None:
    run = run_stack(stack, clock=clock)
    checks: list[tuple[str, ChainCheck, bool]] = []
    for ca in run.of_type(SELF_SIGNED):
        ca_pem = str(reveal(ca.outputs["certPem"]))
        checks.append((ca.name, ChainCheck(ca_pem, ca_pem, "", ("any",)), True))
    for certificate, ca in issued(run):
        leaf = str(reveal(certificate.outputs["certPem"]))
        roots = str(reveal(ca.outputs["certPem"]))
        http = ca.name.endswith("-http-ca-cert")
        names = names_of(run, certificate)
        assert names, f"{certificate.name} was requested for no name"
        checks += [(f"{certificate.name} {name}", ChainCheck(leaf, roots, name, ("serverAuth",)),
                    True) for name in names]
        # Transport certificates serve both sides of a connection; HTTP ones only the server.
        checks.append((f"{certificate.name} clientAuth",
                       ChainCheck(leaf, roots, "", ("clientAuth",)), not http))
    results = go.verify([check for _, check, _ in checks])
    wrong = {label: result.error for (label, _, expected), result in
             zip(checks, results, strict=True) if result.ok != expected}
    assert wrong == {}
    assert run.of_type(LOCALLY_SIGNED), "the stack issues no certificate"
