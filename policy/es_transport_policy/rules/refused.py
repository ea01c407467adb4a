"""Transport SSL settings Elasticsearch refuses to start on (es-transport-settings).

In every scope where Elasticsearch reads transport SSL settings (`xpack.security.transport.ssl.`
and each named profile's `transport.profiles.<name>.xpack.security.ssl.`; the default
profile's are es-transport-mtls's), of ECK `nodeSets[].config` and of every elasticsearch.yml:

* a setting Elasticsearch does not know (a misspelling such as `certificate_authorites`):
  "unknown setting [...]" (INV-MTLS: the node does not start with the TLS it was given);
* `client_authentication` or `verification_mode` with a value SslClientAuthenticationMode /
  SslVerificationMode cannot parse (`requried`, `fulll`, " full"): INV-MTLS / INV-VERIFY;
* a secure setting (`*.secure_password`, `secure_key_passphrase`) outside the keystore:
  "must be stored inside the Elasticsearch keystore" (INV-CUSTODY: a password in a file);
* and one Elasticsearch does start on: a deprecated plain-text password (`keystore.password`,
  `keystore.key_password`, `truststore.password`, `key_passphrase`), INV-CUSTODY for the same
  reason (DESIGN §6: passwords belong in the keystore, never in the yml).

Nothing is judged that is unknown at preview (an unknown value may be an empty map, i.e. no
setting), nor a key holding `${`; a mode given as `${VAR}` or as a list is not judged either
(`ssl_keys.setting_mode`). The known settings are `ssl_keys.SETTINGS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..documents import SettingsDoc, settings_documents, transport_ssl_scope
from ..findings import Finding
from ..ssl_keys import MODES, PARSE_SOURCE, PLAIN_PASSWORDS, SECURE, SETTINGS, nearest, setting_mode
from ..values import is_unknown, shown, substituted_at_startup
from ..view import ResourceView

SOURCE = "elastic/elasticsearch"
UNKNOWN_WHY = (
    "Elasticsearch refuses to start: \"unknown setting [{key}] please check that any required "
    "plugins are installed, or check the breaking changes documentation for removed settings\" "
    "(AbstractScopedSettings.validate; the transport SSL settings are SslConfigurationKeys and "
    f"SSLConfigurationSettings, {SOURCE})"
)
SECURE_WHY = (
    "Elasticsearch refuses to start: \"Setting [{key}] is a secure setting and must be stored "
    "inside the Elasticsearch keystore, but was found inside elasticsearch.yml\" "
    f"(SecureSetting.get, {SOURCE}); and a password in a config file is readable by whoever "
    "reads the file"
)
PLAIN_PASSWORD_WHY = (
    "the password that opens the node's key store (or its passphrase) is then readable by "
    "whoever reads the settings: the file, the Kubernetes object or Pulumi state it comes from; "
    "Elasticsearch accepts it only as a deprecated setting and reads its secure_* twin from the "
    f"keystore (SSLConfigurationSettings, {SOURCE})"
)
MODE_WHY = (
    "Elasticsearch refuses to start ({source}, {repo}; recognised values [{modes}]): it "
    "lower-cases the text but does not trim it, and a YAML boolean or a number is no mode"
)
MODE_INVARIANT = {"client_authentication": "INV-MTLS", "verification_mode": "INV-VERIFY"}
MODE_ADVICE = {
    "client_authentication": "set {key} to required, or remove it (required is the default); "
                             "optional/none only with a waiver (INV-MTLS)",
    "verification_mode": "set {key} to full or certificate, or remove it (full is the "
                         "default); never none (INV-VERIFY)",
}


def refused(view: ResourceView, _config: Mapping[str, Any]) -> list[Finding]:
    return refused_documents(view.urn, settings_documents(view.type, view.props))


def refused_documents(urn: str, docs: Iterable[SettingsDoc]) -> list[Finding]:
    """es-transport-settings's checks of settings documents of the resource `urn`."""
    findings: list[Finding] = []
    for doc in docs:
        if is_unknown(doc.settings):
            continue
        assert isinstance(doc.settings, dict)
        for key, value in doc.settings.items():
            scope = transport_ssl_scope(key)
            if scope is None or is_unknown(value) or substituted_at_startup(key):
                continue
            profile, name = scope
            note = "" if profile is None else f" (transport profile {profile!r})"
            if name not in SETTINGS:
                findings.append(_unknown(urn, doc, key, name, note))
            elif name in SECURE:
                findings.append(_secure(urn, doc, key, note))
            elif name in PLAIN_PASSWORDS:
                findings.append(_plain_password(urn, doc, key, name, note))
            elif name in MODES and setting_mode(value, MODES[name]) is None:
                findings.append(_bad_mode(urn, doc, key, name, value=value, note=note))
    return findings


def _unknown(urn: str, doc: SettingsDoc, key: str, name: str, note: str) -> Finding:
    prefix = key[: len(key) - len(name)]
    near = nearest(name, SETTINGS)
    fix = (f"rename it to {prefix}{near}, the nearest setting Elasticsearch knows there"
           if near is not None else
           f"remove it; the settings under {prefix} are {', '.join(sorted(SETTINGS))}")
    return Finding("INV-MTLS", f"{doc.where}: {key} is not a setting Elasticsearch knows{note}",
                   UNKNOWN_WHY.format(key=key), fix, urn)


def _secure(urn: str, doc: SettingsDoc, key: str, note: str) -> Finding:
    return Finding("INV-CUSTODY",
                   f"{doc.where}: {key} is set in the node's settings{note} (value withheld)",
                   SECURE_WHY.format(key=key),
                   f"move it from {doc.source} to {_keystore_route(doc, key)}",
                   urn)


def _plain_password(
    urn: str, doc: SettingsDoc, key: str, name: str, note: str
) -> Finding:
    secure = key[: len(key) - len(name)] + PLAIN_PASSWORDS[name]
    return Finding("INV-CUSTODY",
                   f"{doc.where}: {key} is a password in plain text{note} (value withheld)",
                   PLAIN_PASSWORD_WHY,
                   f"remove it from {doc.source} and give the same value as {secure} "
                   f"in {_keystore_route(doc, secure)}", urn)


def _keystore_route(doc: SettingsDoc, key: str) -> str:
    if doc.eck:
        return f"spec.secureSettings (a Secret whose key is {key}; ECK adds it to the keystore)"
    return f"the keystore (bin/elasticsearch-keystore add {key})"


def _bad_mode(
    urn: str, doc: SettingsDoc, key: str, name: str, *, value: object, note: str
) -> Finding:
    modes = MODES[name]
    near = nearest(str(value).strip().lower(), modes)
    hint = f"; {shown(value)} is nearest to {near!r}" if near is not None else ""
    return Finding(
        MODE_INVARIANT[name],
        f"{doc.where}: {key} is {shown(value)}{note}, which Elasticsearch cannot parse",
        MODE_WHY.format(source=PARSE_SOURCE[name], repo=SOURCE + " libs/ssl-config",
                        modes=",".join(modes)),
        MODE_ADVICE[name].format(key=key)
        + f"; Elasticsearch accepts {', '.join(modes)} (any case, nothing around it){hint}",
        urn,
    )
