"""The Pulumi program: config → one TransportPki per cluster → delivery → stack outputs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pulumi

from components import eck_passthrough, outputs
from components.config import ConfigError, InvalidConfigError, read_stack_config
from components.config_reader import ConfigProblem
from components.http_pki import HttpPki, HttpPkiArgs
from components.model import ClusterSpec, JudgedClusters, StackSpec
from components.model_rotation import DeployedCluster
from components.protection import protected_deletion_problems
from components.rotation import (
    ca_expiry_warnings,
    ca_swap_warnings,
    renewal_counts,
    stack_problems,
    withdrawn_generations,
)
from components.rotation_state import read_deployed
from components.transport_pki import TransportPki, TransportPkiArgs
from components.vm_delivery import VmDelivery, VmDeliveryArgs

if TYPE_CHECKING:
    import pulumi_kubernetes as k8s

    from components.eck_delivery import EckDelivery


def main(clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
    now = clock()
    # Validation runs before the first registration: invalid config creates nothing, and
    # neither does a CA rotation step that may not follow the last deployed one.
    try:
        spec = read_stack_config(now)
    except InvalidConfigError as invalid:
        # The clusters the config problems leave untouched are judged against the last
        # deployment too, so that one run reports both kinds.
        raise ConfigError(
            [*invalid.problems, *_deployment_problems(invalid.judged, read_deployed())]
        ) from None
    deployed = read_deployed()
    refused = _deployment_problems(JudgedClusters.of(spec), deployed)
    if refused:
        raise ConfigError(refused)
    for posture_warning in spec.posture.warnings:
        pulumi.log.warn(posture_warning)
    protect_ca = spec.posture.protect_ca
    provider = _kubernetes_provider(spec)
    inventory: dict[str, pulumi.Output[dict[str, object]]] = {}
    eck_snippets: dict[str, pulumi.Output[dict[str, Any]]] = {}
    vm_cloud_init: dict[str, pulumi.Output[dict[str, str]]] = {}
    http_inventory: dict[str, pulumi.Output[dict[str, object]]] = {}
    for cluster in spec.clusters:
        previous = deployed.get(cluster.name)
        for warning in [*ca_expiry_warnings(cluster, previous, now),
                        *ca_swap_warnings(cluster, previous)]:
            pulumi.log.warn(warning)
        if cluster.eck is not None:
            for warning in [
                *eck_passthrough.remote_cluster_warnings(cluster.name, cluster.eck.spec),
                *eck_passthrough.env_from_warnings(cluster.name, cluster.eck.node_sets),
            ]:
                pulumi.log.warn(warning)
        pki = TransportPki(
            cluster.name, TransportPkiArgs(
                cluster,
                renewal_counts(previous.nodes if previous else {}, cluster.node_lifetime, now),
                protect_ca,
                # Registered unprotected for one `up` while state has them protected, which
                # is also so when protectCa is turned off at `retire`: the engine would
                # refuse to delete them (and fail every `up`) otherwise.
                withdrawn_generations(cluster, previous)
                if protect_ca or (previous is not None and previous.ca_protected) else (),
                alias_legacy_nodes=previous is not None and not previous.nodes_under_pki,
            ),
        )
        inventory[cluster.name] = pki.inventory
        # Not a child of the transport PKI and fed nothing from it (INV-SEPARATE).
        http = (
            HttpPki(f"{cluster.name}-http", HttpPkiArgs(
                cluster, cluster.http, protect_ca, renewal_counts(
                    previous.http_certificates if previous else {}, cluster.node_lifetime, now
                ),
            ))
            if cluster.http is not None else None
        )
        if http is not None:
            http_inventory[cluster.name] = http.inventory
        if cluster.eck is not None and provider is not None:
            delivery = _eck_delivery(cluster, pki, provider, http)
            if not cluster.eck.manage_elasticsearch:
                eck_snippets[cluster.name] = delivery.spec_snippets
        if cluster.vm is not None:
            vm = VmDelivery(
                f"{cluster.name}-vm", VmDeliveryArgs(cluster, pki, http),
                pulumi.ResourceOptions(parent=pki),
            )
            vm_cloud_init[cluster.name] = vm.cloud_init
    # Public material and facts only: private keys stay inside the components, as secrets.
    pulumi.export("clusters", inventory)
    if http_inventory:
        # Per cluster: the HTTP certificates' facts (serial, fingerprint, not-after).
        pulumi.export("http", http_inventory)
    if eck_snippets:
        # manageElasticsearch: false — what to merge into the Elasticsearch resource.
        pulumi.export("eckSpecSnippets", eck_snippets)
    if vm_cloud_init:
        # Per cluster, per node: a `#cloud-config` document for the VM's user data (holds keys).
        pulumi.export("vmCloudInit", outputs.secret(vm_cloud_init))


# ECK's modules load pulumi_kubernetes, ≈ 0.05 s of every run: a stack with no cluster
# delivered to ECK never imports them.


def _deployment_problems(
    clusters: JudgedClusters, deployed: Mapping[str, DeployedCluster]
) -> list[ConfigProblem]:
    """What the last deployment refuses: CA transitions, and deleting protected CAs."""
    return stack_problems(clusters, deployed) + protected_deletion_problems(clusters, deployed)


def _kubernetes_provider(spec: StackSpec) -> k8s.Provider | None:
    """The stack's one Kubernetes provider, only when a cluster is delivered to ECK."""
    if not any(c.eck for c in spec.clusters):
        return None
    from components.kubernetes_provider import kubernetes_provider  # noqa: PLC0415

    return kubernetes_provider(spec.kubernetes)


def _eck_delivery(
    cluster: ClusterSpec, pki: TransportPki, provider: k8s.Provider, http: HttpPki | None
) -> EckDelivery:
    from components.eck_delivery import EckDelivery, EckDeliveryArgs  # noqa: PLC0415

    return EckDelivery(
        f"{cluster.name}-eck",
        EckDeliveryArgs(cluster, pki, provider, http),
        pulumi.ResourceOptions(parent=pki),
    )
