"""Goal 4 compares preflight with bench/openssl_path.sh making "the same CA and N node
certificates (same SANs and extensions)". Every style of the script is held here to what the
program writes for the same cluster, or the ratio would compare different work."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from bench import workload
from components.program import main as program
from harness.mock_runtime import run_program

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "bench" / "openssl_path.sh"
NODES = 3
CLUSTER = "vm0"
STYLES = ("classic", "classic-no-store", "one-command")


def _read(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _shape(cert: x509.Certificate) -> dict[str, object]:
    """What goal 4 requires to be the same: everything but keys, serials, dates and key IDs."""
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    extensions = {e.oid.dotted_string: e for e in cert.extensions}
    key_ids = {x509.SubjectKeyIdentifier.oid.dotted_string,
               x509.AuthorityKeyIdentifier.oid.dotted_string}
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "curve": key.curve.name,
        "signature hash": cert.signature_hash_algorithm.name
        if cert.signature_hash_algorithm else None,
        "validity": cert.not_valid_after_utc - cert.not_valid_before_utc,
        "extensions": sorted((oid, e.critical) for oid, e in extensions.items()),
        "values": {oid: e.value for oid, e in extensions.items() if oid not in key_ids},
    }


def _authority_key_id(cert: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    return cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value


@pytest.fixture(scope="module")
def program_certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("program")
    config = workload.config([workload.vm_cluster(CLUSTER, NODES, str(out), "ecdsa-p256")])
    with contextlib.chdir(out):
        run_program(program, config=config, stack="bench")
    return {path.parent.parent.name: path for path in out.rglob("transport.crt")}


@pytest.mark.parametrize("style", STYLES)
def test_each_style_makes_the_programs_certificates(
    style: str, program_certificates: dict[str, Path], tmp_path: Path
) -> None:
    subprocess.run(["bash", str(SCRIPT), str(NODES), str(tmp_path), CLUSTER, style],
                   check=True, capture_output=True)
    assert sorted(program_certificates) == [f"es-{i}" for i in range(NODES)]
    theirs_ca = _read(tmp_path / "ca.crt")
    ours_ca = _read(program_certificates["es-0"].with_name("transport-ca.crt"))
    assert _shape(theirs_ca) == _shape(ours_ca)
    for node, ours_path in program_certificates.items():
        ours, theirs = _read(ours_path), _read(tmp_path / f"{node}.crt")
        assert _shape(theirs) == _shape(ours), node
        for leaf, ca in ((ours, ours_ca), (theirs, theirs_ca)):
            leaf.verify_directly_issued_by(ca)
            ca_key_id = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            assert _authority_key_id(leaf) == x509.AuthorityKeyIdentifier(
                ca_key_id.digest, None, None)


def test_an_unknown_style_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(["bash", str(SCRIPT), "1", str(tmp_path), CLUSTER, "fast"],
                            check=False, capture_output=True, text=True)
    assert result.returncode == 2
    assert "classic|classic-no-store|one-command" in result.stderr
    assert not (tmp_path / "ca.crt").exists()
