"""The one place that names and renders `xpack.security.transport.ssl.*` settings.

Values come from the validated `TransportSpec`; names are checked against the Elasticsearch
settings reference in tests (../shared/schemas/elasticsearch/transport-ssl-settings.json).
"""

from __future__ import annotations

from collections.abc import Sequence

from components.model import TransportSpec

PREFIX = "xpack.security.transport.ssl."
ENABLED = PREFIX + "enabled"
CLIENT_AUTHENTICATION = PREFIX + "client_authentication"
VERIFICATION_MODE = PREFIX + "verification_mode"
KEY = PREFIX + "key"
CERTIFICATE = PREFIX + "certificate"
CERTIFICATE_AUTHORITIES = PREFIX + "certificate_authorities"
KEYSTORE_PATH = PREFIX + "keystore.path"
KEYSTORE_TYPE = PREFIX + "keystore.type"
KEYSTORE_PASSWORD = PREFIX + "keystore.secure_password"
TRUSTSTORE_PATH = PREFIX + "truststore.path"
TRUSTSTORE_TYPE = PREFIX + "truststore.type"
TRUSTSTORE_PASSWORD = PREFIX + "truststore.secure_password"

# ECK sets these itself and warns when a user does (ECK's UnsupportedSettings).
ECK_OWNED = frozenset({ENABLED, VERIFICATION_MODE})

Setting = bool | str | list[str]


def pem_settings(
    transport: TransportSpec, *, key: str, certificate: str, certificate_authorities: Sequence[str]
) -> dict[str, Setting]:
    """Settings for a self-managed node that reads PEM files (paths relative to the config dir)."""
    return {
        ENABLED: True,
        CLIENT_AUTHENTICATION: transport.client_authentication.value,
        VERIFICATION_MODE: transport.verification_mode.value,
        KEY: key,
        CERTIFICATE: certificate,
        CERTIFICATE_AUTHORITIES: list(certificate_authorities),
    }


def keystore_settings(
    transport: TransportSpec, *, keystore: str, truststore: str
) -> dict[str, Setting]:
    """Settings for a node that reads PKCS#12 stores; their passwords are secure settings
    (`KEYSTORE_PASSWORD`, `TRUSTSTORE_PASSWORD`) that belong in the elasticsearch-keystore."""
    return {
        ENABLED: True,
        CLIENT_AUTHENTICATION: transport.client_authentication.value,
        VERIFICATION_MODE: transport.verification_mode.value,
        KEYSTORE_PATH: keystore,
        KEYSTORE_TYPE: "PKCS12",
        TRUSTSTORE_PATH: truststore,
        TRUSTSTORE_TYPE: "PKCS12",
    }


def eck_node_settings(
    transport: TransportSpec, *, key: str, certificate: str
) -> dict[str, Setting]:
    """`nodeSets[].config` entries: ECK owns enabled/verification_mode and the CA list."""
    return {
        CLIENT_AUTHENTICATION: transport.client_authentication.value,
        KEY: key,
        CERTIFICATE: certificate,
    }
