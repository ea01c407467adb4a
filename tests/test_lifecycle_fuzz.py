"""One stack through random sequences of the `pulumi up`s a user makes (hypothesis, stateful).

A stack of two clusters, `logs` (VM bundles written to a directory, generated HTTP certificates
per node) and `search` (ECK, a transport certificate per pod, one shared HTTP certificate),
goes through edits drawn at random, one or several per `up`: add, remove or rename a node,
change a node's SANs or the pods' extra DNS name, scale the ECK nodeSet, raise or lower a
rotation epoch, change the key algorithm, the node certificate lifetime, `ca.organization` or
the bundle format, take the documented next CA rotation step or roll one back, ask for any CA
state near the current one (most of them illegal jumps), toggle `protectCa`, decommission or
re-add the ECK cluster, turn the VM cluster's HTTP certificates off or on, or between per-node
and shared; or time passes (renewal windows open, CAs enter theirs), the same config is re-run,
or the config is made invalid. Every step is a `run_program` on the same EngineState and output
directory, some with a `preview` first. After each one:

1. no outage: every ordered pair of live nodes completes mutual TLS (OpenSSL) with what each
   node holds, each side either at the step before or after (every mix of an `up` rolling out);
   every HTTP certificate serves HTTPS to a client trusting the delivered HTTP CA;
2. every node certificate: EKU exactly {clientAuth, serverAuth}, not a CA, KU as the algorithm
   needs, key as configured, issued by the cluster's own CA of the generation the rotation state
   says, SANs exactly as configured, outside its renewal window; every node trusts exactly the
   generations the rotation state says; a CA generation never changes while it lives, and
   generations in state are protected exactly when `protectCa` says (withdrawn ones: never);
   a CA generation created later carries the `ca.organization` configured then; the inventory
   output matches what the nodes hold; HTTP certificates are serverAuth only, from an HTTP CA
   that is no transport CA and never changes, with no transport key;
3. exactly the certificates the step must re-issue are re-issued, and exactly the keys it must
   re-key are re-keyed (nothing else is touched: no needless reloads), transport and HTTP;
4. custody: private keys appear in registrations, stack outputs and state only inside secrets;
   no CA key reaches a node (bundle files, ECK Secrets); key and password files are 0600;
   elasticsearch.yml, the store passwords and the Elasticsearch resource change only with
   the edits the docs say need a rolling restart;
5. a re-run of the same config changes nothing (beyond deleting withdrawn CA generations, as
   docs/rotation.md says) and rewrites no file; a preview changes nothing and plans the
   creates, replaces and deletes the `up` then makes; the only warnings are the documented
   ones (an unprotected stack, a deployed CA inside its renew-before window);
6. a refused step (an illegal rotation jump, per an oracle written from docs/rotation.md, the
   deletion of a protected CA, or an invalid config) raises ConfigError naming the key and
   changes neither state nor files.

Hypothesis runs derandomized and without an example database: every run checks the same
examples. Real TLS stacks check validity against the real clock, so the stack's clock runs
from 9 days ago to an hour ago.
"""

from __future__ import annotations

import base64
import copy
import itertools
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
)

from components import vm_bundle
from components.certificate_facts import sha256_fingerprint
from components.config import ConfigError
from components.model import BundleFormat, KeyAlgorithm
from harness.handshake import (
    HandshakePair,
    Identity,
    PemIdentity,
    openssl_handshakes,
    openssl_server_auth_handshake,
)
from harness.mock_runtime import EngineState, Recording, Secret, reveal
from tests.stack_runs import PRIVATE_KEY, SELF_SIGNED, cert_of, run_clusters
from tests.test_vm_delivery import bundle_files, identity, mode
from tests.test_vm_lifecycle import mtimes

# Real TLS stacks check validity against the real clock: the stack's clock starts 9 days ago
# and never passes an hour ago. Node certificates live 10 days and renew 3 days before expiry,
# so every certificate the stack holds is valid now, and the first renewal window opens on
# the way.
LIMIT = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
T0 = LIMIT - timedelta(days=8, hours=23)
NODE_LIFETIMES = ((10, 3), (12, 4), (10, 4))  # (validityDays, renewBeforeDays)
# CAs enter their (wide) renew-before window 5 days after they are created: `up` warns.
CA_LIFETIME = {"validityDays": 30, "renewBeforeDays": 25}
VM, ECK = "logs", "search"
NAMES = tuple(f"es-{i}" for i in range(1, 7))
ALGORITHMS = ("ecdsa-p256", "ecdsa-p384", "rsa-2048")
FORMATS = ("pem", "pkcs12", "both")
STEPS = (None, "introduce", "switch", "retire")
NAMESPACE, ECK_NAME, NODE_SET = "es", "search", "default"
TRANSPORT_SERVICE = f"{ECK_NAME}-es-transport.{NAMESPACE}.svc"
STATEFULSET = f"{ECK_NAME}-es-{NODE_SET}"
BOTH_EKUS = {ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH}
PEM_KEY_MARK = "PRIVATE KEY-----"


# --- the config a user edits -----------------------------------------------------------------


@dataclass
class Ca:
    generation: int = 1
    step: str | None = None

    def trust(self) -> tuple[tuple[int, ...], int]:
        """(generations every node trusts, generation issuing), per docs/rotation.md's table."""
        n = self.generation
        return {
            None: ((n,), n), "introduce": ((n, n + 1), n), "switch": ((n, n + 1), n + 1),
            "retire": ((n + 1,), n + 1),
        }[self.step]

    def config(self, organization: str | None) -> dict[str, Any]:
        ca: dict[str, Any] = dict(CA_LIFETIME)
        if organization is not None:
            ca["organization"] = organization
        if self.generation != 1:
            ca["generation"] = self.generation
        if self.step is not None:
            ca["rotation"] = {"step": self.step}
        return ca


@dataclass
class Cluster:
    algorithm: str = "ecdsa-p256"
    ca: Ca = field(default_factory=Ca)
    epoch: int = 0
    node_epochs: dict[str, int] = field(default_factory=dict)
    lifetime: tuple[int, int] = NODE_LIFETIMES[0]
    organization: str | None = None  # ca.organization: for CA generations created from now

    def common(self, name: str) -> dict[str, Any]:
        validity, renew_before = self.lifetime
        entry: dict[str, Any] = {
            "name": name, "keyAlgorithm": self.algorithm, "ca": self.ca.config(self.organization),
            "nodeCertificates": {"validityDays": validity, "renewBeforeDays": renew_before},
        }
        if self.epoch:
            entry["rotationEpoch"] = self.epoch
        if self.node_epochs:
            entry["nodeRotationEpochs"] = dict(self.node_epochs)
        return entry


