"""Pure rendering of what the ECK delivery applies: Secret/ConfigMap data and the Elasticsearch
resource (or, when another tool manages it, the snippets to merge into it).

Plain values in, plain dicts out, keys sorted: the same config renders identical manifests.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization

from components import eck_layout, transport_settings
from components.model import ClusterSpec
from components.model_eck import EckCertificates, EckSpec, NodeSetSpec

Manifest = dict[str, Any]

# ECK sets POD_NAME from the downward API; Elasticsearch expands it in elasticsearch.yml, so one
# nodeSet config points every pod at its own files.
POD_NAME_VARIABLE = f"${{{eck_layout.POD_NAME_ENV}}}"


def metadata(name: str, eck: EckSpec) -> Manifest:
    return {
        "name": name,
        "namespace": eck.namespace,
        "labels": {
            "app.kubernetes.io/part-of": "es-transport-pki",
            "app.kubernetes.io/instance": eck.name,
        },
    }


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def node_certs_data(material: Mapping[str, tuple[str, str]]) -> dict[str, str]:
    """Secret `data` of per-node mode: pod → (key PEM, certificate PEM), base64-encoded."""
    data: dict[str, str] = {}
    for pod, (key_pem, cert_pem) in sorted(material.items()):
        data[eck_layout.pod_key_file(pod)] = _b64(key_pem)
        data[eck_layout.pod_cert_file(pod)] = _b64(cert_pem)
    return data


def ca_secret_data(ca_cert_pem: str, ca_key_pem: str) -> dict[str, str]:
    """ECK's custom-CA Secret: exactly `ca.crt` (one certificate, no chain) and `ca.key`."""
    return {
        eck_layout.CA_CERT_KEY: _b64(ca_cert_pem),
        eck_layout.CA_KEY_KEY: _b64(eck_readable_key(ca_key_pem)),
    }


def eck_readable_key(key_pem: str) -> str:
    """The CA key as ECK reads it. ECK takes SEC1 `EC PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY`,
    and PKCS#8 `PRIVATE KEY` only holding an RSA key ("expected an RSA private key";
    cloud-on-k8s pkg/controller/common/certificates/pem.go). A provided CA key in PKCS#8 (what
    `openssl genpkey` writes) is re-encoded in the traditional form; any other is kept as it is
    (pulumi-tls writes the traditional forms), so a deployed Secret does not change."""
    if not key_pem.lstrip().startswith("-----BEGIN PRIVATE KEY-----"):
        return key_pem
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def http_secret_data(key_pem: str, chain_pem: str, ca_pem: str | None) -> dict[str, str]:
    """The HTTP certificate Secret: `tls.crt` (leaf first, then its chain) and `tls.key`, and
    `ca.crt` unless the chain comes from a CA clients already trust."""
    data = {eck_layout.TLS_CERT_KEY: _b64(chain_pem), eck_layout.TLS_KEY_KEY: _b64(key_pem)}
    if ca_pem is not None:
        data[eck_layout.CA_CERT_KEY] = _b64(ca_pem)
    return data


def http_tls(eck: EckSpec) -> Manifest:
    """The `spec.http.tls` fields this project owns when `http.mode` is not none."""
    return {"certificate": {"secretName": eck_layout.http_secret(eck.name)}}


def trust_data(trusted_ca_pem: str) -> dict[str, str]:
    """ConfigMap `data`: every CA generation the nodes trust, in one `ca.crt`."""
    return {eck_layout.CA_CERT_KEY: trusted_ca_pem}


def transport_tls(eck: EckSpec) -> Manifest:
    """The `spec.transport.tls` fields this project owns."""
    tls: Manifest = {
        "certificateAuthorities": {"configMapName": eck_layout.trust_config_map(eck.name)}
    }
    if eck.certificates is EckCertificates.PER_NODE:
        tls["selfSignedCertificates"] = {"disabled": True}
        return tls
    tls["certificate"] = {"secretName": eck_layout.ca_secret(eck.name)}
    sans = [{"dns": name} for name in eck.extra_dns_names]
    sans += [{"ip": ip} for ip in eck.extra_ip_addresses]
    if sans:
        tls["subjectAltNames"] = sans
    return tls


def node_set_config(cluster: ClusterSpec) -> Manifest:
    """The `nodeSets[].config` entries this project owns (same for every nodeSet)."""
    if _eck(cluster).certificates is EckCertificates.CA_TO_ECK:
        # ECK points key/certificate at its own files then; only client auth is ours.
        return {
            transport_settings.CLIENT_AUTHENTICATION:
                cluster.transport.client_authentication.value
        }
    directory = eck_layout.CERTS_MOUNT_PATH
    return dict(
        transport_settings.eck_node_settings(
            cluster.transport,
            key=f"{directory}/{eck_layout.pod_key_file(POD_NAME_VARIABLE)}",
            certificate=f"{directory}/{eck_layout.pod_cert_file(POD_NAME_VARIABLE)}",
        )
    )


