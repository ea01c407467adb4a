"""Resource records as the engine sends them, for the es-transport-pki pack's tests."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from harness.analyzer import UNKNOWN, Record

KEY = "tls:index/privateKey:PrivateKey"
SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert"
LOCALLY_SIGNED = "tls:index/locallySignedCert:LocallySignedCert"
CSR = "tls:index/certRequest:CertRequest"
SECRET = "kubernetes:core/v1:Secret"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
ELASTICSEARCH = "kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch"
BUNDLE = "pulumi-python:dynamic/es-transport-pki:LocalFiles"
NODE_USES = ["digital_signature", "server_auth", "client_auth"]
CA_USES = ["cert_signing", "crl_signing"]
TRANSPORT = "xpack.security.transport.ssl."
MOUNT = "/usr/share/elasticsearch/config/transport-pki"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:test::es-transport-pki::{type_}::{name}"


def record(
    type_: str,
    name: str,
    props: Mapping[str, Any],
    prop_deps: Mapping[str, Sequence[Record]] | None = None,
    **extra: Any,
) -> Record:
    deps = {k: [r.urn for r in v] for k, v in (prop_deps or {}).items()}
    return Record(
        type_, name, urn(type_, name), dict(props),
        dependencies=sorted({u for v in deps.values() for u in v}),
        property_dependencies=deps, **extra,
    )


def private_key(name: str, **props: Any) -> Record:
    return record(KEY, name, {"algorithm": "ECDSA", "ecdsaCurve": "P256", **props})


def ca_key(name: str, *, protect: bool = True) -> Record:
    """A CA's key, `protect`ed as a CA in service must be (es-transport-ca-protected)."""
    return record(KEY, name, {"algorithm": "ECDSA", "ecdsaCurve": "P256"}, protect=protect)


def ca_cert(name: str, key: Record, *, protect: bool = True, **props: Any) -> Record:
    inputs = {
        "privateKeyPem": UNKNOWN, "isCaCertificate": True, "maxPathLength": 0,
        "allowedUses": CA_USES, "validityPeriodHours": 43800, "earlyRenewalHours": 4320,
        **props,
    }
    return record(SELF_SIGNED, name, inputs, {"privateKeyPem": [key]}, protect=protect)


def csr(name: str, key: Record, **props: Any) -> Record:
    return record(CSR, name, {"privateKeyPem": UNKNOWN, **props}, {"privateKeyPem": [key]})


def node_cert(
    name: str, request: Record, ca: Record | None, ca_key: Record | None, **props: Any
) -> Record:
    inputs = {
        "certRequestPem": UNKNOWN, "caCertPem": UNKNOWN, "caPrivateKeyPem": UNKNOWN,
        "allowedUses": NODE_USES, "validityPeriodHours": 8760, "earlyRenewalHours": 720,
        **props,
    }
    deps: dict[str, Sequence[Record]] = {"certRequestPem": [request]}
    if ca is not None:
        deps["caCertPem"] = [ca]
    if ca_key is not None:
        deps["caPrivateKeyPem"] = [ca_key]
    return record(LOCALLY_SIGNED, name, inputs, deps)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(
    name: str, data: Mapping[str, Any], deps: Sequence[Record] = (), namespace: str = "search",
    encode: bool = True,
) -> Record:
    encoded = {k: b64(v) if encode and isinstance(v, str) and v != UNKNOWN else v
               for k, v in data.items()}
    props = {"metadata": {"name": name, "namespace": namespace}, "data": encoded}
    return record(SECRET, name, props, {"data": deps} if deps else None)


def config_map(
    name: str, data: Mapping[str, Any], deps: Sequence[Record] = (), namespace: str = "search"
) -> Record:
    props = {"metadata": {"name": name, "namespace": namespace}, "data": dict(data)}
    return record(CONFIG_MAP, name, props, {"data": deps} if deps else None)


def elasticsearch(name: str, spec: Mapping[str, Any], namespace: str = "search") -> Record:
    props = {
        "apiVersion": "elasticsearch.k8s.elastic.co/v1", "kind": "Elasticsearch",
        "metadata": {"name": name, "namespace": namespace}, "spec": dict(spec),
    }
    return record(ELASTICSEARCH, name, props)


def node_set(config: Mapping[str, Any], secret_name: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": "default", "count": 3, "config": dict(config)}
    if secret_name is not None:
        entry["podTemplate"] = {"spec": {
            "volumes": [{"name": "transport-pki-certs", "secret": {"secretName": secret_name}}],
            "containers": [{"name": "elasticsearch", "volumeMounts": [
                {"name": "transport-pki-certs", "mountPath": MOUNT, "readOnly": True}]}],
        }}
    return entry


def yml(settings: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(settings))


def good_vm_settings(**overrides: Any) -> dict[str, Any]:
    return {
        TRANSPORT + "enabled": True, TRANSPORT + "verification_mode": "full",
        TRANSPORT + "key": "certs/node.key", TRANSPORT + "certificate": "certs/node.crt",
        TRANSPORT + "certificate_authorities": ["certs/ca.crt"], **overrides,
    }


def bundle(
    name: str, files: Mapping[str, tuple[Any, Any]], deps: Sequence[Record] = (),
    cluster: str | None = None,
) -> Record:
    props: dict[str, Any] = {
        "directory": f"/out/{name}",
        "files": {p: {"content": c, "mode": m} for p, (c, m) in files.items()},
    }
    if cluster is not None:
        props["cluster"] = cluster
    return record(BUNDLE, name, props, {"files": deps} if deps else None)
