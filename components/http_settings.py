"""The one place that names and renders `xpack.security.http.ssl.*` settings.

HTTP TLS authenticates the server to REST clients; client certificates are not asked for
(Elasticsearch's HTTP default `client_authentication: none`). The files named here are never
the transport files (INV-SEPARATE): `components.vm_bundle` gives each layer its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from components.transport_settings import Setting

PREFIX = "xpack.security.http.ssl."
ENABLED = PREFIX + "enabled"
KEY = PREFIX + "key"
CERTIFICATE = PREFIX + "certificate"
CERTIFICATE_AUTHORITIES = PREFIX + "certificate_authorities"


def pem_settings(
    *, key: str, certificate: str, certificate_authorities: Sequence[str]
) -> dict[str, Setting]:
    """Settings for a node that reads PEM files (paths relative to the config dir).

    `certificate_authorities` is empty for a provided certificate from a public CA: the node
    has nothing to add to what clients already trust."""
    settings: dict[str, Setting] = {ENABLED: True, KEY: key, CERTIFICATE: certificate}
    if certificate_authorities:
        settings[CERTIFICATE_AUTHORITIES] = list(certificate_authorities)
    return settings
