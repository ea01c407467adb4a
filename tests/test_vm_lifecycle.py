"""VM bundles across `pulumi up`s: no-op re-runs, re-issues that keep the store passwords,
drift repaired, refresh, destroy, cloud-init only, preview, and errors that name the fix."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from components import transport_settings as ts
from components import vm_bundle
from harness import dynamic_providers
from harness.mock_runtime import EngineState, reveal
from tests.stack_runs import REPO
from tests.test_vm_delivery import (
    NODE_BUNDLE,
    bundle_files,
    bundles,
    run_vm,
    secure_settings,
    settings_of,
    vm_cluster,
)


def cluster(out: Path, **vm: Any) -> dict[str, Any]:
    return vm_cluster("logs", 2, outputDir=str(out), **vm)


def node_dir(out: Path, node: str = "logs-1") -> Path:
    return out / "logs" / node


def mtimes(directory: Path) -> dict[str, int]:
    return {rel: (directory / rel).stat().st_mtime_ns for rel in bundle_files(directory)}


def test_rerun_with_the_same_config_and_state_changes_nothing(tmp_path: Path) -> None:
    state = EngineState()
    clusters = [cluster(tmp_path, format="both")]
    first = run_vm(clusters, state)
    before, times = bundle_files(node_dir(tmp_path)), mtimes(node_dir(tmp_path))
    second = run_vm(clusters, state)
    assert second.changes.created == second.changes.updated == second.changes.replaced == []
    assert {r.urn: r.inputs for r in first} == {r.urn: r.inputs for r in second}
    assert {r.urn: reveal(r.outputs) for r in bundles(first)} == {
        r.urn: reveal(r.outputs) for r in bundles(second)
    }
    assert bundle_files(node_dir(tmp_path)) == before
    assert mtimes(node_dir(tmp_path)) == times  # nothing rewritten: Elasticsearch reloads nothing


def test_a_bundle_stored_in_an_older_cloud_init_form_is_re_rendered_and_no_file_rewritten(
    tmp_path: Path,
) -> None:
    """State written before the appended elasticsearch.yml kept the packages' ownership holds the
    old document and no form marker: the next `up` updates each bundle's document only."""
    state = EngineState()
    clusters = [cluster(tmp_path, format="both")]
    first = run_vm(clusters, state)
    times = mtimes(node_dir(tmp_path))
    for stored in state.resources.values():
        if stored.type == NODE_BUNDLE:
            del stored.outputs["cloudInitForm"]
    second = run_vm(clusters, state)
    assert sorted(second.changes.updated) == sorted(r.urn for r in bundles(first))
    assert second.changes.created == second.changes.replaced == []
    assert mtimes(node_dir(tmp_path)) == times
    for bundle in bundles(second):
        assert bundle.outputs["cloudInitForm"] == 2
    third = run_vm(clusters, state)
    assert third.changes.updated == []


def test_a_reissued_certificate_rebuilds_the_keystore_but_keeps_the_passwords(
    tmp_path: Path,
) -> None:
    state = EngineState()
    clusters = [cluster(tmp_path, format="pkcs12")]
    first = run_vm(clusters, state)
    before = bundle_files(node_dir(tmp_path))
    clusters[0]["nodes"][0]["dns"].append("logs-1.alias.internal")  # new SAN: new certificate
    second = run_vm(clusters, state)
    after = bundle_files(node_dir(tmp_path))

    assert after[vm_bundle.KEYSTORE] != before[vm_bundle.KEYSTORE]
    # Same CA: the truststore keeps its bytes, so nothing but the keystore is reloaded.
    assert after[vm_bundle.TRUSTSTORE] == before[vm_bundle.TRUSTSTORE]
    assert after[vm_bundle.SECURE_SETTINGS] == before[vm_bundle.SECURE_SETTINGS]
    assert after[vm_bundle.ELASTICSEARCH_YML] == before[vm_bundle.ELASTICSEARCH_YML]
    old, new = (run.named("logs-vm-logs-1").outputs for run in (first, second))
    assert reveal(old["passwords"]) == reveal(new["passwords"])
    assert second.named("logs-vm-logs-1").step == "update"
    assert second.named("logs-vm-logs-2").step == "same"


def test_a_format_change_keeps_the_passwords(tmp_path: Path) -> None:
    state = EngineState()
    run_vm([cluster(tmp_path, format="pkcs12")], state)
    passwords = secure_settings(node_dir(tmp_path))
    run_vm([cluster(tmp_path, format="pem")], state)
    assert vm_bundle.SECURE_SETTINGS not in bundle_files(node_dir(tmp_path))
    assert ts.KEY in settings_of(node_dir(tmp_path))
    run_vm([cluster(tmp_path, format="both")], state)
    assert secure_settings(node_dir(tmp_path)) == passwords


