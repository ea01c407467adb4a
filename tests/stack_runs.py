"""Running the real program on a stack's config under the mock runtime, for tests."""

from __future__ import annotations

import contextlib
import json
import tempfile
import weakref
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509

from components.program import main
from harness.mock_runtime import EngineState, Recording, Registration, Sent, reveal, run_program
from harness.stack_file import load_stack_file

REPO = Path(__file__).resolve().parent.parent
# A clock for runs whose certificates OpenSSL and JSSE handshake-test against the real clock:
# just before it, since at a fixed date they would expire under the tests.
JUST_BEFORE_NOW = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
NAMESPACE = "es-transport-pki"

LOCALLY_SIGNED = "tls:index/locallySignedCert:LocallySignedCert"
SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert"
PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
CERT_REQUEST = "tls:index/certRequest:CertRequest"


def run_stack(
    name: str, *, state: EngineState | None = None, clock: Callable[[], datetime] | None = None,
    on_register: Callable[[Sent], None] | None = None, preview: bool = False,
) -> Recording:
    stack = load_stack_file(REPO / "stacks" / f"Pulumi.{name}.yaml")
    return run_clusters_config(
        stack.config, stack=name, secret_keys=stack.secret_keys, state=state, clock=clock,
        root_directory=REPO, on_register=on_register, preview=preview,
    )


def run_clusters(
    clusters: list[dict[str, Any]], *, stack: str = "test", secret: bool = False,
    state: EngineState | None = None, clock: Callable[[], datetime] | None = None,
    settings: Mapping[str, Any] | None = None, preview: bool = False,
) -> Recording:
    """`settings`: other top-level keys of the namespace, e.g. {"protectCa": False}."""
    key = f"{NAMESPACE}:clusters"
    config = {f"{NAMESPACE}:{name}": json.dumps(value) for name, value in (settings or {}).items()}
    return run_clusters_config(
        config | {key: json.dumps(clusters)}, stack=stack,
        secret_keys=[key] if secret else [], state=state, clock=clock, preview=preview,
    )


_PROJECT_DIRS: weakref.WeakKeyDictionary[EngineState, str] = weakref.WeakKeyDictionary()
# Every run's project directory lives under this one, removed when the process exits: the runs
# write node keys there, and a directory per run left in the temp dir adds up (~850 per suite).
_RUNS_ROOT = tempfile.TemporaryDirectory(prefix="es-transport-pki-runs-")


def _project_dir(state: EngineState | None) -> str:
    if state is None:
        return tempfile.mkdtemp(prefix="run-", dir=_RUNS_ROOT.name)
    if state not in _PROJECT_DIRS:
        _PROJECT_DIRS[state] = tempfile.mkdtemp(prefix="run-", dir=_RUNS_ROOT.name)
    return _PROJECT_DIRS[state]


def run_clusters_config(
    config: Mapping[str, str], *, stack: str, secret_keys: list[str],
    state: EngineState | None, clock: Callable[[], datetime] | None,
    root_directory: Path | None = None, on_register: Callable[[Sent], None] | None = None,
    preview: bool = False,
) -> Recording:
    def program() -> None:
        main(clock) if clock else main()

    # VM bundles are written to `vm.outputDir` (default out/<stack>, relative to the working
    # directory, as under `pulumi up`): keep them out of the repository. Runs that share an
    # EngineState share a project directory too, as successive `pulumi up`s of one checkout do.
    with contextlib.chdir(_project_dir(state)):
        return run_program(
            program, config=config, secret_keys=secret_keys, stack=stack, state=state,
            clock=clock, root_directory=root_directory, on_register=on_register, preview=preview,
        )


def cert_of(registration: Registration) -> x509.Certificate:
    return x509.load_pem_x509_certificate(str(reveal(registration.outputs["certPem"])).encode())


def children(recording: Recording, parent: Registration) -> list[Registration]:
    return [r for r in recording.registrations if r.parent == parent.urn]