@dataclass
class Config:
    vm_nodes: dict[str, list[str]]  # node → DNS names (and one IP address each, see ip_of)
    vm_format: str = "pem"
    pods: int = 2
    clusters: dict[str, Cluster] = field(
        default_factory=lambda: {VM: Cluster(), ECK: Cluster()})
    protect: bool = True
    eck: bool = True  # the ECK cluster is configured (decommissioned: False)
    vm_http: bool = True  # the VM cluster has generated HTTP certificates
    vm_http_shared: bool = False  # ... one for every node (`http.certificates: shared`)
    extra_dns: tuple[str, ...] = ()  # eck.extraDns: a name every pod's certificate covers
    eck_certificates: str = "per-node"  # eck.certificates: per-node or ca-to-eck
    eck_http: bool = True  # the ECK cluster has a generated HTTP certificate

    def live(self) -> list[str]:
        """The clusters configured, in config order."""
        return [VM, ECK] if self.eck else [VM]

    def targets(self) -> list[str]:
        """The clusters an edit of one cluster picks from."""
        return self.live()

    @property
    def ca_to_eck(self) -> bool:
        return self.eck and self.eck_certificates == "ca-to-eck"

    def http(self, cluster: str) -> bool:
        return cluster in self.live() and (self.eck_http if cluster == ECK else self.vm_http)

    def nodes(self, cluster: str) -> list[str]:
        if cluster == VM:
            return list(self.vm_nodes)
        return [f"{STATEFULSET}-{i}" for i in range(self.pods)] if self.eck else []

    def sans(self, cluster: str, node: str) -> set[str]:
        if cluster == VM:
            return set(self.vm_nodes[node])
        pod = f"{node}.{STATEFULSET}.{NAMESPACE}.svc"
        return {pod, f"{pod}.cluster.local", TRANSPORT_SERVICE,
                f"{TRANSPORT_SERVICE}.cluster.local", *self.extra_dns}

    def http_sans(self, cluster: str, role: str) -> tuple[set[str], list[str]]:
        """(DNS names, IP addresses) of the HTTP certificate of `role` (a node, or shared)."""
        if cluster == VM and role == "shared":
            return {d for dns in self.vm_nodes.values() for d in dns}, [
                ip_of(n) for n in self.vm_nodes]
        if cluster == VM:
            return set(self.vm_nodes[role]), [ip_of(role)]
        service = f"{ECK_NAME}-es-http"
        return {service, f"{service}.{NAMESPACE}", f"{service}.{NAMESPACE}.svc",
                f"{service}.{NAMESPACE}.svc.cluster.local"}, []

    def http_roles(self, cluster: str) -> list[str]:
        """The HTTP certificates of `cluster`: one per node, or `shared`."""
        if not self.http(cluster):
            return []
        return ["shared"] if cluster == ECK or self.vm_http_shared else self.nodes(cluster)

    def render(self, out: Path) -> list[dict[str, Any]]:
        vm = self.clusters[VM].common(VM) | {
            "delivery": "vm", "vm": {"outputDir": str(out), "format": self.vm_format},
            "nodes": [{"name": n, "dns": list(dns), "ips": [ip_of(n)]}
                      for n, dns in self.vm_nodes.items()],
        }
        if self.vm_http:
            vm["http"] = {"mode": "generated", "certificates": (
                "shared" if self.vm_http_shared else "per-node")}
        eck = self.clusters[ECK].common(ECK) | {
            "delivery": "eck",
            "eck": {"name": ECK_NAME, "namespace": NAMESPACE, "version": "8.19.2",
                    "nodeSets": [{"name": NODE_SET, "count": self.pods}],
                    **({"extraDns": list(self.extra_dns)} if self.extra_dns else {}),
                    **({"certificates": self.eck_certificates}
                       if self.eck_certificates != "per-node" else {})},
        }
        if self.eck_http:
            eck["http"] = {"mode": "generated"}  # one certificate for every pod
        return [vm, eck] if self.eck else [vm]


def eck_resource_changes(before: Config, after: Config) -> bool:
    """The Elasticsearch resource changes (ECK rolls the pods): scaling, adding the cluster,
    adding or removing HTTP, the certificates mode, and under ca-to-eck `eck.extraDns`
    (`spec.transport.tls.subjectAltNames`; ECK then re-issues the pods' certificates)."""
    return (
        (before.pods, before.eck, before.eck_http, before.eck_certificates)
        != (after.pods, after.eck, after.eck_http, after.eck_certificates)
        or (after.ca_to_eck and before.extra_dns != after.extra_dns)
    )


def dns_of(node: str) -> list[str]:
    return [f"{node}.logs.internal"]


def ip_of(node: str) -> str:
    return f"10.0.0.{NAMES.index(node) + 1}"


@dataclass(frozen=True)
class Expected:
    """What an `up` from one config to the next must re-issue and re-key, besides the
    renewals that fell due: per transport node, and per HTTP certificate (node or shared)."""

    reissue: set[str]
    rekey: set[str]
    http_reissue: set[str]
    http_rekey: set[str]


def expected(before: Config, after: Config, cluster: str) -> Expected:
    """From docs/rotation.md and docs/http.md: epochs and the key algorithm re-key (a shared
    HTTP key: any change of a raised node epoch, a removed node's among them); SAN changes and
    a new issuing CA generation re-issue with the same key."""
    old, new = before.clusters[cluster], after.clusters[cluster]
    nodes = set(after.nodes(cluster))
    everyone = old.algorithm != new.algorithm or old.epoch != new.epoch
    rekey = nodes if everyone else {
        n for n in nodes if old.node_epochs.get(n, 0) != new.node_epochs.get(n, 0)}
    sans = {n for n in nodes & set(before.nodes(cluster))
            if before.sans(cluster, n) != after.sans(cluster, n)}
    issuer = nodes if old.ca.trust()[1] != new.ca.trust()[1] else set()
    lifetime = nodes if old.lifetime != new.lifetime else set()
    if cluster == VM and not after.vm_http_shared:
        return Expected(rekey | sans | issuer | lifetime, rekey, rekey | sans | lifetime, rekey)

    def raised(spec: Cluster) -> dict[str, int]:
        return {n: e for n, e in spec.node_epochs.items() if e}

    shared = {"shared"} if everyone or raised(old) != raised(new) else set()
    renamed = before.http_sans(cluster, "shared") != after.http_sans(cluster, "shared")
    return Expected(rekey | sans | issuer | lifetime, rekey,
                    shared | ({"shared"} if lifetime or renamed else set()), shared)


# --- what the nodes hold -----------------------------------------------------------------------


