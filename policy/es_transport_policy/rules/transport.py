"""INV-MTLS and INV-VERIFY: transport TLS settings wherever they appear."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..documents import settings_documents
from ..findings import Finding, Grade
from ..values import is_unknown, truthy
from ..view import ResourceView

PREFIX = "xpack.security.transport.ssl."
ENABLED = PREFIX + "enabled"
CLIENT_AUTHENTICATION = PREFIX + "client_authentication"
VERIFICATION_MODE = PREFIX + "verification_mode"
ECK_RESERVED_WHY = (
    "ECK owns this setting (UnsupportedSettings) and merges user config over its own, so the "
    "value silently replaces ECK's"
)

VERIFY_CONFIG: dict[str, dict[str, Any]] = {
    "allowedVerificationModes": {
        "type": "array",
        "items": {"type": "string", "enum": ["full", "certificate"]},
        "default": ["full", "certificate"],
        "description": "verification_mode values accepted (never `none`).",
    }
}


def mtls(view: ResourceView, _config: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    for doc in settings_documents(view.type, view.props):
        if is_unknown(doc.settings):
            continue
        assert isinstance(doc.settings, dict)
        enabled = doc.settings.get(ENABLED)
        if (not doc.eck or enabled is not None) and truthy(enabled) is False:
            findings.append(
                _finding(
                    view, f"{doc.where}: {ENABLED} is {enabled!r}, not true",
                    "without it node-to-node traffic is plaintext and unauthenticated",
                    f"set {ENABLED}: true" + (" (or leave it to ECK)" if doc.eck else ""),
                )
            )
        if doc.eck and enabled is not None:
            findings.append(
                _finding(view, f"{doc.where}: {ENABLED} is set under ECK", ECK_RESERVED_WHY,
                         f"remove {ENABLED} from nodeSets[].config", grade=Grade.NOTICE)
            )
        auth = doc.settings.get(CLIENT_AUTHENTICATION)
        if isinstance(auth, str) and auth.strip().lower() in ("optional", "none"):
            findings.append(
                _finding(
                    view, f"{doc.where}: {CLIENT_AUTHENTICATION} is {auth!r}",
                    "optional/none lets anyone with network access open transport connections "
                    "and call internal APIs",
                    f"remove {CLIENT_AUTHENTICATION} (default required) or set it to required",
                )
            )
    return findings


def verify(view: ResourceView, config: Mapping[str, Any]) -> list[Finding]:
    allowed = [str(m) for m in config["allowedVerificationModes"]]
    findings: list[Finding] = []
    for doc in settings_documents(view.type, view.props):
        if is_unknown(doc.settings):
            continue
        assert isinstance(doc.settings, dict)
        mode = doc.settings.get(VERIFICATION_MODE)
        if mode is None or is_unknown(mode):
            continue
        if str(mode).strip().lower() not in allowed:
            findings.append(
                _finding(
                    view, f"{doc.where}: {VERIFICATION_MODE} is {mode!r}",
                    "`none` accepts any peer certificate, so the dedicated CA protects nothing",
                    f"set {VERIFICATION_MODE} to one of {allowed} (default full)",
                    invariant="INV-VERIFY",
                )
            )
        if doc.eck:
            findings.append(
                _finding(view, f"{doc.where}: {VERIFICATION_MODE} is set under ECK",
                         ECK_RESERVED_WHY, f"remove {VERIFICATION_MODE} from nodeSets[].config",
                         grade=Grade.NOTICE, invariant="INV-VERIFY")
            )
    return findings


def _finding(
    view: ResourceView,
    what: str,
    why: str,
    fix: str,
    *,
    grade: Grade = Grade.BLOCKING,
    invariant: str = "INV-MTLS",
) -> Finding:
    return Finding(invariant, what, why, fix, view.urn, grade)
