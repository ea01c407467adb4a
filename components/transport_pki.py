"""TransportPki: one cluster's dedicated CA generations and the certificates of all its nodes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components import node_certificate
from components.certificate_facts import certificate_facts
from components.cluster_ca import ClusterCa, ClusterCaArgs
from components.model import ClusterSpec, Lifetime
from components.node_certificate import NodeCertificateArgs, NodeMaterial, issue_node_certificate
from components.rotation import rekey_trigger, renewal_trigger
from components.rotation_state import CA_MODE, NODES_UNDER_PKI, renewal_fields


@dataclass(frozen=True)
class TransportPkiArgs:
    cluster: ClusterSpec
    # Node name → renewal count (components.rotation.renewal_counts); absent means 0.
    renewals: Mapping[str, int] = field(default_factory=dict)
    # Stack key `protectCa`: every live CA generation is protected.
    protect_ca: bool = False
    # Generations the last deployment trusted and this one does not (a protected stack's
    # `retire`, or a rollback from `introduce`): kept one more update, unprotected, so that
    # the next `up` may delete them (components.rotation.withdrawn_generations).
    retiring: tuple[int, ...] = ()
    # The last deployment holds this cluster's node resources under a NodeCertificate
    # component per node (its inventory lacks `nodesUnderPki`): alias them to where they were.
    # Only that one `up` needs the aliases, and each costs the SDK an Output chain per resource.
    alias_legacy_nodes: bool = False


TYPE = "es-transport-pki:transport_pki:TransportPki"


def ca_name(name: str, generation: int) -> str:
    """Generation 1 keeps the single-CA name of stacks deployed before rotation existed, so
    their CA is not replaced; later generations get stable names of their own."""
    return f"{name}-ca" if generation == 1 else f"{name}-ca-g{generation}"


def bundle(pems: list[str]) -> str:
    """One PEM bundle, generations in ascending order, each certificate on its own lines."""
    return "".join(pem if pem.endswith("\n") else f"{pem}\n" for pem in pems)


class TransportPki(pulumi.ComponentResource):
    """Ties the live `ClusterCa` generations to each node's key and certificate; delivery
    components consume it.

    `ca` is the generation issuing the node certificates (the CA ECK gets in ca-to-eck mode);
    `trusted_ca_pem` every live generation, which each node must trust during a rotation.
    `retiring` holds generations a protected stack is withdrawing: trusted by no one, no
    longer protected, deleted by the next `up`.
    """

    ca: ClusterCa
    generations: dict[int, ClusterCa]
    retiring: dict[int, ClusterCa]
    nodes: dict[str, NodeMaterial]
    trusted_ca_pem: pulumi.Output[str]
    inventory: pulumi.Output[dict[str, object]]

    def __init__(
        self, name: str, args: TransportPkiArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        cluster = args.cluster
        trust = cluster.ca.rotation.trust
        child = pulumi.ResourceOptions(parent=self)

        def generation_ca(generation: int, protect: bool) -> ClusterCa:
            return ClusterCa(
                ca_name(name, generation),
                ClusterCaArgs(
                    cluster.name, cluster.ca, cluster.key_algorithm, generation, protect
                ),
                child,
            )

        self.generations = {g: generation_ca(g, args.protect_ca) for g in trust.generations}
        # The engine deletes only what is unprotected in state, so protection is lifted by
        # one update and the deletion happens in the next (docs/state-and-secrets.md).
        self.retiring = {g: generation_ca(g, False) for g in args.retiring}
        self.ca = self.generations[trust.issuing]
        # Each node's key, CSR and certificate are children of this component (no component
        # per node: one registration less per node, docs/benchmarks.md). Stacks deployed earlier
        # hold them under a NodeCertificate component per node, which aliases map over. The
        # URN is spelled out (the SDK gives a component's URN only as an Output): TransportPki
        # is registered at the root of the stack (program.py), as it always was.
        own_urn = f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{TYPE}::{name}"
        self.nodes = {
            node.name: issue_node_certificate(
                f"{name}-{node.name}",
                NodeCertificateArgs(
                    cluster=cluster.name,
                    node=node,
                    key_algorithm=cluster.key_algorithm,
                    lifetime=cluster.node_lifetime,
                    ca_cert_pem=self.ca.cert_pem,
                    ca_private_key_pem=self.ca.private_key_pem,
                    rekey_trigger=rekey_trigger(cluster.epochs.of(node.name)),
                    renewal_trigger=renewal_trigger(args.renewals.get(node.name, 0)),
                ),
                self,
                legacy_parent=node_certificate.child_urn(
                    own_urn, node_certificate.TYPE, f"{name}-{node.name}"
                ) if args.alias_legacy_nodes else None,
            )
            for node in cluster.nodes
        }
        self.trusted_ca_pem = pulumi.Output.all(
            *[ca.cert_pem for ca in self.generations.values()]
        ).apply(bundle)

        def node_entry(name: str, facts: Mapping[str, str]) -> dict[str, object]:
            return {
                **facts,
                "caGeneration": trust.issuing,
                **renewal_fields(facts, args.renewals.get(name, 0), cluster.node_lifetime),
            }

        # Read back by the next run (components.rotation_state) and by `preflight.inventory`.
        rotation: dict[str, object] = {
            "generation": cluster.ca.rotation.generation,
            "step": cluster.ca.rotation.step.value if cluster.ca.rotation.step else "none",
            "generations": list(trust.generations),
            "issuingGeneration": trust.issuing,
            "retiring": list(self.retiring),
        }
        cas = pulumi.Output.all(
            ca_cert_pem=self.ca.cert_pem,
            ca_fingerprint_sha256=self.ca.fingerprint_sha256,
            ca_generations=pulumi.Output.all(
                **{
                    str(g): pulumi.Output.all(ca.facts, ca.cert_pem).apply(
                        lambda pair: {**pair[0], "certPem": pair[1]}
                    )
                    for g, ca in self.generations.items()
                }
            ),
        )
        # One apply for the cluster rather than one per node. Output.all() of no nodes (ECK
        # issues them in ca-to-eck mode) is a list.
        node_facts = pulumi.Output.all(**{n: m.cert_pem for n, m in self.nodes.items()}).apply(
            lambda pems: {n: certificate_facts(pem) for n, pem in dict(pems or {}).items()}
        )

        def entry(
            values: Mapping[str, Any], facts: Mapping[str, Mapping[str, str]]
        ) -> dict[str, object]:
            return {
                "delivery": cluster.delivery.value,
                "caProtected": args.protect_ca and cluster.ca.provided is None,
                # Read back by the next run: a switch between modes swaps the CA in one update.
                CA_MODE: cluster.ca.mode.value,
                NODES_UNDER_PKI: True,
                "caCertPem": values["ca_cert_pem"],
                "caFingerprintSha256": values["ca_fingerprint_sha256"],
                "caGenerations": values["ca_generations"],
                "rotation": rotation,
                "lifetimes": {
                    "ca": _lifetime(cluster.ca.lifetime),
                    "nodes": _lifetime(cluster.node_lifetime),
                },
                "nodes": {n: node_entry(n, f) for n, f in facts.items()},
            }

        # Nested applies, not Output.all(..., nodes=node_facts): Output.all would lift the
        # resolved per-node facts into an Output per key and value (docs/benchmarks.md).
        self.inventory = cas.apply(lambda values: node_facts.apply(lambda f: entry(values, f)))
        self.register_outputs(
            {
                "caCertPem": self.ca.cert_pem,
                "trustedCaPem": self.trusted_ca_pem,
                "inventory": self.inventory,
            }
        )


def _lifetime(lifetime: Lifetime) -> dict[str, int]:
    return {
        "validityDays": lifetime.validity_days, "renewBeforeDays": lifetime.renew_before_days
    }
