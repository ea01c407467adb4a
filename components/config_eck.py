"""The `eck` section of a `delivery: eck` cluster, and the pods (nodes) it implies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.config_reader import (
    Problems,
    check_keys,
    dns_label,
    dns_name,
    integer,
    ip_address,
    join,
    listing,
    mapping,
    names,
    report_duplicates,
    string,
)
from components.model import NodeSpec
from components.model_eck import EckSpec, KubernetesSpec, NodeSetSpec

ECK_KEYS = frozenset({"name", "namespace", "nodeSets", "clusterDomain", "extraDns", "extraIps"})
NODESET_KEYS = frozenset({"name", "count"})
MAX_NODESET_COUNT = 1000
DEFAULT_CLUSTER_DOMAIN = "cluster.local"
KUBERNETES_KEYS = frozenset({"kubeconfig", "context"})


def eck_spec(raw: object, key: str, problems: Problems) -> EckSpec | None:
    obj = mapping(raw, key, problems)
    if obj is None:
        return None
    if not obj:
        problems.add(key, "delivery: eck needs eck {name, namespace, nodeSets}")
        return None
    check_keys(obj, key, ECK_KEYS, problems)
    name = string(obj, "name", key, problems, required=True)
    namespace = string(obj, "namespace", key, problems, required=True)
    valid_name = name is not None and dns_label(
        name, join(key, "name"), problems, "Elasticsearch name"
    )
    valid_namespace = namespace is not None and dns_label(
        namespace, join(key, "namespace"), problems, "namespace"
    )
    domain = dns_name(
        obj.get("clusterDomain", DEFAULT_CLUSTER_DOMAIN), join(key, "clusterDomain"), problems
    )
    node_sets = _node_sets(obj, key, problems)
    extra_dns = names(obj, "extraDns", key, problems, dns_name)
    extra_ips = names(obj, "extraIps", key, problems, ip_address)
    if not (valid_name and valid_namespace) or name is None or namespace is None or not domain:
        return None
    return EckSpec(name, namespace, node_sets, domain, extra_dns, extra_ips)


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
        if name is not None and dns_label(name, join(set_key, "name"), problems, "nodeSet name"):
            node_sets.append(NodeSetSpec(name, count))
    report_duplicates([s.name for s in node_sets], sets_key, "nodeSet name", problems)
    return tuple(node_sets)


def eck_pod_nodes(eck: EckSpec) -> tuple[NodeSpec, ...]:
    """One node per pod, with the DNS names a pod has under ECK's per-nodeSet headless service."""
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
    return KubernetesSpec(
        kubeconfig=string(obj, "kubeconfig", key, problems),
        context=string(obj, "context", key, problems),
    )
