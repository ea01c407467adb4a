"""INV-STRENGTH resource rules: key algorithm/size and bounded certificate validity."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import certs, tokens
from ..findings import Finding, Grade
from ..pem import MIN_RSA_BITS, STRONG_CURVES, request_key_weakness
from ..values import is_unknown, number, shown
from ..view import ResourceView

ALLOWED_CURVES = tuple(STRONG_CURVES.values())


def key_strength(view: ResourceView, _config: Mapping[str, Any]) -> list[Finding]:
    if view.type == tokens.LOCALLY_SIGNED_CERT:
        return _request_strength(view)
    if view.type != tokens.PRIVATE_KEY:
        return []
    algorithm = view.props.get("algorithm")
    if is_unknown(algorithm) or not isinstance(algorithm, str):
        return []
    algorithm = algorithm.upper()
    if algorithm == "RSA":
        bits = view.props.get("rsaBits")
        size = number(bits)
        if is_unknown(bits) or bits is None or (size is not None and size >= MIN_RSA_BITS):
            return []  # unset: pulumi-tls's 2048
        what = (f"RSA key of {size:g} bits" if size is not None else
                f"rsaBits is {shown(bits)}, not a number of bits, so the key size cannot be judged "
                "(pulumi-tls refuses it)")
        return [_weak(view, what, "rsa_bits=2048 (or 3072/4096)")]
    if algorithm == "ECDSA":
        curve = view.props.get("ecdsaCurve")
        if is_unknown(curve) or curve in ALLOWED_CURVES:
            return []
        what = (
            "ECDSA key without ecdsa_curve: pulumi-tls then uses P224"
            if curve is None
            else f"ECDSA key on curve {curve if isinstance(curve, str) else shown(curve)}"
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


def _request_strength(view: ResourceView) -> list[Finding]:
    """A certificate signed from a request given as PEM (the key stays with whoever made the
    request, outside the stack): the request's key, as a PrivateKey's."""
    request = view.props.get("certRequestPem")
    weak = request_key_weakness(request) if isinstance(request, str) else None
    if weak is None:
        return []
    return [_weak(view, f"certRequestPem holds {weak}",
                  "a request for an RSA >= 2048 or ECDSA P-256/P-384 key (make the key anew)")]


def _weak(view: ResourceView, what: str, fix: str) -> Finding:
    return Finding(
        "INV-STRENGTH",
        what,
        "transport keys protect every node-to-node connection; RSA below 2048 bits and curves "
        "other than P-256/P-384 are too weak or not accepted by every TLS stack",
        f"set {fix} on the tls.PrivateKey" if view.type == tokens.PRIVATE_KEY else f"sign {fix}",
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
    if ca is None:  # not a boolean (es-transport-ca-shape): what exceeds either limit
        kind, limit_key = "certificate", max(
            ("maxCaValidityHours", "maxLeafValidityHours"), key=lambda k: int(config[k]))
    limit = int(config[limit_key])
    findings: list[Finding] = []
    hours = view.props.get("validityPeriodHours")
    lifetime = number(hours)
    if lifetime is not None and lifetime > limit:
        findings.append(
            _validity(view, f"{kind} validity_period_hours {lifetime:g} exceeds {limit}",
                      f"validity_period_hours <= {limit} (policy config {limit_key})")
        )
    elif lifetime is None and hours is not None and not is_unknown(hours):
        findings.append(_validity(view, _not_hours("validity_period_hours", hours),
                                  f"validity_period_hours to a number <= {limit}"))
    renew = view.props.get("earlyRenewalHours")
    minimum = int(config["minRenewBeforeHours"])
    window = 0 if renew is None else number(renew)  # unset: pulumi-tls's 0
    if window is not None and window < minimum:
        findings.append(
            _validity(view, f"early_renewal_hours is {window:g}, below {minimum}",
                      f"early_renewal_hours >= {minimum} (policy config minRenewBeforeHours)")
        )
    elif window is None and not is_unknown(renew):
        findings.append(_validity(view, _not_hours("early_renewal_hours", renew),
                                  f"early_renewal_hours to a number >= {minimum}"))
    return findings


def _not_hours(name: str, value: Any) -> str:
    return (f"{name} is {shown(value)}, not a number of hours, so it cannot be judged "
            "(pulumi-tls refuses it)")


def _validity(view: ResourceView, what: str, fix: str) -> Finding:
    return Finding(
        "INV-STRENGTH",
        what,
        "bounded lifetimes limit how long a leaked key stays useful, and a renewal window > 0 "
        "lets certificates be replaced before they expire",
        f"set {fix}",
        view.urn,
    )