@dataclass(frozen=True)
class Held:
    """One node's material as it loads it: certificate, public key of its key, trusted CAs."""

    identity: Identity
    server_name: str
    cert: x509.Certificate
    public_key: bytes
    trust: tuple[x509.Certificate, ...]


def public_bytes(key: Any) -> bytes:
    return bytes(key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))


def held(identity: Identity, server_name: str) -> Held:
    """What `identity` loads. PKCS#12 stores are read once here and handed to the handshakes
    as PEM next to them (the harness would decrypt them again for every handshake)."""
    if isinstance(identity, PemIdentity):
        cert = x509.load_pem_x509_certificate(identity.certificate.read_bytes())
        key = serialization.load_pem_private_key(identity.key.read_bytes(), None)
        trust = x509.load_pem_x509_certificates(identity.certificate_authorities.read_bytes())
    else:
        store = pkcs12.load_pkcs12(
            identity.keystore.read_bytes(), identity.keystore_password.encode())
        truststore = pkcs12.load_pkcs12(
            identity.truststore.read_bytes(), identity.truststore_password.encode())
        assert store.cert is not None and store.key is not None
        cert, key = store.cert.certificate, store.key
        trust = [c.certificate for c in truststore.additional_certs]
        chain = [cert, *(c.certificate for c in store.additional_certs)]
        identity = write_pem(identity.keystore.parent / "from-stores", chain, key, trust)
    assert public_bytes(key.public_key()) == public_bytes(cert.public_key()), "key ≠ certificate"
    return Held(identity, server_name, cert, public_bytes(key.public_key()), tuple(trust))


@dataclass(frozen=True)
class HttpHeld:
    """What a node serves HTTPS with, and the HTTP CA delivered next to it."""

    identity: PemIdentity
    cert: x509.Certificate
    public_key: bytes
    ca: tuple[x509.Certificate, ...]


def http_held(identity: PemIdentity) -> HttpHeld:
    cert = x509.load_pem_x509_certificates(identity.certificate.read_bytes())[0]
    key = serialization.load_pem_private_key(identity.key.read_bytes(), None)
    assert public_bytes(key.public_key()) == public_bytes(cert.public_key()), "key ≠ certificate"
    cas = x509.load_pem_x509_certificates(identity.certificate_authorities.read_bytes())
    return HttpHeld(identity, cert, public_bytes(key.public_key()), tuple(cas))


def write_pem(directory: Path, chain: list[x509.Certificate], key: Any,
              trust: list[x509.Certificate]) -> PemIdentity:
    pem = serialization.Encoding.PEM
    directory.mkdir()
    identity = PemIdentity(directory / "chain.crt", directory / "node.key", directory / "ca.crt")
    identity.certificate.write_bytes(b"".join(c.public_bytes(pem) for c in chain))
    identity.key.write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    identity.certificate_authorities.write_bytes(b"".join(c.public_bytes(pem) for c in trust))
    return identity


Snapshot = tuple[dict[str, Held], dict[str, HttpHeld]]


def snapshot_vm(out: Path, snapshot: Path, *, shared_http: bool) -> Snapshot:
    """The VM nodes' bundles, copied to `snapshot` (a node keeps what it loaded): transport
    and HTTP material per node (`shared_http`: one for all, which every node holds)."""
    shutil.copytree(out / VM, snapshot / VM)
    transport, http = {}, {}
    for directory in sorted((snapshot / VM).iterdir()):
        for rel in bundle_files(directory):  # keys and passwords 0600 (INV-CUSTODY)
            assert mode(out / VM / directory.name / rel) == vm_bundle.MODES[rel], rel
        transport[directory.name] = held(identity(directory), dns_of(directory.name)[0])
        if (directory / vm_bundle.HTTP_KEY).exists():
            http[directory.name] = http_held(PemIdentity(
                directory / vm_bundle.HTTP_CERTIFICATE, directory / vm_bundle.HTTP_KEY,
                directory / vm_bundle.HTTP_CERTIFICATE_AUTHORITIES))
    if shared_http and http:
        first, *others = http.values()
        assert all((o.cert, o.public_key) == (first.cert, first.public_key) for o in others)
        return transport, {"shared": first}
    return transport, http


def secret_files(run: Recording, name: str) -> dict[str, bytes]:
    """The data of the Kubernetes Secret registered as `name`, which must be secret."""
    data = run.named(name).inputs["data"]
    assert isinstance(data, Secret), f"{name}: keys must be a secret"
    return {k: base64.b64decode(v) for k, v in reveal(data).items()}


def write_files(directory: Path, files: Mapping[str, bytes]) -> None:
    directory.mkdir(parents=True)
    for name, content in files.items():
        (directory / name).write_bytes(content)
        if name.endswith(".key"):
            (directory / name).chmod(0o600)


def snapshot_eck(run: Recording, snapshot: Path) -> Snapshot:
    """Each pod's files from the per-node Secret and the trust ConfigMap, as mounted, and the
    shared HTTP Secret, if any."""
    data = secret_files(run, f"{ECK}-eck-node-certs")
    trust = reveal(run.named(f"{ECK}-eck-trust").inputs["data"])["ca.crt"].encode()
    transport = {}
    for file in sorted(data):
        if not file.endswith(".tls.key"):
            continue
        pod = file.removesuffix(".tls.key")
        directory = snapshot / ECK / pod
        write_files(directory, {
            "tls.key": data[file], "tls.crt": data[f"{pod}.tls.crt"], "ca.crt": trust})
        pem = PemIdentity(directory / "tls.crt", directory / "tls.key", directory / "ca.crt")
        transport[pod] = held(pem, f"{pod}.{STATEFULSET}.{NAMESPACE}.svc")
    return transport, snapshot_eck_http(run, snapshot)


def snapshot_eck_http(run: Recording, snapshot: Path) -> dict[str, HttpHeld]:
    """The shared HTTP Secret of the ECK cluster, as mounted (none: no HTTP certificate)."""
    if not [r for r in run if r.name == f"{ECK}-eck-http-cert"]:
        return {}
    directory = snapshot / f"{ECK}-http"
    write_files(directory, secret_files(run, f"{ECK}-eck-http-cert"))
    files = (directory / "tls.crt", directory / "tls.key", directory / "ca.crt")
    return {"shared": http_held(PemIdentity(*files))}


Stage = tuple[str, Mapping[str, Held]]  # (label, what each node holds at that stage)


