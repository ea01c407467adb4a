"""TransportPki: one cluster's dedicated CA and the certificates of all its nodes."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.cluster_ca import ClusterCa, ClusterCaArgs
from components.model import ClusterSpec
from components.node_certificate import NodeCertificate, NodeCertificateArgs


@dataclass(frozen=True)
class TransportPkiArgs:
    cluster: ClusterSpec


class TransportPki(pulumi.ComponentResource):
    """Ties a `ClusterCa` to a `NodeCertificate` per node; delivery components consume it."""

    ca: ClusterCa
    nodes: dict[str, NodeCertificate]
    trusted_ca_pem: pulumi.Output[str]
    inventory: pulumi.Output[dict[str, object]]

    def __init__(
        self, name: str, args: TransportPkiArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("es-transport-pki:transport_pki:TransportPki", name, None, opts)
        cluster = args.cluster
        child = pulumi.ResourceOptions(parent=self)
        self.ca = ClusterCa(
            f"{name}-ca", ClusterCaArgs(cluster.name, cluster.ca, cluster.key_algorithm), child
        )
        self.nodes = {
            node.name: NodeCertificate(
                f"{name}-{node.name}",
                NodeCertificateArgs(
                    cluster=cluster.name,
                    node=node,
                    key_algorithm=cluster.key_algorithm,
                    lifetime=cluster.node_lifetime,
                    ca_cert_pem=self.ca.cert_pem,
                    ca_private_key_pem=self.ca.private_key_pem,
                ),
                child,
            )
            for node in cluster.nodes
        }
        # Every CA a node must trust; one generation today, several during a CA rotation.
        self.trusted_ca_pem = self.ca.cert_pem
        self.inventory = pulumi.Output.all(
            ca_cert_pem=self.ca.cert_pem,
            ca_fingerprint_sha256=self.ca.fingerprint_sha256,
            nodes=pulumi.Output.all(**{n: c.facts for n, c in self.nodes.items()}),
        ).apply(
            lambda values: {
                "delivery": cluster.delivery.value,
                "caCertPem": values["ca_cert_pem"],
                "caFingerprintSha256": values["ca_fingerprint_sha256"],
                "nodes": values["nodes"],
            }
        )
        self.register_outputs(
            {
                "caCertPem": self.ca.cert_pem,
                "trustedCaPem": self.trusted_ca_pem,
                "inventory": self.inventory,
            }
        )
