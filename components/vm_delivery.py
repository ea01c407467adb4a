"""VmDelivery: one cluster's transport PKI (and HTTP certificates, when configured) delivered to
self-managed nodes, one bundle per node."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

import pulumi

from components import outputs, vm_bundle
from components.http_pki import HttpPki
from components.local_files import LocalFileArgs
from components.model import ClusterSpec, NodeSpec, VmSpec
from components.node_bundle import NodeBundle, NodeBundleArgs, StoreSources
from components.transport_pki import TransportPki
from components.transport_settings import Setting

TYPE = "es-transport-pki:vm_delivery:VmDelivery"


@dataclass(frozen=True)
class VmDeliveryArgs:
    cluster: ClusterSpec
    pki: TransportPki
    http: HttpPki | None = None


class VmDelivery(pulumi.ComponentResource):
    """A `NodeBundle` per node: a folder `<vm.outputDir>/<cluster>/<node>` (unless
    `vm.writeLocalFiles: false`) and a cloud-init document, both from the same bytes.

    `cloud_init` (node → `#cloud-config` document) is secret: it carries the node keys.
    """

    bundles: dict[str, NodeBundle]
    cloud_init: pulumi.Output[dict[str, str]]

    def __init__(
        self, name: str, args: VmDeliveryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        cluster = args.cluster
        if cluster.vm is None:
            raise ValueError(f"cluster {cluster.name!r} is not delivered to VMs")
        vm = cluster.vm
        child = pulumi.ResourceOptions(parent=self)
        self.bundles = {
            node: NodeBundle(f"{name}-{node}", node_args, child)
            for node, node_args in bundle_args(args).items()
        }
        self.cloud_init = outputs.secret(
            pulumi.Output.all(**{n: b.cloud_init for n, b in self.bundles.items()})
        )
        self.register_outputs(
            {
                "cloudInit": self.cloud_init,
                "directories": {n: _directory(vm, cluster, n) for n in self.bundles},
            }
        )


def _directory(vm: VmSpec, cluster: ClusterSpec, node: str) -> str | None:
    return None if vm.output_dir is None else posixpath.join(vm.output_dir, cluster.name, node)


def bundle_args(args: VmDeliveryArgs) -> dict[str, NodeBundleArgs]:
    """Each node's bundle by node name, in the cluster's node order."""
    cluster, vm = args.cluster, args.cluster.vm
    assert vm is not None  # VmDelivery refuses a cluster without it
    yml_settings = vm_bundle.settings(cluster.transport, vm.format)
    if args.http is not None:
        yml_settings |= vm_bundle.http_yml_settings(with_ca=args.http.ca_pem is not None)
    return {
        node.name: _bundle_args(cluster, vm, node, args.pki, yml_settings, http=args.http)
        for node in cluster.nodes
    }


def _bundle_args(
    cluster: ClusterSpec,
    vm: VmSpec,
    node: NodeSpec,
    pki: TransportPki,
    yml_settings: dict[str, Setting],
    *,
    http: HttpPki | None,
) -> NodeBundleArgs:
    certificate = pki.nodes[node.name]
    contents: dict[str, pulumi.Input[str]] = {
        vm_bundle.ELASTICSEARCH_YML: vm_bundle.elasticsearch_yml(
            cluster.name, node.name, yml_settings
        )
    }
    if vm_bundle.writes_pem(vm.format):
        contents |= {
            vm_bundle.KEY: certificate.private_key_pem,
            vm_bundle.CERTIFICATE: certificate.cert_pem,
            # Every CA the node trusts: grows and shrinks during a CA rotation, same file name.
            vm_bundle.CERTIFICATE_AUTHORITIES: pki.trusted_ca_pem,
        }
    files = {path: LocalFileArgs(c, vm_bundle.MODES[path]) for path, c in contents.items()}
    stores = None
    if vm_bundle.writes_stores(vm.format):
        stores = StoreSources(certificate.private_key_pem, certificate.cert_pem, pki.trusted_ca_pem)
    return NodeBundleArgs(
        cluster=cluster.name,
        node=node.name,
        directory=_directory(vm, cluster, node.name),
        config_dir=vm.config_dir,
        owner=vm.owner,
        files=files,
        stores=stores,
        http_files=_http_files(http, node) if http is not None else {},
    )


def _http_files(http: HttpPki, node: NodeSpec) -> dict[str, LocalFileArgs]:
    """The node's HTTP key, certificate chain and HTTP CA: files of their own, never the
    transport ones (INV-SEPARATE)."""
    material = http.for_node(node.name)
    contents: dict[str, pulumi.Input[str]] = {
        vm_bundle.HTTP_KEY: material.private_key_pem,
        vm_bundle.HTTP_CERTIFICATE: material.chain_pem,
    }
    if http.ca_pem is not None:
        contents[vm_bundle.HTTP_CERTIFICATE_AUTHORITIES] = http.ca_pem
    return {path: LocalFileArgs(c, vm_bundle.MODES[path]) for path, c in contents.items()}
