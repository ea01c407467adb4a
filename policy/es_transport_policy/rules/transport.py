"""INV-MTLS and INV-VERIFY: transport TLS settings wherever they appear.

Elasticsearch reads transport SSL settings under `xpack.security.transport.ssl.` (the default
transport profile) and, for every named transport profile (its own port), under
`transport.profiles.<name>.xpack.security.ssl.` (ProfileConfigurations): each such scope is
judged alike. Any SSL setting of the `default` profile makes Elasticsearch refuse to start.
Values are read as Elasticsearch parses them (`ssl_keys.setting_mode`); one it cannot parse
(it refuses to start) is es-transport-settings' (rules/refused.py), not judged here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..documents import (
    PROFILE_SSL,
    PROFILES,
    TRANSPORT_SSL,
    SettingsDoc,
    settings_documents,
    transport_ssl_scope,
    unreadable_settings,
)
from ..findings import Finding, Grade
from ..ssl_keys import CLIENT_AUTHENTICATION_MODES, VERIFICATION_MODES, setting_mode
from ..values import is_unknown, setting_boolean, shown, substituted_at_startup
from ..view import ResourceView

PREFIX = TRANSPORT_SSL
ENABLED = PREFIX + "enabled"
VERIFICATION_MODE = PREFIX + "verification_mode"
SECURITY_ENABLED = "xpack.security.enabled"
DEFAULT_PROFILE_SSL = PROFILES + "default." + PROFILE_SSL
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


def _ssl_scopes(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(prefix, note for messages) of every scope in which Elasticsearch reads transport SSL
    settings: `xpack.security.transport.ssl.` and each named profile's own (profile names hold
    no dot). The default profile is none: its SSL settings are refused (see `mtls`)."""
    names = {
        scope[0] for key in settings
        if (scope := transport_ssl_scope(key)) is not None and scope[0] is not None
    }
    return [(PREFIX, "")] + [
        (f"{PROFILES}{name}.{PROFILE_SSL}", f" (transport profile {name!r}, its own port)")
        for name in sorted(names)
    ]


# INV-MTLS allows optional/none "only with an explicit, named waiver": that is all a waiver of
# es-transport-mtls is for. Plaintext (security or TLS off) and settings that stop the node are
# never excused by it, so a waiver granted for client authentication cannot cover them later.
MTLS_WAIVER_SCOPE = (
    "weakened client authentication (client_authentication optional or none, or a ${VAR} it "
    "cannot be shown required); security or transport TLS turned off, and settings "
    "Elasticsearch refuses to start on, stay mandatory"
)

UNREADABLE_WHY = (
    "its transport settings cannot be judged, so TLS on, client certificates required and "
    "peer verification cannot be shown (Elasticsearch itself refuses to start on a file that "
    "is not YAML or not a map)"
)


def mtls(view: ResourceView, _config: Mapping[str, Any]) -> list[Finding]:
    findings = [
        _finding(view.urn, f"{where}: elasticsearch.yml {why}", UNREADABLE_WHY,
                 "write elasticsearch.yml as one YAML map of settings (nested or dotted keys), "
                 "each key once in a map, each setting with a value (quote \"\" for empty "
                 "text; remove a setting to unset it), values written out (no aliases), under "
                 "10,000 settings", waivable=False)
        for where, why in unreadable_settings(view.type, view.props)
    ]
    return findings + mtls_documents(view.urn, settings_documents(view.type, view.props))


