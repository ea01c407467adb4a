"""Who uses what: transport/HTTP consumers, clusters, and who signed whom (stack policies).

A *consumer* is a resource that delivers TLS material to Elasticsearch, for one layer:
* an ECK `Elasticsearch`, through the Secrets/ConfigMaps it references for transport
  (`certificateAuthorities.configMapName`, pod volumes (`secret`, `configMap`, `projected`)
  mounted where transport SSL paths point, on a directory or as the file itself (`subPath`):
  `xpack.security.transport.ssl.*` and each named profile's
  `transport.profiles.<name>.xpack.security.ssl.*`, documents.transport_ssl_setting) or for HTTP
  (`spec.http.tls.certificate.secretName`, volumes under `xpack.security.http.ssl.*` paths),
  all of a layer's objects together (a certificate and its key may come from two of them);
  the ca-to-eck Secret (`spec.transport.tls.certificate.secretName`) is a consumer of its own;
* the project's VM bundles (dynamic resources with `files`): transport consumers, and HTTP
  consumers too when they carry `httpFiles` (each role judged through its own properties) or
  put files named by `xpack.security.http.ssl.*` settings into `files` (see `_bundle_layers`);
* any Secret/ConfigMap whose elasticsearch.yml has transport TLS settings.
Its *cluster* is the ECK resource's namespace/name (ECK sets `cluster.name` to the resource's
name), else see `_identity_of` and `_settle`.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from . import tokens
from .chain import Chains
from .documents import (
    Entry,
    EnvSource,
    SettingsDoc,
    entries,
    env_variables,
    is_transport_ssl,
    node_set_documents,
    referenced_entries,
    setting_paths,
    settings_documents,
    stack_env_documents,
)
from .graph import Node, StackGraph
from .pem import pem_material
from .values import UNKNOWN, Unknown, as_list, as_map, is_unknown, path

HTTP = "xpack.security.http.ssl."
ECK_CONFIG_DIR = "/usr/share/elasticsearch/config"
CLUSTER_NAME = "cluster.name"
DEFAULT_CLUSTER_NAME = "elasticsearch"  # Elasticsearch's, when elasticsearch.yml sets none


TRANSPORT_ROLE, HTTP_ROLE = "transport", "http"
# A bundle's material that serves HTTP or transport, not known which (content unknown at
# preview): no layer's checks judge it, es-transport-separate reasons over both outcomes.
EITHER_ROLE = "either"
CA_TO_ECK, TRUST, MOUNTED = "ca-to-eck", "trust", "mounted"  # how ECK uses an object
ECK_TRUST_KEY = "ca.crt"
PEM_OUTPUTS = {
    tokens.PRIVATE_KEY: ("privateKeyPem", "privateKeyPemPkcs8"),
    **{cert: ("certPem",) for cert in tokens.CERTS},
}


@dataclass(frozen=True)
class Consumer:
    urn: str
    cluster: str | None  # None: not known (no cross-cluster verdict)
    role: str  # TRANSPORT_ROLE, HTTP_ROLE or EITHER_ROLE
    # The resources whose material (with all they depend on) reaches Elasticsearch this way.
    sources: frozenset[str]
    ca_to_eck: bool = False
    # ECK trust objects among `sources` (`certificateAuthorities` ConfigMaps, the ca-to-eck
    # Secret): their `ca.crt` holds CA PEMs every node trusts.
    trust: frozenset[str] = frozenset()


def _k8s_key(node: Node) -> tuple[str, str] | None:
    name = path(node.props, "metadata", "name")
    namespace = path(node.props, "metadata", "namespace") or "default"
    if isinstance(name, str) and isinstance(namespace, str):
        return namespace, name
    return None


def _setting_paths(config: dict[str, Any], layer: Callable[[str], bool]) -> list[str]:
    values: list[str] = []
    for key, value in config.items():
        if layer(key):
            values += setting_paths(key, value)
    return [v if v.startswith("/") else posixpath.join(ECK_CONFIG_DIR, v) for v in values]


def _is_http_ssl(key: str) -> bool:
    return key.startswith(HTTP)


def _node_set_paths(
    index: int, node_set: Any, layer: Callable[[str], bool], source: EnvSource
) -> list[str]:
    """The absolute paths the nodeSet's settings of `layer` name (its `config`, or its
    Elasticsearch container's env, command line, `envFrom` or `valueFrom`:
    documents.node_set_documents, documents.stack_env_documents)."""
    docs = node_set_documents(index, node_set) + stack_env_documents(index, node_set, source)
    return [p for doc in docs if isinstance(doc.settings, dict)
            for p in _setting_paths(doc.settings, layer)]


def _volume_sources(volume: Any) -> list[tuple[str, Any, Any]]:
    """(kind, name, items) of the objects a pod volume shows: a volume of its own (`secret`,
    `configMap`), or one that projects several (`projected.sources[]`, whose Secret is named
    by `name`, not `secretName`); `items` maps keys to paths (none: every key is a file)."""
    found: list[tuple[str, Any, Any]] = []
    for secret, secret_name, config_map in [
            (path(volume, "secret"), "secretName", path(volume, "configMap"))] + [
            (path(source, "secret"), "name", path(source, "configMap"))
            for source in as_list(path(volume, "projected", "sources"))]:
        if isinstance(path(secret, secret_name), str):
            found.append((tokens.SECRET, path(secret, secret_name), path(secret, "items")))
        if isinstance(path(config_map, "name"), str):
            found.append((tokens.CONFIG_MAP, path(config_map, "name"),
                          path(config_map, "items")))
    return found


def _path_pattern(relative: str) -> re.Pattern[str]:
    """The names `relative` can be: a `${VAR}` in it (Elasticsearch substitutes it at startup:
    ECK's `${POD_NAME}` gives every pod its own file) stands for any text."""
    return re.compile(".+".join(map(re.escape, re.split(r"\$\{[^}]*\}", relative))))


def _keys_at(relative: str, items: Any) -> Callable[[str], bool]:
    """Which object keys kubelet writes at `relative` (a path inside the volume): the items'
    whose `path` it is, else, without `items`, the key of that name (`_path_pattern`)."""
    pattern = _path_pattern(relative)
    if items is None:
        return lambda key: pattern.fullmatch(key) is not None
    return {key for item in as_list(items)
            if isinstance(at := path(item, "path"), str) and pattern.fullmatch(at)
            and isinstance(key := path(item, "key"), str)}.__contains__


def mounted_files(
    index: int, node_set: Any, layer: Callable[[str], bool], source: EnvSource
) -> list[tuple[str, str, Callable[[str], bool]]]:
    """(kind, name, which keys) of the objects whose keys the nodeSet's Elasticsearch container
    reads at a path its settings of `layer` name: a volume mounted on a directory (the path
    below it, through `items`), or one file of it (`subPath`, the path the mount itself)."""
    paths = _node_set_paths(index, node_set, layer, source)
    pod = as_map(path(node_set, "podTemplate", "spec"))
    volumes = {name: volume for volume in as_list(pod.get("volumes"))
               if isinstance(name := path(volume, "name"), str)}
    found: list[tuple[str, str, Callable[[str], bool]]] = []
    for container in as_list(pod.get("containers")):
        for mount in as_list(path(container, "volumeMounts")):
            name, mount_path = path(mount, "name"), path(mount, "mountPath")
            volume = volumes.get(name) if isinstance(name, str) else None
            if not isinstance(mount_path, str) or volume is None:
                continue
            sub_path = path(mount, "subPath")
            base = mount_path.rstrip("/")
            for file in paths:
                if isinstance(sub_path, str) and sub_path:
                    relative = sub_path if file == base else None
                else:
                    relative = file[len(base) + 1:] if file.startswith(base + "/") else None
                if relative is None:
                    continue
                found += [(kind, name, _keys_at(relative, items))
                          for kind, name, items in _volume_sources(volume)]
    return found


def eck_object(graph: StackGraph, es: Node, kind: str, name: Any) -> Node | None:
    """The stack's Secret or ConfigMap (`kind`) named `name` in an ECK Elasticsearch's
    namespace, if it holds one."""
    key = _k8s_key(es)
    if key is None or not isinstance(name, str):
        return None
    return _k8s_objects(graph).get((kind, key[0], name))


def eck_mounted_entries(
    graph: StackGraph, es: Node, layer: Callable[[str], bool]
) -> list[tuple[str, Entry]]:
    """(holder URN, entry) of each key of the stack's Secrets and ConfigMaps that an ECK
    Elasticsearch's containers read at a path its settings of `layer` name (`mounted_files`)."""
    key = _k8s_key(es)
    if key is None:
        return []
    objects, source = _k8s_objects(graph), env_source(graph, key[0])
    found: list[tuple[str, Entry]] = []
    for index, node_set in enumerate(as_list(path(es.props, "spec", "nodeSets"))):
        for kind, name, reads in mounted_files(index, node_set, layer, source):
            node = objects.get((kind, key[0], name))
            if node is not None:
                found += [(node.urn, entry) for entry in entries(node.type, node.props)
                          if reads(entry.key)]
    return found


def _mounted_objects(
    index: int, node_set: Any, layer: Callable[[str], bool], source: EnvSource
) -> list[tuple[str, str]]:
    """(kind, name) of pod volumes mounted where the nodeSet's settings of `layer` point
    (`_node_set_paths`)."""
    paths = _node_set_paths(index, node_set, layer, source)
    pod = as_map(path(node_set, "podTemplate", "spec"))
    mounts = [m for c in as_list(pod.get("containers")) for m in as_list(path(c, "volumeMounts"))]
    # Names are strings (or unknown at preview); any other value (the API server refuses it)
    # names no volume.
    used = {
        name
        for m in mounts
        if isinstance(name := path(m, "name"), str | Unknown)
        and isinstance(mount := path(m, "mountPath"), str)
        and any(_under(p, mount) for p in paths)
    }
    return [(kind, name) for volume in as_list(pod.get("volumes"))
            if isinstance(volume_name := path(volume, "name"), str | Unknown)
            and volume_name in used
            for kind, name, _ in _volume_sources(volume)]


def _under(file: str, mount_path: str) -> bool:
    """Whether a settings path is inside a volume mounted at `mount_path`: below it, or the
    mount itself (a single file mounted with `subPath`)."""
    mount = mount_path.rstrip("/")
    return file == mount or file.startswith(mount + "/")


@lru_cache(maxsize=1)
def _k8s_objects(graph: StackGraph) -> dict[tuple[str, str, str], Node]:
    """The stack's Secrets and ConfigMaps by (type, namespace, name), once per graph."""
    return {
        (n.type, *key): n
        for n in graph.of_type(tokens.SECRET, tokens.CONFIG_MAP)
        if (key := _k8s_key(n)) is not None
    }


def env_source(graph: StackGraph, namespace: str) -> EnvSource:
    """What `envFrom` and `valueFrom` read from the stack's objects in `namespace` (UNKNOWN for
    an object the stack does not hold: it may hold anything)."""
    objects = _k8s_objects(graph)

    def variables(kind: str, name: str) -> dict[str, Any] | Unknown:
        node = objects.get((kind, namespace, name))
        return UNKNOWN if node is None else env_variables(node.type, node.props)

    return variables


@lru_cache(maxsize=1)
def eck_stack_env_documents(graph: StackGraph) -> tuple[tuple[str, tuple[SettingsDoc, ...]], ...]:
    """(URN, documents) of every ECK Elasticsearch whose Elasticsearch containers take settings
    from the stack's objects, with `envFrom` or `valueFrom`, directly or through a `$(VAR)`
    (documents.stack_env_documents); once per graph."""
    found: list[tuple[str, tuple[SettingsDoc, ...]]] = []
    for es in (n for n in graph.nodes.values() if tokens.is_elasticsearch(n.type)):
        key = _k8s_key(es)
        if key is None:
            continue
        source = env_source(graph, key[0])
        docs = tuple(doc for index, node_set in enumerate(as_list(path(es.props, "spec",
                                                                      "nodeSets")))
                     for doc in stack_env_documents(index, node_set, source))
        if docs:
            found.append((es.urn, docs))
    return tuple(found)


def _eck_refs(es: Node, source: EnvSource) -> list[tuple[str, str, str, str]]:
    """(kind, name, role, how) of the objects an Elasticsearch resource references, `how`
    CA_TO_ECK, TRUST (`ca.crt` holds CAs every node trusts for transport) or MOUNTED."""
    spec = es.props.get("spec")
    refs: list[tuple[str, str, str, str]] = []
    ca_secret = path(spec, "transport", "tls", "certificate", "secretName")
    if isinstance(ca_secret, str):
        refs.append((tokens.SECRET, ca_secret, TRANSPORT_ROLE, CA_TO_ECK))
    trust = path(spec, "transport", "tls", "certificateAuthorities", "configMapName")
    if isinstance(trust, str):
        refs.append((tokens.CONFIG_MAP, trust, TRANSPORT_ROLE, TRUST))
    http_secret = path(spec, "http", "tls", "certificate", "secretName")
    if isinstance(http_secret, str):
        refs.append((tokens.SECRET, http_secret, HTTP_ROLE, MOUNTED))
    for index, node_set in enumerate(as_list(path(spec, "nodeSets"))):
        for role, layer in ((TRANSPORT_ROLE, is_transport_ssl), (HTTP_ROLE, _is_http_ssl)):
            refs += [(k, n, role, MOUNTED)
                     for k, n in _mounted_objects(index, node_set, layer, source)]
    return refs


def _has_transport_yml(node: Node) -> bool:
    """A Secret/ConfigMap whose elasticsearch.yml has transport TLS settings."""
    return node.type in tokens.SECRETS + tokens.CONFIG_MAPS and any(
        isinstance(doc.settings, dict) and any(is_transport_ssl(k) for k in doc.settings)
        for doc in settings_documents(node.type, node.props)
    )


@dataclass(frozen=True)
class _Identity:
    """What a consumer says of its cluster (see `_identity_of`)."""

    name: str | None  # a bundle's `cluster`, else cluster.name (or the default); None: unknown
    scope: str | None  # its top-level component; None: a child of the stack
    # False: no settings to read a name from; its scope's named consumers decide (`_settle`).
    named: bool = True


def _identity_of(graph: StackGraph, node: Node, bundle: bool) -> _Identity:
    """A bundle's `cluster` input, else the `cluster.name` its elasticsearch.yml sets (else
    Elasticsearch's default), and its top-level component (`_settle` uses both). Unknown
    while either is unknown: an unknown never gives a mandatory verdict."""
    scope = _top_component(graph, node)
    cluster = node.props.get("cluster") if bundle else None
    if is_unknown(cluster):
        return _Identity(None, None)
    if isinstance(cluster, str) and cluster.strip():
        return _Identity(cluster, scope)
    docs = settings_documents(node.type, node.props)
    names = [doc.settings.get(CLUSTER_NAME) for doc in docs if isinstance(doc.settings, dict)]
    name = next((text for n in names if (text := _name_text(n)) is not None), None)
    if name is None and len(names) < len(docs):
        return _Identity(None, None)  # a document whose settings are unknown may name it
    if not docs:
        return _Identity(None, scope, named=False)
    return _Identity(name or DEFAULT_CLUSTER_NAME, scope)


def _name_text(value: Any) -> str | None:
    """A `cluster.name` as Elasticsearch reads it, as text. Numbers and dates are read as their
    text already (settings_text); a YAML boolean (`yes`, `on`, `True`, ...: YAML
    1.1's, in PyYAML as in the SnakeYAML under Elasticsearch's Jackson parser) Elasticsearch
    stores as `true` or `false` (Settings.fromXContent puts `parser.booleanValue()`). None: no
    name (null, a list, a map)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else None


def _top_component(graph: StackGraph, node: Node) -> str | None:
    """The outermost ancestor below the stack resource (None: a child of the stack). A chain
    of parents that loops (the engine never sends one) ends before it repeats."""
    top, parent, seen = None, node.parent, {node.urn}
    while parent is not None and parent not in seen and _urn_type(parent) != tokens.STACK:
        seen.add(parent)
        top = parent
        above = graph.nodes.get(parent)
        parent = above.parent if above is not None else None
    return top


def _settle(identities: Mapping[str, _Identity]) -> dict[str, str | None]:
    """Each consumer's cluster: its name, told apart by its top-level component where that
    component holds several consumers of the name (two components that each run a cluster
    called `logging` run two clusters), but not where it holds one: a component per node
    (or a VM resource per node) is a node, and its cluster is its name. A consumer without
    settings joins the one cluster its component's named consumers are in (the component
    itself when none is named); several there, or no component: unknown."""
    named = [i for i in identities.values() if i.named and i.name is not None]
    holding = Counter((i.scope, i.name) for i in named if i.scope is not None)

    def cluster(identity: _Identity) -> str:
        assert identity.name is not None
        if identity.scope is None or holding[(identity.scope, identity.name)] < 2:
            return identity.name
        return f"{identity.name} ({identity.scope})"

    in_scope: dict[str, set[str]] = {}
    for identity in named:
        if identity.scope is not None:
            in_scope.setdefault(identity.scope, set()).add(cluster(identity))
    settled: dict[str, str | None] = {}
    for urn, identity in identities.items():
        if identity.named:
            settled[urn] = None if identity.name is None else cluster(identity)
            continue
        if identity.scope is None:
            settled[urn] = None
            continue
        clusters = sorted(in_scope.get(identity.scope, ()))
        settled[urn] = None if len(clusters) > 1 else clusters[0] if clusters else identity.scope
    return settled


def _urn_type(urn: str) -> str:
    """The type of a URN's resource (`urn:pulumi:<stack>::<project>::<parent$type>::<name>`)."""
    parts = urn.split("::")
    return parts[2].rsplit("$", 1)[-1] if len(parts) > 3 else ""


