"""The settings renderer names only real transport settings, with values Elasticsearch accepts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components import transport_settings as ts
from components.model import ClientAuthentication, TransportSpec, VerificationMode

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "shared" / "schemas" / "elasticsearch"
     / "transport-ssl-settings.json").read_text()
)
TRANSPORT = TransportSpec(ClientAuthentication.REQUIRED, VerificationMode.FULL)

RENDERED = {
    "pem": ts.pem_settings(TRANSPORT, key="certs/k", certificate="certs/c",
                           certificate_authorities=["certs/ca"]),
    "pkcs12": ts.keystore_settings(TRANSPORT, keystore="certs/k.p12", truststore="certs/t.p12"),
    "eck": ts.eck_node_settings(TRANSPORT, key="/k", certificate="/c"),
}


@pytest.mark.parametrize("settings", RENDERED.values(), ids=RENDERED.keys())
def test_names_and_values_match_the_elasticsearch_reference(settings: dict[str, Any]) -> None:
    reference = SCHEMA["settings"]
    for name, value in settings.items():
        assert name in reference, name
        assert not reference[name].get("secure"), f"{name} belongs in the keystore"
        assert not reference[name].get("deprecated"), name
        if "enum" in reference[name]:
            assert value in reference[name]["enum"], (name, value)
    for pair in SCHEMA["mutually_exclusive"]:
        assert not set(pair) <= set(settings), pair


def test_secure_password_names_are_keystore_only() -> None:
    keystore_only = set(SCHEMA["secure_settings_keystore_only"])
    assert {ts.KEYSTORE_PASSWORD, ts.TRUSTSTORE_PASSWORD} <= keystore_only


def test_eck_settings_leave_ecks_own_settings_alone() -> None:
    assert not ts.ECK_OWNED & set(RENDERED["eck"])
    assert {ts.ENABLED, ts.VERIFICATION_MODE} == ts.ECK_OWNED
