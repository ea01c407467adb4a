"""`--handshakes`: mutual TLS between the nodes of each cluster, from rendered material.

Material is read back from the `--out` directory the way Elasticsearch would read it
(`preflight.rendered`), so a bundle swapped for another cluster's fails.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from components import transport_settings as ts
from components.eck_layout import CA_CERT_KEY, pod_cert_file, pod_key_file
from harness.handshake import (
    HandshakePair,
    HandshakeResult,
    Identity,
    PemIdentity,
    Pkcs12Identity,
    jdk_available,
    jsse_handshakes,
    openssl_handshakes,
)
from preflight.rendered import VmBundle, eck_material, vm_bundles

ALL_PAIRS_UP_TO = 8  # nodes; larger clusters get a ring in both directions (2n pairs)


@dataclass(frozen=True)
class Node:
    cluster: str
    name: str
    identity: Identity
    server_name: str


@dataclass(frozen=True)
class PairOutcome:
    cluster: str
    server: str
    client: str
    stack: str  # "openssl" or "jsse"
    result: HandshakeResult


def _first_name(cert: x509.Certificate) -> str:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = [*san.get_values_for_type(x509.DNSName), *map(str, san.get_values_for_type(
        x509.IPAddress))]
    return names[0]


def _vm_node(cluster: str, bundle: VmBundle) -> Node:
    folder, settings = bundle.folder, bundle.settings
    identity: Identity
    if ts.KEY in settings:
        identity = PemIdentity(
            certificate=folder / settings[ts.CERTIFICATE], key=folder / settings[ts.KEY],
            certificate_authorities=folder / settings[ts.CERTIFICATE_AUTHORITIES][0],
        )
    else:
        identity = Pkcs12Identity(
            keystore=folder / settings[ts.KEYSTORE_PATH],
            keystore_password=bundle.passwords[ts.KEYSTORE_PASSWORD],
            truststore=folder / settings[ts.TRUSTSTORE_PATH],
            truststore_password=bundle.passwords[ts.TRUSTSTORE_PASSWORD],
        )
    return Node(cluster, folder.name, identity, _first_name(bundle.certificate))


def _eck_nodes(cluster: str, k8s: Path, workdir: Path) -> list[Node]:
    material = eck_material(k8s)
    if material.trust_pem is None:
        return []
    # Files as the pods see them in their mounts, outside the rendered directory.
    mount = workdir / cluster
    mount.mkdir(parents=True, exist_ok=True)
    ca_path = mount / CA_CERT_KEY
    ca_path.write_text(material.trust_pem, encoding="utf-8")
    nodes = []
    for pod in material.pods():
        key_path, cert_path = mount / pod_key_file(pod), mount / pod_cert_file(pod)
        key_path.write_bytes(material.files[key_path.name])
        key_path.chmod(0o600)
        cert_path.write_bytes(material.files[cert_path.name])
        cert = x509.load_pem_x509_certificates(material.files[cert_path.name])[0]
        nodes.append(Node(cluster, pod, PemIdentity(cert_path, key_path, ca_path),
                          _first_name(cert)))
    return nodes


def rendered_nodes(out: Path, workdir: Path) -> dict[str, list[Node]]:
    """Every node with its material, per cluster folder of a rendered directory; ECK pods'
    files are unpacked into `workdir`."""
    clusters: dict[str, list[Node]] = {}
    for folder in sorted(p for p in out.iterdir() if p.is_dir()):
        nodes = [_vm_node(folder.name, bundle) for bundle in vm_bundles(folder)]
        if (folder / "k8s").is_dir():
            nodes += _eck_nodes(folder.name, folder / "k8s", workdir)
        if nodes:
            clusters[folder.name] = nodes
    return clusters


def pairs_of(nodes: Sequence[Node]) -> list[tuple[Node, Node]]:
    """(server, client): every ordered pair, or a two-way ring for large clusters."""
    if len(nodes) <= ALL_PAIRS_UP_TO:
        return list(itertools.permutations(nodes, 2))
    ring = list(zip(nodes, [*nodes[1:], nodes[0]], strict=True))
    return ring + [(client, server) for server, client in ring]


Runner = Callable[[Sequence[HandshakePair]], list[HandshakeResult]]


def openssl_runner_only() -> list[tuple[str, Runner]]:
    return [("openssl", openssl_handshakes)]


def available_runners() -> list[tuple[str, Runner]]:
    """OpenSSL always; JSSE (the TLS stack Elasticsearch runs on) when a JDK is installed."""
    return [*openssl_runner_only(), *([("jsse", jsse_handshakes)] if jdk_available() else [])]


def run_matrix(
    clusters: dict[str, list[Node]], runners: Iterable[tuple[str, Runner]],
    advance: Callable[[int], None] = lambda _: None,
) -> list[PairOutcome]:
    outcomes = []
    for stack, run in runners:
        for cluster, nodes in clusters.items():
            pairs = pairs_of(nodes)
            results = run([HandshakePair(s.identity, c.identity, s.server_name)
                           for s, c in pairs])
            outcomes += [PairOutcome(cluster, s.name, c.name, stack, r)
                         for (s, c), r in zip(pairs, results, strict=True)]
            advance(len(pairs))
    return outcomes


def pair_count(clusters: dict[str, list[Node]]) -> int:
    return sum(len(pairs_of(nodes)) for nodes in clusters.values())
