"""VM delivery of the dev stack under the mock runtime: every bundle's elasticsearch.yml against
the settings reference, the files it names, modes, custody, cloud-init documents, and mutual TLS
between nodes loaded from their bundle files (OpenSSL, and JSSE as Elasticsearch runs it)."""

from __future__ import annotations

import base64
import itertools
import json
import stat
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from components import transport_settings as ts
from components import vm_bundle
from components.program import main
from harness.handshake import (
    HandshakePair,
    HandshakeResult,
    Identity,
    PemIdentity,
    Pkcs12Identity,
    jdk_available,
    jsse_handshakes,
    openssl_handshakes,
)
from harness.mock_runtime import (
    EngineState,
    Recording,
    Registration,
    Secret,
    reveal,
    run_program,
)
from harness.stack_file import load_stack_file
from tests.stack_runs import JUST_BEFORE_NOW, NAMESPACE, REPO

NOW = JUST_BEFORE_NOW  # its certificates are handshake-tested
NODE_BUNDLE = "pulumi-python:dynamic/es-transport-pki:NodeBundle"
SCHEMA = json.loads(
    (REPO.parent / "shared/schemas/elasticsearch/transport-ssl-settings.json").read_text()
)
CLUSTERS_KEY = f"{NAMESPACE}:clusters"
PEM_FILES = {vm_bundle.KEY, vm_bundle.CERTIFICATE, vm_bundle.CERTIFICATE_AUTHORITIES}
STORE_FILES = {vm_bundle.KEYSTORE, vm_bundle.TRUSTSTORE, vm_bundle.SECURE_SETTINGS}
FILES = {
    "pem": {vm_bundle.ELASTICSEARCH_YML, *PEM_FILES},
    "pkcs12": {vm_bundle.ELASTICSEARCH_YML, *STORE_FILES},
    "both": {vm_bundle.ELASTICSEARCH_YML, *PEM_FILES, *STORE_FILES},
}
COMMON_SETTINGS = {ts.ENABLED: True, ts.CLIENT_AUTHENTICATION: "required",
                   ts.VERIFICATION_MODE: "full"}
PEM_SETTINGS = {**COMMON_SETTINGS, ts.KEY: vm_bundle.KEY, ts.CERTIFICATE: vm_bundle.CERTIFICATE,
                ts.CERTIFICATE_AUTHORITIES: [vm_bundle.CERTIFICATE_AUTHORITIES]}
STORE_SETTINGS = {**COMMON_SETTINGS, ts.KEYSTORE_PATH: vm_bundle.KEYSTORE,
                  ts.KEYSTORE_TYPE: "PKCS12", ts.TRUSTSTORE_PATH: vm_bundle.TRUSTSTORE,
                  ts.TRUSTSTORE_TYPE: "PKCS12"}
PATH_TYPES = ("path", "list<path>")


def clock() -> datetime:
    return NOW


def vm_cluster(name: str, count: int, **vm: Any) -> dict[str, Any]:
    nodes = [{"name": f"{name}-{i}", "dns": [f"{name}-{i}.example.internal"],
              "ips": [f"127.0.{len(name)}.{i}"]} for i in range(1, count + 1)]
    return {"name": name, "delivery": "vm", "vm": vm, "nodes": nodes}


def dev_clusters(output_dir: Path) -> list[dict[str, Any]]:
    """The dev stack's clusters, its VM cluster writing under `output_dir` (never out/dev),
    plus a PKCS#12 cluster and a `both` cluster with their own config dir and owner."""
    clusters: list[dict[str, Any]] = json.loads(
        load_stack_file(REPO / "stacks" / "Pulumi.dev.yaml").config[CLUSTERS_KEY]
    )
    for cluster in clusters:
        if cluster["delivery"] == "vm":
            cluster["vm"] = {**cluster.get("vm", {}), "outputDir": str(output_dir)}
    return [
        *clusters,
        vm_cluster("metrics", 3, format="pkcs12", outputDir=str(output_dir),
                   configDir="/opt/es/config", owner="es:es"),
        vm_cluster("audit", 2, format="both", outputDir=str(output_dir)),
    ]


