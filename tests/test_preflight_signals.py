"""Preflight stopped by a signal still cleans up: with `--decrypted-config --handshakes` its
temporary folders hold certificates and keys of the real CA (docs/state-and-secrets.md), and
its policy pack runs in a process of its own."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from preflight import stopping

REPO = Path(__file__).resolve().parent.parent
CLUSTERS = "es-transport-pki:clusters"


def _processes_with(marker: str) -> list[int]:
    """Our processes whose environment holds `marker` (preflight's children inherit TMPDIR)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:  # gone, or not ours
            continue
    return found


def _wait_for_key(tmp: Path, process: subprocess.Popen[str]) -> Path:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        keys = [k for k in tmp.glob("preflight-*/**/*.key") if k.is_file()]
        if keys:
            return keys[0]
        time.sleep(0.005)
    raise AssertionError(f"no key file appeared under {tmp}; exit {process.poll()}")


def _start(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    """Preflight on the dev stack's VM cluster with handshakes, its temporary files (and its
    children's) in a folder of its own."""
    dev = yaml.safe_load((REPO / "stacks" / "Pulumi.dev.yaml").read_text())
    dev["config"][CLUSTERS] = [c for c in dev["config"][CLUSTERS] if c["name"] == "logs"]
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text(yaml.safe_dump(dev))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    process = subprocess.Popen(
        [sys.executable, "-m", "preflight", "--stack-file", str(stack), "--handshakes"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    return process, scratch


@pytest.mark.parametrize(("stop", "code"), [
    (signal.SIGTERM, 128 + signal.SIGTERM),
    (signal.SIGHUP, 128 + signal.SIGHUP),
    (signal.SIGINT, 128 + signal.SIGINT),
], ids=["TERM", "HUP", "INT"])
def test_a_stopped_preflight_removes_its_key_material_and_its_pack(
    tmp_path: Path, stop: signal.Signals, code: int
) -> None:
    process, scratch = _start(tmp_path)
    try:
        key = _wait_for_key(scratch, process)
        process.send_signal(stop)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == code, stderr
    assert not key.exists()
    assert list(scratch.glob("preflight-*")) == []
    assert "Traceback" not in stderr
    assert _processes_with(f"TMPDIR={scratch}") == []


def test_a_killed_preflight_takes_its_pack_with_it(tmp_path: Path) -> None:
    """SIGKILL leaves preflight no chance to end its pack (nor to remove its temporary
    folder): the pack, watching its stdin pipe from preflight, ends by itself."""
    process, scratch = _start(tmp_path)
    try:
        _wait_for_key(scratch, process)
        children = _processes_with(f"TMPDIR={scratch}")
        assert len(children) > 1  # the pack, with preflight itself
        process.kill()
        process.communicate(timeout=60)
        deadline = time.monotonic() + 10
        while _processes_with(f"TMPDIR={scratch}") and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        if process.poll() is None:
            process.kill()
    assert _processes_with(f"TMPDIR={scratch}") == []


@pytest.fixture()
def handlers() -> Iterator[None]:
    """`stopping.stop` ignores further signals, as preflight must while it cleans up; this
    process gets its handlers back."""
    saved = {s: signal.getsignal(s) for s in stopping.STOPPING_SIGNALS}
    yield
    for stopping_signal, handler in saved.items():
        signal.signal(stopping_signal, handler)


@pytest.mark.usefixtures("handlers")
def test_a_signal_outside_the_event_loop_exits_at_once() -> None:
    with pytest.raises(SystemExit) as stopped:
        stopping.stop(signal.SIGTERM, None)
    assert stopped.value.code == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN


@pytest.mark.usefixtures("handlers")
def test_a_signal_inside_the_event_loop_exits_between_its_steps() -> None:
    """Never in the middle of a step (where asyncio may be between finishing a task and
    waking its waiter), yet promptly: a loop asleep in its select wakes for it."""
    steps: list[str] = []

    async def program() -> None:
        stopping.stop(signal.SIGHUP, None)  # delivered in the middle of this step
        steps.append("the step went on")
        await asyncio.sleep(3600)
        steps.append("never")

    loop = asyncio.new_event_loop()
    try:
        started = time.monotonic()
        with pytest.raises(SystemExit) as stopped:
            loop.run_until_complete(program())
        assert time.monotonic() - started < 5
    finally:
        left = asyncio.all_tasks(loop)
        for task in left:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
        loop.close()
    assert stopped.value.code == 128 + signal.SIGHUP
    assert steps == ["the step went on"]
