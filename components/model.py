"""The validated, typed model of a stack's configuration.

Everything here is frozen: `components.config` builds it once at the edge and components only
read it. Field names follow the stack keys they come from (see README "Configuration").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from components.model_eck import EckSpec, KubernetesSpec
from components.model_http import HttpSpec
from components.model_posture import Posture
from components.model_rotation import CaRotation, Epochs


class Delivery(Enum):
    VM = "vm"
    ECK = "eck"


class KeyAlgorithm(Enum):
    """Key algorithms allowed for transport keys (INV-STRENGTH).

    P-224 (pulumi-tls's ECDSA default) and RSA below 2048 bits are deliberately absent.
    """

    ECDSA_P256 = "ecdsa-p256"
    ECDSA_P384 = "ecdsa-p384"
    RSA_2048 = "rsa-2048"
    RSA_3072 = "rsa-3072"
    RSA_4096 = "rsa-4096"

    @property
    def is_rsa(self) -> bool:
        return self.value.startswith("rsa-")

    @property
    def tls_algorithm(self) -> str:
        """The `algorithm` input of `tls.PrivateKey`."""
        return "RSA" if self.is_rsa else "ECDSA"

    @property
    def ecdsa_curve(self) -> str | None:
        """The `ecdsaCurve` input; always explicit because the provider defaults to P224."""
        return None if self.is_rsa else self.value.removeprefix("ecdsa-").upper()

    @property
    def rsa_bits(self) -> int | None:
        return int(self.value.removeprefix("rsa-")) if self.is_rsa else None


class ClientAuthentication(Enum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    NONE = "none"


class VerificationMode(Enum):
    FULL = "full"
    CERTIFICATE = "certificate"


class BundleFormat(Enum):
    """How a VM node reads its material: PEM files, PKCS#12 stores, or both written."""

    PEM = "pem"
    PKCS12 = "pkcs12"
    BOTH = "both"


class CaMode(Enum):
    GENERATED = "generated"
    PROVIDED = "provided"


HOURS_PER_DAY = 24


@dataclass(frozen=True)
class Lifetime:
    """How long a certificate is valid and how early before expiry it is renewed."""

    validity_days: int
    renew_before_days: int

    @property
    def validity_hours(self) -> int:
        return self.validity_days * HOURS_PER_DAY

    @property
    def renew_before_hours(self) -> int:
        return self.renew_before_days * HOURS_PER_DAY


@dataclass(frozen=True)
class ProvidedCa:
    """An external CA dedicated to this cluster. The key came from secret config."""

    cert_pem: str
    key_pem: str = field(repr=False)
    public_key_der: bytes = field(repr=False)  # SubjectPublicKeyInfo: what clusters must not share


@dataclass(frozen=True)
class CaSpec:
    mode: CaMode
    common_name: str
    organization: str | None
    lifetime: Lifetime
    provided: ProvidedCa | None = None
    rotation: CaRotation = field(default_factory=CaRotation)


@dataclass(frozen=True)
class Waiver:
    """An explicit, named exception to INV-MTLS; it is still reported."""

    name: str
    reason: str
    expires: str | None


@dataclass(frozen=True)
class TransportSpec:
    client_authentication: ClientAuthentication
    verification_mode: VerificationMode
    waiver: Waiver | None = None


@dataclass(frozen=True)
class NodeSpec:
    """One Elasticsearch node and every name and address its peers reach it by."""

    name: str
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]

    @property
    def common_name(self) -> str:
        # The node name (a DNS label) always fits RFC 5280's 64-character CN limit; peers
        # verify SANs, never the CN.
        return self.name


@dataclass(frozen=True)
class VmSpec:
    """Delivery of a `delivery: vm` cluster: local bundle folders and cloud-init documents."""

    format: BundleFormat
    output_dir: str | None  # None: no local files (cloud-init only)
    config_dir: str
    owner: str


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    delivery: Delivery
    key_algorithm: KeyAlgorithm
    ca: CaSpec
    node_lifetime: Lifetime
    transport: TransportSpec
    nodes: tuple[NodeSpec, ...]
    eck: EckSpec | None = None
    vm: VmSpec | None = None
    http: HttpSpec | None = None  # None: http.mode none, HTTP is left alone
    epochs: Epochs = field(default_factory=Epochs)


@dataclass(frozen=True)
class StackSpec:
    clusters: tuple[ClusterSpec, ...]
    kubernetes: KubernetesSpec = field(default_factory=KubernetesSpec)
    posture: Posture = field(default_factory=Posture)


@dataclass(frozen=True)
class JudgedClusters:
    """What the checks against the last deployment judge: clusters with their index in
    `clusters`, and the names configured (None: an entry's name could not be read, so no
    deployed cluster can be called unconfigured)."""

    indexed: tuple[tuple[int, ClusterSpec], ...]
    names: frozenset[str] | None

    @classmethod
    def of(cls, spec: StackSpec) -> JudgedClusters:
        return cls(tuple(enumerate(spec.clusters)), frozenset(c.name for c in spec.clusters))
