"""Facts about pulumi-tls certificate inputs, unknown-aware."""

from __future__ import annotations

from typing import Any

from . import tokens
from .values import UNKNOWN, Unknown, contains_unknown, is_unknown, shown


def is_ca(props: dict[str, Any]) -> bool | Unknown | None:
    """`isCaCertificate` (unset: false); None when it is not a boolean, which pulumi-tls
    refuses: whether the certificate is a CA cannot be told from it (`ca_problem` says so)."""
    value = props.get("isCaCertificate")
    if is_unknown(value):
        return UNKNOWN
    if value is None:
        return False
    return value if isinstance(value, bool) else None


def ca_problem(props: dict[str, Any]) -> str:
    """What is wrong with an `isCaCertificate` that `is_ca` cannot read."""
    return (f"isCaCertificate is {shown(props.get('isCaCertificate'))}, not a boolean, so "
            "whether the certificate is a CA cannot be judged (pulumi-tls refuses it)")


def allowed_uses(props: dict[str, Any]) -> frozenset[str] | Unknown | None:
    """The usages `allowedUses` names (unset: none); None when it is not a list, which
    pulumi-tls refuses: no usage can be told from it (`uses_problem` says so)."""
    value = props.get("allowedUses")
    if value is None:
        return frozenset()
    if is_unknown(value) or (isinstance(value, list) and contains_unknown(value)):
        return UNKNOWN
    if not isinstance(value, list):
        return None
    return frozenset(v for v in value if isinstance(v, str))


def uses_problem(props: dict[str, Any]) -> str:
    """What is wrong with an `allowedUses` that `allowed_uses` cannot read."""
    return (f"allowedUses is {shown(props.get('allowedUses'))}, not a list of usages, so "
            "neither its key usages nor its EKU can be judged (pulumi-tls refuses it)")


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
