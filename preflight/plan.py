"""What a recorded program run would create, per cluster: the plan table's rows."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from harness.mock_runtime import Recording, Registration, reveal

PKI_TYPE = "es-transport-pki:transport_pki:TransportPki"
CA_TYPE = "es-transport-pki:cluster_ca:ClusterCa"
NODE_CERT_TYPE = "tls:index/locallySignedCert:LocallySignedCert"
CERT_TYPES = frozenset({NODE_CERT_TYPE, "tls:index/selfSignedCert:SelfSignedCert"})


@dataclass(frozen=True)
class ClusterPlan:
    cluster: str
    delivery: str
    ca_fingerprint: str
    nodes: int
    certificates: int
    resources: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _descendants(recording: Recording, root: Registration) -> list[Registration]:
    by_parent: dict[str, list[Registration]] = {}
    for registration in recording.registrations:
        by_parent.setdefault(registration.parent, []).append(registration)
    found: list[Registration] = []
    pending = [root.urn]
    while pending:
        for child in by_parent.get(pending.pop(), []):
            found.append(child)
            pending.append(child.urn)
    return found


def cluster_plans(recording: Recording) -> list[ClusterPlan]:
    exported = reveal(recording.stack_outputs.get("clusters", {}))
    plans = []
    # By name: registration order varies between runs (the SDK registers from several threads).
    for pki in sorted(recording.of_type(PKI_TYPE), key=lambda r: r.name):
        below = _descendants(recording, pki)
        inventory = exported.get(pki.name, {})
        plans.append(
            ClusterPlan(
                cluster=pki.name,
                delivery=str(inventory.get("delivery", "?")),
                ca_fingerprint=str(inventory.get("caFingerprintSha256", "?")),
                # Node certificates are the PKI's own children (CA certificates are its CAs').
                nodes=sum(r.type == NODE_CERT_TYPE and r.parent == pki.urn for r in below),
                certificates=sum(r.type in CERT_TYPES for r in below),
                resources=dict(sorted(Counter(r.type for r in below if r.custom).items())),
            )
        )
    return plans
