"""The typed model of a `delivery: eck` cluster and of the stack's Kubernetes connection."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NodeSetSpec:
    name: str
    count: int


@dataclass(frozen=True)
class EckSpec:
    name: str
    namespace: str
    node_sets: tuple[NodeSetSpec, ...]
    cluster_domain: str
    extra_dns_names: tuple[str, ...]
    extra_ip_addresses: tuple[str, ...]

    def pod_names(self, node_set: NodeSetSpec) -> tuple[str, ...]:
        """ECK names pods `<es>-es-<nodeSet>-<ordinal>` (StatefulSet `<es>-es-<nodeSet>`)."""
        return tuple(f"{self.statefulset(node_set)}-{i}" for i in range(node_set.count))

    def statefulset(self, node_set: NodeSetSpec) -> str:
        return f"{self.name}-es-{node_set.name}"


@dataclass(frozen=True)
class KubernetesSpec:
    """How the stack reaches Kubernetes (stack key `kubernetes`); defaults = ambient kubeconfig."""

    kubeconfig: str | None = None
    context: str | None = None
