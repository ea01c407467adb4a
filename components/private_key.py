"""The one way this project creates a `tls.PrivateKey` (INV-STRENGTH: explicit curve)."""

from __future__ import annotations

import pulumi
import pulumi_tls as tls

from components.model import KeyAlgorithm


def private_key(name: str, algorithm: KeyAlgorithm, opts: pulumi.ResourceOptions) -> tls.PrivateKey:
    # pulumi-tls defaults ECDSA to P-224, so the curve is passed even though it looks redundant.
    return tls.PrivateKey(
        name,
        algorithm=algorithm.tls_algorithm,
        ecdsa_curve=algorithm.ecdsa_curve,
        rsa_bits=algorithm.rsa_bits,
        opts=opts,
    )
