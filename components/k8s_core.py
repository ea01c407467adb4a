"""Secret and ConfigMap, registered exactly as `pulumi_kubernetes.core.v1` registers them.

Importing `pulumi_kubernetes.core.v1` loads every core/v1 kind with its generated input and
output types (4.5 MB of source): ≈ 0.6 s per run, more than the rest of a 10-node ECK
cluster costs (docs/benchmarks.md). The program needs two kinds, so it sends their
registrations itself: the same type token, apiVersion/kind, inputs, secret outputs and
resource-option defaults as the typed classes. tests/test_k8s_core.py compares both
registrations field by field, so a pulumi-kubernetes upgrade that changes them fails there.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
from pulumi_kubernetes import _utilities, meta

from components import outputs

SECRET = "kubernetes:core/v1:Secret"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"


def _with_defaults(opts: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
    # The provider SDK's defaults first (its plugin version), as every generated class does.
    return pulumi.ResourceOptions.merge(_utilities.get_resource_opts_defaults(), opts)


def secret(
    name: str, *, metadata: meta.v1.ObjectMetaArgs, type_: str,
    data: pulumi.Input[Mapping[str, str]], opts: pulumi.ResourceOptions,
) -> pulumi.CustomResource:
    """`core.v1.Secret(name, metadata=…, type=…, data=…)`: `data` is sent secret."""
    props = {
        "apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": type_,
        "data": outputs.secret(data),
    }
    secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=["data", "stringData"])
    return pulumi.CustomResource(
        SECRET, name, props, pulumi.ResourceOptions.merge(_with_defaults(opts), secret_outputs)
    )


def config_map(
    name: str, *, metadata: meta.v1.ObjectMetaArgs, data: pulumi.Input[Mapping[str, str]],
    opts: pulumi.ResourceOptions,
) -> pulumi.CustomResource:
    """`core.v1.ConfigMap(name, metadata=…, data=…)`."""
    props = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}
    return pulumi.CustomResource(CONFIG_MAP, name, props, _with_defaults(opts))
