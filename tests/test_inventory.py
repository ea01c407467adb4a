"""`python -m preflight.inventory`: the table from recorded stack outputs and from a bundle
directory, the timeline picture, and the probe against a local TLS server."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import struct
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509

from components.certificate_facts import sha256_fingerprint
from harness.mock_runtime import EngineState, Recording, reveal
from preflight import cli as preflight_cli
from preflight import timeline
from preflight.inventory.__main__ import main
from preflight.inventory.rows import CA, from_directory, from_stack_outputs
from preflight.rendered import eck_material
from tests.stack_runs import cert_of, run_clusters

# Recent enough for the probe's real TLS stack to accept the certificates' validity.
T0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
NODES = ("es-1", "es-2")


def cluster(out: Path, ca: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "logs", "delivery": "vm", "vm": {"outputDir": str(out)}, "ca": ca,
        "nodeCertificates": {"validityDays": 90, "renewBeforeDays": 20},
        "nodes": [{"name": n, "dns": [f"{n}.logs.internal"]} for n in NODES],
    }


@pytest.fixture(scope="module")
def introduced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Recording, Path]:
    """A stack in the middle of a CA rotation (step introduce) and its rendered bundles."""
    out = tmp_path_factory.mktemp("bundles")
    state = EngineState()
    run_clusters([cluster(out, {})], state=state, clock=lambda: T0)
    recording = run_clusters([cluster(out, {"rotation": {"step": "introduce"}})], state=state,
                             clock=lambda: T0 + timedelta(hours=1))
    return recording, out


def outputs_file(recording: Recording, directory: Path) -> Path:
    path = directory / "outputs.json"
    path.write_text(json.dumps(reveal(recording.stack_outputs)))
    return path


def test_rows_from_stack_outputs(introduced: tuple[Recording, Path]) -> None:
    recording, _ = introduced
    rows = {(r.cluster, r.name, r.generation): r
            for r in from_stack_outputs(reveal(recording.stack_outputs))}
    assert set(rows) == {("logs", CA, 1), ("logs", CA, 2), ("logs", "es-1", 1),
                         ("logs", "es-2", 1)}
    cert = cert_of(recording.named("logs-es-1-cert"))
    es1 = rows["logs", "es-1", 1]
    assert es1.serial == format(cert.serial_number, "x")
    assert es1.not_after == cert.not_valid_after_utc
    assert es1.not_before == cert.not_valid_before_utc
    assert es1.renewal_due == cert.not_valid_after_utc - timedelta(days=20)
    assert es1.days_left(T0) == 90  # issued by the first run, at T0, for 90 days
    assert {r.step for r in rows.values()} == {"introduce"}
    g2 = cert_of(recording.named("logs-ca-g2-cert"))
    assert rows["logs", CA, 2].not_after == g2.not_valid_after_utc


def test_rows_from_a_bundle_directory_match_the_outputs(
    introduced: tuple[Recording, Path],
) -> None:
    recording, out = introduced
    from_outputs = {(r.name, r.generation, r.fingerprint, r.not_after, r.step)
                    for r in from_stack_outputs(reveal(recording.stack_outputs))}
    from_files = {(r.name, r.generation, r.fingerprint, r.not_after, r.step)
                  for r in from_directory(out, renew_before_days=20).rows}
    assert from_files == from_outputs


def test_the_command_prints_every_certificate(
    introduced: tuple[Recording, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording, out = introduced
    for source in (str(outputs_file(recording, tmp_path)), str(out)):
        # The directory carries no config: it is told the window (ignored for outputs JSON).
        assert main([source, "--renew-before-days", "20"], now=T0 + timedelta(days=75)) == 0
        printed = capsys.readouterr().out
        cert = cert_of(recording.named("logs-es-2-cert"))
        assert format(cert.serial_number, "x") in printed
        assert f"{cert.not_valid_after_utc - timedelta(days=20):%Y-%m-%d} (due)" in printed
        assert "introduce" in printed and "g2" in printed


def test_values_print_as_they_are_not_as_emoji_or_markup(
    introduced: tuple[Recording, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`:AB:` occurs in SHA-256 fingerprints (rich's emoji code for 🆎); `[...]` is markup."""
    recording, _ = introduced
    outputs = reveal(recording.stack_outputs)
    odd = "0A:AB:CD:[bold]x"
    outputs["clusters"]["logs"]["nodes"]["es-1"]["fingerprintSha256"] = odd
    outputs["clusters"]["logs"]["rotation"]["step"] = "[red]introduce"
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    assert main([str(path)], now=T0) == 0
    printed = capsys.readouterr().out
    assert odd in printed and "[red]introduce" in printed


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_timeline_picture(introduced: tuple[Recording, Path], tmp_path: Path) -> None:
    recording, out = introduced
    png, svg = tmp_path / "timeline.png", tmp_path / "timeline.svg"
    assert main([str(out), "--picture", str(png)], now=T0) == 0
    rows = 4  # two CA generations, two nodes
    width, height = timeline.figure_size(rows)
    assert png_size(png) == (round(width * timeline.DPI), round(height * timeline.DPI))
    assert main([str(outputs_file(recording, tmp_path)), "--picture", str(svg)], now=T0) == 0
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text and len(text) > 5000


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        (["--probe", "es-1.internal"],
         "argument --probe: 'es-1.internal': expected host:port, e.g. es-1.internal:9300"),
        (["--picture", "timeline.gif"],
         "argument --picture: timeline.gif: the picture must be .png or .svg"),
    ],
    ids=["probe without a port", "picture of another format"],
)
def test_bad_arguments_are_usage_errors_before_anything_is_read(
    capsys: pytest.CaptureFixture[str], argument: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["/nonexistent.json", *argument])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.strip().endswith(message)


