"""ClusterCa: the CA dedicated to one cluster's transport layer (INV-CA-DEDICATED, INV-CA-SHAPE)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_tls as tls

from components import outputs
from components.certificate_facts import certificate_facts
from components.model import CaMode, CaSpec, KeyAlgorithm
from components.private_key import private_key
from components.rotation_state import RENEW_BEFORE_HOURS

CA_ALLOWED_USES = ["cert_signing", "crl_signing"]
# A deployed CA generation is never replaced in place: a changed input (`ca.validityDays`,
# `ca.commonName`, `keyAlgorithm`, or a new program version) would swap the CA of every node in
# one update (INV-TRUST-CONTINUITY). The change applies to the next generation (docs/rotation.md).
FIXED_KEY_INPUTS = ["algorithm", "ecdsa_curve", "rsa_bits"]
FIXED_CERT_INPUTS = [
    "subject", "is_ca_certificate", "set_subject_key_id", "allowed_uses",
    "validity_period_hours", "early_renewal_hours",
]


@dataclass(frozen=True)
class ClusterCaArgs:
    cluster: str
    spec: CaSpec
    key_algorithm: KeyAlgorithm
    generation: int = 1
    # Stack key `protectCa`: the engine refuses to delete or replace the key and certificate.
    protect: bool = False


class ClusterCa(pulumi.ComponentResource):
    """A generated (PrivateKey + SelfSignedCert) or provided CA.

    `private_key_pem` is always a secret; `cert_pem` is what every node trusts; `facts` its
    serial, fingerprint and not-after.
    """

    cert_pem: pulumi.Output[str]
    private_key_pem: pulumi.Output[str]
    fingerprint_sha256: pulumi.Output[str]
    facts: pulumi.Output[dict[str, str]]

    def __init__(
        self, name: str, args: ClusterCaArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("es-transport-pki:cluster_ca:ClusterCa", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, protect=args.protect)
        provided = args.spec.provided
        if args.spec.mode is CaMode.PROVIDED and provided is not None:
            self.cert_pem = pulumi.Output.from_input(provided.cert_pem)
            self.private_key_pem = outputs.secret(provided.key_pem)
            self.facts = self.cert_pem.apply(certificate_facts)
        else:
            key = private_key(
                f"{name}-key", args.key_algorithm,
                pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(ignore_changes=FIXED_KEY_INPUTS)
                ),
            )
            cert = tls.SelfSignedCert(
                f"{name}-cert",
                private_key_pem=key.private_key_pem,
                subject=tls.SelfSignedCertSubjectArgs(
                    common_name=args.spec.common_name,
                    organization=args.spec.organization,
                    organizational_unit=args.cluster,
                    serial_number=generation_serial(args.generation),
                ),
                is_ca_certificate=True,
                # No max_path_length: pulumi-tls cannot encode pathLen 0 (it never sets Go's
                # MaxPathLenZero, so 0 means "unlimited"). The CA only ever signs leaves here.
                set_subject_key_id=True,
                allowed_uses=CA_ALLOWED_USES,
                validity_period_hours=args.spec.lifetime.validity_hours,
                early_renewal_hours=args.spec.lifetime.renew_before_hours,
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(ignore_changes=FIXED_CERT_INPUTS)
                ),
            )
            self.cert_pem = cert.cert_pem
            self.private_key_pem = outputs.secret(key.private_key_pem)
            # With the deployed CA's own window (ignore_changes keeps it when config changes).
            self.facts = pulumi.Output.all(cert.cert_pem, cert.early_renewal_hours).apply(
                lambda pair: {**certificate_facts(pair[0]), RENEW_BEFORE_HOURS: str(pair[1])}
            )
        self.fingerprint_sha256 = self.facts.apply(lambda facts: facts["fingerprintSha256"])
        self.register_outputs(
            {
                "certPem": self.cert_pem,
                "privateKeyPem": self.private_key_pem,
                "fingerprintSha256": self.fingerprint_sha256,
                "facts": self.facts,
            }
        )


def generation_serial(generation: int) -> str | None:
    """Subject serialNumber of a CA generation after the first, so that two live generations
    never share a subject (chain builders pick issuers by subject). Generation 1 has none: it
    is the CA of every stack deployed before rotation existed, and its inputs must not change."""
    return None if generation == 1 else f"g{generation}"
