"""EckDelivery: one cluster's transport PKI delivered to ECK (Secret, ConfigMap, Elasticsearch),
and its HTTP certificate when configured (a Secret of its own)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import eck_layout, eck_manifests, k8s_core
from components.http_pki import SHARED, HttpPki
from components.model import ClusterSpec
from components.model_eck import EckCertificates, EckSpec
from components.transport_pki import TransportPki


@dataclass(frozen=True)
class EckDeliveryArgs:
    cluster: ClusterSpec
    pki: TransportPki
    provider: k8s.Provider
    http: HttpPki | None = None


class EckDelivery(pulumi.ComponentResource):
    """Per-node mode: the pods' keys/certificates Secret; ca-to-eck mode: the CA Secret for ECK.

    Both: the trusted-CA ConfigMap and, with `manageElasticsearch`, the Elasticsearch resource
    wired to them; `spec_snippets` is the same wiring for a resource managed elsewhere.
    """

    secret_name: str
    config_map_name: str
    http_secret_name: str | None
    spec_snippets: pulumi.Output[dict[str, Any]]
    elasticsearch: k8s.apiextensions.CustomResource | None

    def __init__(
        self, name: str, args: EckDeliveryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("es-transport-pki:eck_delivery:EckDelivery", name, None, opts)
        eck = args.cluster.eck
        if eck is None:
            raise ValueError(f"cluster {args.cluster.name!r} is not delivered to ECK")
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.config_map_name = eck_layout.trust_config_map(eck.name)
        trust = k8s_core.config_map(
            f"{name}-trust",
            metadata=_metadata(self.config_map_name, eck),
            data=args.pki.trusted_ca_pem.apply(eck_manifests.trust_data),
            opts=child,
        )
        data: pulumi.Output[dict[str, str]]
        if eck.certificates is EckCertificates.PER_NODE:
            self.secret_name = eck_layout.node_certs_secret(eck.name)
            role, data = "node-certs", _node_certs_data(eck, args.pki)
        else:
            self.secret_name = eck_layout.ca_secret(eck.name)
            role, data = "ca-secret", _ca_data(args.pki)
        # k8s_core.secret sends the whole `data` map secret: it holds private keys (INV-CUSTODY).
        secret = k8s_core.secret(
            f"{name}-{role}",
            metadata=_metadata(self.secret_name, eck),
            type_="Opaque",
            data=data,
            opts=child,
        )
        referenced: list[pulumi.Resource] = [secret, trust]
        self.http_secret_name = None
        if args.http is not None:
            self.http_secret_name = eck_layout.http_secret(eck.name)
            # Secret as a whole (k8s_core.secret): it holds the HTTP key (INV-CUSTODY).
            referenced.append(
                k8s_core.secret(
                    f"{name}-http-cert",
                    metadata=_metadata(self.http_secret_name, eck),
                    type_="Opaque",
                    data=_http_data(args.http),
                    opts=child,
                )
            )
        self.spec_snippets = pulumi.Output.from_input(eck_manifests.spec_snippets(args.cluster))
        self.elasticsearch = None
        if eck.manage_elasticsearch:
            manifest = eck_manifests.elasticsearch(args.cluster)
            # ECK reconciles as soon as the resource exists: the objects it names come first.
            self.elasticsearch = k8s.apiextensions.CustomResource(
                f"{name}-elasticsearch",
                api_version=manifest["apiVersion"],
                kind=manifest["kind"],
                metadata=manifest["metadata"],
                spec=manifest["spec"],
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(depends_on=referenced)
                ),
            )
        self.register_outputs(
            {
                "secretName": self.secret_name,
                "configMapName": self.config_map_name,
                "httpSecretName": self.http_secret_name,
                "specSnippets": self.spec_snippets,
                "elasticsearchName": eck.name if self.elasticsearch else None,
            }
        )


def _node_certs_data(eck: EckSpec, pki: TransportPki) -> pulumi.Output[dict[str, str]]:
    missing = [pod for pod in eck.all_pod_names if pod not in pki.nodes]
    if missing:
        raise ValueError(f"no certificate for pods {', '.join(missing)}")
    # Two fans over all pods rather than a pair Output per pod (docs/benchmarks.md).
    keys = pulumi.Output.all(*[pki.nodes[pod].private_key_pem for pod in eck.all_pod_names])
    certs = pulumi.Output.all(*[pki.nodes[pod].cert_pem for pod in eck.all_pod_names])
    return pulumi.Output.all(keys, certs).apply(
        lambda values: eck_manifests.node_certs_data(
            dict(zip(eck.all_pod_names, zip(values[0], values[1], strict=True), strict=True))
        )
    )


def _ca_data(pki: TransportPki) -> pulumi.Output[dict[str, str]]:
    # `cert_pem` is the issuing CA alone: ECK accepts exactly one certificate in `ca.crt`.
    return pulumi.Output.all(pki.ca.cert_pem, pki.ca.private_key_pem).apply(
        lambda pems: eck_manifests.ca_secret_data(pems[0], pems[1])
    )


def _http_data(http: HttpPki) -> pulumi.Output[dict[str, str]]:
    # ECK serves one HTTP certificate for every pod (`http.certificates: shared`).
    material = http.certificates[SHARED]
    return pulumi.Output.all(material.private_key_pem, material.chain_pem, http.ca_pem).apply(
        lambda pems: eck_manifests.http_secret_data(pems[0], pems[1], pems[2])
    )


def _metadata(name: str, eck: EckSpec) -> k8s.meta.v1.ObjectMetaArgs:
    fields = eck_manifests.metadata(name, eck)
    return k8s.meta.v1.ObjectMetaArgs(
        name=fields["name"], namespace=fields["namespace"], labels=fields["labels"]
    )
