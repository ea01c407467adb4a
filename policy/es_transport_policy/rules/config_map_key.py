"""INV-CUSTODY (stack), at preview: no private key flows into a ConfigMap whose content is
unknown.

es-transport-key-custody refuses a PEM private key in a ConfigMap, but it can only read known
content. At `up` the content is known before the ConfigMap is created, so a key never lands
there. At preview, the check that runs on pull requests, a key not yet generated is unknown. A
property dependency of the ConfigMap's `data`/`binaryData` on a PrivateKey shows where it goes.
The dependency cannot tell the private key from its public key, so this rule is advisory by
default; a stack can make it mandatory. CA keys are es-transport-ca-key-custody's, mandatory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import tokens
from ..chain import Chains
from ..findings import Finding, resource_name
from ..graph import Node, StackGraph
from ..values import as_map, is_unknown
from .ca_key import ca_key_urns

CONTENT_FIELDS = ("data", "binaryData")


def _unknown_content(node: Node) -> list[str]:
    """The content fields of a ConfigMap that preview cannot read, in whole or in part."""
    return [
        name for name in CONTENT_FIELDS
        if is_unknown(value := node.props.get(name))
        or any(is_unknown(v) for v in as_map(value).values())
    ]


def config_map_key(graph: StackGraph, _config: Mapping[str, Any]) -> list[Finding]:
    ca_keys = ca_key_urns(graph, Chains(graph))
    findings: list[Finding] = []
    for node in graph.of_type(*tokens.CONFIG_MAPS):
        unknown = _unknown_content(node)
        keys = sorted({
            urn for field in unknown for urn in node.deps_of(field)
            if (source := graph.get(urn)) is not None and source.type == tokens.PRIVATE_KEY
            and urn not in ca_keys
        })
        if not keys:
            continue
        findings.append(Finding(
            "INV-CUSTODY",
            f"ConfigMap {node.name}: {' and '.join(unknown)} depend on private key "
            f"{', '.join(resource_name(k) for k in keys)}, and preview cannot "
            "read the value yet",
            "if that value is the private key, it would sit in a ConfigMap, which is not "
            "secret; `pulumi up` then refuses it (es-transport-key-custody) before the "
            "ConfigMap is created",
            "put private keys in a Secret; a ConfigMap that needs the public key or the "
            "certificate should take it from the certificate resource",
            node.urn,
        ))
    return findings