def pod_template_wiring(eck: EckSpec) -> Manifest | None:
    """Per-node mode: the volume of the certificates Secret and its mount, else None."""
    if eck.certificates is EckCertificates.CA_TO_ECK:
        return None
    return {
        "spec": {
            "volumes": [
                {
                    "name": eck_layout.CERTS_VOLUME,
                    "secret": {
                        "secretName": eck_layout.node_certs_secret(eck.name),
                        "defaultMode": eck_layout.CERTS_FILE_MODE,
                    },
                }
            ],
            "containers": [
                {
                    "name": eck_layout.ELASTICSEARCH_CONTAINER,
                    "volumeMounts": [
                        {
                            "name": eck_layout.CERTS_VOLUME,
                            "mountPath": eck_layout.CERTS_MOUNT_PATH,
                            "readOnly": True,
                        }
                    ],
                }
            ],
        }
    }


def spec_snippets(cluster: ClusterSpec) -> Manifest:
    """What to merge into an Elasticsearch resource managed elsewhere (manageElasticsearch:
    false): `spec.transport` and, per nodeSet, its count, config and podTemplate additions."""
    eck = _eck(cluster)
    node_sets: list[Manifest] = []
    for node_set in eck.node_sets:
        entry: Manifest = {
            "name": node_set.name,
            "count": node_set.count,
            "config": node_set_config(cluster),
        }
        wiring = pod_template_wiring(eck)
        if wiring is not None:
            entry["podTemplate"] = wiring
        node_sets.append(entry)
    snippets: Manifest = {"transport": {"tls": transport_tls(eck)}, "nodeSets": node_sets}
    if cluster.http is not None:
        snippets["http"] = {"tls": http_tls(eck)}
    return snippets


def elasticsearch(cluster: ClusterSpec) -> Manifest:
    """The whole Elasticsearch resource: passthrough fields with our wiring merged in."""
    eck = _eck(cluster)
    spec: Manifest = copy.deepcopy(dict(eck.spec))
    spec["version"] = eck.version
    transport = dict(spec.get("transport") or {})
    transport["tls"] = {**(transport.get("tls") or {}), **transport_tls(eck)}
    spec["transport"] = transport
    if cluster.http is not None:
        http = dict(spec.get("http") or {})
        http["tls"] = {**(http.get("tls") or {}), **http_tls(eck)}
        spec["http"] = http
    spec["nodeSets"] = [_node_set(cluster, node_set) for node_set in eck.node_sets]
    return {
        "apiVersion": eck_layout.API_VERSION,
        "kind": eck_layout.KIND,
        "metadata": metadata(eck.name, eck),
        "spec": spec,
    }


def _node_set(cluster: ClusterSpec, node_set: NodeSetSpec) -> Manifest:
    eck = _eck(cluster)
    entry: Manifest = copy.deepcopy(dict(node_set.passthrough))
    entry["name"] = node_set.name
    entry["count"] = node_set.count
    # Passthrough cannot set our settings (config validation), so ours only add keys.
    entry["config"] = {**(entry.get("config") or {}), **node_set_config(cluster)}
    wiring = pod_template_wiring(eck)
    if wiring is not None:
        entry["podTemplate"] = _merge_pod_template(entry.get("podTemplate") or {}, wiring)
    return entry


def _merge_pod_template(template: Manifest, wiring: Manifest) -> Manifest:
    """Add our volume and, in the `elasticsearch` container, our mount; keep everything else."""
    merged = copy.deepcopy(template)
    spec = merged.setdefault("spec", {})
    ours = wiring["spec"]
    spec["volumes"] = [*(spec.get("volumes") or []), *ours["volumes"]]
    containers = spec.setdefault("containers", [])
    our_container = ours["containers"][0]
    target = next(
        (c for c in containers if c.get("name") == eck_layout.ELASTICSEARCH_CONTAINER), None
    )
    if target is None:
        target = {"name": eck_layout.ELASTICSEARCH_CONTAINER}
        containers.append(target)
    target["volumeMounts"] = [
        *(target.get("volumeMounts") or []), *our_container["volumeMounts"]
    ]
    return merged


def _eck(cluster: ClusterSpec) -> EckSpec:
    if cluster.eck is None:
        raise ValueError(f"cluster {cluster.name!r} is not delivered to ECK")
    return cluster.eck
