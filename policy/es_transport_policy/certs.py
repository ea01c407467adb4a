"""Facts about pulumi-tls certificate inputs, unknown-aware."""

from __future__ import annotations

from typing import Any

from . import tokens
from .values import UNKNOWN, Unknown, contains_unknown, is_unknown


def is_ca(props: dict[str, Any]) -> bool | Unknown:
    value = props.get("isCaCertificate")
    if is_unknown(value):
        return UNKNOWN
    return value is True


def allowed_uses(props: dict[str, Any]) -> frozenset[str] | Unknown:
    value = props.get("allowedUses")
    if contains_unknown(value):
        return UNKNOWN
    return frozenset(v for v in value or [] if isinstance(v, str))


def eku_problem(uses: frozenset[str]) -> str | None:
    """INV-EKU: no EKU at all, or both clientAuth and serverAuth."""
    ekus = uses & tokens.EKU_VALUES
    if not ekus or ekus >= tokens.TRANSPORT_EKU:
        return None
    return f"allowedUses has EKU {sorted(ekus)} without both client_auth and server_auth"


def leaf_usage_problems(uses: frozenset[str], rsa: bool | Unknown) -> list[str]:
    """INV-LEAF key usages of a node certificate."""
    problems: list[str] = []
    if "digital_signature" not in uses:
        problems.append("allowedUses lacks digital_signature (needed for (EC)DHE handshakes)")
    if rsa is True and "key_encipherment" not in uses:
        problems.append("allowedUses lacks key_encipherment, expected for an RSA key")
    if "cert_signing" in uses:
        problems.append("allowedUses has cert_signing on a certificate that is not a CA")
    return problems
