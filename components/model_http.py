"""The typed model of a cluster's HTTP layer (stack key `clusters[i].http`).

HTTP certificates are kept apart from transport by construction (INV-SEPARATE): their own CA
(generated) or an external chain (provided), their own keys, their own files and Secret.
`ClusterSpec.http` is None for `http.mode: none`: the program leaves HTTP alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class HttpMode(Enum):
    NONE = "none"
    PROVIDED = "provided"
    GENERATED = "generated"


class HttpCertificates(Enum):
    """How many HTTP certificates a generated HTTP CA issues for a cluster."""

    # One per node, for the node's own names plus `http.dns`/`http.ips` (VMs only: ECK takes
    # one certificate for every pod).
    PER_NODE = "per-node"
    # One for the cluster, shared by every node.
    SHARED = "shared"


@dataclass(frozen=True)
class ProvidedHttp:
    """A certificate chain (leaf first) and its key from any CA, public or organisation."""

    chain_pem: str
    key_pem: str = field(repr=False)
    # What clients trust (ECK `ca.crt`, `certificate_authorities`); None for a public CA.
    ca_pem: str | None


@dataclass(frozen=True)
class HttpSpec:
    mode: HttpMode  # PROVIDED or GENERATED
    certificates: HttpCertificates
    # Extra names clients reach the cluster by (a load balancer, an ingress).
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    ca_common_name: str
    provided: ProvidedHttp | None = None
