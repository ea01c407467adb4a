"""The rotation keys of a cluster: `ca.generation`, `ca.rotation.step`, `rotationEpoch` and
`nodeRotationEpochs` (README "Configuration", docs/rotation.md).

Only their shape is checked here; whether a step may follow the last deployed one is decided by
`components.rotation` against the stack's previous outputs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from components.config_reader import (
    Problems,
    check_keys,
    choice,
    integer,
    join,
    join_name,
    mapping,
)
from components.model import CaMode
from components.model_rotation import CaRotation, Epochs, RotationStep

CA_ROTATION_KEYS = frozenset({"generation", "rotation"})
ROTATION_KEYS = frozenset({"step"})
CLUSTER_ROTATION_KEYS = frozenset({"rotationEpoch", "nodeRotationEpochs"})
MAX_GENERATION = 999
MAX_EPOCH = 1_000_000
_ECK_KEYS_PODS = "with eck.certificates: ca-to-eck, ECK creates and keeps the pods' transport keys"
_PER_NODE_ADVICE = "for pod keys that Pulumi issues and re-keys, use eck.certificates: per-node"


def ca_rotation(
    obj: Mapping[str, Any], key: str, mode: CaMode | None, problems: Problems
) -> CaRotation:
    """`ca.generation` and `ca.rotation` of the CA section `obj` at stack key `key`."""
    if mode is CaMode.PROVIDED:
        for name in sorted(CA_ROTATION_KEYS & set(obj)):
            problems.add(
                join(key, name),
                "only a generated CA rotates through generations; to replace a provided CA, "
                "follow docs/rotation.md 'Provided CAs' (remove the key)",
            )
        return CaRotation()
    generation = integer(obj, "generation", key, problems, default=1, low=1, high=MAX_GENERATION)
    raw = obj.get("rotation")
    if raw is None:
        return CaRotation(generation)
    rotation_key = join(key, "rotation")
    rotation = mapping(raw, rotation_key, problems)
    if rotation is None:
        return CaRotation(generation)
    check_keys(rotation, rotation_key, ROTATION_KEYS, problems)
    step = choice(rotation, "step", rotation_key, problems, enum=RotationStep, default=None)
    return CaRotation(generation, step)


def epochs(
    obj: Mapping[str, Any], key: str, node_names: Collection[str], problems: Problems, *,
    pods_keyed_by_eck: bool = False, http_generated: bool = False,
) -> Epochs:
    """`rotationEpoch` and `nodeRotationEpochs` of the cluster `obj` at stack key `key`.

    `pods_keyed_by_eck` (`eck.certificates: ca-to-eck`): ECK creates and keeps the pods'
    transport keys, so an epoch that would re-key nothing else is refused rather than accepted
    as a key-compromise response that does nothing."""
    cluster = integer(obj, "rotationEpoch", key, problems, default=0, low=0, high=MAX_EPOCH)
    nodes_key = join(key, "nodeRotationEpochs")
    raw = mapping(obj.get("nodeRotationEpochs"), nodes_key, problems) or {}
    if pods_keyed_by_eck:
        if cluster > 0 and not http_generated:
            problems.add(join(key, "rotationEpoch"), f"{_ECK_KEYS_PODS} and this cluster has "
                         "no generated HTTP certificate: it would re-key nothing. Remove it; "
                         f"{_PER_NODE_ADVICE}")
        if raw:
            problems.add(nodes_key, f"{_ECK_KEYS_PODS}: there is no pod key here for Pulumi to "
                         f"replace. Remove it; {_PER_NODE_ADVICE}")
        return Epochs(cluster, {})
    nodes: dict[str, int] = {}
    for name in sorted(raw):
        if name not in node_names:
            known = ", ".join(sorted(node_names)) or "none"
            problems.add(
                join_name(nodes_key, name),
                f"is not a node of this cluster (nodes and ECK pods: {known}); remove it or "
                "fix the name",
            )
            continue
        nodes[name] = integer(raw, name, nodes_key, problems, default=0, low=0, high=MAX_EPOCH)
    return Epochs(cluster, nodes)
