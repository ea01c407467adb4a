"""The `nodes` and `vm` sections of a `delivery: vm` cluster."""

from __future__ import annotations

import itertools
import os
import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any

from components.config_reader import (
    Problems,
    boolean,
    check_keys,
    choice,
    dns_label,
    dns_names,
    ip_address,
    join,
    listing,
    mapping,
    names,
    report_duplicates,
    string,
)
from components.model import BundleFormat, ClusterSpec, NodeSpec, VmSpec
from components.quoting import quoted

NODE_KEYS = frozenset({"name", "dns", "ips"})
VM_KEYS = frozenset({"format", "outputDir", "writeLocalFiles", "configDir", "owner"})
DEFAULT_CONFIG_DIR = "/etc/elasticsearch"
# The Elasticsearch packages run the node as `elasticsearch`: it must own the 0600 key file.
DEFAULT_OWNER = "elasticsearch:elasticsearch"
_OWNER = re.compile(r"^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?\Z")


def vm_nodes(obj: Mapping[str, Any], key: str, problems: Problems) -> tuple[NodeSpec, ...]:
    nodes_key = join(key, "nodes")
    raw_nodes = listing(obj, "nodes", key, problems)
    if not raw_nodes:
        problems.add(nodes_key, "delivery: vm needs at least one node {name, dns, ips}")
    nodes: list[NodeSpec] = []
    for index, raw in enumerate(raw_nodes):
        node_key = join(nodes_key, index)
        node = mapping(raw, node_key, problems)
        if node is None:
            continue
        check_keys(node, node_key, NODE_KEYS, problems)
        name = string(node, "name", node_key, problems, required=True)
        if name and not dns_label(name, join(node_key, "name"), problems, "node name"):
            name = None
        dns = dns_names(node, "dns", node_key, problems, ips="ips")
        ips = names(node, "ips", node_key, problems, ip_address)
        if not node.get("dns") and not node.get("ips"):
            problems.add(
                node_key,
                "has neither dns nor ips: list every name and address peers reach the node by "
                "(verification_mode full checks them)",
            )
        if name is not None:
            nodes.append(NodeSpec(name, dns, ips))
    report_duplicates([n.name for n in nodes], nodes_key, "node name", problems)
    _report_shared_names(nodes, nodes_key, problems)
    return tuple(nodes)


def _report_shared_names(nodes: Sequence[NodeSpec], key: str, problems: Problems) -> None:
    owners: dict[str, list[str]] = {}
    for node in nodes:
        for name in (*node.dns_names, *node.ip_addresses):
            owners.setdefault(name, []).append(node.name)
    for name, claimants in sorted(owners.items()):
        if len(claimants) > 1:
            problems.add(
                key,
                f"{quoted(name)} is claimed by nodes {', '.join(claimants)}; a name or address "
                "must identify one node (verification_mode full would accept either)",
            )


def vm_spec(raw: object, key: str, stack: str, problems: Problems) -> VmSpec:
    obj = mapping(raw, key, problems) or {}
    check_keys(obj, key, VM_KEYS, problems)
    bundle_format = choice(
        obj, "format", key, problems, enum=BundleFormat, default=BundleFormat.PEM
    )
    write_local = boolean(obj, "writeLocalFiles", key, problems, default=True)
    output_dir = string(obj, "outputDir", key, problems) or f"out/{stack}"
    config_dir = string(obj, "configDir", key, problems) or DEFAULT_CONFIG_DIR
    for name, directory in (("outputDir", output_dir), ("configDir", config_dir)):
        if "\0" in directory:
            problems.add(
                join(key, name),
                f"{quoted(directory)} holds a NUL character, which no file path can; remove it",
            )
    if not posixpath.isabs(config_dir):
        problems.add(
            join(key, "configDir"),
            f"{quoted(config_dir)} must be an absolute path on the node, like {DEFAULT_CONFIG_DIR}",
        )
    owner = string(obj, "owner", key, problems) or DEFAULT_OWNER
    if not _OWNER.match(owner):
        problems.add(join(key, "owner"), f"{quoted(owner)} must be 'user' or 'user:group'")
    elif owner.partition(":")[0] == "root":
        problems.add(
            join(key, "owner"),
            f"{quoted(owner)} makes root the owner of the 0600 transport key (and stores), which "
            "Elasticsearch cannot read: it refuses to run as root ('can not run elasticsearch "
            "as root'), so the node would not start; name the user Elasticsearch runs as, "
            f"like {DEFAULT_OWNER}",
        )
    return VmSpec(
        format=bundle_format or BundleFormat.PEM,
        output_dir=output_dir if write_local else None,
        config_dir=config_dir.rstrip("/") or "/",
        owner=owner,
    )


