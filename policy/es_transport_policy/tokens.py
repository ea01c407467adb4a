"""Type tokens and pulumi-tls vocabulary (DESIGN §6)."""

from __future__ import annotations

from typing import Any

PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
SELF_SIGNED_CERT = "tls:index/selfSignedCert:SelfSignedCert"
LOCALLY_SIGNED_CERT = "tls:index/locallySignedCert:LocallySignedCert"
CERT_REQUEST = "tls:index/certRequest:CertRequest"
CERTS = (SELF_SIGNED_CERT, LOCALLY_SIGNED_CERT)
TLS_MATERIAL = frozenset({PRIVATE_KEY, SELF_SIGNED_CERT, LOCALLY_SIGNED_CERT, CERT_REQUEST})

STACK = "pulumi:pulumi:Stack"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"
# A Patch (server-side apply) writes its `data`/`stringData`/`binaryData` into the object it
# names: what it holds, the object holds.
CONFIG_MAPS = (CONFIG_MAP, CONFIG_MAP + "Patch")
SECRETS = (SECRET, SECRET + "Patch")
ECK_GROUP = "kubernetes:elasticsearch.k8s.elastic.co/"
STACK_CONFIG_POLICY_GROUP = "kubernetes:stackconfigpolicy.k8s.elastic.co/"
DYNAMIC_PREFIX = "pulumi-python:dynamic"
# A bundle's files; the HTTP layer's arrive in their own property, so that the dependencies of
# each layer's material stay apart.
BUNDLE_HTTP_FILES = "httpFiles"
BUNDLE_FILES = ("files", BUNDLE_HTTP_FILES)
# The PEM texts (`key`, `certificate`, `certificateAuthorities`) the project's bundle provider
# builds the node's PKCS#12 keystore and truststore from: the node holds them as much as its
# files.
BUNDLE_STORES = "stores"
BUNDLE_STORE_CAS = "certificateAuthorities"

EKU_VALUES = frozenset(
    {
        "any_extended",
        "server_auth",
        "client_auth",
        "code_signing",
        "email_protection",
        "ipsec_end_system",
        "ipsec_tunnel",
        "ipsec_user",
        "timestamping",
        "ocsp_signing",
        "microsoft_server_gated_crypto",
        "netscape_server_gated_crypto",
        "microsoft_commercial_code_signing",
        "microsoft_kernel_code_signing",
    }
)
TRANSPORT_EKU = frozenset({"client_auth", "server_auth"})


# The program's HTTP layer (components/http_pki.py): its certificates are serverAuth-only by
# design (INV-SEPARATE), never a transport certificate.
HTTP_PKI = "es-transport-pki:http_pki:HttpPki"


def under_component(urn: str, component: str) -> bool:
    """Whether `urn` names a resource registered inside a `component` (its type chain)."""
    parts = urn.split("::")
    return len(parts) > 2 and component in parts[2].split("$")[:-1]


def is_elasticsearch(type_: str) -> bool:
    return type_.startswith(ECK_GROUP) and type_.endswith(":Elasticsearch")


def is_stack_config_policy(type_: str) -> bool:
    """ECK's StackConfigPolicy: its `spec.elasticsearch.config` goes into the elasticsearch.yml
    of every cluster it selects (ECK 2.11+)."""
    return type_.startswith(STACK_CONFIG_POLICY_GROUP) and type_.endswith(":StackConfigPolicy")


# Kubernetes workloads that may run Elasticsearch without ECK (Elastic's Helm chart renders a
# StatefulSet), by where their pod spec is.
POD_SPECS = {
    **{f"kubernetes:apps/v1:{kind}": ("spec", "template", "spec")
       for kind in ("StatefulSet", "Deployment", "DaemonSet", "ReplicaSet")},
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:core/v1:Pod": ("spec",),
}


def is_bundle(type_: str, props: dict[str, Any]) -> bool:
    """The project's VM bundles: a dynamic resource with a `files` map."""
    return type_.startswith(DYNAMIC_PREFIX) and "files" in props