def mixed_pairs(stages: list[Stage]) -> Iterator[tuple[str, tuple[Held, Held]]]:
    """Every ordered pair of distinct live nodes (those of the last stage), each side at any of
    the `stages` an `up` rolls through, the step before first (pairs of two nodes both at it
    were checked at the last step): (label, (server, client))."""
    first, (_, after) = stages[0], stages[-1]
    for server, client in itertools.permutations(sorted(after), 2):
        for (server_at, server_side), (client_at, client_side) in itertools.product(stages, stages):
            if server_at == client_at == first[0]:
                continue
            if server in server_side and client in client_side:
                yield (f"{client}@{client_at} -> {server}@{server_at}",
                       (server_side[server], client_side[client]))


def material_id(material: Held) -> bytes:
    """What a node presents and trusts."""
    return fingerprint(material.cert) + material.public_key + b"".join(
        fingerprint(c) for c in material.trust)


def ca_generation(name: str, cluster: str) -> int | None:
    """The CA generation a resource named `name` belongs to (`<cluster>-ca`, `-ca-key`,
    `-ca-g2-cert`, ...), None for any other resource."""
    match = re.fullmatch(rf"{re.escape(cluster)}-ca(?:-g(\d+))?(?:-key|-cert)?", name)
    return None if match is None else int(match.group(1) or 1)


def fingerprint(cert: x509.Certificate) -> bytes:
    return cert.fingerprint(hashes.SHA256())


# --- custody -----------------------------------------------------------------------------------


def plain_strings(value: Any) -> Iterator[str]:
    """Every string outside a secret (engine form: `Secret` wrappers or signature maps)."""
    if isinstance(value, Secret):
        return
    if isinstance(value, Mapping):
        if value.get("4dabf18193072939515e22adb298388d") == "1b47061264138c4ac30d75fd1eb44270":
            return
        for item in value.values():
            yield from plain_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from plain_strings(item)
    elif isinstance(value, str):
        yield value


