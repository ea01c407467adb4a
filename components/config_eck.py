"""The `eck` section of a `delivery: eck` cluster, the pods (nodes) it implies, and the
stack-level `kubernetes` section."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from components import eck_passthrough
from components.config_reader import (
    Problems,
    boolean,
    check_keys,
    choice,
    dns_label,
    dns_name,
    dns_names,
    integer,
    ip_address,
    join,
    listing,
    mapping,
    names,
    report_duplicates,
    string,
)
from components.model import KeyAlgorithm, NodeSpec
from components.model_eck import EckCertificates, EckSpec, KubernetesSpec, NodeSetSpec
from components.quoting import quoted

ECK_KEYS = frozenset(
    {"name", "namespace", "nodeSets", "clusterDomain", "extraDns", "extraIps", "certificates",
     "manageElasticsearch", "version", "spec"}
)
# Keys that shape the Elasticsearch resource, so meaningless when another tool manages it.
MANAGED_ONLY_KEYS = frozenset({"version", "spec"})
NODESET_KEYS = frozenset({"name", "count"}) | eck_passthrough.NODESET_PASSTHROUGH
MAX_NODESET_COUNT = 1000
DEFAULT_CLUSTER_DOMAIN = "cluster.local"
KUBERNETES_KEYS = frozenset({"kubeconfig", "context", "namespace", "renderYamlToDirectory"})
# A pod name is the first label of its DNS SANs and a StatefulSet pod hostname.
MAX_POD_NAME = 63
# ECK's admission webhook refuses longer Elasticsearch names (cloud-on-k8s
# MaxElasticsearchNameLength: 63 for labels minus 27 for its resources' suffixes).
MAX_ELASTICSEARCH_NAME = 36
# The CRD's `nodeSets[].name` maxLength (../shared/schemas/eck/): the API server refuses more.
MAX_NODESET_NAME = 23
_VERSION = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?\Z")
# Kubernetes refuses a Secret whose data exceeds 1 MiB.
MAX_SECRET_BYTES = 1024 * 1024
# PEM bytes per pod, measured with cryptography (subject CN/OU at their maximum length, one SAN,
# signed by a CA of the same algorithm) plus a margin: (key, certificate without SANs).
_POD_PEM_BYTES = {
    KeyAlgorithm.ECDSA_P256: (240, 1000),
    KeyAlgorithm.ECDSA_P384: (300, 1100),
    KeyAlgorithm.RSA_2048: (1700, 1550),
    KeyAlgorithm.RSA_3072: (2500, 1900),
    KeyAlgorithm.RSA_4096: (3300, 2250),
}


def eck_spec(
    raw: object, key: str, problems: Problems, *, default_namespace: str | None = None
) -> EckSpec | None:
    obj = mapping(raw, key, problems)
    if obj is None:
        return None
    if not obj:
        problems.add(key, "delivery: eck needs eck {name, namespace, nodeSets}")
        return None
    check_keys(obj, key, ECK_KEYS, problems)
    name = string(obj, "name", key, problems, required=True)
    namespace = string(obj, "namespace", key, problems) or default_namespace
    if namespace is None:
        problems.add(
            join(key, "namespace"),
            "is required: the Elasticsearch resource's namespace (or set kubernetes.namespace "
            "for every cluster)",
        )
    valid_name = (
        name is not None
        and dns_label(name, join(key, "name"), problems, "Elasticsearch name")
        and _within(name, MAX_ELASTICSEARCH_NAME, join(key, "name"), problems,
                    "ECK's webhook allows for an Elasticsearch name")
    )
    valid_namespace = namespace is not None and dns_label(
        namespace, join(key, "namespace"), problems, "namespace"
    )
    domain = dns_name(
        obj.get("clusterDomain", DEFAULT_CLUSTER_DOMAIN), join(key, "clusterDomain"), problems
    )
    node_sets = _node_sets(obj, key, problems)
    extra_dns = dns_names(obj, "extraDns", key, problems, ips="extraIps")
    extra_ips = names(obj, "extraIps", key, problems, ip_address)
    certificates = choice(
        obj, "certificates", key, problems, enum=EckCertificates,
        default=EckCertificates.PER_NODE,
    ) or EckCertificates.PER_NODE
    managed = boolean(obj, "manageElasticsearch", key, problems, default=True)
    version, spec = _resource_fields(obj, key, managed, node_sets, problems)
    if name is not None and valid_name:
        _check_pod_name_length(name, node_sets, join(key, "nodeSets"), problems)
    if not (valid_name and valid_namespace) or name is None or namespace is None or not domain:
        return None
    return EckSpec(
        name, namespace, node_sets, domain, extra_dns, extra_ips, certificates, managed,
        version, spec,
    )


def _resource_fields(
    obj: Mapping[str, Any], key: str, managed: bool, node_sets: tuple[NodeSetSpec, ...],
    problems: Problems,
) -> tuple[str | None, Mapping[str, Any]]:
    """`version` and `spec` of the Elasticsearch resource this program creates."""
    if not managed:
        unused = sorted(MANAGED_ONLY_KEYS & set(obj)) + sorted(
            f"nodeSets[{index}].{field}"
            for index, node_set in enumerate(node_sets)
            for field in node_set.passthrough
        )
        for field in unused:
            problems.add(
                join(key, field),
                "is only used with eck.manageElasticsearch: true; with false, add it to the "
                "Elasticsearch resource you manage and merge the exported snippets into it",
            )
        return None, {}
    version = string(obj, "version", key, problems)
    if version is None and obj.get("version") is None:
        problems.add(
            join(key, "version"),
            "is required with eck.manageElasticsearch: true (the default): the Elasticsearch "
            "version to run, e.g. 8.19.2; or set manageElasticsearch: false",
        )
    elif version is not None and not _VERSION.match(version):
        problems.add(join(key, "version"), f"{quoted(version)} is not a version like 8.19.2")
        version = None
    spec = mapping(obj.get("spec"), join(key, "spec"), problems) or {}
    eck_passthrough.check_spec(spec, join(key, "spec"), problems)
    return version, copy.deepcopy(dict(spec))


def _node_sets(obj: Mapping[str, Any], key: str, problems: Problems) -> tuple[NodeSetSpec, ...]:
    sets_key = join(key, "nodeSets")
    raw_sets = listing(obj, "nodeSets", key, problems)
    if not raw_sets:
        problems.add(sets_key, "needs at least one nodeSet {name, count}")
    node_sets: list[NodeSetSpec] = []
    for index, raw in enumerate(raw_sets):
        set_key = join(sets_key, index)
        node_set = mapping(raw, set_key, problems)
        if node_set is None:
            continue
        check_keys(node_set, set_key, NODESET_KEYS, problems)
        name = string(node_set, "name", set_key, problems, required=True)
        count = integer(
            node_set, "count", set_key, problems, default=0, low=0, high=MAX_NODESET_COUNT
        )
        if "count" not in node_set:
            problems.add(join(set_key, "count"), "is required: how many pods the nodeSet runs")
        eck_passthrough.check_node_set(node_set, set_key, problems)
        passthrough = {
            field: copy.deepcopy(value) for field, value in sorted(node_set.items())
            if field in eck_passthrough.NODESET_PASSTHROUGH
        }
        if (
            name is not None
            and dns_label(name, join(set_key, "name"), problems, "nodeSet name")
            and _within(name, MAX_NODESET_NAME, join(set_key, "name"), problems,
                        "the Elasticsearch CRD allows for a nodeSet name")
        ):
            node_sets.append(NodeSetSpec(name, count, passthrough))
    report_duplicates([s.name for s in node_sets], sets_key, "nodeSet name", problems)
    return tuple(node_sets)


def _within(name: str, limit: int, key: str, problems: Problems, allows: str) -> bool:
    # Checked here rather than left to Kubernetes: the API server would refuse the
    # Elasticsearch resource only after the Secret and ConfigMap exist, naming no stack key.
    if len(name) <= limit:
        return True
    problems.add(
        key,
        f"{quoted(name)} is {len(name)} characters, over the {limit} {allows}: shorten it to "
        f"≤ {limit} characters",
    )
    return False


def _check_pod_name_length(
    es_name: str, node_sets: tuple[NodeSetSpec, ...], key: str, problems: Problems
) -> None:
    for index, node_set in enumerate(node_sets):
        longest = f"{es_name}-es-{node_set.name}-{max(node_set.count - 1, 0)}"
        if len(longest) > MAX_POD_NAME:
            problems.add(
                join(join(key, index), "name"),
                f"pod name {quoted(longest)} is {len(longest)} characters, over {MAX_POD_NAME} "
                "(a DNS label); shorten eck.name or the nodeSet name",
            )


def check_node_certs_secret_size(
    eck: EckSpec, key_algorithm: KeyAlgorithm, key: str, problems: Problems
) -> None:
    """Per-node mode keeps every pod's key and certificate in one Secret (limit 1 MiB)."""
    key_bytes, cert_bytes = _POD_PEM_BYTES[key_algorithm]
    nodes = eck_pod_nodes(eck)
    # A SAN costs its length plus DER framing, times 4/3 for base64 and line breaks in PEM.
    total = sum(
        key_bytes + cert_bytes + sum((len(n) + 4) * 14 // 10 for n in node.dns_names)
        + sum(24 for _ in node.ip_addresses)
        for node in nodes
    )
    if total > MAX_SECRET_BYTES:
        # P-256 keys and certificates are the smallest: advise them only to a cluster without.
        smaller = (
            "" if key_algorithm is KeyAlgorithm.ECDSA_P256 else "use keyAlgorithm ecdsa-p256, "
        )
        problems.add(
            join(key, "nodeSets"),
            f"{len(nodes)} pods need about {total // 1024} KiB of keys and certificates in one "
            f"Secret, over Kubernetes' {MAX_SECRET_BYTES // 1024} KiB limit; run fewer pods, "
            f"{smaller}or eck.certificates: ca-to-eck",
        )


def eck_pod_nodes(eck: EckSpec) -> tuple[NodeSpec, ...]:
    """One node per pod, with the DNS names a pod has under ECK's per-nodeSet headless service.

    None in `ca-to-eck` mode: ECK issues the pods' certificates from the CA then.
    """
    if eck.certificates is EckCertificates.CA_TO_ECK:
        return ()
    nodes: list[NodeSpec] = []
    transport_service = f"{eck.name}-es-transport.{eck.namespace}.svc"
    for node_set in eck.node_sets:
        service = f"{eck.statefulset(node_set)}.{eck.namespace}.svc"
        for pod in eck.pod_names(node_set):
            dns = (
                f"{pod}.{service}",
                f"{pod}.{service}.{eck.cluster_domain}",
                transport_service,
                f"{transport_service}.{eck.cluster_domain}",
                *eck.extra_dns_names,
            )
            nodes.append(NodeSpec(pod, dns, eck.extra_ip_addresses))
    return tuple(nodes)


def kubernetes_spec(raw: object, key: str, problems: Problems) -> KubernetesSpec:
    """Stack key `kubernetes`: where the ECK clusters' objects are applied."""
    obj = mapping(raw, key, problems) or {}
    check_keys(obj, key, KUBERNETES_KEYS, problems)
    namespace = string(obj, "namespace", key, problems)
    if namespace is not None and not dns_label(
        namespace, join(key, "namespace"), problems, "namespace"
    ):
        namespace = None
    return KubernetesSpec(
        kubeconfig=string(obj, "kubeconfig", key, problems),
        context=string(obj, "context", key, problems),
        namespace=namespace,
        render_yaml_to_directory=string(obj, "renderYamlToDirectory", key, problems),
    )
