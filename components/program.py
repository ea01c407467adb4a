"""The Pulumi program: config → one TransportPki per cluster → delivery → stack outputs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pulumi

from components.config import read_stack_config
from components.eck_delivery import EckDelivery, EckDeliveryArgs
from components.kubernetes_provider import kubernetes_provider
from components.transport_pki import TransportPki, TransportPkiArgs
from components.vm_delivery import VmDelivery, VmDeliveryArgs


def main(clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
    # Validation runs before the first registration: invalid config creates nothing.
    spec = read_stack_config(clock())
    # One Kubernetes provider per stack, and only when a cluster is delivered to ECK.
    provider = (
        kubernetes_provider(spec.kubernetes) if any(c.eck for c in spec.clusters) else None
    )
    inventory: dict[str, pulumi.Output[dict[str, object]]] = {}
    eck_snippets: dict[str, pulumi.Output[dict[str, Any]]] = {}
    vm_cloud_init: dict[str, pulumi.Output[dict[str, str]]] = {}
    for cluster in spec.clusters:
        pki = TransportPki(cluster.name, TransportPkiArgs(cluster))
        inventory[cluster.name] = pki.inventory
        if cluster.eck is not None and provider is not None:
            delivery = EckDelivery(
                f"{cluster.name}-eck",
                EckDeliveryArgs(cluster, pki, provider),
                pulumi.ResourceOptions(parent=pki),
            )
            if not cluster.eck.manage_elasticsearch:
                eck_snippets[cluster.name] = delivery.spec_snippets
        if cluster.vm is not None:
            vm = VmDelivery(
                f"{cluster.name}-vm", VmDeliveryArgs(cluster, pki),
                pulumi.ResourceOptions(parent=pki),
            )
            vm_cloud_init[cluster.name] = vm.cloud_init
    # Public material and facts only: private keys stay inside the components, as secrets.
    pulumi.export("clusters", inventory)
    if eck_snippets:
        # manageElasticsearch: false — what to merge into the Elasticsearch resource.
        pulumi.export("eckSpecSnippets", eck_snippets)
    if vm_cloud_init:
        # Per cluster, per node: a `#cloud-config` document for the VM's user data (holds keys).
        pulumi.export("vmCloudInit", pulumi.Output.secret(vm_cloud_init))
