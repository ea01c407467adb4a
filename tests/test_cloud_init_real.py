"""The `vmCloudInit` documents held to the real cloud-init, not only to PyYAML: every document the
program renders (pem, pkcs12, both; with and without `http`; a custom configDir and owner)
passes cloud-init's own schema check with no deprecation, and two of them, rendered with
`vm.configDir` in a temporary directory, are consumed as user-data and run through cloud-init's
write_files (init stage) and write_files_deferred (final stage) modules over a "package"
elasticsearch.yml: the files hold the local bundle's bytes with the modes and owners the
document declares, and the node's own elasticsearch.yml keeps its settings, owner and mode.

cloud-init runs in the system Python it is installed for (tests/cloud_init/oracle.py under
/usr/bin/python3; Debian: `apt-get install --no-install-recommends cloud-init`, which `.ci/run`
does); these tests skip without it. Ownership is asserted only as root (cloud-init runs as root;
elsewhere its chown is left out and said so).
"""

from __future__ import annotations

import base64
import functools
import grp
import json
import os
import pwd
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import vm_bundle
from harness.mock_runtime import reveal
from tests.test_vm_delivery import bundle_files, run_vm, settings_of

SYSTEM_PYTHON = "/usr/bin/python3"
ORACLE = Path(__file__).parent / "cloud_init" / "oracle.py"
IS_ROOT = os.geteuid() == 0
# The executed documents' owners: a user and group every Debian/Ubuntu system has.
USER, GROUP = "nobody", "nogroup"
# The "package" elasticsearch.yml: what an image's file may look like before cloud-init appends;
# one whose last line has no newline (printf, a template engine that trims it) as well.
PACKAGE_YML = b"cluster.name: logs\nnode.roles: [ master, data ]\npath.data: /var/lib/es\n"
UNTERMINATED_YML = b"path.data: /var/lib/es\ncluster.name: audit"


@functools.cache
def cloud_init_missing() -> str | None:
    """Why cloud-init cannot be run here, or None."""
    probe = "import cloudinit.config.cc_write_files_deferred, cloudinit.config.schema, jsonschema"
    try:
        done = subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, text=True,
                              timeout=60, check=False)
    except OSError as e:
        return f"no {SYSTEM_PYTHON} ({e.strerror})"
    if done.returncode != 0:
        return (f"no cloud-init in {SYSTEM_PYTHON} (Debian: apt-get install "
                f"--no-install-recommends cloud-init): {done.stderr.strip().splitlines()[-1]}")
    return None


def oracle(*args: str) -> dict[str, Any]:
    done = subprocess.run([SYSTEM_PYTHON, str(ORACLE), *args], capture_output=True, text=True,
                          timeout=120, check=False, cwd="/")
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@dataclass(frozen=True)
class Scenario:
    cluster: str
    vm: dict[str, Any]
    http: bool = False
    package_yml: bytes | None = None  # executed: the image's elasticsearch.yml before cloud-init

    @property
    def node(self) -> str:
        return f"{self.cluster}-1"


def scenarios(executed: Path) -> list[Scenario]:
    return [
        Scenario("pem", {}),
        Scenario("pkcs", {"format": "pkcs12"}),
        Scenario("both", {"format": "both"}),
        Scenario("web", {}, http=True),
        Scenario("search", {"format": "both", "configDir": "/opt/es/config", "owner": "es:search"},
                 http=True),
        # Run by cloud-init: the bundle's owner user:group, every file kind (PEM, stores, JSON).
        Scenario("logs", {"format": "both", "configDir": str(executed / "logs"),
                          "owner": f"{USER}:{GROUP}"}, http=True, package_yml=PACKAGE_YML),
        # ... and an owner naming no group.
        Scenario("audit", {"format": "pkcs12", "configDir": str(executed / "audit"),
                           "owner": USER}, package_yml=UNTERMINATED_YML),
    ]


def cluster(scenario: Scenario, index: int, out: Path) -> dict[str, Any]:
    node = {"name": scenario.node, "dns": [f"{scenario.node}.example.internal"],
            "ips": [f"127.0.{index}.1"]}
    config: dict[str, Any] = {"name": scenario.cluster, "delivery": "vm",
                              "vm": {**scenario.vm, "outputDir": str(out)}, "nodes": [node]}
    if scenario.http:
        config["http"] = {"mode": "generated", "dns": [f"{scenario.cluster}.example.com"]}
    return config


