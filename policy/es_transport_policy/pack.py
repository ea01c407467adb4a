"""The pack's policy families, in the order pulumi-policy runs them (primary before companion)."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Policy

from .adapters import resource_policies, stack_policies
from .family import Family
from .rules import (
    by_use,
    ca_key,
    cert_shape,
    config_map_key,
    custody,
    dedicated,
    env_from,
    protection,
    refused,
    renewal,
    separate,
    strength,
    transport,
    trusted_ca,
)

PACK_NAME = "es-transport-pki"
ADVISORY = EnforcementLevel.ADVISORY

RESOURCE_FAMILIES = (
    (Family("es-transport-leaf-eku", "INV-EKU",
            "every leaf certificate has no EKU or both client_auth and server_auth",
            "a serverAuth-only certificate fails as a TLS client; mandatory by use in "
            "es-transport-eku", "add both server_auth and client_auth to allowed_uses",
            ADVISORY, companion=False), cert_shape.leaf_eku),
    (Family("es-transport-leaf-usage", "INV-LEAF",
            "every leaf certificate has digital_signature and no cert_signing",
            "TLS handshakes need digitalSignature; mandatory by use in es-transport-leaf",
            "allowed_uses: digital_signature (+ key_encipherment for RSA)", ADVISORY,
            companion=False), cert_shape.leaf_usage),
    (Family("es-transport-ca-shape", "INV-CA-SHAPE",
            "CA certificates have cert_signing (crl_signing advised, no positive max_path_length)",
            "without keyCertSign nothing the CA signs verifies",
            "allowed_uses cert_signing + crl_signing, no max_path_length"), cert_shape.ca_shape),
    (Family("es-transport-key-strength", "INV-STRENGTH",
            "keys are RSA >= 2048 or ECDSA P256/P384 (curve always explicit)",
            "pulumi-tls defaults ECDSA to P224; ED25519 is advisory (Elasticsearch/JSSE support)",
            'rsa_bits >= 2048 or ecdsa_curve="P256"/"P384"'), strength.key_strength),
    (Family("es-transport-validity", "INV-STRENGTH",
            "certificate validity is bounded and early_renewal_hours is at least the minimum",
            "short lifetimes bound a leaked key; renewal needs a window > 0",
            "lower validity_period_hours, raise early_renewal_hours",
            config=strength.VALIDITY_CONFIG), strength.validity),
    (Family("es-transport-mtls", "INV-MTLS",
            "security and transport TLS are enabled and client_authentication is required "
            "(every transport profile)",
            "security disabled means plaintext transport; optional/none lets any network peer "
            "open transport connections",
            "no xpack.security.enabled: false; xpack.security.transport.ssl.enabled: true; no "
            "client_authentication override", waiver_scope=transport.MTLS_WAIVER_SCOPE),
     transport.mtls),
    (Family("es-transport-verify", "INV-VERIFY",
            "transport verification_mode is full or certificate, never none (every transport "
            "profile)",
            "none accepts any peer certificate",
            "verification_mode: full (default) or certificate", config=transport.VERIFY_CONFIG),
     transport.verify),
    (Family("es-transport-settings", "INV-MTLS/INV-VERIFY/INV-CUSTODY",
            "every transport SSL setting (every transport profile) is one Elasticsearch knows, "
            "client_authentication and verification_mode are values it parses, and no secure "
            "setting, nor a deprecated plain-text password, is in elasticsearch.yml",
            "Elasticsearch refuses to start on each (the node does not come back from a "
            "rolling restart), and a password in the settings is readable with them",
            "spell the setting as Elasticsearch does; client_authentication required, "
            "verification_mode full or certificate; passwords as secure_* settings in the "
            "keystore (ECK: spec.secureSettings)"),
     refused.refused),
    (Family("es-transport-key-custody", "INV-CUSTODY",
            "no private key in a ConfigMap; key files in bundles (PEM keys, files named by "
            "*.ssl.key / *.ssl.keystore.path) are 0600 or 0400",
            "ConfigMaps and world-readable files expose keys",
            "keys in Secrets (Pulumi secrets); key files mode 0600"), custody.key_custody),
    (Family("es-transport-trusted-ca", "INV-CA-DEDICATED/INV-CA-SHAPE/INV-STRENGTH",
            "a CA given as PEM (provided CA, bundle trust files) is a valid private CA on a "
            "strong key",
            "a public or broken CA in the transport trust list admits strangers or nobody",
            "use the cluster's own dedicated private CA"), trusted_ca.trusted_ca),
)

STACK_FAMILIES = (
    (Family("es-transport-eku", "INV-EKU",
            "transport node certificates have no EKU or both client_auth and server_auth",
            "nodes are TLS clients and servers of each other",
            "allowed_uses with server_auth and client_auth"), by_use.transport_eku),
    (Family("es-transport-leaf", "INV-LEAF",
            "transport node certificates are not CAs, carry the key usages TLS needs, and "
            "their SANs cover the address the node publishes (and, advisory, the seed hosts) "
            "where peers verify host names",
            "a CA node certificate could mint peers; an uncovered address fails the handshake",
            "is_ca_certificate false; digital_signature (+ key_encipherment for RSA); the "
            "address in dns_names / ip_addresses"),
     by_use.transport_leaf),
    (Family("es-transport-ca-dedicated", "INV-CA-DEDICATED",
            "transport certificates of different clusters never chain to the same CA",
            "a shared CA lets one cluster's nodes join another", "one CA per cluster"),
     dedicated.dedicated_ca),
    (Family("es-transport-separate", "INV-SEPARATE",
            "no certificate or key serves both HTTP and transport; the transport CA signs no "
            "HTTP certificate", "HTTP material is exposed to every client",
            "separate HTTP CA, certificates and keys"), separate.separate),
    (Family("es-transport-renewal", "INV-RENEWAL",
            "no certificate inside its renewal window survives the update",
            "expired transport certificates split the cluster",
            "advance the renewal generation / rotationEpoch and run pulumi up", ADVISORY,
            config=renewal.RENEWAL_CONFIG), renewal.renewal),
    (Family("es-transport-mtls-env-from", "INV-MTLS",
            "settings an ECK Elasticsearch container takes from a ConfigMap or Secret of the "
            "stack (envFrom, valueFrom, a $(VAR) of either) pass es-transport-mtls's checks",
            "the official image reads a variable named like a setting as that setting",
            "no xpack.security.enabled: false; no client_authentication override in the "
            "object it reads", waiver_scope=transport.MTLS_WAIVER_SCOPE), env_from.mtls),
    (Family("es-transport-verify-env-from", "INV-VERIFY",
            "settings an ECK Elasticsearch container takes from a ConfigMap or Secret of the "
            "stack pass es-transport-verify's checks", "none accepts any peer certificate",
            "verification_mode: full (default) or certificate in the object it reads",
            config=transport.VERIFY_CONFIG), env_from.verify),
    (Family("es-transport-settings-env-from", "INV-MTLS/INV-VERIFY/INV-CUSTODY",
            "settings an ECK Elasticsearch container takes from a ConfigMap or Secret of the "
            "stack pass es-transport-settings's checks",
            "Elasticsearch refuses to start on them, or a password is readable with them",
            "spell the setting as Elasticsearch does; passwords as secure_* settings in the "
            "keystore (ECK: spec.secureSettings)"), env_from.refused),
    (Family("es-transport-ca-key-custody", "INV-CUSTODY",
            "a CA private key reaches no Secret, ConfigMap or bundle (ECK ca-to-eck: advisory)",
            "whoever reads the CA key can mint trusted node certificates",
            "deliver node keys and CA certificates only"), ca_key.ca_key_custody),
    (Family("es-transport-config-map-key", "INV-CUSTODY",
            "no private key flows (by dependency) into a ConfigMap whose content is unknown at "
            "preview", "es-transport-key-custody can read the key only at up; advisory because "
            "a dependency cannot tell a private key from its public key",
            "private keys in Secrets; public material from the certificate", ADVISORY,
            companion=False), config_map_key.config_map_key),
    (Family("es-transport-ca-protected", "INV-CUSTODY",
            "a CA that certificates depend on is protected (key and certificate), outside "
            "exempt stacks", "a destroy, rename or replacing change would delete the CA",
            "protect=True on the CA's key and certificate", ADVISORY, companion=False,
            config=protection.PROTECTION_CONFIG), protection.ca_protected),
)


def policies() -> list[Policy]:
    result: list[Policy] = []
    for family, rule in RESOURCE_FAMILIES:
        result += resource_policies(family, rule)
    for family, stack_rule in STACK_FAMILIES:
        result += stack_policies(family, stack_rule)
    return result
