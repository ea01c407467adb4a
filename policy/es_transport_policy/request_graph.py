"""AnalyzeStack's graph read straight from the request, in one pass over each value.

`StackGraph.from_policy_resources` reaches the same graph in four: pulumi-policy turns each
resource's properties into a dict (`MessageToDict`), deserialises it, wraps it in
unknown-checking proxies, and the graph copies it back out into plain values. That was half of
an AnalyzeStack call (docs/benchmarks.md, round 7). `graph_of_request` gives the same nodes,
value for value: secrets unwrapped, numbers as floats (Struct numbers are doubles), each of the
SDK's unknown sentinels as `UNKNOWN`, and links only to resources in the request (with a URN
twice, the last wins). A value it does not read the same way (an asset, an archive, another
signature, a number JSON cannot carry) returns None: the caller then takes pulumi-policy's
own path, errors included. tests/policy/test_stack_request.py holds the two paths equal.
"""

from __future__ import annotations

import math
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import proxy
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY

from .graph import Node, StackGraph
from .values import UNKNOWN

# What pulumi-policy's proxies raise UnknownValueError for (`proxy._is_unknown`).
UNKNOWN_SENTINELS = frozenset({
    proxy.UNKNOWN_BOOLEAN_VALUE, proxy.UNKNOWN_NUMBER_VALUE, proxy.UNKNOWN_STRING_VALUE,
    proxy.UNKNOWN_ARRAY_VALUE, proxy.UNKNOWN_ASSET_VALUE, proxy.UNKNOWN_ARCHIVE_VALUE,
    proxy.UNKNOWN_OBJECT_VALUE,
})


class _NotPlainError(Exception):
    """A value only pulumi-policy's own path reads (or refuses) faithfully."""


def graph_of_request(request: analyzer_pb2.AnalyzeStackRequest) -> StackGraph | None:
    """The request's `StackGraph`; None if a value needs pulumi-policy's path."""
    urns = {r.urn for r in request.resources}
    try:
        return StackGraph(
            Node(
                urn=r.urn,
                type=r.type,
                name=r.name,
                # The top level is never a signature: pulumi-policy reads each value under it.
                props={key: _plain(value) for key, value in r.properties.fields.items()},
                parent=r.parent if r.parent in urns else None,
                dependencies=tuple(d for d in r.dependencies if d in urns),
                property_dependencies={
                    prop: tuple(d for d in deps.urns if d in urns)
                    for prop, deps in r.propertyDependencies.items()
                },
                protect=r.options.protect,
            )
            for r in request.resources
        )
    except _NotPlainError:
        return None


def _plain(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        text = value.string_value
        return UNKNOWN if text in UNKNOWN_SENTINELS else text
    if kind == "struct_value":
        fields = value.struct_value.fields
        if SPECIAL_SIG_KEY not in fields:
            return {key: _plain(item) for key, item in fields.items()}
        signature = fields[SPECIAL_SIG_KEY]
        if signature.WhichOneof("kind") != "string_value" or (
            signature.string_value != SPECIAL_SECRET_SIG or "value" not in fields
        ):
            raise _NotPlainError
        return _plain(fields["value"])
    if kind == "list_value":
        return [_plain(item) for item in value.list_value.values]
    if kind == "number_value":
        number = value.number_value
        if not math.isfinite(number):
            raise _NotPlainError
        return number
    if kind == "bool_value":
        return value.bool_value
    return None
