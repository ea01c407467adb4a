"""INV-CUSTODY resource rule: private keys never in ConfigMaps; key files written 0600.

Secrecy of Secret data is not judged here: pulumi-policy unwraps secret values before a policy
sees them (README, "Secrets"), so the program's tests prove it instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import tokens
from ..documents import entries
from ..findings import Finding
from ..pem import has_private_key
from ..values import is_unknown
from ..view import ResourceView

KEY_FILE_MODES = ("0600", "0400")


def key_custody(view: ResourceView, _config: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    for entry in entries(view.type, view.props):
        if is_unknown(entry.text) or not has_private_key(str(entry.text)):
            continue
        if view.type == tokens.CONFIG_MAP:
            findings.append(
                Finding(
                    "INV-CUSTODY",
                    f"a PEM private key in ConfigMap {entry.where}",
                    "ConfigMaps are not secret: readable by anyone who may read config, "
                    "logged, and stored unencrypted in state and etcd",
                    "put the key in a Secret (as a Pulumi secret); keep only certificates in "
                    "ConfigMaps",
                    view.urn,
                )
            )
        elif isinstance(entry.mode, str) and entry.mode not in KEY_FILE_MODES:
            findings.append(
                Finding(
                    "INV-CUSTODY",
                    f"key file {entry.where} has mode {entry.mode}",
                    "a private key file readable by other users lets them impersonate the node",
                    'write key files with mode "0600"',
                    view.urn,
                )
            )
    return findings
