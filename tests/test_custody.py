"""INV-CUSTODY across every kind of secret the program handles, not only the keys it generates.

The lifecycle fuzz holds generated keys to custody; this estate adds what it does not reach: a
provided transport CA key (and the traditional form ca-to-eck re-encodes it to), a provided
HTTP key, and the PKCS#12 store passwords. None of them may appear outside a secret anywhere
the engine keeps or shows it: registrations' inputs and outputs, stack outputs, engine state,
warnings.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from harness.mock_runtime import EngineState, Recording, reveal
from tests.http_x509 import make_server_cert
from tests.stack_runs import PRIVATE_KEY, run_clusters
from tests.test_lifecycle_fuzz import base64_forms, engine_places, key_forms, plain_strings
from tests.x509_factory import make_ca, make_key

BUNDLE = "pulumi-python:dynamic/es-transport-pki:NodeBundle"


def _nodes(cluster: str) -> list[dict[str, Any]]:
    return [{"name": f"es-{i}", "dns": [f"es-{i}.{cluster}.internal"], "ips": [f"10.0.0.{i}"]}
            for i in (1, 2)]


class Estate:
    """Every delivery, with provided and generated material, run once with its state."""

    def __init__(self, out: Path) -> None:
        self.transport_ca = make_ca("ops transport CA", key=make_key("p256"))
        self.eck_ca = make_ca("ops eck CA", key=make_key("p384"))
        self.http = make_server_cert(make_ca("ops http CA"), ["audit.example.com"])
        stores = {"name": "logs", "delivery": "vm", "nodes": _nodes("logs"),
                  "vm": {"outputDir": str(out), "format": "both"},
                  "http": {"mode": "generated", "certificates": "per-node"}}
        provided = {"name": "audit", "delivery": "vm", "nodes": _nodes("audit"),
                    "vm": {"outputDir": str(out)},
                    "ca": {"mode": "provided", "certPem": self.transport_ca.cert_pem,
                           "keyPem": self.transport_ca.key_pem},
                    "http": {"mode": "provided", "certPem": self.http.cert_pem,
                             "keyPem": self.http.key_pem, "dns": ["audit.example.com"]}}
        ca_to_eck = {"name": "ext", "delivery": "eck",
                     "eck": {"name": "ext", "namespace": "ext-ns", "version": "8.19.2",
                             "certificates": "ca-to-eck",
                             "nodeSets": [{"name": "default", "count": 2}]},
                     "ca": {"mode": "provided", "certPem": self.eck_ca.cert_pem,
                            "keyPem": self.eck_ca.key_pem}}
        per_node = {"name": "search", "delivery": "eck",
                    "eck": {"name": "search", "namespace": "search-ns", "version": "8.19.2",
                            "nodeSets": [{"name": "default", "count": 2}]},
                    "http": {"mode": "generated"}}
        self.state = EngineState()
        self.run: Recording = run_clusters(
            [stores, provided, ca_to_eck, per_node], secret=True, state=self.state
        )

    def private_keys(self) -> list[str]:
        generated = [str(reveal(r.outputs["privateKeyPem"])) for r in self.run.of_type(PRIVATE_KEY)]
        provided = [self.transport_ca.key_pem, self.eck_ca.key_pem, self.eck_ca.traditional_key_pem,
                    self.http.key_pem]
        return generated + provided

    def store_passwords(self) -> list[str]:
        bundles = self.run.of_type(BUNDLE)
        passwords = [reveal(b.outputs["passwords"]) for b in bundles]
        return [str(p) for found in passwords if found for p in found.values()]

    def places(self) -> list[tuple[str, Any]]:
        return [("warnings", self.run.warnings), *engine_places(self.run, self.state)]


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Estate:
    return Estate(tmp_path_factory.mktemp("custody"))


def test_the_estate_holds_every_kind_of_secret(estate: Estate) -> None:
    # What the custody checks below rely on: each kind is really there to leak, in the form
    # they look for.
    assert len(estate.store_passwords()) >= 4  # keystore and truststore, two nodes
    handed = reveal(estate.run.named("ext-eck-ca-secret").inputs["data"])
    assert base64.b64decode(handed["ca.key"]).decode() == estate.eck_ca.traditional_key_pem
    keys = estate.private_keys()
    assert estate.transport_ca.key_pem in keys and estate.http.key_pem in keys


def test_no_key_of_any_origin_appears_outside_a_secret(estate: Estate) -> None:
    forms = key_forms(estate.private_keys())
    leaks = [where for where, value in estate.places() for text in plain_strings(value)
             if any(form in text for form in forms)]
    assert leaks == []


def test_no_store_password_appears_outside_a_secret(estate: Estate) -> None:
    passwords = estate.store_passwords()
    assert all(len(p) >= 16 for p in passwords)  # long enough that a match is no accident
    forms = {form for p in passwords for form in {p, *base64_forms(p)}}
    leaks = [where for where, value in estate.places() for text in plain_strings(value)
             if any(form in text for form in forms)]
    assert leaks == []