def _output_material(node: Node) -> frozenset[str] | None:
    """What a certificate or key resource's PEM outputs hold (None: not known)."""
    texts = [node.props.get(name) for name in PEM_OUTPUTS[node.type]]
    known = [t for t in texts if isinstance(t, str)]
    return frozenset().union(*map(pem_material, known)) if known else None


def _bundle_layers(graph: StackGraph, node: Node, deps: set[str]) -> dict[str, set[str]]:
    """A bundle's transport-side dependencies by layer. A bundle may put HTTP files into
    `files`: files named by `xpack.security.http.ssl.*` settings alone are HTTP's, the others
    transport's. A certificate or key goes where its PEM is found (known contents); one found
    in no HTTP-only file is transport's once every HTTP-only file is known; else it stays
    undecided (EITHER_ROLE). A certificate and its key go together; other resources (not TLS
    material) stay transport's."""
    files = {"files": node.props.get("files")}
    http = {e.key for e in referenced_entries(node.type, files, _is_http_ssl)}
    if not http:  # the usual bundle: not a word about HTTP in `files`
        return {TRANSPORT_ROLE: deps}
    http_only = http - {
        e.key for e in referenced_entries(node.type, files, is_transport_ssl)
    }
    if not http_only:
        return {TRANSPORT_ROLE: deps}
    contents = [(e.key in http_only, e.text) for e in entries(node.type, files)]
    http_known = [pem_material(t) for own, t in contents if own and isinstance(t, str)]
    other_known = [pem_material(t) for own, t in contents if not own and isinstance(t, str)]
    http_unknown = any(own and not isinstance(t, str) for own, t in contents)
    layers: dict[str, frozenset[str] | None] = {}
    for dep in deps:
        target = graph.get(dep)
        if target is None or target.type not in PEM_OUTPUTS:
            layers[dep] = frozenset({TRANSPORT_ROLE})
            continue
        material = _output_material(target) or frozenset()
        in_http = any(material & m for m in http_known)
        if any(material & m for m in other_known):
            layers[dep] = frozenset({TRANSPORT_ROLE, *([HTTP_ROLE] if in_http else [])})
        elif in_http:
            layers[dep] = frozenset({HTTP_ROLE})
        else:
            layers[dep] = frozenset({TRANSPORT_ROLE}) if material and not http_unknown else None
    chains = Chains(graph)
    for cert in [d for d in deps if d in graph.nodes and graph.nodes[d].type in tokens.CERTS]:
        key = chains.key_of(cert)
        if key in layers and (layers[cert] is None) != (layers[key] is None):
            layers[cert] = layers[key] = layers[cert] or layers[key]
    sides: dict[str, set[str]] = {TRANSPORT_ROLE: set()}
    for dep, roles in layers.items():
        for role in roles or (EITHER_ROLE,):
            sides.setdefault(role, set()).add(dep)
    return sides


