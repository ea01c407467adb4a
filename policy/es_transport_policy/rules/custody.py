"""INV-CUSTODY resource rule: private keys never in ConfigMaps (as PEM, or in a PKCS#12
keystore in `binaryData` that opens without a password); key files written 0600.

A key file is a bundle file holding a PEM private key or named by a `*.ssl.key` /
`*.ssl.keystore.path` setting (so its mode is judged at preview too, content unknown).

Secrecy of Secret data is not judged here: pulumi-policy unwraps secret values before a policy
sees them (README, "Secrets"), so the program's tests prove it instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import tokens
from ..documents import entries, named_files
from ..findings import Finding
from ..pem import has_private_key, pkcs12_store
from ..values import is_unknown, number, shown
from ..view import ResourceView

KEY_FILE_MODES = ("0600", "0400")
KEY_SETTINGS = (".ssl.key", ".ssl.keystore.path")


def _mode_text(mode: object) -> str:
    """A bundle file's mode as a message gives it. The project's bundle provider (LocalFiles)
    takes only a 4-digit octal string and refuses anything else at `up`, so a mode of another
    type says nothing of the bits the key would get."""
    if isinstance(mode, str):
        return mode
    value = number(mode)  # the engine sends every number as a float
    whole = int(value) if value is not None and float(value).is_integer() else None
    bits = "" if whole is None else f"; as bits, 0o{whole:o}"
    return (f"{shown(mode) if whole is None else whole}, not a 4-digit octal string such as "
            f"\"0600\" (the bundle's provider refuses it{bits}), so the key cannot be shown "
            "to be written 0600")


def _names_key(setting: str) -> bool:
    return setting.endswith(KEY_SETTINGS)


def key_custody(view: ResourceView, _config: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    bundle = tokens.is_bundle(view.type, view.props)  # only bundle files have modes
    key_files = named_files(view.type, view.props, _names_key) if bundle else {}
    for entry in entries(view.type, view.props):
        pem_key = isinstance(entry.text, str) and has_private_key(entry.text)
        store_key = (view.type in tokens.CONFIG_MAPS and entry.data is not None
                     and (store := pkcs12_store(entry.data)) is not None
                     and store.key is not None)
        if view.type in tokens.CONFIG_MAPS and (pem_key or store_key):
            form = "PEM private key" if pem_key else "PKCS#12 keystore holding a private key"
            findings.append(
                Finding(
                    "INV-CUSTODY",
                    f"a {form} in ConfigMap {entry.where}",
                    "ConfigMaps are not secret: readable by anyone who may read config, "
                    "logged, and stored unencrypted in state and etcd",
                    "put the key in a Secret (as a Pulumi secret); keep only certificates in "
                    "ConfigMaps",
                    view.urn,
                )
            )
        elif (
            bundle
            and (pem_key or entry.key in key_files)
            and not is_unknown(entry.mode)
            and entry.mode not in KEY_FILE_MODES
        ):
            named_by = key_files.get(entry.key)
            findings.append(
                Finding(
                    "INV-CUSTODY",
                    f"key file {entry.where} has mode {_mode_text(entry.mode)}"
                    + (f" (named by {', '.join(named_by)})" if named_by else ""),
                    "a private key file readable by other users lets them impersonate the node",
                    'write key files with mode "0600"',
                    view.urn,
                )
            )
    return findings
