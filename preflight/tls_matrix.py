"""`--handshakes`: mutual TLS between the nodes of each cluster, from rendered material.

Material is read back from the `--out` directory the way Elasticsearch would read it: a VM
node's elasticsearch.yml names its PEM files or PKCS#12 stores (passwords from
secure-settings.json); an ECK pod's key and certificate come from the node-certs Secret and
its trust list from the `ca.crt` ConfigMap. So a bundle swapped for another cluster's fails.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from components import transport_settings as ts
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

ALL_PAIRS_UP_TO = 8  # nodes; larger clusters get a ring in both directions (2n pairs)
SECURE_SETTINGS = "secure-settings.json"


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


def _vm_node(cluster: str, folder: Path) -> Node | None:
    settings = yaml.safe_load((folder / "elasticsearch.yml").read_text()) or {}
    if ts.KEY in settings:
        cert_path = folder / settings[ts.CERTIFICATE]
        identity: Identity = PemIdentity(
            certificate=cert_path, key=folder / settings[ts.KEY],
            certificate_authorities=folder / settings[ts.CERTIFICATE_AUTHORITIES][0],
        )
        cert = x509.load_pem_x509_certificates(cert_path.read_bytes())[0]
    elif ts.KEYSTORE_PATH in settings:
        passwords = json.loads((folder / SECURE_SETTINGS).read_text())
        keystore = folder / settings[ts.KEYSTORE_PATH]
        identity = Pkcs12Identity(
            keystore=keystore, keystore_password=passwords[ts.KEYSTORE_PASSWORD],
            truststore=folder / settings[ts.TRUSTSTORE_PATH],
            truststore_password=passwords[ts.TRUSTSTORE_PASSWORD],
        )
        loaded = pkcs12.load_pkcs12(keystore.read_bytes(),
                                    passwords[ts.KEYSTORE_PASSWORD].encode())
        if loaded.cert is None:
            return None
        cert = loaded.cert.certificate
    else:
        return None
    return Node(cluster, folder.name, identity, _first_name(cert))


def _manifests(k8s: Path) -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted(k8s.glob("*.yaml"))]


def _eck_nodes(cluster: str, k8s: Path, workdir: Path) -> list[Node]:
    manifests = _manifests(k8s)
    trust = next((m["data"]["ca.crt"] for m in manifests
                  if m.get("kind") == "ConfigMap" and "ca.crt" in (m.get("data") or {})), None)
    secrets = [m for m in manifests if m.get("kind") == "Secret"]
    files = {k: base64.b64decode(v) for m in secrets for k, v in (m.get("data") or {}).items()}
    if trust is None:
        return []
    # Files as the pods see them in their mounts, outside the rendered directory.
    mount = workdir / cluster
    mount.mkdir(parents=True, exist_ok=True)
    ca_path = mount / "ca.crt"
    ca_path.write_text(trust)
    nodes = []
    for key_name in sorted(k for k in files if k.endswith(".tls.key")):
        pod = key_name.removesuffix(".tls.key")
        key_path, cert_path = mount / key_name, mount / f"{pod}.tls.crt"
        key_path.write_bytes(files[key_name])
        key_path.chmod(0o600)
        cert_path.write_bytes(files[f"{pod}.tls.crt"])
        cert = x509.load_pem_x509_certificates(files[f"{pod}.tls.crt"])[0]
        nodes.append(Node(cluster, pod, PemIdentity(cert_path, key_path, ca_path),
                          _first_name(cert)))
    return nodes


def rendered_nodes(out: Path, workdir: Path) -> dict[str, list[Node]]:
    """Every node with its material, per cluster folder of a rendered directory; ECK pods'
    files are unpacked into `workdir`."""
    clusters: dict[str, list[Node]] = {}
    for folder in sorted(p for p in out.iterdir() if p.is_dir()):
        nodes = [n for f in sorted(folder.iterdir()) if (f / "elasticsearch.yml").is_file()
                 if (n := _vm_node(folder.name, f)) is not None]
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