def check_bundle_directories(
    clusters: Sequence[tuple[int, ClusterSpec]], key: str, problems: Problems
) -> None:
    """No cluster's `<vm.outputDir>/<cluster>` may lie in another's: its node bundles would land
    inside the other cluster's, and a bundle is copied to its node as a whole. `key`: the
    stack key of the list of clusters."""
    directories = _bundle_directories(clusters)
    for outer, inner in itertools.permutations(directories, 2):
        if inner[3].startswith(outer[3] + os.sep):
            problems.add(
                join(join(join(key, inner[0]), "vm"), "outputDir"),
                f"{quoted(inner[2])} puts the bundles of cluster {inner[1]} inside those of "
                f"cluster {outer[1]} ({outer[3]}): a node's bundle, copied to the node as a "
                "whole, would carry another cluster's node key and CA (INV-CA-DEDICATED, "
                f"INV-CUSTODY); give cluster {inner[1]} an outputDir outside {outer[3]}",
            )


def _bundle_directories(
    clusters: Sequence[tuple[int, ClusterSpec]]
) -> list[tuple[int, str, str, str]]:
    """(index, cluster name, vm.outputDir, absolute `<outputDir>/<cluster>`) of every cluster
    that writes VM bundles."""
    return [
        (index, cluster.name, cluster.vm.output_dir,
         os.path.abspath(posixpath.join(cluster.vm.output_dir, cluster.name)))
        for index, cluster in clusters if cluster.vm is not None and cluster.vm.output_dir
    ]


def check_render_directory(
    render: str | None, clusters: Sequence[tuple[int, ClusterSpec]], key: str,
    problems: Problems,
) -> None:
    """`kubernetes.renderYamlToDirectory` (at stack key `key`), where the ECK clusters'
    manifests are written, Secrets in plain text, must lie apart from every VM cluster's
    bundles: a bundle is copied to its node whole, and a GitOps tool applies every YAML file
    of the rendered directory."""
    if render is None or not any(cluster.eck for _, cluster in clusters):
        return
    rendered = os.path.abspath(render)
    for _, name, _, bundles in _bundle_directories(clusters):
        if rendered == bundles or rendered.startswith(bundles + os.sep):
            problems.add(
                key,
                f"{quoted(render)} lies in the VM bundles of cluster {name} ({bundles}): the "
                "rendered Secrets, with every pod's transport key (and the CA key with "
                f"eck.certificates: ca-to-eck), would be copied to the nodes of {name} with "
                "their bundles (INV-CUSTODY, INV-CA-DEDICATED); render outside every "
                "<vm.outputDir>/<cluster>",
            )
        elif bundles.startswith(rendered + os.sep):
            problems.add(
                key,
                f"{quoted(render)} holds the VM bundles of cluster {name} ({bundles}): its "
                "node keys would sit among the manifests a GitOps tool applies from there, "
                "and its elasticsearch.yml files would be applied as manifests; render outside "
                "every <vm.outputDir>/<cluster>, or move that cluster's vm.outputDir",
            )