def test_drift_on_disk_is_restored_by_the_next_up(tmp_path: Path) -> None:
    state = EngineState()
    clusters = [cluster(tmp_path)]
    run_vm(clusters, state)
    directory = node_dir(tmp_path)
    before = bundle_files(directory)
    (directory / vm_bundle.KEY).unlink()
    (directory / vm_bundle.ELASTICSEARCH_YML).write_text(f"{ts.ENABLED}: false\n")
    (directory / vm_bundle.CERTIFICATE).chmod(0o666)

    again = run_vm(clusters, state)

    assert bundle_files(directory) == before
    assert oct((directory / vm_bundle.KEY).stat().st_mode & 0o777) == "0o600"
    assert oct((directory / vm_bundle.CERTIFICATE).stat().st_mode & 0o777) == "0o644"
    assert [r.name for r in again if r.step != "same"] == ["logs-vm-logs-1"]


def test_refresh_sees_a_deleted_file(tmp_path: Path) -> None:
    state = EngineState()
    run_vm([cluster(tmp_path)], state)
    (node_dir(tmp_path) / vm_bundle.KEY).unlink()
    changed = dynamic_providers.refresh(state)
    assert [urn.rsplit("::", 1)[1] for urn in changed] == ["logs-vm-logs-1"]
    refreshed = state.resources[changed[0]].outputs
    assert vm_bundle.KEY not in refreshed["modes"]
    assert vm_bundle.KEY not in reveal(refreshed["digests"])


def test_removing_a_cluster_deletes_its_bundles(tmp_path: Path) -> None:
    state = EngineState()
    other = vm_cluster("metrics", 1, outputDir=str(tmp_path))
    run_vm([cluster(tmp_path), other], state)
    assert node_dir(tmp_path).is_dir()
    # Decommissioning a protected cluster: lift the protection first (docs/state-and-secrets.md).
    run_vm([cluster(tmp_path), other], state, protect_ca=False)
    gone = run_vm([other], state, protect_ca=False)
    deleted = [urn.rsplit("::", 1)[1] for urn in gone.changes.deleted]
    assert {"logs-vm-logs-1", "logs-vm-logs-2"} <= set(deleted)
    assert list((tmp_path / "logs").iterdir()) == []
    assert bundle_files(tmp_path / "metrics" / "metrics-1")


def test_cloud_init_only_writes_nothing_and_switching_off_local_files_removes_them(
    tmp_path: Path,
) -> None:
    only = run_vm([cluster(tmp_path, writeLocalFiles=False)])
    assert not (tmp_path / "logs").exists()
    bundle = only.named("logs-vm-logs-1")
    assert bundle.id == "cloud-init/logs/logs-1"
    assert reveal(bundle.outputs["cloudInit"]).startswith("#cloud-config\n")

    state = EngineState()
    run_vm([cluster(tmp_path)], state)
    run_vm([cluster(tmp_path, writeLocalFiles=False)], state)
    assert not node_dir(tmp_path).exists()


def test_preview_writes_nothing(tmp_path: Path) -> None:
    state = EngineState()
    preview = run_vm([cluster(tmp_path)], state, preview=True)
    assert len(preview.of_type(NODE_BUNDLE)) == 2 and not tmp_path.joinpath("logs").exists()


def test_an_output_dir_under_a_file_is_an_error_naming_the_path_and_the_fix(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("a file, not a directory\n")
    with pytest.raises(Exception, match="remove or rename it") as failure:
        run_vm([cluster(blocker)])
    assert str(blocker) in str(failure.value)


def test_permission_denied_names_the_directory_to_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_mkdir = os.mkdir

    def denied(path: Any, mode: int = 0o777, **kw: Any) -> None:
        if str(path).startswith(str(tmp_path)):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        real_mkdir(path, mode, **kw)

    monkeypatch.setattr(os, "mkdir", denied)
    with pytest.raises(Exception, match="give the user running `pulumi up` write access to") as e:
        run_vm([cluster(tmp_path / "out")])
    assert repr(str(tmp_path)) in str(e.value)


def test_provider_loads_and_writes_in_a_fresh_process_like_the_provider_host(
    tmp_path: Path,
) -> None:
    # The engine's dynamic-provider host dill-loads the provider in the project directory.
    state = EngineState()
    run_vm([cluster(tmp_path / "first", format="pkcs12")], state)
    stored = next(r for r in state.resources.values() if r.type == NODE_BUNDLE)
    inputs = {**dynamic_providers.plain(stored.inputs), "directory": str(tmp_path / "again")}
    script = (
        "import json, sys\n"
        "from harness.dynamic_providers import load_provider\n"
        "props = json.loads(sys.stdin.read())\n"
        "print(load_provider(props['__provider']).create(props).id)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], input=json.dumps(inputs), cwd=REPO,
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == str(tmp_path / "again")
    assert set(bundle_files(tmp_path / "again")) == {
        vm_bundle.ELASTICSEARCH_YML, vm_bundle.KEYSTORE, vm_bundle.TRUSTSTORE,
        vm_bundle.SECURE_SETTINGS,
    }
