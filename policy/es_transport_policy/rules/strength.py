"""INV-STRENGTH resource rules: key algorithm/size and bounded certificate validity."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import certs, tokens
from ..findings import Finding, Grade
from ..values import is_unknown
from ..view import ResourceView

MIN_RSA_BITS = 2048
ALLOWED_CURVES = ("P256", "P384")


def key_strength(view: ResourceView, _config: Mapping[str, Any]) -> list[Finding]:
    if view.type != tokens.PRIVATE_KEY:
        return []
    algorithm = view.props.get("algorithm")
    if is_unknown(algorithm) or not isinstance(algorithm, str):
        return []
    algorithm = algorithm.upper()
    if algorithm == "RSA":
        bits = view.props.get("rsaBits", MIN_RSA_BITS)
        if is_unknown(bits) or bits is None or bits >= MIN_RSA_BITS:
            return []
        return [_weak(view, f"RSA key of {bits:g} bits", "rsa_bits=2048 (or 3072/4096)")]
    if algorithm == "ECDSA":
        curve = view.props.get("ecdsaCurve")
        if is_unknown(curve) or curve in ALLOWED_CURVES:
            return []
        what = (
            "ECDSA key without ecdsa_curve: pulumi-tls then uses P224"
            if curve is None
            else f"ECDSA key on curve {curve}"
        )
        return [_weak(view, what, 'ecdsa_curve="P256" (or "P384")')]
    if algorithm == "ED25519":
        return [
            Finding(
                "INV-STRENGTH",
                "ED25519 key for a certificate Elasticsearch would load",
                "Elasticsearch's PEM key loader and the JSSE of many JDKs do not accept Ed25519 "
                "certificates for TLS, so a node with this key may fail to start its transport",
                'use algorithm="ECDSA" with ecdsa_curve="P256" (or RSA 2048+)',
                view.urn,
                Grade.NOTICE,
            )
        ]
    return []


def _weak(view: ResourceView, what: str, fix: str) -> Finding:
    return Finding(
        "INV-STRENGTH",
        what,
        "transport keys protect every node-to-node connection; RSA below 2048 bits and curves "
        "other than P-256/P-384 are too weak or not accepted by every TLS stack",
        f"set {fix} on the tls.PrivateKey",
        view.urn,
    )


VALIDITY_CONFIG: dict[str, dict[str, Any]] = {
    "maxCaValidityHours": {
        "type": "integer",
        "minimum": 1,
        "default": 87600,
        "description": "Longest validity_period_hours of a CA certificate (default 10 years).",
    },
    "maxLeafValidityHours": {
        "type": "integer",
        "minimum": 1,
        "default": 19800,
        "description": "Longest validity_period_hours of a leaf certificate (default 825 days).",
    },
    "minRenewBeforeHours": {
        "type": "integer",
        "minimum": 1,
        "default": 24,
        "description": "Smallest early_renewal_hours a certificate may have.",
    },
}


def validity(view: ResourceView, config: Mapping[str, Any]) -> list[Finding]:
    if view.type not in tokens.CERTS:
        return []
    ca = certs.is_ca(view.props)
    if is_unknown(ca):
        return []
    kind, limit_key = ("CA", "maxCaValidityHours") if ca else ("leaf", "maxLeafValidityHours")
    limit = int(config[limit_key])
    findings: list[Finding] = []
    hours = view.props.get("validityPeriodHours")
    if isinstance(hours, int | float) and hours > limit:
        findings.append(
            _validity(view, f"{kind} validity_period_hours {hours:g} exceeds {limit}",
                      f"validity_period_hours <= {limit} (policy config {limit_key})")
        )
    renew = view.props.get("earlyRenewalHours", 0)
    minimum = int(config["minRenewBeforeHours"])
    if not is_unknown(renew) and (renew or 0) < minimum:
        findings.append(
            _validity(view, f"early_renewal_hours is {renew or 0:g}, below {minimum}",
                      f"early_renewal_hours >= {minimum} (policy config minRenewBeforeHours)")
        )
    return findings


def _validity(view: ResourceView, what: str, fix: str) -> Finding:
    return Finding(
        "INV-STRENGTH",
        what,
        "bounded lifetimes limit how long a leaked key stays useful, and a renewal window > 0 "
        "lets certificates be replaced before they expire",
        f"set {fix}",
        view.urn,
    )