def mtls_documents(urn: str, docs: Iterable[SettingsDoc]) -> list[Finding]:
    """es-transport-mtls's checks of settings documents of the resource `urn`."""
    findings: list[Finding] = []
    for doc in docs:
        if is_unknown(doc.settings):
            continue
        assert isinstance(doc.settings, dict)
        security = doc.settings.get(SECURITY_ENABLED)
        if security is not None and setting_boolean(security) is None:
            findings.append(_not_a_boolean(urn, doc.where, SECURITY_ENABLED, security))
        elif security is not None and setting_boolean(security) is False:
            findings.append(
                _finding(
                    urn, f"{doc.where}: {SECURITY_ENABLED} is {shown(security)}",
                    "with security disabled Elasticsearch ignores every transport TLS setting: "
                    "node-to-node traffic is plaintext and unauthenticated",
                    f"remove {SECURITY_ENABLED} (default true) or set it to true",
                    waivable=False,
                )
            )
        enabled = doc.settings.get(ENABLED)
        if enabled is not None and setting_boolean(enabled) is None:
            findings.append(_not_a_boolean(urn, doc.where, ENABLED, enabled))
        elif (not (doc.eck or doc.partial) and enabled is None) or setting_boolean(
                enabled) is False:
            findings.append(
                _finding(
                    urn, f"{doc.where}: {ENABLED} is {shown(enabled)}, not true",
                    "without it node-to-node traffic is plaintext and unauthenticated",
                    f"set {ENABLED}: true" + (" (or leave it to ECK)" if doc.eck else ""),
                    waivable=False,
                )
            )
        if doc.eck and enabled is not None:
            findings.append(
                _finding(urn, f"{doc.where}: {ENABLED} is set under ECK", ECK_RESERVED_WHY,
                         f"remove {ENABLED} from nodeSets[].config", grade=Grade.NOTICE)
            )
        for prefix, note in _ssl_scopes(doc.settings):
            setting = prefix + "client_authentication"
            auth = doc.settings.get(setting)
            weak = setting_mode(auth, CLIENT_AUTHENTICATION_MODES) in ("optional", "none")
            # Known only when Elasticsearch starts: never shown required.
            from_env = substituted_at_startup(auth)
            if weak or from_env:
                unread = (", which Elasticsearch substitutes at startup, so it cannot be shown "
                          "to be required" if from_env else "")
                findings.append(
                    _finding(
                        urn, f"{doc.where}: {setting} is {auth!r}{note}{unread}",
                        "optional/none lets anyone with network access open transport "
                        "connections and call internal APIs",
                        f"remove {setting} (default required) or set it to required",
                    )
                )
        findings += [
            _finding(
                urn, f"{doc.where}: {key} is set (SSL setting of the default transport profile)",
                "Elasticsearch refuses to start: \"SSL settings should not be configured for the "
                "default profile. Use the [xpack.security.transport.ssl] settings instead.\"",
                f"remove {key}; configure the default profile through "
                f"{PREFIX}{key[len(DEFAULT_PROFILE_SSL):]} instead", waivable=False,
            )
            for key in sorted(doc.settings)
            if key.startswith(DEFAULT_PROFILE_SSL)
        ]
    return findings


def _not_a_boolean(urn: str, where: str, setting: str, value: Any) -> Finding:
    """A boolean setting whose value is neither true nor false: Elasticsearch refuses to start
    (it does not run with TLS off, nor with security off)."""
    return _finding(
        urn, f"{where}: {setting} is {shown(value)}, not a boolean",
        "Elasticsearch accepts only true or false for it and refuses to start "
        "(Booleans.parseBoolean: \"Failed to parse value [...] as only [true] or [false] are "
        "allowed\"); a quoted YAML word (\"yes\", \"on\") or another casing (\"True\") is "
        "text, not a boolean",
        f"set {setting}: true", waivable=False,
    )


def verify(view: ResourceView, config: Mapping[str, Any]) -> list[Finding]:
    return verify_documents(view.urn, settings_documents(view.type, view.props), config)


def verify_documents(
    urn: str, docs: Iterable[SettingsDoc], config: Mapping[str, Any]
) -> list[Finding]:
    """es-transport-verify's checks of settings documents of the resource `urn`."""
    allowed = [str(m) for m in config["allowedVerificationModes"]]
    findings: list[Finding] = []
    for doc in docs:
        if is_unknown(doc.settings):
            continue
        assert isinstance(doc.settings, dict)
        for prefix, note in _ssl_scopes(doc.settings):
            setting = prefix + "verification_mode"
            mode = doc.settings.get(setting)
            if mode is None or is_unknown(mode):
                continue
            parsed = setting_mode(mode, VERIFICATION_MODES)
            # A mode Elasticsearch cannot parse is es-transport-settings' (it refuses to
            # start); one that cannot be read here (`${VAR}`, a list) is not shown allowed.
            if parsed is not None and parsed not in allowed:
                unread = "" if isinstance(parsed, str) else (
                    ", which cannot be read here (Elasticsearch substitutes a ${VAR} at startup, "
                    "and how it reads a list here is unsettled), so it cannot be shown to be one "
                    f"of {allowed}"
                )
                findings.append(
                    _finding(
                        urn, f"{doc.where}: {setting} is {shown(mode)}{note}{unread}",
                        "`none` accepts any peer certificate, so the dedicated CA protects "
                        "nothing",
                        f"set {setting} to one of {allowed} (default full)",
                        invariant="INV-VERIFY",
                    )
                )
            if doc.eck and prefix == PREFIX:
                findings.append(
                    _finding(urn, f"{doc.where}: {VERIFICATION_MODE} is set under ECK",
                             ECK_RESERVED_WHY, f"remove {VERIFICATION_MODE} from nodeSets[].config",
                             grade=Grade.NOTICE, invariant="INV-VERIFY")
                )
    return findings


def _finding(
    urn: str,
    what: str,
    why: str,
    fix: str,
    *,
    grade: Grade = Grade.BLOCKING,
    invariant: str = "INV-MTLS",
    waivable: bool = True,
) -> Finding:
    return Finding(invariant, what, why, fix, urn, grade, waivable)
