"""NodeCertificate: one node's transport key and certificate (INV-EKU, INV-LEAF)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_tls as tls

from components import outputs
from components.certificate_facts import certificate_facts
from components.model import KeyAlgorithm, Lifetime, NodeSpec
from components.private_key import private_key

TYPE = "es-transport-pki:node_certificate:NodeCertificate"
PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
CERT_REQUEST = "tls:index/certRequest:CertRequest"
LOCALLY_SIGNED_CERT = "tls:index/locallySignedCert:LocallySignedCert"
# Both EKUs, always: a serverAuth-only certificate fails as a TLS client (DESIGN §1).
TRANSPORT_EKU = ("server_auth", "client_auth")


def node_allowed_uses(
    algorithm: KeyAlgorithm, extended_key_usage: tuple[str, ...] = TRANSPORT_EKU
) -> list[str]:
    """KU digitalSignature (+keyEncipherment for RSA key exchange) and the EKUs (transport:
    both)."""
    key_usage = ["digital_signature"]
    if algorithm.is_rsa:
        key_usage.append("key_encipherment")
    return [*key_usage, *extended_key_usage]


@dataclass(frozen=True)
class NodeCertificateArgs:
    cluster: str
    node: NodeSpec
    key_algorithm: KeyAlgorithm
    lifetime: Lifetime
    ca_cert_pem: pulumi.Input[str]
    ca_private_key_pem: pulumi.Input[str]
    # Replacement triggers (components.rotation): a new value re-keys the node (rotation
    # epochs) or re-issues its certificate (renewal). None: no trigger.
    rekey_trigger: str | None = None
    renewal_trigger: str | None = None
    # HTTP certificates pass ("server_auth",): an HTTP server is never a TLS client.
    extended_key_usage: tuple[str, ...] = TRANSPORT_EKU


def child_urn(parent_urn: str, type_: str, name: str) -> str:
    """The engine's URN of resource `name` of `type_` whose parent is `parent_urn` (the parent's
    qualified type chain, then the child's type)."""
    return f"{parent_urn[: parent_urn.rfind('::')]}${type_}::{name}"


@dataclass(frozen=True)
class NodeMaterial:
    """A node's key (secret) and certificate."""

    private_key_pem: pulumi.Output[str]
    cert_pem: pulumi.Output[str]


def issue_node_certificate(
    name: str, args: NodeCertificateArgs, parent: pulumi.Resource, legacy_parent: str | None = None
) -> NodeMaterial:
    """PrivateKey → CertRequest (the node's SANs) → LocallySignedCert by the cluster CA, children
    of `parent`, named `<name>-key`, `-csr`, `-cert`. `legacy_parent`: the URN of a component
    that held them in stacks deployed earlier; each gets an alias to its URN under it."""

    def opts(type_: str, child: str, trigger: str | None = None) -> pulumi.ResourceOptions:
        # A full URN rather than Alias(parent=...): the SDK resolves every Alias object
        # through a chain of Outputs, per resource (docs/benchmarks.md).
        aliases = None if legacy_parent is None else [child_urn(legacy_parent, type_, child)]
        return pulumi.ResourceOptions(parent=parent, replacement_trigger=trigger, aliases=aliases)

    key = private_key(
        f"{name}-key", args.key_algorithm, opts(PRIVATE_KEY, f"{name}-key", args.rekey_trigger)
    )
    request = tls.CertRequest(
        f"{name}-csr",
        private_key_pem=key.private_key_pem,
        subject=tls.CertRequestSubjectArgs(
            common_name=args.node.common_name, organizational_unit=args.cluster
        ),
        dns_names=list(args.node.dns_names),
        ip_addresses=list(args.node.ip_addresses),
        opts=opts(CERT_REQUEST, f"{name}-csr"),
    )
    cert = tls.LocallySignedCert(
        f"{name}-cert",
        cert_request_pem=request.cert_request_pem,
        ca_cert_pem=args.ca_cert_pem,
        ca_private_key_pem=args.ca_private_key_pem,
        allowed_uses=node_allowed_uses(args.key_algorithm, args.extended_key_usage),
        validity_period_hours=args.lifetime.validity_hours,
        # Kept for the provider's readyForRenewal, but not relied on (pulumi/pulumi-tls#39):
        # the renewal trigger is what replaces a certificate inside its window.
        early_renewal_hours=args.lifetime.renew_before_hours,
        opts=opts(LOCALLY_SIGNED_CERT, f"{name}-cert", args.renewal_trigger),
    )
    return NodeMaterial(outputs.secret(key.private_key_pem), cert.cert_pem)


class NodeCertificate(pulumi.ComponentResource):
    """`issue_node_certificate` under a component of its own (HTTP certificates: a few per
    cluster). Transport nodes register theirs directly under their `TransportPki`, which saves
    a registration per node (docs/benchmarks.md)."""

    private_key_pem: pulumi.Output[str]
    cert_pem: pulumi.Output[str]
    facts: pulumi.Output[dict[str, str]]

    def __init__(
        self, name: str, args: NodeCertificateArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        material = issue_node_certificate(name, args, self)
        self.private_key_pem = material.private_key_pem
        self.cert_pem = material.cert_pem
        self.facts = self.cert_pem.apply(certificate_facts)
        self.register_outputs(
            {"privateKeyPem": self.private_key_pem, "certPem": self.cert_pem, "facts": self.facts}
        )
