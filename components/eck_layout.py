"""Names and paths the ECK delivery puts into Kubernetes, shared by config checks and rendering.

Everything here is derived from the Elasticsearch name alone, so the same config always yields
the same objects, and file names never change across renewals (Elasticsearch reloads only
content, DESIGN §5).
"""

from __future__ import annotations

API_VERSION = "elasticsearch.k8s.elastic.co/v1"
KIND = "Elasticsearch"

# ECK merges user containers by name; this is the container it runs Elasticsearch in.
ELASTICSEARCH_CONTAINER = "elasticsearch"
# The variable ECK sets there to the pod's name (downward API); a user's entry would win.
POD_NAME_ENV = "POD_NAME"
# Not ECK's own `config/transport-certs` mount (volume `elastic-internal-transport-certificates`),
# which ECK keeps managing, and under the config directory so relative paths resolve too.
CERTS_VOLUME = "transport-pki-certs"
# Elasticsearch's config directory in ECK's pods: relative paths in elasticsearch.yml resolve here.
CONFIG_DIR = "/usr/share/elasticsearch/config"
CERTS_MOUNT_PATH = f"{CONFIG_DIR}/transport-pki"
# ECK's own transport mount: the pods' ECK-issued keys and certificates (ca-to-eck: from the
# cluster's transport CA) and `ca.crt`, every CA the nodes trust for transport.
ECK_TRANSPORT_CERTS_PATH = f"{CONFIG_DIR}/transport-certs"
TRANSPORT_PATHS = (CERTS_MOUNT_PATH, ECK_TRANSPORT_CERTS_PATH)
# Readable by the file owner's group only: kubelet gives the files the pod's fsGroup, and the
# Elasticsearch image runs as uid 1000 in group 0, which reaches them either way.
CERTS_FILE_MODE = 0o440

CA_CERT_KEY = "ca.crt"
CA_KEY_KEY = "ca.key"
# The HTTP certificate Secret (`spec.http.tls.certificate.secretName`): `tls.crt` (chain) and
# `tls.key`, plus `ca.crt` when clients need it. Never `ca.key`: ECK would take the Secret for
# a CA and issue HTTP certificates from it.
TLS_CERT_KEY = "tls.crt"
TLS_KEY_KEY = "tls.key"

# `spec.transport.tls` fields this project sets; passthrough must not.
OWNED_TLS_FIELDS = frozenset(
    {"certificate", "certificateAuthorities", "selfSignedCertificates", "subjectAltNames"}
)


NODE_CERTS_SECRET_SUFFIX = "-transport-pki-certs"
CA_SECRET_SUFFIX = "-transport-pki-ca-key"


def node_certs_secret(es_name: str) -> str:
    """Per-node mode: one Secret with `<pod>.tls.key`/`<pod>.tls.crt` for every pod."""
    return es_name + NODE_CERTS_SECRET_SUFFIX


def ca_secret(es_name: str) -> str:
    """ca-to-eck mode: the Secret with exactly `ca.crt` + `ca.key` (`certificate.secretName`)."""
    return es_name + CA_SECRET_SUFFIX


def http_secret(es_name: str) -> str:
    """The HTTP layer's certificate; not ECK's own `<es>-es-http-certs-*` Secrets."""
    return f"{es_name}-http-pki-cert"


def trust_config_map(es_name: str) -> str:
    """Every CA the nodes trust, `ca.crt` (`certificateAuthorities.configMapName`)."""
    return f"{es_name}-transport-pki-ca"


def pod_key_file(pod: str) -> str:
    return f"{pod}.tls.key"


def pod_cert_file(pod: str) -> str:
    return f"{pod}.tls.crt"