@dataclass(frozen=True)
class Rendered:
    scenario: Scenario
    document: str
    file: Path  # the document, as `cloud-init schema --config-file` reads it
    bundle: Path  # the local bundle folder the same run wrote

    @property
    def entries(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = yaml.safe_load(self.document)["write_files"]
        return entries

    @property
    def config_dir(self) -> Path:
        return Path(self.scenario.vm.get("configDir", "/etc/elasticsearch"))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> list[Rendered]:
    reason = cloud_init_missing()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("cloud-init-real")
    out, documents = base / "out", base / "documents"
    documents.mkdir()
    cases = scenarios(base / "nodes")
    run = run_vm([cluster(s, i, out) for i, s in enumerate(cases, start=1)])
    exported = reveal(run.stack_outputs["vmCloudInit"])
    found = []
    for case in cases:
        document = exported[case.cluster][case.node]
        file = documents / f"{case.cluster}.yaml"
        file.write_text(document, encoding="utf-8")
        found.append(Rendered(case, document, file, out / case.cluster / case.node))
    return found


@dataclass(frozen=True)
class Applied:
    rendered: Rendered
    report: dict[str, Any]  # tests/cloud_init/oracle.py apply

    def files(self, stage: str) -> dict[str, bytes]:
        return {rel: base64.b64decode(entry["content"])
                for rel, entry in self.report[stage].items() if "content" in entry}

    def stat(self, rel: str) -> tuple[str, int, int]:
        entry = self.report["final"][rel]
        return entry["mode"], entry["uid"], entry["gid"]


def install_package_yml(config_dir: Path, content: bytes) -> None:
    """The config directory and elasticsearch.yml as Elasticsearch's packages leave them:
    root:<group> 2750 and root:<group> 0660."""
    config_dir.mkdir(parents=True)
    yml = config_dir / vm_bundle.ELASTICSEARCH_YML
    yml.write_bytes(content)
    if IS_ROOT:
        gid = grp.getgrnam(GROUP).gr_gid
        os.chown(config_dir, 0, gid)
        os.chown(yml, 0, gid)
    config_dir.chmod(0o2750)
    yml.chmod(0o660)


@pytest.fixture(scope="module")
def applied(rendered: list[Rendered]) -> list[Applied]:
    done = []
    for case in rendered:
        if case.scenario.package_yml is None:
            continue
        install_package_yml(case.config_dir, case.scenario.package_yml)
        flags = [] if IS_ROOT else ["--no-chown"]
        report = oracle("apply", *flags, str(case.file), str(case.config_dir))
        done.append(Applied(case, report))
    assert len(done) == 2
    return done


def relative(entry: dict[str, Any], config_dir: Path) -> str:
    path = Path(entry["path"])
    assert path.is_relative_to(config_dir), (path, config_dir)
    return path.relative_to(config_dir).as_posix()


def owner_ids(owner: str) -> tuple[int, int | None]:
    """(uid, gid or None when `owner` names no group), as cloud-init resolves `owner`."""
    user, _, group = owner.partition(":")
    return pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid if group else None


# --------------------------------------------------------------------------- schema


@pytest.fixture(scope="module")
def schema_report(rendered: list[Rendered]) -> dict[str, Any]:
    return oracle("schema", *(str(r.file) for r in rendered))


def test_every_rendered_document_passes_cloud_inits_schema_with_no_deprecation(
    rendered: list[Rendered], schema_report: dict[str, Any]
) -> None:
    """What `cloud-init schema --config-file` checks (the #cloud-config header, YAML, the
    schema of every module), each document: no error, no deprecation, nothing printed."""
    assert {r.scenario.cluster for r in rendered} == {"pem", "pkcs", "both", "web", "search",
                                                      "logs", "audit"}
    for case in rendered:
        result = schema_report["documents"][str(case.file)]
        assert result == {"errors": [], "deprecations": [], "printed": []}, case.scenario


def test_the_write_files_keys_used_are_cloud_inits_own_and_none_is_deprecated(
    rendered: list[Rendered], schema_report: dict[str, Any]
) -> None:
    """Read from the installed schema itself: every key an entry uses is a write_files key
    there, typed as we write it, with no `deprecated` mark; `b64` is one of its encodings."""
    keys = schema_report["write_files_keys"]
    used = {key for case in rendered for entry in case.entries for key in entry}
    assert used == {"path", "content", "encoding", "owner", "permissions", "defer", "append"}
    for key in used:
        assert not any(mark.startswith("deprecated") for mark in keys[key]), (key, keys[key])
    assert "b64" in keys["encoding"]["enum"]
    types = {"path": str, "content": str, "encoding": str, "owner": str, "permissions": str,
             "defer": bool, "append": bool}
    names = {str: "string", bool: "boolean"}
    for case in rendered:
        for entry in case.entries:
            for key, value in entry.items():
                assert isinstance(value, types[key]) and keys[key]["type"] == names[types[key]]


def test_the_schema_check_is_live_and_refuses_a_broken_document(tmp_path: Path) -> None:
    """A control: cloud-init skips schema validation silently without jsonschema; here an
    integer mode, an unknown key and an unknown encoding are each reported."""
    if reason := cloud_init_missing():
        pytest.skip(reason)
    broken = tmp_path / "broken.yaml"
    broken.write_text("#cloud-config\nwrite_files:\n- path: /etc/x\n  permissions: 0660\n"
                      "  mode: '0600'\n  encoding: base32\n", encoding="utf-8")
    no_header = tmp_path / "no-header.yaml"
    no_header.write_text("write_files:\n- path: /etc/x\n", encoding="utf-8")
    report = oracle("schema", str(broken), str(no_header))["documents"]
    errors = " ".join(report[str(broken)]["errors"])
    assert "432 is not of type 'string'" in errors  # 0660 is YAML 1.1's octal 432
    assert "'mode' was unexpected" in errors and "'base32' is not one of" in errors
    assert "#cloud-config" in " ".join(report[str(no_header)]["errors"])


# --------------------------------------------------------------------------- write_files


def test_cloud_init_reads_the_stages_as_the_documents_assume_and_warns_of_nothing(
    applied: list[Applied],
) -> None:
    """The installed cloud.cfg runs write_files in the init stage and write_files_deferred in
    the final stage, after package installation (why every entry has `defer: true`)."""
    for case in applied:
        stages = case.report["stages"]
        assert "write-files" in stages["cloud_init_modules"]
        final = stages["cloud_final_modules"]
        assert final.index("package-update-upgrade-install") < final.index("write-files-deferred")
        assert case.report["warnings"] == [], case.report["warnings"]


def test_the_init_stage_writes_nothing_every_entry_is_deferred(applied: list[Applied]) -> None:
    for case in applied:
        assert case.report["init"] == case.report["before"]
        assert set(case.report["before"]) == {vm_bundle.ELASTICSEARCH_YML}


def test_the_final_stage_writes_the_local_bundles_bytes_and_nothing_else(
    applied: list[Applied],
) -> None:
    """Every file as the local bundle holds it, but elasticsearch.yml: the node's own file, a
    newline, then the bundle's; no other file or directory but the ones holding them."""
    for case in applied:
        local = bundle_files(case.rendered.bundle)
        package = case.rendered.scenario.package_yml
        assert package is not None
        written = case.files("final")
        yml = written.pop(vm_bundle.ELASTICSEARCH_YML)
        assert written == {rel: content for rel, content in local.items()
                           if rel != vm_bundle.ELASTICSEARCH_YML}
        assert yml == package + b"\n" + local[vm_bundle.ELASTICSEARCH_YML]
        directories = {rel for rel, entry in case.report["final"].items() if entry.get("dir")}
        assert directories == {str(Path(rel).parent) for rel in written} - {"."}
        assert not any(entry.get("other") for entry in case.report["final"].values())
        assert set(case.report["final"]) == {*local, *directories}


def test_the_node_keeps_its_own_settings_and_gains_the_bundles(applied: list[Applied]) -> None:
    """Even where the node's file ends without a newline: cloud-init appends the bytes as they
    are, and the bundle's first line must not run on into the node's last setting."""
    assert {case.rendered.scenario.package_yml for case in applied} == {PACKAGE_YML,
                                                                        UNTERMINATED_YML}
    for case in applied:
        package = case.rendered.scenario.package_yml
        assert package is not None
        merged = yaml.safe_load(case.files("final")[vm_bundle.ELASTICSEARCH_YML])
        assert merged == {**yaml.safe_load(package), **settings_of(case.rendered.bundle)}


def test_each_file_has_the_mode_the_document_declares_keys_owner_only(
    applied: list[Applied],
) -> None:
    for case in applied:
        for entry in case.rendered.entries:
            rel = relative(entry, case.rendered.config_dir)
            mode = case.stat(rel)[0]
            assert mode == entry["permissions"], rel
            if rel == vm_bundle.ELASTICSEARCH_YML:
                assert mode == "0660"  # the packages' own, still
            else:
                assert mode == vm_bundle.MODES[rel], rel
            secret = rel.endswith((".key", "transport.p12")) or rel == vm_bundle.SECURE_SETTINGS
            assert (mode == "0600") is secret, rel


@pytest.mark.skipif(not IS_ROOT, reason="cloud-init chowns as root; not root here, so its "
                    "chown was left out (--no-chown) and ownership is not asserted")
def test_each_file_has_the_owner_the_document_declares_and_the_yml_stays_root_group(
    applied: list[Applied],
) -> None:
    nobody, nogroup = pwd.getpwnam(USER).pw_uid, grp.getgrnam(GROUP).gr_gid
    for case in applied:
        before = {rel: (e["uid"], e["gid"]) for rel, e in case.report["before"].items()}
        for entry in case.rendered.entries:
            rel = relative(entry, case.rendered.config_dir)
            _, uid, gid = case.stat(rel)
            want_uid, want_gid = owner_ids(entry["owner"])
            assert uid == want_uid, rel
            if want_gid is not None:
                assert gid == want_gid, rel
            if rel == vm_bundle.ELASTICSEARCH_YML:
                # The package's root:<group>, or with no group named the owner user keeps the
                # package's group.
                assert (uid, gid) == ((0, nogroup) if ":" in case.rendered.scenario.vm["owner"]
                                      else (nobody, before[rel][1])), rel
            else:
                assert uid == nobody, rel