def run_vm(
    clusters: list[dict[str, Any]], state: EngineState | None = None, *, preview: bool = False,
    protect_ca: bool = True,
) -> Recording:
    config = {CLUSTERS_KEY: json.dumps(clusters), f"{NAMESPACE}:protectCa": json.dumps(protect_ca)}
    return run_program(lambda: main(clock), config=config,
                       stack="test", preview=preview, state=state, clock=clock)


def bundles(run: Recording) -> list[Registration]:
    return run.of_type(NODE_BUNDLE)


def bundle_files(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def mode(path: Path) -> str:
    return f"{stat.S_IMODE(path.stat().st_mode):04o}"


def settings_of(directory: Path) -> dict[str, Any]:
    loaded = yaml.safe_load((directory / vm_bundle.ELASTICSEARCH_YML).read_text())
    assert isinstance(loaded, dict)
    return loaded


def secure_settings(directory: Path) -> dict[str, str]:
    loaded = json.loads((directory / vm_bundle.SECURE_SETTINGS).read_text())
    assert isinstance(loaded, dict)
    return loaded


def identity(directory: Path) -> Identity:
    """The node's material as Elasticsearch loads it: from the files its settings name."""
    settings = settings_of(directory)
    if ts.KEY in settings:
        [authorities] = settings[ts.CERTIFICATE_AUTHORITIES]
        return PemIdentity(directory / settings[ts.CERTIFICATE], directory / settings[ts.KEY],
                           directory / authorities)
    passwords = secure_settings(directory)
    return Pkcs12Identity(directory / settings[ts.KEYSTORE_PATH], passwords[ts.KEYSTORE_PASSWORD],
                          directory / settings[ts.TRUSTSTORE_PATH],
                          passwords[ts.TRUSTSTORE_PASSWORD])


def cluster_format(cluster: Mapping[str, Any]) -> str:
    return str(cluster.get("vm", {}).get("format", "pem"))


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vm-out")


@pytest.fixture(scope="module")
def clusters(out: Path) -> list[dict[str, Any]]:
    return dev_clusters(out)


@pytest.fixture(scope="module")
def vm_clusters(clusters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in clusters if c["delivery"] == "vm"]


@pytest.fixture(scope="module")
def run(clusters: list[dict[str, Any]]) -> Recording:
    return run_vm(clusters)


def node_dirs(out: Path, vm_clusters: list[dict[str, Any]]) -> list[tuple[dict[str, Any], Path]]:
    return [(c, out / c["name"] / n["name"]) for c in vm_clusters for n in c["nodes"]]


# --------------------------------------------------------------------------- elasticsearch.yml


def test_every_node_has_a_bundle_with_exactly_its_format_files(
    run: Recording, out: Path, vm_clusters: list[dict[str, Any]]
) -> None:
    assert len(bundles(run)) == sum(len(c["nodes"]) for c in vm_clusters) == 8
    for cluster, directory in node_dirs(out, vm_clusters):
        assert set(bundle_files(directory)) == FILES[cluster_format(cluster)], directory


def test_yml_holds_exactly_the_expected_settings_checked_against_the_reference(
    run: Recording, out: Path, vm_clusters: list[dict[str, Any]]
) -> None:
    reference = SCHEMA["settings"]
    for cluster, directory in node_dirs(out, vm_clusters):
        text = (directory / vm_bundle.ELASTICSEARCH_YML).read_text()
        assert text.startswith("# Transport TLS of node") and "Merge these settings" in text
        settings = settings_of(directory)
        expected = PEM_SETTINGS if cluster_format(cluster) == "pem" else STORE_SETTINGS
        assert settings == expected, directory
        for name, value in settings.items():
            assert name in reference, f"unknown setting {name}"
            spec = reference[name]
            assert not spec.get("secure") and name not in SCHEMA["secure_settings_keystore_only"]
            assert spec["store"] == "elasticsearch.yml" and not spec.get("deprecated")
            assert "enum" not in spec or value in spec["enum"], (name, value)
        for pair in SCHEMA["mutually_exclusive"]:
            assert not set(pair) <= set(settings), pair


def test_every_path_the_yml_names_exists_in_the_bundle(
    run: Recording, out: Path, vm_clusters: list[dict[str, Any]]
) -> None:
    for _, directory in node_dirs(out, vm_clusters):
        for name, value in settings_of(directory).items():
            if SCHEMA["settings"][name]["type"] in PATH_TYPES:
                for path in value if isinstance(value, list) else [value]:
                    assert not path.startswith("/"), "relative to the config dir"
                    assert (directory / path).is_file(), (directory, path)


def test_secure_settings_are_the_store_passwords_and_open_the_stores(
    run: Recording, out: Path, vm_clusters: list[dict[str, Any]]
) -> None:
    for cluster, directory in node_dirs(out, vm_clusters):
        if cluster_format(cluster) == "pem":
            continue
        passwords = secure_settings(directory)
        assert set(passwords) == {ts.KEYSTORE_PASSWORD, ts.TRUSTSTORE_PASSWORD}
        assert set(passwords) <= set(SCHEMA["secure_settings_keystore_only"])
        assert passwords[ts.KEYSTORE_PASSWORD] != passwords[ts.TRUSTSTORE_PASSWORD]
        store = pkcs12.load_pkcs12((directory / vm_bundle.KEYSTORE).read_bytes(),
                                   passwords[ts.KEYSTORE_PASSWORD].encode())
        assert store.key is not None and store.cert is not None
        leaf = store.cert.certificate
        assert leaf.public_key() == store.key.public_key()
        [issuer] = [c.certificate for c in store.additional_certs]
        leaf.verify_directly_issued_by(issuer)
        trust = pkcs12.load_pkcs12((directory / vm_bundle.TRUSTSTORE).read_bytes(),
                                   passwords[ts.TRUSTSTORE_PASSWORD].encode())
        assert [c.certificate for c in trust.additional_certs] == [issuer]


def test_modes_key_material_is_owner_only(
    run: Recording, out: Path, vm_clusters: list[dict[str, Any]]
) -> None:
    for _, directory in node_dirs(out, vm_clusters):
        for rel in bundle_files(directory):
            assert mode(directory / rel) == vm_bundle.MODES[rel], rel
            secret = rel in (vm_bundle.KEY, vm_bundle.KEYSTORE, vm_bundle.SECURE_SETTINGS)
            assert (mode(directory / rel) == "0600") is secret, rel


def test_trusted_ca_file_is_the_clusters_ca_and_no_bundle_holds_a_ca_key(
    run: Recording, out: Path, vm_clusters: list[dict[str, Any]]
) -> None:
    for cluster, directory in node_dirs(out, vm_clusters):
        ca_cert = str(reveal(run.named(f"{cluster['name']}-ca-cert").outputs["certPem"]))
        ca_key = serialization.load_pem_private_key(
            str(reveal(run.named(f"{cluster['name']}-ca-key").outputs["privateKeyPem"])).encode(),
            None,
        )
        files = bundle_files(directory)
        if vm_bundle.CERTIFICATE_AUTHORITIES in files:
            assert files[vm_bundle.CERTIFICATE_AUTHORITIES].decode() == ca_cert
        if vm_bundle.KEY in files:
            key = serialization.load_pem_private_key(files[vm_bundle.KEY], None)
            assert key.public_key() != ca_key.public_key()
        for content in files.values():
            assert b"PRIVATE KEY" not in content or content == files[vm_bundle.KEY]


# --------------------------------------------------------------------------- resources


def test_one_bundle_resource_per_node_with_cluster_node_and_visible_yml(
    run: Recording, vm_clusters: list[dict[str, Any]]
) -> None:
    for cluster in vm_clusters:
        for node in cluster["nodes"]:
            bundle = run.named(f"{cluster['name']}-vm-{node['name']}")
            assert bundle.type == NODE_BUNDLE
            inputs = reveal(bundle.inputs)
            assert (inputs["cluster"], inputs["node"]) == (cluster["name"], node["name"])
            yml = inputs["files"]["elasticsearch.yml"]
            assert yml["mode"] == "0644" and ts.ENABLED in yml["content"]
            # Key, CSR, certificate, bundle: the project's budget of 4 resources per node.
            customs = [r for r in run if r.custom and (
                r.name.startswith(f"{cluster['name']}-{node['name']}-") or r is bundle)]
            assert len(customs) == 4, [r.name for r in customs]


def in_clear(value: Any) -> str:
    """Every string of `value` outside a `Secret`, i.e. what state would hold unencrypted."""
    if isinstance(value, Secret):
        return ""
    if isinstance(value, Mapping):
        return "".join(in_clear(v) for v in value.values())
    if isinstance(value, list):
        return "".join(in_clear(v) for v in value)
    return str(value)


def test_key_material_and_passwords_are_secret_in_inputs_outputs_and_exports(
    run: Recording, out: Path, vm_clusters: list[dict[str, Any]]
) -> None:
    for bundle in bundles(run):
        assert "PRIVATE KEY" in json.dumps(reveal(bundle.inputs))  # ... but only as a secret:
        assert "PRIVATE KEY" not in in_clear(bundle.inputs) + in_clear(bundle.outputs)
        for name in ("cloudInit", "passwords", "storeFiles", "storeSources", "digests"):
            assert isinstance(bundle.outputs[name], Secret), name
    passwords = [secure_settings(d) for c, d in node_dirs(out, vm_clusters)
                 if cluster_format(c) != "pem"]
    everything_in_clear = "".join(in_clear(r.inputs) + in_clear(r.outputs) for r in run)
    assert passwords and not any(p in everything_in_clear
                                 for entry in passwords for p in entry.values())
    assert isinstance(run.stack_outputs["vmCloudInit"], Secret)
    assert "PRIVATE KEY" not in in_clear(run.stack_outputs)


# --------------------------------------------------------------------------- cloud-init


def test_cloud_init_writes_the_same_bytes_as_the_local_bundle(
    run: Recording, out: Path, vm_clusters: list[dict[str, Any]]
) -> None:
    exported = reveal(run.stack_outputs["vmCloudInit"])
    for cluster, directory in node_dirs(out, vm_clusters):
        vm = cluster["vm"]
        config_dir = vm.get("configDir", "/etc/elasticsearch")
        owner = vm.get("owner", "elasticsearch:elasticsearch")
        document = exported[cluster["name"]][directory.name]
        assert document.splitlines()[0] == "#cloud-config"
        entries = yaml.safe_load(document)["write_files"]
        local = bundle_files(directory)
        written: dict[str, bytes] = {}
        for entry in entries:
            assert entry["path"].startswith(config_dir + "/")
            rel = entry["path"].removeprefix(config_dir + "/")
            content = entry["content"]
            written[rel] = (base64.b64decode(content) if entry.get("encoding") == "b64"
                            else content.encode())
            assert entry["defer"] is True
            if rel == vm_bundle.ELASTICSEARCH_YML:
                # Appended to the node's own file, which keeps the packages' root:<group> 0660,
                # on a line of its own.
                assert written[rel].startswith(b"\n")
                written[rel] = written[rel].removeprefix(b"\n")
                assert entry["append"] is True
                assert entry["owner"] == "root:" + owner.split(":")[1]
                assert entry["permissions"] == "0660"
            else:
                assert "append" not in entry
                assert entry["owner"] == owner and entry["permissions"] == mode(directory / rel)
        assert written == local
        binary = {e["path"].removeprefix(config_dir + "/") for e in entries
                  if e.get("encoding") == "b64"}
        assert binary == FILES[cluster_format(cluster)] & {vm_bundle.KEYSTORE,
                                                           vm_bundle.TRUSTSTORE}


@pytest.mark.parametrize(
    ("owner", "yml_owner"),
    [("elasticsearch:elasticsearch", "root:elasticsearch"), ("es:search", "root:search"),
     ("es", "es")],
)
def test_cloud_init_appends_to_elasticsearch_yml_as_root_with_the_group_and_mode_0660(
    owner: str, yml_owner: str
) -> None:
    """cloud-init chowns and chmods a file it appends to (root:root 0644 unless told), so the
    entry states the ownership and mode Elasticsearch's packages give elasticsearch.yml. With no
    group named, the owner keeps it, still unreadable to anyone else."""
    files = {vm_bundle.ELASTICSEARCH_YML: (b"a: 1\n", "0644"), vm_bundle.KEY: (b"k", "0600")}
    entries = yaml.safe_load(vm_bundle.cloud_init("/etc/elasticsearch", owner, files))
    by_path = {e["path"].removeprefix("/etc/elasticsearch/"): e for e in entries["write_files"]}
    yml, key = by_path[vm_bundle.ELASTICSEARCH_YML], by_path[vm_bundle.KEY]
    assert (yml["owner"], yml["permissions"], yml["append"]) == (yml_owner, "0660", True)
    assert (key["owner"], key["permissions"], "append" in key) == (owner, "0600", False)


def test_cloud_init_and_yml_are_the_pure_python_emitters_text(
    run: Recording, out: Path, vm_clusters: list[dict[str, Any]]
) -> None:
    """components/yaml_text.py renders with libyaml where it agrees: the real documents of every
    format are still exactly what PyYAML's own emitter writes for the same data."""
    def pure(data: Any, sort_keys: bool) -> str:
        text: str = yaml.dump(data, Dumper=yaml.SafeDumper, sort_keys=sort_keys,
                              default_flow_style=False)
        return text

    exported = reveal(run.stack_outputs["vmCloudInit"])
    for cluster, directory in node_dirs(out, vm_clusters):
        document = exported[cluster["name"]][directory.name]
        assert document == "#cloud-config\n" + pure(yaml.safe_load(document), False)
        yml = (directory / vm_bundle.ELASTICSEARCH_YML).read_text()
        body = "".join(line for line in yml.splitlines(True) if not line.startswith("#"))
        assert body == pure(yaml.safe_load(yml), True)


# --------------------------------------------------------------------------- handshakes


def pairs(out: Path, vm_clusters: list[dict[str, Any]]) -> tuple[list[HandshakePair],
                                                                 list[HandshakePair]]:
    """(every ordered pair of nodes inside each cluster, pairs across clusters)."""
    inside: list[HandshakePair] = []
    for cluster in vm_clusters:
        nodes = [(n, out / cluster["name"] / n["name"]) for n in cluster["nodes"]]
        for (server, s_dir), (_, c_dir) in itertools.permutations(nodes, 2):
            inside.append(HandshakePair(identity(s_dir), identity(c_dir), server["dns"][0]))
    first, second = vm_clusters[0], vm_clusters[1]
    a = (first["nodes"][0], out / first["name"] / first["nodes"][0]["name"])
    b = (second["nodes"][0], out / second["name"] / second["nodes"][0]["name"])
    across = [HandshakePair(identity(s[1]), identity(c[1]), s[0]["dns"][0])
              for s, c in ((a, b), (b, a))]
    return inside, across


def assert_matrix(results: list[HandshakeResult], inside: list[HandshakePair]) -> None:
    ok, refused = results[: len(inside)], results[len(inside):]
    assert all(r.ok for r in ok), [r.error for r in ok if not r.ok]
    assert refused and not any(r.ok for r in refused)


def test_openssl_mutual_tls_inside_each_cluster_and_never_across(
    run: Recording, out: Path, vm_clusters: list[dict[str, Any]]
) -> None:
    inside, across = pairs(out, vm_clusters)
    assert len(inside) == 6 + 6 + 2
    results = openssl_handshakes(inside + across)
    assert_matrix(results, inside)
    assert all("certificate verify failed" in r.error for r in results[len(inside):])


@pytest.mark.jsse
@pytest.mark.skipif(not jdk_available(), reason="needs a JDK (javac/java)")
def test_jsse_mutual_tls_from_bundle_files_inside_each_cluster_and_never_across(
    run: Recording, out: Path, vm_clusters: list[dict[str, Any]]
) -> None:
    inside, across = pairs(out, vm_clusters)
    assert {type(p.server) for p in inside} == {PemIdentity, Pkcs12Identity}
    results = jsse_handshakes(inside + across)
    assert_matrix(results, inside)
    assert all("PKIX" in r.error or "certificate_unknown" in r.error
               for r in results[len(inside):])


def test_node_certificates_in_bundles_name_their_node(
    run: Recording, out: Path, vm_clusters: list[dict[str, Any]]
) -> None:
    for cluster, directory in node_dirs(out, vm_clusters):
        if cluster_format(cluster) == "pkcs12":
            continue
        cert = x509.load_pem_x509_certificate((directory / vm_bundle.CERTIFICATE).read_bytes())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        node = next(n for n in cluster["nodes"] if n["name"] == directory.name)
        assert sans.get_values_for_type(x509.DNSName) == node["dns"]
