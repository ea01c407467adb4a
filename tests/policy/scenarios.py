"""Whole deployments (lists of records) in the shapes the program produces, for stack tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.analyzer import UNKNOWN, Record

from . import fixtures as f


@dataclass(frozen=True)
class Pki:
    ca_key: Record
    ca: Record
    node_key: Record
    request: Record
    cert: Record

    @property
    def records(self) -> list[Record]:
        return [self.ca_key, self.ca, self.node_key, self.request, self.cert]


def pki(
    prefix: str, ca: tuple[Record, Record] | None = None,
    request_props: dict[str, Any] | None = None, **cert_props: Any,
) -> Pki:
    """A cluster's CA and one node's key, request (`request_props`: its inputs, e.g. dnsNames)
    and certificate (`cert_props`)."""
    ca_key, ca_cert = ca or (f.ca_key(f"{prefix}-ca-key"), None)
    ca_cert = ca_cert or f.ca_cert(f"{prefix}-ca", ca_key)
    node_key = f.private_key(f"{prefix}-node-key")
    request = f.csr(f"{prefix}-csr", node_key, **(request_props or {}))
    cert = f.node_cert(f"{prefix}-node-cert", request, ca_cert, ca_key, **cert_props)
    return Pki(ca_key, ca_cert, node_key, request, cert)


def vm_bundle(prefix: str, material: Pki, **settings: Any) -> Record:
    files = {
        "elasticsearch.yml": (f.yml(f.good_vm_settings(**settings)), "0644"),
        "certs/node.key": (UNKNOWN, "0600"),
        "certs/node.crt": (UNKNOWN, "0644"),
        "certs/ca.crt": (UNKNOWN, "0644"),
    }
    deps = [material.node_key, material.cert, material.ca]
    return f.bundle(f"{prefix}-bundle", files, deps, cluster=prefix)


def eck_per_node(es_name: str, material: Pki, http_secret: Record | None = None) -> list[Record]:
    certs = f.secret(f"{es_name}-transport-pki-certs",
                     {"pod-0.tls.key": UNKNOWN, "pod-0.tls.crt": UNKNOWN},
                     [material.node_key, material.cert])
    trust = f.config_map(f"{es_name}-transport-pki-ca", {"ca.crt": UNKNOWN}, [material.ca])
    spec: dict[str, Any] = {
        "version": "9.1.0",
        "transport": {"tls": {
            "selfSignedCertificates": {"disabled": True},
            "certificateAuthorities": {"configMapName": trust.name},
        }},
        "nodeSets": [f.node_set({
            f.TRANSPORT + "key": f.MOUNT + "/${POD_NAME}.tls.key",
            f.TRANSPORT + "certificate": f.MOUNT + "/${POD_NAME}.tls.crt",
        }, certs.name)],
    }
    if http_secret is not None:
        spec["http"] = {"tls": {"certificate": {"secretName": http_secret.name}}}
    return [certs, trust, f.elasticsearch(es_name, spec)]


def eck_ca_to_eck(es_name: str, ca_key: Record, ca: Record, **extra: Any) -> list[Record]:
    data = {"ca.crt": UNKNOWN, "ca.key": UNKNOWN, **extra}
    ca_secret = f.secret(f"{es_name}-transport-pki-ca-key", data, [ca, ca_key])
    spec = {"version": "9.1.0",
            "transport": {"tls": {"certificate": {"secretName": ca_secret.name}}},
            "nodeSets": [f.node_set({})]}
    return [ca_secret, f.elasticsearch(es_name, spec)]
