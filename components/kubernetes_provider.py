"""The stack's one Kubernetes provider, built from the stack-level `kubernetes` config."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.model_eck import KubernetesSpec


def kubernetes_provider(
    spec: KubernetesSpec, opts: pulumi.ResourceOptions | None = None
) -> k8s.Provider:
    """Explicit kubeconfig/context (else the ambient kubeconfig), or YAML rendering for GitOps.

    Secrets and ConfigMaps are updated in place rather than replaced: Elasticsearch reloads
    changed certificate files at the same paths, while a replacement (delete, then create under
    the same name) would leave the mounted Secret missing in between. Scaling then adds and
    removes only the affected pods' entries.
    """
    return k8s.Provider(
        "kubernetes",
        kubeconfig=spec.kubeconfig,
        context=spec.context,
        namespace=spec.namespace,
        render_yaml_to_directory=spec.render_yaml_to_directory,
        enable_secret_mutable=True,
        enable_config_map_mutable=True,
        opts=opts,
    )
