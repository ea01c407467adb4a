"""es-transport-mtls/-verify/-settings for what an ECK Elasticsearch container takes from the
stack's ConfigMaps and Secrets (stack policies).

`envFrom` makes every key of a ConfigMap or Secret (with its `prefix`) a variable of the
container, `valueFrom` one key, and the official image reads a variable named like a setting
as that setting (documents.env_setting); an env value or a command-line word may take it with
`$(VAR)`. The object is another resource: only the stack shows it
(topology.eck_stack_env_documents: matched by name in the Elasticsearch resource's namespace,
in kubelet's order, documents.stack_env_documents). The checks are the resource policies' own,
each under a policy of its own as theirs are (a waiver of one never waives another); an object
the stack does not hold, or whose data is unknown at preview, is not judged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..findings import Finding
from ..graph import StackGraph
from ..topology import eck_stack_env_documents
from .refused import refused_documents
from .transport import mtls_documents, verify_documents


def mtls(graph: StackGraph, _config: Mapping[str, Any]) -> list[Finding]:
    return [f for urn, docs in eck_stack_env_documents(graph) for f in mtls_documents(urn, docs)]


def verify(graph: StackGraph, config: Mapping[str, Any]) -> list[Finding]:
    return [f for urn, docs in eck_stack_env_documents(graph)
            for f in verify_documents(urn, docs, config)]


def refused(graph: StackGraph, _config: Mapping[str, Any]) -> list[Finding]:
    return [f for urn, docs in eck_stack_env_documents(graph)
            for f in refused_documents(urn, docs)]
