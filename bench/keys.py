"""Goal 5: key generation and signing per key algorithm, through the pulumi-tls emulator.

`python -m bench.keys [--rounds N]` times, per algorithm, what one node costs on a first `up`
(PrivateKey create, CertRequest create, LocallySignedCert create) with the emulator the mock
runtime uses, and the key generation alone, then extrapolates a 1,000-node first `up`. Key
generation is the provider's work in a real `up` too (pulumi-tls runs Go's crypto, whose RSA
key generation is of the same order; the ratios between algorithms are what carries over).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from unittest import mock

from harness import tls_emulator as tls

# keyAlgorithm → the PrivateKey inputs the program passes (components/model.py KeyAlgorithm).
ALGORITHMS: dict[str, dict[str, Any]] = {
    "ecdsa-p256": {"algorithm": "ECDSA", "ecdsaCurve": "P256"},
    "ecdsa-p384": {"algorithm": "ECDSA", "ecdsaCurve": "P384"},
    "rsa-2048": {"algorithm": "RSA", "rsaBits": 2048},
    "rsa-3072": {"algorithm": "RSA", "rsaBits": 3072},
    "rsa-4096": {"algorithm": "RSA", "rsaBits": 4096},
}
NOW = datetime(2026, 1, 1, tzinfo=UTC)
FLEET = 1000


def _timed(work: Callable[[], object], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    return samples


def _pem(outputs: dict[str, Any], name: str) -> str:
    return str(tls.unwrap_secrets(outputs[name]))


def ca_for(key_inputs: dict[str, Any]) -> tuple[str, str]:
    _, key = tls.create_private_key(key_inputs)
    key_pem = _pem(key, "privateKeyPem")
    _, cert = tls.create_self_signed_cert(
        {"privateKeyPem": key_pem, "subject": {"commonName": "bench CA"},
         "isCaCertificate": True, "setSubjectKeyId": True,
         "allowedUses": ["cert_signing", "crl_signing"], "validityPeriodHours": 43800},
        NOW,
    )
    return _pem(cert, "certPem"), key_pem


def node(key_inputs: dict[str, Any], ca_cert: str, ca_key: str, uses: list[str]) -> None:
    """One node as the program creates it: key → CSR with its SANs → certificate."""
    _, key = tls.create_private_key(key_inputs)
    _, csr = tls.create_cert_request(
        {"privateKeyPem": _pem(key, "privateKeyPem"),
         "subject": {"commonName": "es-1", "organizationalUnit": ["bench"]},
         "dnsNames": ["es-1.bench.internal"], "ipAddresses": ["10.0.0.1"]}
    )
    tls.create_locally_signed_cert(
        {"certRequestPem": csr["certRequestPem"], "caCertPem": ca_cert,
         "caPrivateKeyPem": ca_key, "allowedUses": uses, "validityPeriodHours": 8760},
        NOW,
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.keys")
    parser.add_argument("--rounds", type=int, default=20, help="nodes timed per algorithm")
    parser.add_argument("--quick", action="store_true", help="5 rounds")
    args = parser.parse_args(argv)
    rounds = 5 if args.quick else args.rounds
    rows = {}
    for name, inputs in ALGORITHMS.items():
        uses = ["digital_signature", "server_auth", "client_auth"]
        if inputs["algorithm"] == "RSA":
            uses.insert(1, "key_encipherment")
        ca_cert, ca_key = ca_for(inputs)
        keygen = statistics.median(_timed(
            lambda i=inputs: tls.generate_key(  # type: ignore[misc]
                i["algorithm"], i.get("rsaBits", 2048), i.get("ecdsaCurve", "P256")), rounds))
        per_node = statistics.median(_timed(
            lambda i=inputs, c=ca_cert, k=ca_key, u=uses: node(i, c, k, u),  # type: ignore[misc]
            rounds))
        # Before the emulator's parsed-key cache: every PEM parsed again (capacity 0).
        with mock.patch.object(tls, "_PARSED_KEYS", tls._KeyCache(capacity=0)):
            uncached = statistics.median(_timed(
                lambda i=inputs, c=ca_cert, k=ca_key, u=uses: node(  # type: ignore[misc]
                    i, c, k, u), rounds))
        rows[name] = (keygen, per_node, uncached)
    base_keygen, base_node, _ = rows["ecdsa-p256"]
    print(f"{'algorithm':<11} {'keygen ms':>10} {'node ms':>9} {'uncached':>9} {'x p256':>7} "
          f"{'1,000-node keygen s':>20} {'1,000-node tls s':>17}")
    for name, (keygen, per_node, uncached) in rows.items():
        print(f"{name:<11} {keygen * 1e3:10.2f} {per_node * 1e3:9.2f} {uncached * 1e3:9.2f} "
              f"{per_node / base_node:7.1f} {keygen * FLEET:20.1f} {per_node * FLEET:17.1f}")
    print(f"(median of {rounds}; 'node' = PrivateKey + CertRequest + LocallySignedCert in the "
          f"emulator; p256 keygen {base_keygen * 1e3:.2f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