def test_a_picture_that_cannot_be_written_is_an_input_error(
    introduced: tuple[Recording, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out = introduced
    nowhere = tmp_path / "missing-folder" / "timeline.png"
    assert main([str(out), "--picture", str(nowhere)], now=T0) == 2
    assert "cannot write the picture" in capsys.readouterr().out


@pytest.fixture
def transport_port(introduced: tuple[Recording, Path]) -> Iterator[int]:
    """es-1's transport port: its certificate, and client authentication required."""
    _, out = introduced
    certs = out / "logs" / "es-1" / "certs"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs / "transport.crt", certs / "transport.key")
    context.load_verify_locations(certs / "transport-ca.crt")
    context.verify_mode = ssl.CERT_REQUIRED
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve() -> None:
        try:
            connection, _ = listener.accept()
            with context.wrap_socket(connection, server_side=True) as tls:
                tls.recv(1)
        except (OSError, ssl.SSLError):
            pass  # the probe offers no client certificate: rejected, as Elasticsearch does

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    thread.join(15)
    listener.close()


def test_the_probe_reads_and_checks_what_a_node_presents(
    introduced: tuple[Recording, Path], transport_port: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out = introduced
    assert main([str(out), "--probe", f"127.0.0.1:{transport_port}"], now=T0) == 0
    printed = capsys.readouterr().out
    assert f"probe 127.0.0.1:{transport_port}: logs/es-1 g1" in printed and "ok" in printed


def test_the_probe_flags_a_certificate_past_its_renewal_date(
    introduced: tuple[Recording, Path], transport_port: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out = introduced
    later = T0 + timedelta(days=80)
    assert main([str(out), "--probe", f"127.0.0.1:{transport_port}"], now=later) == 1
    assert "past its renewal date" in capsys.readouterr().out


def eck(name: str, **fields: str) -> dict[str, Any]:
    return {"name": name, "delivery": "eck", "eck": {
        "name": name, "version": "8.19.2", "namespace": name, **fields,
        "nodeSets": [{"name": "default", "count": 2}]}}


@pytest.fixture(scope="module")
def render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `preflight --out` render: PKCS#12 VM bundles with a 14-day renew-before window, an
    ECK cluster with per-node certificates and one whose pods ECK keys (ca-to-eck)."""
    folder = tmp_path_factory.mktemp("render")
    stack = folder / "Pulumi.dev.yaml"
    stack.write_text(yaml.safe_dump({"config": {"es-transport-pki:clusters": [
        {**cluster(folder, {}), "vm": {"format": "pkcs12"},
         "nodeCertificates": {"validityDays": 90, "renewBeforeDays": 14}},
        eck("search"), eck("metrics", certificates="ca-to-eck"),
    ]}}))
    out = folder / "out"
    assert preflight_cli.main(["--stack-file", str(stack), "--out", str(out)]) == 0
    return out


def test_a_render_lists_pkcs12_bundles_with_the_recorded_renew_before(render: Path) -> None:
    rows = {(r.cluster, r.name): r for r in from_directory(render).rows}
    for node in NODES:
        row = rows["logs", node]
        assert row.renewal_due == row.not_after - timedelta(days=14)
        assert row.not_after - row.not_before == timedelta(days=90)
    ca = rows["logs", CA]
    assert ca.renewal_due == ca.not_after - timedelta(days=180)  # the CA's, recorded too
    # The window given on the command line wins over the recorded one.
    given = {(r.cluster, r.name): r for r in from_directory(render, renew_before_days=7).rows}
    assert given["logs", "es-1"].renewal_due == given["logs", "es-1"].not_after - timedelta(7)


def test_a_render_lists_eck_pods_and_says_when_eck_issues_them(
    render: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = from_directory(render)
    pods = {r.name: r for r in inventory.rows if r.cluster == "search" and not r.is_ca}
    material = eck_material(render / "search" / "k8s")
    assert sorted(pods) == material.pods() == ["search-es-default-0", "search-es-default-1"]
    cert = x509.load_pem_x509_certificate(material.files["search-es-default-0.tls.crt"])
    assert pods["search-es-default-0"].fingerprint == sha256_fingerprint(cert)
    assert pods["search-es-default-0"].renewal_due == cert.not_valid_after_utc - timedelta(30)
    assert [r.name for r in inventory.rows if r.cluster == "metrics"] == [CA]
    assert inventory.notes == [
        "metrics: ECK issues its pods' certificates from the CA (eck.certificates: "
        "ca-to-eck), so only the CA is listed; read a pod's with --probe <pod address>:9300"
    ]
    assert main([str(render)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "search-es-default-1" in printed and "note: metrics: ECK issues" in printed


def test_a_directory_without_a_render_record_says_what_it_assumes(
    introduced: tuple[Recording, Path],
) -> None:
    _, out = introduced
    [note] = from_directory(out).notes
    assert note == (
        f"{out} holds no render.json (a `preflight --out` render older than it, or a "
        "vm.outputDir): renewal dates assume a 30-day node renew-before window (the default; "
        "pass the stack's with --renew-before-days), for ECK pods found under <cluster>/k8s "
        "too, and the CA's window is unknown (a deployed stack's are in `pulumi stack output "
        "--json --show-secrets`)"
    )
    [note] = from_directory(out, renew_before_days=20).notes
    assert "assume a 20-day node renew-before window, for ECK pods" in note


def test_a_render_without_its_record_still_lists_its_eck_pods(
    render: Path, tmp_path: Path
) -> None:
    """A render from before render.json existed: its ECK pods are listed, at the assumed
    window the note names."""
    older = tmp_path / "older"
    shutil.copytree(render, older)
    (older / "render.json").unlink()
    inventory = from_directory(older)
    pods = {r.name: r for r in inventory.rows if r.cluster == "search" and r.name != CA}
    assert "search-es-default-0" in pods
    pod = pods["search-es-default-0"]
    assert pod.renewal_due == pod.not_after - timedelta(30)
    assert "for ECK pods found under <cluster>/k8s too" in inventory.notes[0]


def test_a_pkcs12_bundle_without_its_passwords_is_an_input_error(
    render: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "logs" / "es-1"
    copy.mkdir(parents=True)
    for name in ("elasticsearch.yml", "certs"):
        (copy / name).symlink_to(render / "logs" / "es-1" / name)
    assert main([str(tmp_path)]) == 2
    printed = " ".join(capsys.readouterr().out.split())
    assert f"{copy / 'secure-settings.json'}: missing; the PKCS#12 stores' passwords" in printed


def test_a_cas_renewal_date_follows_its_own_window_when_config_lowered_it() -> None:
    """The deployed CA keeps the window it was created with (components.cluster_ca), and `up`
    warns from it: the inventory dates the CA's renewal from the same window."""
    start = datetime(2027, 3, 1, tzinfo=UTC)

    def cluster(renew_before: int) -> dict[str, Any]:
        return {"name": "logs", "delivery": "vm", "vm": {"writeLocalFiles": False},
                "nodes": [{"name": "es-1", "dns": ["es-1.logs.internal"]}],
                "nodeCertificates": {"validityDays": 90, "renewBeforeDays": 30},
                "ca": {"validityDays": 200, "renewBeforeDays": renew_before}}

    state = EngineState()
    run_clusters([cluster(199)], state=state, clock=lambda: start)
    later = run_clusters([cluster(100)], state=state, clock=lambda: start + timedelta(days=1))
    [ca] = [row for row in from_stack_outputs(reveal(later.stack_outputs)) if row.name == CA]
    assert ca.renewal_due == ca.not_after - timedelta(days=199)
