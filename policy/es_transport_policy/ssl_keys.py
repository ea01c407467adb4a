"""The transport SSL settings Elasticsearch knows, and how it parses their mode values.

Names are what follows a scope's prefix (`xpack.security.transport.ssl.`, or a named transport
profile's `transport.profiles.<name>.xpack.security.ssl.`; `documents.transport_ssl_scope`).
They are the union of what elastic/elasticsearch registers in the versions read, so that no
setting some version accepts is ever reported:

* libs/ssl-config/.../common/ssl/SslConfigurationKeys.java (getStringKeys, getListKeys,
  getSecureStringKeys; trust_restrictions.x509_fields in the newer versions);
* x-pack/plugin/core/.../xpack/core/ssl/SSLConfigurationSettings.java (the settings() list,
  also registered per profile by getProfileSettings) and X509KeyPairSettings.java;
* x-pack/plugin/core/.../xpack/core/XPackSettings.java: TRANSPORT_SSL_ENABLED, and
  `SSLConfigurationSettings.withPrefix(TRANSPORT_SSL_PREFIX, true)`: the legacy plain-text
  passwords are accepted (deprecated) for transport;
* handshake_timeout: Elastic's security settings reference (docs only); kept so that a
  version that has it is never reported;
* `enabled` under a profile: no version read registers it, but neither could a version be
  ruled out, so it is not reported either.

A setting under one of these prefixes that is none of them makes Elasticsearch refuse to
start (AbstractScopedSettings.validate: "unknown setting [...] please check that any required
plugins are installed, or check the breaking changes documentation for removed settings").
"""

from __future__ import annotations

import difflib

from .values import UNKNOWN, Unknown, substituted_at_startup

# SslConfigurationKeys.getSecureStringKeys: SecureSetting.get refuses them in elasticsearch.yml.
SECURE = frozenset({
    "truststore.secure_password", "keystore.secure_password", "keystore.secure_key_password",
    "secure_key_passphrase",
})
# The legacy plain-text passwords (SSLConfigurationSettings' deprecated LEGACY_* settings,
# still accepted for transport), each with the secure setting that replaces it.
PLAIN_PASSWORDS = {
    "keystore.password": "keystore.secure_password",
    "keystore.key_password": "keystore.secure_key_password",
    "truststore.password": "truststore.secure_password",
    "key_passphrase": "secure_key_passphrase",
}
# Every scope alike (getProfileSettings registers settings() per profile).
SETTINGS = frozenset({
    # SslConfigurationKeys.getStringKeys
    "verification_mode", "client_authentication", "truststore.path", "truststore.password",
    "truststore.type", "trust_restrictions.path", "trust_restrictions.x509_fields",
    "keystore.path", "keystore.password", "keystore.key_password", "keystore.type",
    "keystore.algorithm", "certificate", "key", "key_passphrase",
    # SslConfigurationKeys.getListKeys
    "supported_protocols", "cipher_suites", "certificate_authorities",
    # SSLConfigurationSettings.TRUSTSTORE_ALGORITHM (not in getStringKeys)
    "truststore.algorithm",
    # security settings reference only
    "handshake_timeout",
    # XPackSettings.TRANSPORT_SSL_ENABLED (a profile's: see the module's note)
    "enabled",
}) | SECURE

# SslClientAuthenticationMode / SslVerificationMode: LOOKUP's keys, in its order.
CLIENT_AUTHENTICATION_MODES = ("none", "optional", "required")
VERIFICATION_MODES = ("none", "certificate", "full")
PARSE_SOURCE = {
    "client_authentication": "SslClientAuthenticationMode.parse: \"could not resolve ssl client "
                             "authentication, unknown value [...]\"",
    "verification_mode": "SslVerificationMode.parse: \"could not resolve ssl client "
                         "verification mode, unknown value [...]\"",
}
MODES = {"client_authentication": CLIENT_AUTHENTICATION_MODES,
         "verification_mode": VERIFICATION_MODES}


def setting_mode(value: object, modes: tuple[str, ...]) -> str | Unknown | None:
    """A mode setting's value as Elasticsearch parses it (SslClientAuthenticationMode.parse,
    SslVerificationMode.parse, elastic/elasticsearch libs/ssl-config): the text lower-cased
    (`toLowerCase(Locale.ROOT)`), not trimmed, looked up among `modes`. None for a value
    Elasticsearch refuses to start on: other text (" full", "fulll"), a YAML boolean (it
    reaches the parser as "true"/"false"), a number (its text). UNKNOWN for one that cannot be
    judged here: unknown at preview, a `${VAR}` Elasticsearch substitutes at startup, a list
    (how a version reads a list for a text setting is not settled: elastic/elasticsearch#33135)
    or a map (ECK config; not a setting)."""
    if isinstance(value, Unknown | list | dict) or substituted_at_startup(value):
        return UNKNOWN
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str | int | float):
        text = str(value)
    else:
        return UNKNOWN
    lowered = text.lower()
    return lowered if lowered in modes else None


def nearest(word: str, candidates: tuple[str, ...] | frozenset[str]) -> str | None:
    """The candidate closest to `word` (a likely misspelling of it), or None."""
    found = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return found[0] if found else None
