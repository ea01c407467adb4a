"""Who uses what: transport/HTTP consumers, clusters, and who signed whom (stack policies).

A *consumer* is a resource that delivers TLS material to Elasticsearch:
* Secrets/ConfigMaps an ECK `Elasticsearch` references for transport
  (`spec.transport.tls.certificate.secretName`, `certificateAuthorities.configMapName`, pod
  volumes mounted where `xpack.security.transport.ssl.*` paths point) or for HTTP
  (`spec.http.tls.certificate.secretName`, volumes under `xpack.security.http.ssl.*` paths);
* the project's VM bundles (dynamic resources with `files`): transport consumers, and HTTP
  consumers too when they carry `httpFiles` (each role judged through its own properties);
* any Secret/ConfigMap whose elasticsearch.yml has transport TLS settings.
Its *cluster* is the ECK resource's namespace/name, a bundle's `cluster` input, else the
consumer's parent component (else the consumer itself).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from . import tokens
from .documents import flatten, settings_documents
from .graph import Node, StackGraph
from .values import as_list, as_map, path

TRANSPORT = "xpack.security.transport.ssl."
HTTP = "xpack.security.http.ssl."
ECK_CONFIG_DIR = "/usr/share/elasticsearch/config"


@dataclass(frozen=True)
class Consumer:
    urn: str
    cluster: str
    role: str  # "transport" or "http"
    ca_to_eck: bool = False
    # The consumer's properties that carry this role's material (None: all of them).
    via: tuple[str, ...] | None = None


def _k8s_key(node: Node) -> tuple[str, str] | None:
    name = path(node.props, "metadata", "name")
    namespace = path(node.props, "metadata", "namespace") or "default"
    if isinstance(name, str) and isinstance(namespace, str):
        return namespace, name
    return None


def _setting_paths(config: dict[str, Any], prefix: str) -> list[str]:
    values: list[str] = []
    for key, value in config.items():
        if key.startswith(prefix):
            values += [v for v in ([value] if isinstance(value, str) else as_list(value))
                       if isinstance(v, str)]
    return [v if v.startswith("/") else posixpath.join(ECK_CONFIG_DIR, v) for v in values]


def _mounted_objects(node_set: Any, prefix: str) -> list[tuple[str, str]]:
    """(kind, name) of pod volumes mounted where the nodeSet's `prefix` settings point."""
    paths = _setting_paths(flatten(as_map(path(node_set, "config"))), prefix)
    pod = as_map(path(node_set, "podTemplate", "spec"))
    mounts = [m for c in as_list(pod.get("containers")) for m in as_list(path(c, "volumeMounts"))]
    used = {
        path(m, "name")
        for m in mounts
        if isinstance(path(m, "mountPath"), str)
        and any(p.startswith(str(path(m, "mountPath")).rstrip("/") + "/") for p in paths)
    }
    found: list[tuple[str, str]] = []
    for volume in as_list(pod.get("volumes")):
        if path(volume, "name") not in used:
            continue
        secret, config_map = path(volume, "secret", "secretName"), path(volume, "configMap", "name")
        if isinstance(secret, str):
            found.append((tokens.SECRET, secret))
        if isinstance(config_map, str):
            found.append((tokens.CONFIG_MAP, config_map))
    return found


def _eck_refs(es: Node) -> list[tuple[str, str, str, bool]]:
    """(kind, name, role, ca_to_eck) of the objects an Elasticsearch resource references."""
    spec = es.props.get("spec")
    refs: list[tuple[str, str, str, bool]] = []
    ca_secret = path(spec, "transport", "tls", "certificate", "secretName")
    if isinstance(ca_secret, str):
        refs.append((tokens.SECRET, ca_secret, "transport", True))
    trust = path(spec, "transport", "tls", "certificateAuthorities", "configMapName")
    if isinstance(trust, str):
        refs.append((tokens.CONFIG_MAP, trust, "transport", False))
    http_secret = path(spec, "http", "tls", "certificate", "secretName")
    if isinstance(http_secret, str):
        refs.append((tokens.SECRET, http_secret, "http", False))
    for node_set in as_list(path(spec, "nodeSets")):
        refs += [(k, n, "transport", False) for k, n in _mounted_objects(node_set, TRANSPORT)]
        refs += [(k, n, "http", False) for k, n in _mounted_objects(node_set, HTTP)]
    return refs


def _has_transport_yml(node: Node) -> bool:
    return any(
        isinstance(doc.settings, dict) and any(k.startswith(TRANSPORT) for k in doc.settings)
        for doc in settings_documents(node.type, node.props)
    )


def _cluster_of(node: Node, bundle: bool) -> str:
    """A bundle names its cluster; anything else belongs to its parent component."""
    cluster = node.props.get("cluster") if bundle else None
    return cluster if isinstance(cluster, str) else node.parent or node.urn


def consumers(graph: StackGraph) -> list[Consumer]:
    objects = {
        (n.type, *key): n.urn
        for n in graph.of_type(tokens.SECRET, tokens.CONFIG_MAP)
        if (key := _k8s_key(n)) is not None
    }
    found: dict[tuple[str, str], Consumer] = {}
    for es in (n for n in graph.nodes.values() if tokens.is_elasticsearch(n.type)):
        key = _k8s_key(es)
        if key is None:
            continue
        for kind, name, role, ca_to_eck in _eck_refs(es):
            urn = objects.get((kind, key[0], name))
            if urn is not None:
                found[(urn, role)] = Consumer(urn, "/".join(key), role, ca_to_eck)
    for node in graph.nodes.values():
        bundle = tokens.is_bundle(node.type, node.props)
        # An Elasticsearch resource's material is what the objects it names carry (above):
        # its `spec` also depends on every object it names by Output, HTTP ones included.
        if (
            tokens.is_elasticsearch(node.type)
            or (node.urn, "transport") in found
            or not (bundle or _has_transport_yml(node))
        ):
            continue
        cluster = _cluster_of(node, bundle)
        if bundle and as_map(node.props.get(tokens.BUNDLE_HTTP_FILES)):
            transport_props = tuple(
                p for p in node.property_dependencies if p != tokens.BUNDLE_HTTP_FILES
            )
            found[(node.urn, "transport")] = Consumer(
                node.urn, cluster, "transport", via=transport_props
            )
            found[(node.urn, "http")] = Consumer(
                node.urn, cluster, "http", via=(tokens.BUNDLE_HTTP_FILES,)
            )
            continue
        found[(node.urn, "transport")] = Consumer(node.urn, cluster, "transport")
    return list(found.values())