def base64_forms(text: str) -> set[str]:
    """Substrings any base64 encoding of a text holding `text` contains (each alignment)."""
    forms = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + text.encode()).decode()
        forms.add(encoded[4 * ((shift + 2) // 3) + 4: -4])
    return forms


def key_forms(keys: Iterable[str]) -> set[str]:
    """What betrays one of these PEM private keys in a text: a PEM key marker, a line of a
    key's base64, or any base64 encoding of part of one."""
    forms = {PEM_KEY_MARK}
    for key in keys:
        forms.add(key.strip().splitlines()[1])
        forms |= base64_forms(key.strip()[40:100])
    return forms


def engine_places(run: Recording, state: EngineState) -> list[tuple[str, Any]]:
    """Where the engine keeps or shows what a run sent: stack outputs, every registration's
    inputs and outputs, and the state's outputs (the emulated state keeps its inputs revealed,
    for diffing: they say nothing about what the engine would store)."""
    places: list[tuple[str, Any]] = [("stack outputs", run.stack_outputs)]
    places += [(f"{r.name} inputs", r.inputs) for r in run]
    places += [(f"{r.name} outputs", r.outputs) for r in run]
    places += [(f"state {u}", s.outputs) for u, s in state.resources.items()]
    return places


# --- the edits a user makes between `up`s -------------------------------------------------------

Draw = Callable[[st.SearchStrategy[Any]], Any]


def live_cluster(config: Config, draw: Draw) -> str:
    return str(draw(st.sampled_from(config.targets())))


def add_node(config: Config, draw: Draw) -> None:
    if len(config.vm_nodes) < 4:
        name = draw(st.sampled_from([n for n in NAMES if n not in config.vm_nodes]))
        config.vm_nodes[name] = dns_of(name)


def remove_node(config: Config, draw: Draw) -> None:
    if len(config.vm_nodes) > 2:
        name = draw(st.sampled_from(sorted(config.vm_nodes)))
        del config.vm_nodes[name]
        config.clusters[VM].node_epochs.pop(name, None)  # config refuses unknown nodes


def rename_node(config: Config, draw: Draw) -> None:
    old = draw(st.sampled_from(sorted(config.vm_nodes)))
    new = draw(st.sampled_from([n for n in NAMES if n not in config.vm_nodes]))
    config.vm_nodes = {new if n == old else n: dns_of(new) if n == old else dns
                       for n, dns in config.vm_nodes.items()}
    config.clusters[VM].node_epochs.pop(old, None)


def change_sans(config: Config, draw: Draw) -> None:
    name = draw(st.sampled_from(sorted(config.vm_nodes)))
    alias, dns = f"{name}.alias.internal", config.vm_nodes[name]
    config.vm_nodes[name] = [d for d in dns if d != alias] if alias in dns else [*dns, alias]


def scale_eck(config: Config, draw: Draw) -> None:
    config.pods = draw(st.integers(2, 3))
    kept = set(config.nodes(ECK))
    epochs = config.clusters[ECK].node_epochs
    config.clusters[ECK].node_epochs = {p: e for p, e in epochs.items() if p in kept}


def rekey_node(config: Config, draw: Draw) -> None:
    cluster = live_cluster(config, draw)
    node = draw(st.sampled_from(config.nodes(cluster)))
    epochs = config.clusters[cluster].node_epochs
    epochs[node] = epochs.get(node, 0) + 1


def lower_epochs(config: Config, draw: Draw) -> None:
    """docs/rotation.md: lowering an epoch re-keys again (only raise them, it says)."""
    spec = config.clusters[live_cluster(config, draw)]
    if draw(st.booleans()):
        spec.epoch = 0
    else:
        spec.node_epochs = {}


def toggle_extra_dns(config: Config, draw: Draw) -> None:
    config.extra_dns = () if config.extra_dns else ("search.example.com",)


def rekey_cluster(config: Config, draw: Draw) -> None:
    config.clusters[live_cluster(config, draw)].epoch += 1


def change_algorithm(config: Config, draw: Draw) -> None:
    config.clusters[live_cluster(config, draw)].algorithm = draw(st.sampled_from(ALGORITHMS))


def change_lifetime(config: Config, draw: Draw) -> None:
    config.clusters[live_cluster(config, draw)].lifetime = draw(st.sampled_from(NODE_LIFETIMES))


def change_ca_organization(config: Config, draw: Draw) -> None:
    """Applies to CA generations created later; a deployed CA ignores it."""
    organization = draw(st.sampled_from((None, "Example Corp", "Other Org")))
    config.clusters[live_cluster(config, draw)].organization = organization


def change_format(config: Config, draw: Draw) -> None:
    config.vm_format = draw(st.sampled_from(FORMATS))


def toggle_protection(config: Config, draw: Draw) -> None:
    config.protect = not config.protect


def toggle_eck_cluster(config: Config, draw: Draw) -> None:
    """Decommission the ECK cluster (refused while its CAs are protected), or add it back as
    a new cluster."""
    config.eck = not config.eck


def toggle_vm_http_shared(config: Config, draw: Draw) -> None:
    """`http.certificates` per-node ↔ shared."""
    config.vm_http_shared = not config.vm_http_shared


def toggle_vm_http(config: Config, draw: Draw) -> None:
    """`http.mode` generated ↔ none (refused while the HTTP CA is protected)."""
    config.vm_http = not config.vm_http


def next_rotation_step(config: Config, draw: Draw) -> None:
    """The documented order: introduce, switch, retire, then the cleanup edit."""
    spec = config.clusters[live_cluster(config, draw)]
    n, step = spec.ca.generation, spec.ca.step
    spec.ca = {None: Ca(n, "introduce"), "introduce": Ca(n, "switch"),
               "switch": Ca(n, "retire"), "retire": Ca(n + 1, None)}[step]


def roll_back(config: Config, draw: Draw) -> None:
    """docs/rotation.md 'Rollback': one step back (refused once a retired CA is gone)."""
    spec = config.clusters[live_cluster(config, draw)]
    n, step = spec.ca.generation, spec.ca.step
    spec.ca = {None: Ca(n - 1, "retire") if n > 1 else spec.ca, "introduce": Ca(n, None),
               "switch": Ca(n, "introduce"), "retire": Ca(n, "switch")}[step]


def any_ca_state(config: Config, draw: Draw) -> None:
    """A CA state near the current one: illegal jumps among them."""
    spec = config.clusters[live_cluster(config, draw)]
    generation = max(1, spec.ca.generation + draw(st.integers(-1, 1)))
    spec.ca = Ca(generation, draw(st.sampled_from(STEPS)))


Edit = Callable[[Config, Draw], None]
EDITS: dict[str, Edit] = {edit.__name__: edit for edit in (
    add_node, remove_node, rename_node, change_sans, scale_eck, toggle_extra_dns, rekey_node,
    rekey_cluster, lower_epochs,
    change_algorithm, change_lifetime, change_ca_organization, change_format, toggle_protection,
    toggle_eck_cluster, toggle_vm_http, toggle_vm_http_shared,
    next_rotation_step, roll_back, any_ca_state,
)}


# --- the state machine -------------------------------------------------------------------------


def edit_rules(table: Mapping[str, Edit]) -> tuple[Callable[..., None], Callable[..., None]]:
    """The rules `one_edit` and `several_edits` of a machine whose edits are `table`."""

    @rule(edit=st.sampled_from(sorted(table)), data=st.data(), preview=st.booleans())
    def one_edit(self: Lifecycle, edit: str, data: st.DataObject, preview: bool) -> None:
        self.edit_with(table, [edit], data, preview)

    @rule(edits=st.lists(st.sampled_from(sorted(table)), min_size=2, max_size=3),
          data=st.data(), preview=st.booleans())
    def several_edits(self: Lifecycle, edits: list[str], data: st.DataObject,
                      preview: bool) -> None:
        """A user may change several things in one `up`."""
        self.edit_with(table, edits, data, preview)

    return one_edit, several_edits


class Lifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="es-lifecycle-fuzz-"))
        self.out = self.root / "out"
        self.state = EngineState()
        self.clock = T0
        self.runs = 0
        self.config = self.initial_config()
        self.deployed: Config | None = None
        self.held: dict[str, dict[str, Held]] = {VM: {}, ECK: {}}
        self.http_held: dict[str, dict[str, HttpHeld]] = {VM: {}, ECK: {}}
        self.http_ca_seen: dict[str, bytes] = {}
        self.last: Recording | None = None
        # Per cluster, the fingerprint of each CA generation while it lives in state.
        self.ca_seen: dict[str, dict[int, bytes]] = {VM: {}, ECK: {}}
        # (server name, server material, client material) of every handshake that succeeded.
        self.proven: set[tuple[str, bytes, bytes]] = set()
        # What a change of needs a rolling restart, as the last `up` left it.
        self.restart: dict[str, bytes] = {}

    def initial_config(self) -> Config:
        return Config({n: dns_of(n) for n in NAMES[:3]})

    def teardown(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    # -- running an `up` ---------------------------------------------------------------------

    def run(self, config: Config, *, preview: bool = False) -> Recording:
        return self.run_rendered(config.render(self.out), config.protect, preview=preview)

    def run_rendered(
        self, rendered: list[dict[str, Any]], protect: bool, *, preview: bool = False
    ) -> Recording:
        self.runs += 1
        moment = self.clock
        return run_clusters(rendered, state=self.state, clock=lambda: moment,
                            settings={"protectCa": protect}, preview=preview)

    def unchanged(self) -> Callable[[], None]:
        """A check that state, stack outputs and delivered files are as they are now."""
        before = copy.deepcopy(self.state.resources)
        outputs = copy.deepcopy(self.state.stack_outputs)
        files, times = bundle_files(self.out), mtimes(self.out)

        def check() -> None:
            assert self.state.resources == before and self.state.stack_outputs == outputs
            assert bundle_files(self.out) == files and mtimes(self.out) == times

        return check

    def generations_in_state(self, cluster: str) -> dict[int, bool]:
        """CA generation → protected, of the CA key resources the state holds."""
        result = {}
        for resource_urn, resource in self.state.resources.items():
            generation = ca_generation(resource_urn.rsplit("::", 1)[1], cluster)
            if resource.type == PRIVATE_KEY and generation is not None:
                result[generation] = resource.protect
        return result

    def legal(self, config: Config) -> list[str]:
        """The keys at which docs/rotation.md says `config` must be refused, after what is
        deployed: a new issuer the deployed nodes do not trust yet, the deployed issuer no
        longer trusted, or a destroyed generation brought back; and the deletion of a CA that
        is protected in state (docs/state-and-secrets.md)."""
        refused: list[str] = []
        deployed = self.deployed
        if deployed is None:
            return refused
        if deployed.protect and deployed.eck and not config.eck:
            refused.append("clusters")  # its CA is protected in state: lift that first
        if deployed.protect and deployed.vm_http and not config.vm_http:
            refused.append("clusters[0].http.mode")
        if deployed.protect and deployed.http(ECK) and config.eck and not config.eck_http:
            refused.append("clusters[1].http.mode")
        for index, cluster in enumerate(config.live()):
            if cluster not in deployed.live():
                continue  # a new cluster: any state is safe
            before_trust, before_issuing = deployed.clusters[cluster].ca.trust()
            ca = config.clusters[cluster].ca
            trust, issuing = ca.trust()
            in_state = self.generations_in_state(cluster)
            destroyed = [g for g in trust if g not in before_trust and g not in in_state
                         and g < max(before_trust)]
            if issuing not in before_trust or before_issuing not in trust or destroyed:
                key = "rotation.step" if ca.step else "generation"
                refused.append(f"clusters[{index}].ca.{key}")
        return refused

    def up(self, config: Config, *, preview: bool = False) -> Recording:
        """An `up` that must succeed, and everything it must leave true. `preview`: a
        `pulumi preview` first, which changes nothing and plans what the `up` then does."""
        assert not self.legal(config)
        planned = None
        if preview:
            unchanged = self.unchanged()
            planned = self.run(config, preview=True).changes
            unchanged()
        warned = self.expected_warnings(config)
        run = self.run(config)
        unprotected = [w for w in run.warnings if "protectCa is false" in w]
        assert bool(unprotected) is not config.protect, run.warnings
        assert sorted(w.split(" expires ")[0] for w in run.warnings
                      if w not in unprotected) == warned, run.warnings
        if planned is not None:
            for step in ("created", "replaced", "deleted"):
                assert set(getattr(planned, step)) == set(getattr(run.changes, step)), step
            assert set(run.changes.updated) <= set(planned.updated)
        snapshot = self.root / f"after-{self.runs}"
        delivered = {VM: snapshot_vm(self.out, snapshot, shared_http=config.vm_http_shared), ECK: (
            self.deliver_eck(run, config, snapshot) if config.eck else ({}, {}))}
        after = {cluster: transport for cluster, (transport, _) in delivered.items()}
        for cluster in (VM, ECK):
            if cluster not in config.live():
                self.ca_seen[cluster] = {}
                assert not self.generations_in_state(cluster), f"{cluster} left CAs behind"
                self.check_http(run, config, cluster, delivered[cluster], Expected(*[set()] * 4))
                continue
            changes = self.expected(self.deployed or config, config, cluster)
            self.check_cluster(run, config, cluster, after[cluster], changes)
            self.check_http(run, config, cluster, delivered[cluster], changes)
        self.check_custody(run, snapshot)
        self.check_no_restart(run, config, snapshot)
        self.check_handshakes(after)
        for old in self.root.glob("after-*"):
            if old != snapshot:
                shutil.rmtree(old)
        self.held, self.deployed, self.last = after, copy.deepcopy(config), run
        self.http_held = {cluster: http for cluster, (_, http) in delivered.items()}
        self.config = copy.deepcopy(config)
        return run

    def deliver_eck(self, run: Recording, config: Config, snapshot: Path) -> Snapshot:
        """What the ECK cluster's pods hold after the `up` of `config`, copied to `snapshot`."""
        return snapshot_eck(run, snapshot)

    def expected(self, before: Config, after: Config, cluster: str) -> Expected:
        return expected(before, after, cluster)

    def expected_warnings(self, config: Config) -> list[str]:
        """The start of each CA expiry warning the `up` of `config` must log: the deployed CA
        of the issuing generation, and the deployed HTTP CA, once inside their window."""
        if self.last is None:
            return []
        window = timedelta(days=CA_LIFETIME["renewBeforeDays"])
        warned = []
        deployed = self.deployed or config
        for cluster in config.live():
            if cluster not in deployed.live():
                continue
            issuing = config.clusters[cluster].ca.trust()[1]
            ca = self.ca_certs(self.last, cluster).get(issuing)
            if ca is not None and self.clock >= ca.not_valid_after_utc - window:
                warned.append(f"cluster {cluster}: CA generation g{issuing}")
            if config.http(cluster) and deployed.http(cluster):
                http_ca = cert_of(self.last.named(f"{cluster}-http-ca-cert"))
                if self.clock >= http_ca.not_valid_after_utc - window:
                    warned.append(f"cluster {cluster}: the generated HTTP CA")
        return sorted(warned)

    def stages(self, cluster: str, after: Mapping[str, Held]) -> list[Stage]:
        """What the nodes of `cluster` hold as an `up` rolls out: before it, then after."""
        return [("before", self.held[cluster]), ("after", after)]

    def check_handshakes(self, after: Mapping[str, Mapping[str, Held]]) -> None:
        """Every mix of the nodes before and after the `up`; a pair of materials proven once
        (a node whose files did not change) is not handshaken again."""
        labelled: list[tuple[str, HandshakePair]] = []
        for cluster in (VM, ECK):
            for label, (server, client) in mixed_pairs(self.stages(cluster, after[cluster])):
                proof = (server.server_name, material_id(server), material_id(client))
                if proof not in self.proven:
                    self.proven.add(proof)
                    labelled.append((f"{cluster}: {label}", HandshakePair(
                        server.identity, client.identity, server.server_name)))
        results = openssl_handshakes([pair for _, pair in labelled])
        failures = [f"{label}: {result.error}"
                    for (label, _), result in zip(labelled, results, strict=True) if not result.ok]
        assert not failures, failures

    def refused(self, rendered: list[dict[str, Any]], protect: bool, *keys: str) -> None:
        """The `up` of `rendered` is refused at each of `keys` and changes neither state nor
        files."""
        unchanged = self.unchanged()
        with pytest.raises(ConfigError) as refusal:
            self.run_rendered(rendered, protect)
        for key in keys:
            assert f"es-transport-pki:{key}:" in str(refusal.value), (key, str(refusal.value))
        unchanged()

    # -- the checks after each `up` ----------------------------------------------------------

    def ca_certs(self, run: Recording, cluster: str) -> dict[int, x509.Certificate]:
        result = {}
        for registration in run.of_type(SELF_SIGNED):
            if registration.name.startswith(f"{cluster}-ca"):
                cert = cert_of(registration)
                serial = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
                generation = int(str(serial[0].value).removeprefix("g")) if serial else 1
                result[generation] = cert
        return result

    def check_cluster(
        self, run: Recording, config: Config, cluster: str, after: Mapping[str, Held],
        changes: Expected,
    ) -> None:
        spec = config.clusters[cluster]
        trusted, issuing = spec.ca.trust()
        cas = self.check_cas(run, config, cluster)
        assert sorted(after) == sorted(config.nodes(cluster)), (cluster, sorted(after))
        algorithm = KeyAlgorithm(spec.algorithm)
        not_after_limit = self.clock + timedelta(days=spec.lifetime[1])
        for node, material in after.items():
            cert = material.cert
            cert.verify_directly_issued_by(cas[issuing])
            assert [fingerprint(c) for c in material.trust] == [
                fingerprint(cas[g]) for g in trusted], (cluster, node, trusted)
            eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            assert set(eku) == BOTH_EKUS
            assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
            usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
            assert usage.digital_signature and usage.key_encipherment is algorithm.is_rsa
            sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            assert set(sans.get_values_for_type(x509.DNSName)) == config.sans(cluster, node)
            assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == (
                [ip_of(node)] if cluster == VM else [])
            key = cert.public_key()
            if algorithm.is_rsa:
                assert isinstance(key, rsa.RSAPublicKey) and key.key_size == algorithm.rsa_bits
            else:
                assert isinstance(key, ec.EllipticCurvePublicKey)
                assert key.curve.name == {"P256": "secp256r1", "P384": "secp384r1"}[
                    str(algorithm.ecdsa_curve)]
            assert cert.not_valid_before_utc <= self.clock
            assert cert.not_valid_after_utc > not_after_limit, "inside its renewal window"

        self.check_inventory(run, config, cluster, cas, {
            n: (sha256_fingerprint(m.cert), issuing) for n, m in after.items()})
        self.check_replaced(cluster, self.held[cluster], after, reissue=changes.reissue,
                            rekey=changes.rekey, renew_before_days=spec.lifetime[1])

    def check_cas(
        self, run: Recording, config: Config, cluster: str
    ) -> dict[int, x509.Certificate]:
        """The CA generations of `cluster` in state, by generation: the trusted ones, protected
        as configured; withdrawn ones (a protected stack's, for one `up`) unprotected, so that
        the next `up` deletes them; none replaced while it lives; each with the organization
        configured when it was created; none shared with the other cluster."""
        spec = config.clusters[cluster]
        trusted = spec.ca.trust()[0]
        cas = self.ca_certs(run, cluster)
        in_state = self.generations_in_state(cluster)
        assert set(trusted) <= set(in_state), (trusted, in_state)
        for generation, protected in in_state.items():
            if generation not in self.ca_seen[cluster]:  # created by this `up`
                organization = cas[generation].subject.get_attributes_for_oid(
                    NameOID.ORGANIZATION_NAME)
                assert [a.value for a in organization] == (
                    [spec.organization] if spec.organization else []), cluster
            expected = config.protect and generation in trusted
            assert protected is expected, (cluster, generation, in_state, config.protect)
            seen = self.ca_seen[cluster].setdefault(generation, fingerprint(cas[generation]))
            assert seen == fingerprint(cas[generation]), f"{cluster} g{generation} replaced"
        self.ca_seen[cluster] = {g: f for g, f in self.ca_seen[cluster].items() if g in in_state}
        other = VM if cluster == ECK else ECK
        assert not {fingerprint(c) for c in cas.values()} & set(self.ca_seen[other].values())
        return cas

    def check_inventory(
        self, run: Recording, config: Config, cluster: str, cas: Mapping[int, x509.Certificate],
        nodes: Mapping[str, tuple[str, int]],
    ) -> None:
        """The inventory (`preflight.inventory` probes against it) says what the nodes hold:
        `nodes` node → (SHA-256 fingerprint, CA generation)."""
        trusted, issuing = config.clusters[cluster].ca.trust()
        inventory = reveal(run.stack_outputs["clusters"])[cluster]
        assert inventory["rotation"]["generations"] == list(trusted)
        assert inventory["rotation"]["issuingGeneration"] == issuing
        assert sorted(inventory["caGenerations"]) == sorted(str(g) for g in trusted)
        assert inventory["caFingerprintSha256"] == sha256_fingerprint(cas[issuing])
        assert {n: (e["fingerprintSha256"], e["caGeneration"])
                for n, e in inventory["nodes"].items()} == nodes

    def check_replaced(
        self, what: str, before: Mapping[str, Held | HttpHeld],
        after: Mapping[str, Held | HttpHeld], *, reissue: set[str], rekey: set[str],
        renew_before_days: int,
    ) -> None:
        """Exactly the certificates in `reissue` or due for renewal were re-issued, exactly
        the keys in `rekey` replaced (of those the step before had too); none is left inside
        its renewal window."""
        kept = set(before) & set(after)
        window = timedelta(days=renew_before_days)
        assert all(m.cert.not_valid_after_utc - window > self.clock for m in after.values())
        due = {n for n in kept if before[n].cert.not_valid_after_utc - window <= self.clock}
        reissued = {n for n in kept if before[n].cert.serial_number != after[n].cert.serial_number}
        rekeyed = {n for n in kept if before[n].public_key != after[n].public_key}
        assert reissued == (reissue | due) & kept, (what, reissued, reissue, due)
        assert rekeyed == rekey & kept, (what, rekeyed, rekey)

    def check_http(
        self, run: Recording, config: Config, cluster: str, delivered: Snapshot,
        changes: Expected,
    ) -> None:
        """HTTP certificates: from the cluster's HTTP CA, which is no transport CA and never
        changes; serverAuth only; SANs as configured; no transport key; no needless churn;
        each serves HTTPS to a client trusting the delivered HTTP CA."""
        transport, http = delivered
        if not config.http(cluster):
            assert not http and not [r for r in run if r.name.startswith(f"{cluster}-http")]
            self.http_ca_seen.pop(cluster, None)
            self.http_held[cluster] = {}
            return
        ca = cert_of(run.named(f"{cluster}-http-ca-cert"))
        assert self.http_ca_seen.setdefault(cluster, fingerprint(ca)) == fingerprint(ca)
        transport_cas = {f for seen in self.ca_seen.values() for f in seen.values()}
        assert fingerprint(ca) not in transport_cas  # INV-SEPARATE
        assert sorted(http) == sorted(config.http_roles(cluster))
        transport_keys = {m.public_key for m in transport.values()}
        for role, material in http.items():
            material.cert.verify_directly_issued_by(ca)
            assert [fingerprint(c) for c in material.ca] == [fingerprint(ca)]
            eku = material.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
            sans = material.cert.extensions.get_extension_for_class(
                x509.SubjectAlternativeName).value
            dns, ips = config.http_sans(cluster, role)
            assert set(sans.get_values_for_type(x509.DNSName)) == dns
            assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ips
            assert material.public_key not in transport_keys  # INV-SEPARATE
            proof = ("https", fingerprint(material.cert), b"")
            if proof not in self.proven:
                self.proven.add(proof)
                result = openssl_server_auth_handshake(
                    material.identity, material.identity.certificate_authorities,
                    sorted(dns)[0])
                assert result.ok, (cluster, role, result.error)
        self.check_replaced(f"{cluster} http", self.http_held[cluster], http,
                            reissue=changes.http_reissue, rekey=changes.http_rekey,
                            renew_before_days=config.clusters[cluster].lifetime[1])

    def check_no_restart(self, run: Recording, config: Config, snapshot: Path) -> None:
        """Elasticsearch reloads certificate files but not elasticsearch.yml, secure settings or
        a changed Elasticsearch resource: those change only with the config changes
        docs/rotation.md and docs/http.md list as needing a rolling restart (`vm.format`
        between PEM and stores, adding or removing `http`; under ECK, scaling)."""
        before = self.deployed
        restart: dict[str, bytes] = {}
        for node in config.nodes(VM):
            directory = snapshot / VM / node
            for rel in (vm_bundle.ELASTICSEARCH_YML, vm_bundle.SECURE_SETTINGS):
                if (directory / rel).exists():
                    restart[f"{node}/{rel}"] = (directory / rel).read_bytes()
        if config.eck:
            spec = reveal(run.named(f"{ECK}-eck-elasticsearch").inputs["spec"])
            restart["eck"] = repr(spec).encode()
        if before is not None:
            stores = vm_bundle.writes_stores
            restarts = {
                VM: before.vm_http != config.vm_http or stores(BundleFormat(before.vm_format))
                != stores(BundleFormat(config.vm_format)),
                ECK: eck_resource_changes(before, config),
            }
            for name, content in restart.items():
                cluster = ECK if name == "eck" else VM
                # Store passwords are kept for the life of the node, whatever changes.
                kept = name.endswith(vm_bundle.SECURE_SETTINGS) or not restarts[cluster]
                if kept and name in self.restart:
                    assert self.restart[name] == content, f"{name} changed: a restart"
        self.restart = restart

    def check_custody(self, run: Recording, snapshot: Path) -> None:
        """Private keys only inside secrets; no CA key in anything a node receives (the VM
        bundles and ECK Secrets copied to `snapshot`)."""
        keys = [str(reveal(r.outputs["privateKeyPem"])) for r in run.of_type(PRIVATE_KEY)]
        ca_keys = [str(reveal(r.outputs["privateKeyPem"])).strip()[40:100].encode()
                   for r in run.of_type(PRIVATE_KEY) if "-ca-" in r.name]
        for path in snapshot.rglob("*"):
            if path.is_file():
                content = path.read_bytes()
                assert not any(key in content for key in ca_keys), f"a CA key in {path}"
        for registration in run:
            if registration.type == PRIVATE_KEY:
                assert isinstance(registration.outputs["privateKeyPem"], Secret)
        forms = key_forms(keys)
        for where, value in engine_places(run, self.state):
            for text in plain_strings(value):
                assert not any(form in text for form in forms), f"key material in {where}"

    # -- steps ---------------------------------------------------------------------------------

    @initialize(
        vm_format=st.sampled_from(FORMATS), pods=st.integers(2, 3),
        algorithm=st.sampled_from(ALGORITHMS), step=st.sampled_from(STEPS),
        protect=st.booleans(),
    )
    def first_up(self, vm_format: str, pods: int, algorithm: str, step: str | None,
                 protect: bool) -> None:
        config = copy.deepcopy(self.config)
        config.vm_format, config.pods, config.protect = vm_format, pods, protect
        config.clusters[VM].algorithm = algorithm
        config.clusters[ECK].ca.step = step  # a first deployment may start at any step
        self.up(config)

    one_edit, several_edits = edit_rules(EDITS)

    def edit_with(self, table: Mapping[str, Edit], edits: list[str], data: st.DataObject,
                  preview: bool) -> None:
        """Apply the `edits` (names in `table`) and `up`, or see the result refused."""
        config = copy.deepcopy(self.config)
        for name in edits:
            table[name](config, data.draw)
        refused = self.legal(config)
        if refused:
            self.refused(config.render(self.out), config.protect, *refused)
        else:
            self.up(config, preview=preview)

    @precondition(lambda self: self.clock < LIMIT)
    @rule(hours=st.integers(1, 96), preview=st.booleans())
    def time_passes(self, hours: int, preview: bool) -> None:
        self.clock = min(LIMIT, self.clock + timedelta(hours=hours))
        self.up(copy.deepcopy(self.config), preview=preview)

    @rule()
    def rerun(self) -> None:
        """The same config again: nothing changes but the deletion of withdrawn CAs."""
        assert self.last is not None
        last = self.last
        files, times = bundle_files(self.out), mtimes(self.out)
        run = self.up(copy.deepcopy(self.config))
        changes = run.changes
        assert changes.created == changes.updated == changes.replaced == [], changes
        for urn in changes.deleted:  # only withdrawn CA generations, if any
            name = urn.rsplit("::", 1)[1]
            cluster = name.split("-", 1)[0]
            generation = ca_generation(name, cluster)
            assert generation is not None, urn
            assert generation not in self.config.clusters[cluster].ca.trust()[0], urn
        assert bundle_files(self.out) == files and mtimes(self.out) == times
        previous = {r.urn: reveal(r.inputs) for r in last}
        assert all(reveal(r.inputs) == previous[r.urn] for r in run if r.urn in previous)

    @rule(kind=st.sampled_from(("weak-key", "unknown-node-epoch", "shared-dns", "lifetime",
                                "verification-none", "unknown-step")),
          cluster=st.sampled_from((VM, ECK)))
    def invalid_config(self, kind: str, cluster: str) -> None:
        config = copy.deepcopy(self.config)
        rendered = config.render(self.out)
        if kind in ("shared-dns", "verification-none") or cluster not in config.live():
            cluster = VM
        index = config.live().index(cluster)
        entry = rendered[index]
        key = f"clusters[{index}]"
        if kind == "weak-key":
            entry["keyAlgorithm"], key = "ecdsa-p224", f"{key}.keyAlgorithm"
        elif kind == "unknown-node-epoch":
            entry["nodeRotationEpochs"] = {**entry.get("nodeRotationEpochs", {}), "ghost": 1}
            key = f"{key}.nodeRotationEpochs.ghost"
        elif kind == "shared-dns":
            first, second = entry["nodes"][:2]
            second["dns"] = [*second["dns"], first["dns"][0]]
            key = f"{key}.nodes"
        elif kind == "lifetime":
            entry["nodeCertificates"] = {"validityDays": 10, "renewBeforeDays": 10}
            key = f"{key}.nodeCertificates.renewBeforeDays"
        elif kind == "verification-none":
            entry["transport"] = {"verificationMode": "none"}
            key = f"{key}.transport.verificationMode"
        else:
            entry["ca"]["rotation"] = {"step": "rollback"}
            key = f"{key}.ca.rotation.step"
        self.refused(rendered, config.protect, key)


Lifecycle.TestCase.settings = settings(
    max_examples=4, stateful_step_count=8, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestLifecycle = Lifecycle.TestCase
