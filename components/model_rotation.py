"""Rotation in the typed model: CA generations and the rotation step that decides which of them
are trusted and which issues, rotation epochs, and what the last deployment left behind.

DESIGN §5 and docs/rotation.md: a CA rotation is three `pulumi up`s (introduce, switch,
retire); each is safe on its own because every node at one step and every node at the next
still trust each other's issuer (INV-TRUST-CONTINUITY).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum


class RotationStep(Enum):
    """Stack key `ca.rotation.step`: where a rotation from `ca.generation` to the next stands."""

    INTRODUCE = "introduce"  # the next generation is trusted; the current one still issues
    SWITCH = "switch"  # the next generation issues; both are trusted
    RETIRE = "retire"  # only the next generation is left


@dataclass(frozen=True)
class TrustState:
    """The CA generations every node trusts (ascending) and the one issuing node certificates."""

    generations: tuple[int, ...]
    issuing: int

    def describe(self) -> str:
        trusted = ", ".join(f"g{g}" for g in self.generations)
        return f"trusted [{trusted}], issuing g{self.issuing}"


@dataclass(frozen=True)
class CaRotation:
    """Stack keys `ca.generation` (the generation in service, default 1) and
    `ca.rotation.step` (absent while no rotation is in progress)."""

    generation: int = 1
    step: RotationStep | None = None

    @property
    def trust(self) -> TrustState:
        current, following = self.generation, self.generation + 1
        if self.step is None:
            return TrustState((current,), current)
        if self.step is RotationStep.INTRODUCE:
            return TrustState((current, following), current)
        if self.step is RotationStep.SWITCH:
            return TrustState((current, following), following)
        return TrustState((following,), following)


@dataclass(frozen=True)
class Epochs:
    """Stack keys `rotationEpoch` (every node of the cluster) and `nodeRotationEpochs` (one
    node or pod each). Raising one re-keys the nodes it covers, e.g. after a key compromise."""

    cluster: int = 0
    nodes: Mapping[str, int] = field(default_factory=dict)

    def of(self, node: str) -> tuple[int, int]:
        return self.cluster, self.nodes.get(node, 0)

    def of_every_node(self) -> tuple[int, int | str]:
        """For a key every node holds (a shared HTTP certificate's): raising any node's epoch
        says that node's keys may be compromised, this one among them. The node part names
        every raised node epoch (a digest: 0 while none is raised), so any change re-keys it.
        A sum would not: a removed node's entry must go (config refuses unknown nodes), and
        raising another node's epoch could then bring the sum back to a value it had."""
        raised = sorted((name, epoch) for name, epoch in self.nodes.items() if epoch)
        if not raised:
            return self.cluster, 0
        text = ",".join(f"{name}={epoch}" for name, epoch in raised)
        return self.cluster, hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class DeployedNode:
    """A certificate the program renews (a node's transport certificate, a generated HTTP
    certificate) as the last deployment exported it."""

    not_after: datetime
    renewal: int  # how many renewals the program has triggered for this certificate so far


@dataclass(frozen=True)
class DeployedCluster:
    """One cluster as the last deployment exported it (stack output `clusters.<name>`)."""

    trust: TrustState
    nodes: Mapping[str, DeployedNode]
    ca_not_after: Mapping[int, datetime]  # per live generation
    # Per live generation, the SHA-256 fingerprint its certificate was exported with.
    ca_fingerprints: Mapping[int, str] = field(default_factory=dict)
    # Its transport CA's `ca.mode` value; None for an inventory exported before it was.
    ca_mode: str | None = None
    # Per generation, the renew-before window it was created with (config may say less now:
    # a deployed CA keeps its inputs); absent for a provided CA or an older inventory.
    ca_renew_before_days: Mapping[int, int] = field(default_factory=dict)
    # Generated HTTP certificates by node name, or `shared` (stack output `http.<name>`).
    http_certificates: Mapping[str, DeployedNode] = field(default_factory=dict)
    # Generations withdrawn from trust but still in state (unprotected): they may come back.
    retiring: tuple[int, ...] = ()
    ca_protected: bool = False  # its generated CA's resources are `protect`ed in state
    http_ca_protected: bool = False  # so are those of its generated HTTP CA
    # Its generated HTTP CA's not-after; None if there is none, or exported before it was.
    http_ca_not_after: datetime | None = None
    http_ca_renew_before_days: int | None = None
    # Its nodes' keys, CSRs and certificates are the TransportPki's own children. False for
    # stacks deployed while each node had a NodeCertificate component: the next `up` moves
    # them through aliases (components.transport_pki).
    nodes_under_pki: bool = False
