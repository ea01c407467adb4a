"""Resource rules on every pulumi-tls certificate: INV-EKU and INV-LEAF (advisory, any leaf),
INV-CA-SHAPE (CA certificates)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import certs, tokens
from ..findings import Finding, Grade
from ..values import UNKNOWN, Unknown, is_unknown
from ..view import ResourceView

EKU_WHY = (
    "a node presents its certificate as TLS server and as TLS client; JSSE and OpenSSL reject "
    "a client certificate whose EKU lacks clientAuth"
)


def _leaf_uses(view: ResourceView) -> frozenset[str] | Unknown | None:
    """allowedUses (`certs.allowed_uses`) of a certificate known not to be a CA, else
    UNKNOWN."""
    if view.type not in tokens.CERTS or certs.is_ca(view.props) is not False:
        return UNKNOWN
    return certs.allowed_uses(view.props)


def leaf_eku(view: ResourceView, _config: Mapping[str, Any]) -> list[Finding]:
    # The program's HTTP certificates are serverAuth-only on purpose; if one were used for
    # transport all the same, es-transport-eku (which sees uses) blocks it.
    if tokens.under_component(view.urn, tokens.HTTP_PKI):
        return []
    uses = _leaf_uses(view)
    # An allowedUses that is not a list is es-transport-leaf-usage's finding.
    problem = certs.eku_problem(uses) if isinstance(uses, frozenset) else None
    if problem is None:
        return []
    return [
        Finding(
            "INV-EKU",
            f"{problem}. Advisory for any leaf certificate; es-transport-eku blocks it when "
            "the certificate is used for transport",
            EKU_WHY,
            "for a transport certificate, give allowed_uses both server_auth and client_auth "
            "(or no EKU value at all); an HTTP-only certificate may keep server_auth alone",
            view.urn,
        )
    ]


def leaf_usage(view: ResourceView, _config: Mapping[str, Any]) -> list[Finding]:
    uses = _leaf_uses(view)
    if is_unknown(uses):
        return []
    problems = (certs.leaf_usage_problems(uses, rsa=False) if isinstance(uses, frozenset)
                else [certs.uses_problem(view.props)])
    return [
        Finding(
            "INV-LEAF",
            problem,
            "TLS needs digitalSignature for ECDHE/ECDSA handshakes (and keyEncipherment for "
            "RSA key exchange); a leaf must not be able to sign certificates",
            "set allowed_uses to digital_signature (+ key_encipherment for RSA keys), "
            "server_auth, client_auth",
            view.urn,
        )
        for problem in problems
    ]


def ca_shape(view: ResourceView, _config: Mapping[str, Any]) -> list[Finding]:
    if view.type not in tokens.CERTS:
        return []
    ca = certs.is_ca(view.props)
    if ca is None:
        return [
            Finding(
                "INV-CA-SHAPE",
                certs.ca_problem(view.props),
                "a CA needs basicConstraints CA:true and keyCertSign, a node certificate must "
                "not be a CA; neither can be shown",
                "set is_ca_certificate to true (a CA) or false (a node certificate; unset is "
                "false)",
                view.urn,
            )
        ]
    if ca is not True:
        return []
    uses = certs.allowed_uses(view.props)
    if uses is None:
        return [
            Finding(
                "INV-CA-SHAPE",
                f"a CA certificate whose {certs.uses_problem(view.props)}",
                "without keyUsage keyCertSign no TLS stack accepts the certificates it signs",
                'set allowed_uses to a list: ["cert_signing", "crl_signing"]',
                view.urn,
            )
        ]
    if not isinstance(uses, frozenset):
        return []
    findings: list[Finding] = []
    if "cert_signing" not in uses:
        findings.append(
            Finding(
                "INV-CA-SHAPE",
                "a CA certificate (is_ca_certificate: true) without cert_signing in allowed_uses",
                "without keyUsage keyCertSign no TLS stack accepts the certificates it signs",
                'add "cert_signing" (and "crl_signing") to allowed_uses',
                view.urn,
            )
        )
    if "crl_signing" not in uses:
        findings.append(_notice(view, "allowed_uses lacks crl_signing", '"crl_signing"'))
    # pulumi-tls cannot encode pathLen 0 (it never sets Go's MaxPathLenZero: 0 and unset both
    # mean "no constraint"), so only an explicit positive length, which invites intermediates,
    # is worth a notice.
    path_length = view.props.get("maxPathLength")
    if isinstance(path_length, int | float) and path_length > 0:
        findings.append(
            _notice(
                view, f"maxPathLength {path_length:g} allows intermediate CAs",
                "no max_path_length",
            )
        )
    return findings


def _notice(view: ResourceView, what: str, fix: str) -> Finding:
    return Finding(
        "INV-CA-SHAPE",
        f"CA certificate: {what} (recommended)",
        "a dedicated transport CA signs node certificates only, never intermediates; "
        "cRLSign is the usual companion of keyCertSign",
        f"set {fix} on the CA certificate",
        view.urn,
        Grade.NOTICE,
    )
