"""The `nodes` of a `delivery: vm` cluster: names, DNS names and IPs of every node."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from components.config_reader import (
    Problems,
    check_keys,
    dns_label,
    dns_name,
    ip_address,
    join,
    listing,
    mapping,
    names,
    report_duplicates,
    string,
)
from components.model import NodeSpec

NODE_KEYS = frozenset({"name", "dns", "ips"})


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
        dns = names(node, "dns", node_key, problems, dns_name)
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
                f"{name!r} is claimed by nodes {', '.join(claimants)}; a name or address must "
                "identify one node (verification_mode full would accept either)",
            )
