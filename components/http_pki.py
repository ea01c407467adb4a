"""HttpPki: one cluster's HTTP-layer certificates, apart from transport by construction.

`generated`: an HTTP CA of its own (a second `ClusterCa`, never the transport CA) issuing
serverAuth-only certificates, one per node or one shared, renewed and re-keyed by the same
replacement triggers as transport certificates (components.rotation). `provided`: the chain and
key from config. Nothing here takes an input from `TransportPki` (INV-SEPARATE).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pulumi

from components import outputs
from components.certificate_facts import certificate_facts
from components.cluster_ca import ClusterCa, ClusterCaArgs
from components.model import CaMode, CaSpec, ClusterSpec, NodeSpec
from components.model_http import HttpCertificates, HttpMode, HttpSpec
from components.node_certificate import NodeCertificate, NodeCertificateArgs
from components.rotation import rekey_trigger, renewal_trigger
from components.rotation_state import HTTP_CA, renewal_fields

# An HTTP server never acts as a TLS client, so its certificate is for serverAuth alone.
HTTP_EKU = ("server_auth",)
SHARED = "shared"


@dataclass(frozen=True)
class HttpPkiArgs:
    cluster: ClusterSpec
    http: HttpSpec
    # Stack key `protectCa`: HTTP clients trust this CA, so a stray replace breaks them too.
    protect_ca: bool = False
    # Generated certificates: node name (or `SHARED`) → renewal count
    # (components.rotation.renewal_counts); absent means 0.
    renewals: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpMaterial:
    """What a node serves HTTPS with: its key (secret) and certificate chain, leaf first."""

    private_key_pem: pulumi.Output[str]
    chain_pem: pulumi.Output[str]


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def eck_http_service_names(cluster: ClusterSpec) -> tuple[str, ...]:
    """The names of ECK's `<es>-es-http` Service, which ECK and its clients connect to."""
    if cluster.eck is None:
        return ()
    service = f"{cluster.eck.name}-es-http"
    namespace = cluster.eck.namespace
    return (
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.{cluster.eck.cluster_domain}",
    )


def certificate_subjects(cluster: ClusterSpec, http: HttpSpec) -> dict[str, NodeSpec]:
    """Node name (or `SHARED`) → the HTTP certificate it gets and the names it covers (always
    including `http.dns`/`http.ips`)."""
    if http.certificates is HttpCertificates.PER_NODE:
        return {
            node.name: NodeSpec(
                node.name,
                _unique((*node.dns_names, *http.dns_names)),
                _unique((*node.ip_addresses, *http.ip_addresses)),
            )
            for node in cluster.nodes
        }
    # Shared: reachable as any node (VMs) or through ECK's HTTP Service, plus the extras.
    vm_nodes = cluster.nodes if cluster.vm is not None else ()
    dns = (
        *eck_http_service_names(cluster),
        *(name for node in vm_nodes for name in node.dns_names),
        *http.dns_names,
    )
    ips = (*(ip for node in vm_nodes for ip in node.ip_addresses), *http.ip_addresses)
    return {SHARED: NodeSpec(f"{cluster.name}-http", _unique(dns), _unique(ips))}


def key_epochs(cluster: ClusterSpec, role: str) -> tuple[int, int | str]:
    """The rotation epochs that re-key the HTTP certificate of `role`: its node's, as for the
    node's transport key; every node's for the shared one, which every node holds."""
    return cluster.epochs.of_every_node() if role == SHARED else cluster.epochs.of(role)


class HttpPki(pulumi.ComponentResource):
    """`ca_pem` is what HTTPS clients trust (None for a provided public-CA chain without
    `http.caPem`); `certificates` maps each node (or `SHARED`) to its material."""

    ca: ClusterCa | None
    ca_pem: pulumi.Output[str] | None
    certificates: dict[str, HttpMaterial]
    inventory: pulumi.Output[dict[str, object]]

    def __init__(
        self, name: str, args: HttpPkiArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("es-transport-pki:http_pki:HttpPki", name, None, opts)
        cluster, http = args.cluster, args.http
        child = pulumi.ResourceOptions(parent=self)
        self.ca = None
        if http.mode is HttpMode.PROVIDED and http.provided is not None:
            provided = http.provided
            self.ca_pem = None if provided.ca_pem is None else pulumi.Output.from_input(
                provided.ca_pem
            )
            self.certificates = {
                SHARED: HttpMaterial(
                    outputs.secret(provided.key_pem),
                    pulumi.Output.from_input(provided.chain_pem),
                )
            }
        else:
            self.ca = ClusterCa(f"{name}-ca", _ca_args(cluster, http, args.protect_ca), child)
            self.ca_pem = self.ca.cert_pem
            self.certificates = {}
            for role, subject in certificate_subjects(cluster, http).items():
                issued = NodeCertificate(
                    f"{name}-{role}",
                    NodeCertificateArgs(
                        cluster=cluster.name,
                        node=subject,
                        key_algorithm=cluster.key_algorithm,
                        lifetime=cluster.node_lifetime,
                        ca_cert_pem=self.ca.cert_pem,
                        ca_private_key_pem=self.ca.private_key_pem,
                        # The same triggers as transport certificates (TransportPki): without
                        # them nothing would replace an HTTP certificate before it expires.
                        rekey_trigger=rekey_trigger(key_epochs(cluster, role)),
                        renewal_trigger=renewal_trigger(args.renewals.get(role, 0)),
                        extended_key_usage=HTTP_EKU,
                    ),
                    child,
                )
                self.certificates[role] = HttpMaterial(issued.private_key_pem, issued.cert_pem)
        generated = self.ca is not None

        def certificate_entry(role: str, chain_pem: str) -> dict[str, object]:
            facts = certificate_facts(chain_pem)
            if not generated:
                return dict(facts)  # a provided chain is the operator's to renew
            # Read back by the next run (components.rotation_state), as for transport nodes.
            renewal = args.renewals.get(role, 0)
            return {**facts, **renewal_fields(facts, renewal, cluster.node_lifetime)}

        # One apply over the chains, as TransportPki does for its nodes: an apply per role
        # would hand Output.all a dict of facts per role to lift into Outputs.
        chains = pulumi.Output.all(**{role: m.chain_pem for role, m in self.certificates.items()})
        # The generated CA's facts: the next run warns once it nears its end (no rotation yet).
        ca_facts = self.ca.facts if self.ca is not None else pulumi.Output.from_input(None)
        self.inventory = pulumi.Output.all(ca_facts, chains).apply(lambda both: {
            "mode": http.mode.value,
            "certificates": {
                role: certificate_entry(role, pem) for role, pem in dict(both[1]).items()
            },
            "caProtected": args.protect_ca and generated,
            **({HTTP_CA: both[0]} if generated else {}),
        })
        self.register_outputs({"caPem": self.ca_pem, "inventory": self.inventory})

    def for_node(self, node: str) -> HttpMaterial:
        return self.certificates.get(node) or self.certificates[SHARED]


def _ca_args(cluster: ClusterSpec, http: HttpSpec, protect: bool) -> ClusterCaArgs:
    # The transport CA's lifetime and algorithm settings, but a CA of its own.
    spec = CaSpec(
        CaMode.GENERATED, http.ca_common_name, cluster.ca.organization, cluster.ca.lifetime
    )
    return ClusterCaArgs(cluster.name, spec, cluster.key_algorithm, protect=protect)