@lru_cache(maxsize=1)
def consumers(graph: StackGraph) -> tuple[Consumer, ...]:
    """Every stack rule asks, once per AnalyzeStack (a graph per request: adapters._graph),
    hence the cache of the last graph's answer (by identity; rules only read it)."""
    objects = {key: node.urn for key, node in _k8s_objects(graph).items()}
    found: dict[tuple[str, str], Consumer] = {}
    identities: dict[str, _Identity] = {}  # by URN: consumers other than ECK's
    eck_transport: set[str] = set()
    for es in (n for n in graph.nodes.values() if tokens.is_elasticsearch(n.type)):
        key = _k8s_key(es)
        if key is None:
            continue
        eck_cluster = "/".join(key)
        # One consumer per role: a node's certificate and key may come from different objects
        # (a ConfigMap and a Secret, both mounted), and pair up only together.
        named: dict[str, set[str]] = {TRANSPORT_ROLE: set(), HTTP_ROLE: set()}
        trust: set[str] = set()
        for kind, name, role, how in _eck_refs(es, env_source(graph, key[0])):
            urn = objects.get((kind, key[0], name))
            if urn is None:
                continue
            if role == TRANSPORT_ROLE:
                eck_transport.add(urn)
            if how == CA_TO_ECK:
                # Its `ca.crt` is the CA ECK issues every node's certificate from, and which
                # every node trusts.
                found[(urn, role)] = Consumer(urn, eck_cluster, role, frozenset({urn}), True,
                                              trust=frozenset({urn}))
                continue
            named[role].add(urn)
            if how == TRUST:
                trust.add(urn)
        for role, sources in named.items():
            if sources:
                found[(es.urn, role)] = Consumer(
                    es.urn, eck_cluster, role, frozenset(sources),
                    trust=frozenset(trust) if role == TRANSPORT_ROLE else frozenset(),
                )
    for node in graph.nodes.values():
        bundle = tokens.is_bundle(node.type, node.props)
        # An Elasticsearch resource's material is what the objects it names carry (above):
        # its `spec` also depends on every object it names by Output, HTTP ones included.
        if (
            tokens.is_elasticsearch(node.type)
            or node.urn in eck_transport
            or not (bundle or _has_transport_yml(node))
        ):
            continue
        identities[node.urn] = _identity_of(graph, node, bundle)
        if not bundle:
            found[(node.urn, TRANSPORT_ROLE)] = Consumer(
                node.urn, None, TRANSPORT_ROLE, frozenset({node.urn})
            )
            continue
        # `httpFiles` carries HTTP material only; everything else the bundle depends on
        # arrives through `files`, named by either layer's settings.
        http_deps = set(node.deps_of(tokens.BUNDLE_HTTP_FILES))
        deps = (set(node.dependencies) - http_deps).union(*(
            urns for prop, urns in node.property_dependencies.items()
            if prop != tokens.BUNDLE_HTTP_FILES
        ))
        layers = _bundle_layers(graph, node, deps)
        layers[HTTP_ROLE] = layers.get(HTTP_ROLE, set()) | http_deps
        for role, sources in layers.items():
            if sources or role == TRANSPORT_ROLE:
                found[(node.urn, role)] = Consumer(node.urn, None, role, frozenset(sources))
    clusters = _settle(identities)
    return tuple(
        dataclasses.replace(consumer, cluster=clusters[consumer.urn])
        if consumer.urn in clusters else consumer
        for consumer in found.values()
    )
