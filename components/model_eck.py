"""The typed model of a `delivery: eck` cluster and of the stack's Kubernetes connection."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

# Passthrough fragments of the Elasticsearch resource (config, podTemplate, spec...): copied at
# parse time and only read afterwards; the renderer merges our wiring into fresh copies.
Fragment = Mapping[str, Any]


class EckCertificates(Enum):
    """Who issues the pods' transport certificates under ECK."""

    # Pulumi issues one certificate per pod; the CA key never leaves Pulumi state.
    PER_NODE = "per-node"
    # ECK issues them from the cluster CA handed over in a Secret (INV-CUSTODY exception).
    CA_TO_ECK = "ca-to-eck"


@dataclass(frozen=True)
class NodeSetSpec:
    name: str
    count: int
    # Per-nodeSet fields of the Elasticsearch resource passed through (`config`, `podTemplate`,
    # `volumeClaimTemplates`, ...), keyed by their CRD field name.
    passthrough: Fragment = field(default_factory=dict)


@dataclass(frozen=True)
class EckSpec:
    name: str
    namespace: str
    node_sets: tuple[NodeSetSpec, ...]
    cluster_domain: str
    extra_dns_names: tuple[str, ...]
    extra_ip_addresses: tuple[str, ...]
    certificates: EckCertificates = EckCertificates.PER_NODE
    manage_elasticsearch: bool = True
    version: str | None = None  # required when manage_elasticsearch
    spec: Fragment = field(default_factory=dict)  # other `spec` fields passed through

    def pod_names(self, node_set: NodeSetSpec) -> tuple[str, ...]:
        """ECK names pods `<es>-es-<nodeSet>-<ordinal>` (StatefulSet `<es>-es-<nodeSet>`)."""
        return tuple(f"{self.statefulset(node_set)}-{i}" for i in range(node_set.count))

    def statefulset(self, node_set: NodeSetSpec) -> str:
        return f"{self.name}-es-{node_set.name}"

    @property
    def all_pod_names(self) -> tuple[str, ...]:
        return tuple(pod for node_set in self.node_sets for pod in self.pod_names(node_set))


@dataclass(frozen=True)
class KubernetesSpec:
    """How the stack reaches Kubernetes (stack key `kubernetes`); defaults = ambient kubeconfig."""

    kubeconfig: str | None = None
    context: str | None = None
    # Default for `eck.namespace` of every cluster that does not set one.
    namespace: str | None = None
    # GitOps: write manifests to this directory instead of applying them to a cluster.
    render_yaml_to_directory: str | None = None
