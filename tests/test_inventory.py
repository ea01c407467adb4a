"""`python -m preflight.inventory`: the table from recorded stack outputs and from a bundle
directory, the timeline picture, and the probe against a local TLS server."""

from __future__ import annotations

import json
import socket
import ssl
import struct
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from harness.mock_runtime import EngineState, Recording, reveal
from preflight import timeline
from preflight.inventory.__main__ import main
from preflight.inventory.rows import CA, from_directory, from_stack_outputs
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
                  for r in from_directory(out, renew_before_days=20)}
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
