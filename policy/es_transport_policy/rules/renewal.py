"""INV-RENEWAL (stack): a certificate inside its renewal window that this update keeps.

At preview a certificate being replaced has an unknown `validityEndTime`, so a known one
means the certificate survives the update.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .. import tokens
from ..findings import Finding
from ..graph import StackGraph
from ..values import number

RENEWAL_CONFIG: dict[str, dict[str, Any]] = {
    "renewBeforeHours": {
        "type": "integer",
        "minimum": 1,
        "default": 720,
        "description": "Renewal window for certificates without early_renewal_hours.",
    }
}


def _end_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        end = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return end if end.tzinfo else end.replace(tzinfo=UTC)


def renewal(graph: StackGraph, config: Mapping[str, Any]) -> list[Finding]:
    now = datetime.now(UTC)
    findings: list[Finding] = []
    for node in graph.of_type(*tokens.CERTS):
        end = _end_time(node.props.get("validityEndTime"))
        if end is None:
            continue
        early = number(node.props.get("earlyRenewalHours"))
        hours = float(early if early is not None and early > 0 else config["renewBeforeHours"])
        # Compared in hours: a window beyond timedelta's range (any number is legal input)
        # holds every end time.
        if (end - now).total_seconds() / 3600 > hours:
            continue
        state = "expired" if end <= now else f"expires within its {hours:g} h window"
        findings.append(
            Finding(
                "INV-RENEWAL",
                f"certificate {state} ({end:%Y-%m-%d %H:%M} UTC) and is not replaced by this "
                "update",
                "pulumi-tls does not always renew on early_renewal_hours alone "
                "(pulumi/pulumi-tls#39); an expired transport certificate splits the cluster",
                "run `pulumi up` with the renewal generation advanced (or bump rotationEpoch "
                "in stack config) so the certificate is re-issued",
                node.urn,
            )
        )
    return findings
