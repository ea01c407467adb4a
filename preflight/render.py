"""`--out DIR`: what `pulumi up` would deliver, written with the run's throwaway keys.

VM bundles are written by the program itself (its bundle resources write to `vm.outputDir`,
which preflight points at DIR); Kubernetes objects are written here as YAML manifests under
`DIR/<cluster>/k8s/`, as `renderYamlToDirectory` would. `DIR/render.json` records what the
files cannot show: each cluster's delivery and certificate lifetimes (renew-before windows),
as the stack output `clusters` holds them, for `python -m preflight.inventory DIR`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pulumi
import yaml

from components.config import read_stack_config
from harness.mock_runtime import Recording, Registration, reveal
from preflight.plan import PKI_TYPE
from preflight.rendered import RECORD

THROWAWAY_NOTICE = "THROWAWAY-KEYS.txt"
CLUSTERS_KEY = "es-transport-pki:clusters"
NOTICE_TEXT = """\
Every key and certificate below this folder was made by an offline preflight run
(`python -m preflight --out`). They are throwaway: no deployed cluster uses them, and a real
`pulumi up` issues different ones. Use them to inspect layouts and to test handshakes only.
"""


class OutDirError(ValueError):
    """`--out` names a place preflight must not render into."""


def check_out_dir(out: Path) -> None:
    """Refuse an `--out` that is not a directory, or a directory with other content than an
    earlier render: a render writes throwaway keys, which must not land among real files."""
    if out.exists() and not out.is_dir():
        raise OutDirError(f"{out} exists and is not a directory; name a new or empty directory")
    blocker = next((above for above in out.parents if above.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise OutDirError(
            f"{out} cannot be created: {blocker} is not a directory; name a new or empty "
            "directory elsewhere"
        )
    if out.is_dir() and any(out.iterdir()) and not (out / THROWAWAY_NOTICE).is_file():
        raise OutDirError(
            f"{out} is not empty and holds no earlier preflight render ({THROWAWAY_NOTICE}); "
            "name a new or empty directory, so that throwaway keys land nowhere near real ones"
        )


def start_render(out: Path) -> None:
    """Make `out`, as `check_out_dir` let it through, a fresh render. An earlier render is
    emptied first: its bundles may be of another stack or of nodes since removed, and would be
    handshake-tested and inventoried with this run's. The notice comes first, so that a run that
    fails half-way leaves its throwaway keys in a directory marked as a render."""
    with rendering_into(out):
        if (out / THROWAWAY_NOTICE).is_file():  # never delete below an unmarked directory
            for entry in out.iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        out.mkdir(parents=True, exist_ok=True)
        (out / THROWAWAY_NOTICE).write_text(NOTICE_TEXT, encoding="utf-8")


@contextlib.contextmanager
def rendering_into(out: Path) -> Iterator[None]:
    """A file system error while rendering into `out` (permissions, a full disk, a file in
    the way) as an `OutDirError` naming the path, not a traceback."""
    try:
        yield
    except OSError as err:
        where = f" ({err.filename})" if err.filename else ""
        raise OutDirError(
            f"cannot render into {out}: {(err.strerror or str(err)).lower()}{where}; name a "
            "directory preflight can create and write"
        ) from err


def with_output_dir(clusters: str, out: Path | None) -> str:
    """The (validated) `clusters` config value with every VM cluster writing its bundles below
    `out`, or writing no files at all when `out` is None (preflight never writes where
    `pulumi up` would)."""
    parsed = json.loads(clusters)
    files = {"writeLocalFiles": out is not None} | ({} if out is None else {"outputDir": str(out)})
    for cluster in parsed:
        if cluster.get("delivery") == "vm":
            cluster["vm"] = {**(cluster.get("vm") or {}), **files}
    return json.dumps(parsed)


def redirected(program: Callable[[], None], out: Path | None) -> Callable[[], None]:
    """`program` with its VM bundles redirected (`with_output_dir`) into a fresh render
    (`start_render`), once it has validated the config as the stack file holds it: the
    redirection overwrites `vm.writeLocalFiles` and `vm.outputDir`, and would hide their
    problems from preflight, not from `pulumi up`; and an invalid config leaves `out` as it is.
    """
    def run() -> None:
        read_stack_config(datetime.now(UTC))
        if out is not None:
            start_render(out)
        # The program reads its config from the runtime: the redirection goes there too.
        pulumi.runtime.set_config(
            CLUSTERS_KEY, with_output_dir(pulumi.runtime.get_config(CLUSTERS_KEY), out))
        program()
    return run


def _cluster_of(recording: Recording, registration: Registration) -> str | None:
    by_urn = {r.urn: r for r in recording.registrations}
    current: Registration | None = registration
    while current is not None:
        if current.type == PKI_TYPE:
            return current.name
        current = by_urn.get(current.parent)
    return None


def _manifest(registration: Registration) -> dict[str, Any]:
    inputs = reveal(registration.inputs)
    return {k: v for k, v in inputs.items() if not k.startswith("__")}


def write_kubernetes(recording: Recording, out: Path) -> list[Path]:
    written = []
    for registration in recording.registrations:
        if not registration.custom or not registration.type.startswith("kubernetes:"):
            continue
        cluster = _cluster_of(recording, registration)
        manifest = _manifest(registration)
        kind = str(manifest.get("kind", registration.type.rsplit(":", 1)[-1])).lower()
        name = str(manifest.get("metadata", {}).get("name", registration.name))
        path = out / (cluster or "_stack") / "k8s" / f"{kind}-{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
        # Secrets carry private keys: owner-only, like a bundle's key file.
        os.chmod(path, 0o600 if kind == "secret" else 0o644)
        written.append(path)
    return written


def write_record(recording: Recording, out: Path) -> Path:
    """`RECORD`: per cluster its `delivery` and `lifetimes`, from the stack output `clusters`."""
    clusters = reveal(recording.stack_outputs).get("clusters") or {}
    record = {
        "clusters": {name: {k: entry[k] for k in ("delivery", "lifetimes")}
                     for name, entry in sorted(clusters.items())},
    }
    path = out / RECORD
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path
