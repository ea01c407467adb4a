"""Real PEMs made with cryptography (tests/x509_factory) and a real public root (certifi)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import certifi

from tests.x509_factory import make_ca, make_key

_CA = make_ca("cluster-a transport CA")
PRIVATE_CA = _CA.cert_pem
PRIVATE_CA_KEY = _CA.key_pem
EXPIRED_CA = make_ca("old CA", not_before=datetime.now(UTC) - timedelta(days=20), days=10).cert_pem
NOT_A_CA = make_ca("a leaf", is_ca=False, key_cert_sign=False).cert_pem
NODE_KEY = make_ca("throwaway", key=make_key("p256")).key_pem
OTHER_KEY = make_ca("throwaway 2").key_pem


def public_root() -> str:
    with open(certifi.where(), encoding="ascii") as bundle:
        text = bundle.read()
    start = text.index("-----BEGIN CERTIFICATE-----")
    end = text.index("-----END CERTIFICATE-----", start) + len("-----END CERTIFICATE-----")
    return text[start:end] + "\n"
