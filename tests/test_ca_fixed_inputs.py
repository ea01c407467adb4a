"""A deployed CA generation is never replaced in place: changing a CA setting that pulumi-tls
would replace the CA for applies to the next generation, not to the deployed one
(INV-TRUST-CONTINUITY, docs/rotation.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from harness.mock_runtime import EngineState, Recording, Registration, reveal
from tests.stack_runs import PRIVATE_KEY, SELF_SIGNED, run_clusters

T0 = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
CHANGES: list[tuple[str, dict[str, Any]]] = [
    ("ca.validityDays", {"ca": {"validityDays": 1000}}),
    ("ca.renewBeforeDays", {"ca": {"renewBeforeDays": 90}}),
    ("ca.commonName", {"ca": {"commonName": "logs transport CA 2"}}),
    ("ca.organization", {"ca": {"organization": "Example Ltd"}}),
    ("keyAlgorithm", {"keyAlgorithm": "rsa-3072"}),
]


def cluster(changes: dict[str, Any] | None = None, generation: int = 1,
            step: str | None = None) -> dict[str, Any]:
    ca: dict[str, Any] = {**(changes or {}).get("ca", {})}
    if generation != 1:
        ca["generation"] = generation
    if step is not None:
        ca["rotation"] = {"step": step}
    return {
        "name": "logs", "delivery": "vm", "vm": {"writeLocalFiles": False}, "ca": ca,
        "keyAlgorithm": (changes or {}).get("keyAlgorithm", "ecdsa-p256"),
        "nodes": [{"name": n, "dns": [f"{n}.logs.internal"]} for n in ("es-1", "es-2")],
    }


class Stack:
    def __init__(self, *, protect_ca: bool) -> None:
        self.state, self.runs, self.protect_ca = EngineState(), 0, protect_ca

    def up(self, config: dict[str, Any]) -> Recording:
        self.runs += 1
        moment = T0 + timedelta(hours=self.runs)
        return run_clusters([config], state=self.state, clock=lambda: moment,
                            settings={"protectCa": self.protect_ca})


def _ca_cert(run: Recording, generation_suffix: str = "") -> tuple[Registration, x509.Certificate]:
    name = f"logs-ca{generation_suffix}-cert"
    [registration] = [r for r in run.registrations if r.type == SELF_SIGNED and r.name == name]
    return registration, x509.load_pem_x509_certificate(
        reveal(registration.outputs["certPem"]).encode()
    )


def _ca_urns(run: Recording) -> set[str]:
    return {
        r.urn for r in run.registrations
        if r.type in (SELF_SIGNED, PRIVATE_KEY) and r.name.startswith("logs-ca-")
    }


@pytest.mark.parametrize(("key", "changes"), CHANGES, ids=[key for key, _ in CHANGES])
@pytest.mark.parametrize("protect_ca", [True, False], ids=["protected", "unprotected"])
def test_changing_a_ca_setting_keeps_the_deployed_ca(
    key: str, changes: dict[str, Any], protect_ca: bool
) -> None:
    stack = Stack(protect_ca=protect_ca)
    first = stack.up(cluster())
    _, deployed = _ca_cert(first)
    changed = stack.up(cluster(changes))
    ca_urns = _ca_urns(changed)
    assert len(ca_urns) == 2
    assert not ca_urns & {*changed.changes.replaced, *changed.changes.updated}, key
    _, kept = _ca_cert(changed)
    assert kept.fingerprint(hashes.SHA256()) == deployed.fingerprint(hashes.SHA256())
    # The node certificates are still issued by the deployed CA: trust never breaks.
    node_certs = [r for r in changed.registrations if r.name.endswith("-cert")
                  and r.name.startswith("logs-es-")]
    for node in node_certs:
        issued = x509.load_pem_x509_certificate(reveal(node.outputs["certPem"]).encode())
        issued.verify_directly_issued_by(kept)


def test_the_changed_settings_apply_to_the_next_generation() -> None:
    stack = Stack(protect_ca=True)
    stack.up(cluster())
    changes = {"ca": {"validityDays": 1000, "commonName": "logs transport CA 2",
                      "organization": "Example Ltd"}, "keyAlgorithm": "rsa-3072"}
    stack.up(cluster(changes))
    introduced = stack.up(cluster(changes, generation=1, step="introduce"))
    _, g1 = _ca_cert(introduced)
    _, g2 = _ca_cert(introduced, "-g2")
    assert isinstance(g1.public_key(), ec.EllipticCurvePublicKey)
    assert g1.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value != (
        "logs transport CA 2"
    )
    g2_key = g2.public_key()
    assert isinstance(g2_key, rsa.RSAPublicKey) and g2_key.key_size == 3072
    assert g2.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "logs transport CA 2"
    )
    assert g2.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Example Ltd"
    assert (g2.not_valid_after_utc - g2.not_valid_before_utc).days == 1000
