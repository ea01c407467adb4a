"""INV-CUSTODY (stack): a CA in service is `protect`ed, outside the stacks exempted (dev).

Its key exists only in state: a `pulumi destroy`, a refactor that renames it or a change that
replaces it would cut every node off from its peers. A CA nothing depends on any more (a
rotation's retiring generation, lifted on purpose so that the next `up` may delete it) is not
flagged.
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from .. import tokens
from ..chain import Chains
from ..findings import Finding
from ..graph import StackGraph

PROTECTION_CONFIG: dict[str, dict[str, Any]] = {
    "exemptStacks": {
        "type": "array",
        "items": {"type": "string"},
        "default": ["dev", "dev-*"],
        "description": "Stack names (shell patterns) whose CAs are throwaway: not checked.",
    }
}


def _stack_of(urn: str) -> str:
    return urn.removeprefix("urn:pulumi:").split("::", 1)[0]


def ca_protected(graph: StackGraph, config: Mapping[str, Any]) -> list[Finding]:
    chains = Chains(graph)
    depended_on: set[str] = set()
    for node in graph.nodes.values():
        depended_on |= node.all_deps()
    findings: list[Finding] = []
    for cert in graph.of_type(*tokens.CERTS):
        if not chains.is_ca(cert.urn) or cert.urn not in depended_on:
            continue
        if any(fnmatchcase(_stack_of(cert.urn), p) for p in config["exemptStacks"]):
            continue
        key_urn = chains.key_of(cert.urn)
        key = graph.get(key_urn) if key_urn is not None else None
        for resource, what in ((cert, "certificate"), (key, "private key")):
            if resource is None or resource.protect:
                continue
            findings.append(
                Finding(
                    "INV-CUSTODY",
                    f"the {what} of CA {cert.name}, which certificates depend on, is not "
                    "protected",
                    "its key exists only in state: a `pulumi destroy`, a rename or a replacing "
                    "change would delete the CA and every node would stop trusting its peers",
                    "register it with protect=True (es-transport-pki: protectCa: true); "
                    "exempt throwaway stacks with exemptStacks",
                    resource.urn,
                )
            )
    return findings
