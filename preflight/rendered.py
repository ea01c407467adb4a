"""Reading back what `--out` rendered, as the nodes would read it: a VM node's
elasticsearch.yml names its PEM files or PKCS#12 stores (passwords from secure-settings.json);
an ECK cluster's pods get their keys and certificates from the node-certs Secret and their trust
list from the `ca.crt` ConfigMap. Used by the handshake matrix and the inventory."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from components import transport_settings as ts
from components.eck_layout import CA_CERT_KEY, pod_cert_file
from components.vm_bundle import ELASTICSEARCH_YML, SECURE_SETTINGS

RECORD = "render.json"  # per cluster: delivery and lifetimes (preflight.render.write_record)


class RenderedError(ValueError):
    """A rendered bundle cannot be read; the message names the file and what is wrong."""


@dataclass(frozen=True)
class VmBundle:
    folder: Path
    settings: dict[str, Any]  # its elasticsearch.yml
    passwords: dict[str, str]  # its secure-settings.json (PKCS#12 bundles only)
    certificate: x509.Certificate  # the node's
    trust: list[x509.Certificate]  # the CAs it trusts


@dataclass(frozen=True)
class EckMaterial:
    trust_pem: str | None  # the `ca.crt` ConfigMap's
    files: dict[str, bytes]  # the Secrets' data, decoded: `<pod>.tls.crt`, `ca.key`, ...

    def pods(self) -> list[str]:
        """The pods the node-certs Secret holds a certificate for (none in ca-to-eck mode)."""
        suffix = pod_cert_file("")
        return sorted(k.removesuffix(suffix) for k in self.files if k.endswith(suffix))


def _pkcs12(path: Path, password: str) -> pkcs12.PKCS12KeyAndCertificates:
    try:
        return pkcs12.load_pkcs12(path.read_bytes(), password.encode())
    except ValueError as err:
        raise RenderedError(
            f"{path}: not a PKCS#12 store its password in {SECURE_SETTINGS} opens ({err}); "
            "render the bundle again"
        ) from err


def vm_bundle(folder: Path) -> VmBundle | None:
    """The bundle in `folder` (which holds an elasticsearch.yml); None when its settings name
    neither PEM files nor PKCS#12 stores."""
    settings = yaml.safe_load((folder / ELASTICSEARCH_YML).read_text(encoding="utf-8")) or {}
    if ts.KEY in settings:
        cert = x509.load_pem_x509_certificates((folder / settings[ts.CERTIFICATE]).read_bytes())
        trust = [ca for path in settings[ts.CERTIFICATE_AUTHORITIES]
                 for ca in x509.load_pem_x509_certificates((folder / path).read_bytes())]
        return VmBundle(folder, settings, {}, cert[0], trust)
    if ts.KEYSTORE_PATH not in settings:
        return None
    secure = folder / SECURE_SETTINGS
    if not secure.is_file():
        raise RenderedError(f"{secure}: missing; the PKCS#12 stores' passwords are kept there")
    passwords = json.loads(secure.read_text(encoding="utf-8"))
    keystore = _pkcs12(folder / settings[ts.KEYSTORE_PATH], passwords[ts.KEYSTORE_PASSWORD])
    truststore = _pkcs12(folder / settings[ts.TRUSTSTORE_PATH], passwords[ts.TRUSTSTORE_PASSWORD])
    if keystore.cert is None:
        raise RenderedError(f"{folder / settings[ts.KEYSTORE_PATH]}: holds no certificate")
    return VmBundle(folder, settings, passwords, keystore.cert.certificate,
                    [c.certificate for c in truststore.additional_certs])


def vm_bundles(cluster: Path) -> list[VmBundle]:
    return [b for f in sorted(cluster.iterdir()) if (f / ELASTICSEARCH_YML).is_file()
            if (b := vm_bundle(f)) is not None]


def eck_material(k8s: Path) -> EckMaterial:
    manifests = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(k8s.glob("*.yaml"))]
    trust = next((m["data"][CA_CERT_KEY] for m in manifests
                  if m.get("kind") == "ConfigMap" and CA_CERT_KEY in (m.get("data") or {})), None)
    files = {k: base64.b64decode(v) for m in manifests if m.get("kind") == "Secret"
             for k, v in (m.get("data") or {}).items()}
    return EckMaterial(trust, files)
