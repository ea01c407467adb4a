"""Production posture (README "State and secrets"): CA resources protected outside dev, a
passphrase secrets provider warned about or refused, CA keys never plain config, and example
stack files that name a KMS-backed secrets provider."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import ConfigError, parse_stack_config
from components.model_posture import PassphraseSecrets, SecretsProvider
from components.program import main
from components.stack_settings import read_stack_file
from harness.mock_runtime import EngineState, Recording, run_program
from harness.stack_file import load_stack_file
from tests.stack_runs import (
    LOCALLY_SIGNED,
    PRIVATE_KEY,
    REPO,
    SELF_SIGNED,
    run_clusters,
    run_stack,
)
from tests.x509_factory import make_ca

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
# Valid at NOW on any real date (the factory's default follows the real clock).
CERTS_FROM = NOW - timedelta(days=1)
CLUSTER_CA = "es-transport-pki:cluster_ca:ClusterCa"
KMS_SCHEMES = ("awskms://", "gcpkms://", "azurekeyvault://", "hashivault://")
PASSPHRASE = SecretsProvider(None, has_encryption_salt=True)
KMS = SecretsProvider("awskms://alias/es?region=eu-west-1", has_encryption_salt=False)


def vm_cluster(name: str = "logs", **extra: Any) -> dict[str, Any]:
    return {
        "name": name, "delivery": "vm", "vm": {"writeLocalFiles": False},
        "nodes": [{"name": f"{name}-1", "dns": [f"{name}-1.internal"]}],
    } | extra


def ca_material(recording: Recording) -> list[Any]:
    """The key and certificate of every CA (transport generations and HTTP CAs)."""
    cas = {r.urn for r in recording.of_type(CLUSTER_CA)}
    return [r for r in recording if r.parent in cas]


def node_material(recording: Recording) -> list[Any]:
    cas = {r.urn for r in recording.of_type(CLUSTER_CA)}
    return [r for r in recording if r.custom and r.parent not in cas
            and r.type in (PRIVATE_KEY, LOCALLY_SIGNED)]


# --- protect flags ---------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "protected"), [("dev", False), ("staging", True),
                                                  ("prod", True)])
def test_ca_resources_are_protected_outside_dev(stack: str, protected: bool) -> None:
    recording = run_stack(stack, clock=lambda: NOW)
    material = ca_material(recording)
    assert {r.type for r in material} == {PRIVATE_KEY, SELF_SIGNED}
    assert len(material) == 2 * len(recording.of_type(CLUSTER_CA))
    assert all(r.protect is protected for r in material), [(r.name, r.protect) for r in material]
    # Node keys and certificates are renewed and re-keyed by replacement: never protected.
    assert node_material(recording)
    assert not any(r.protect for r in node_material(recording))


def test_the_http_ca_is_protected_with_the_transport_ca() -> None:
    http = {"mode": "generated", "certificates": "shared"}
    recording = run_clusters([vm_cluster(http=http)], clock=lambda: NOW)
    http_ca = recording.named("logs-http-ca-cert")
    assert http_ca.protect is True and recording.named("logs-ca-cert").protect is True
    off = run_clusters([vm_cluster(http=http)], clock=lambda: NOW,
                       settings={"protectCa": False})
    assert off.named("logs-http-ca-cert").protect is False


def test_protect_ca_is_a_per_stack_setting() -> None:
    on_dev = run_clusters([vm_cluster()], stack="dev", settings={"protectCa": True},
                          clock=lambda: NOW)
    assert on_dev.named("logs-ca-key").protect is True
    off = run_clusters([vm_cluster()], stack="prod", settings={"protectCa": False},
                       clock=lambda: NOW)
    assert off.named("logs-ca-key").protect is False
    assert any("protectCa is false" in w for w in off.warnings)


# --- the retire step lifts protection for exactly the retiring generation ---------------------


def test_retire_unprotects_only_the_retiring_generation_and_the_next_up_deletes_it() -> None:
    state = EngineState()

    def up(ca: dict[str, Any]) -> Recording:
        return run_clusters([vm_cluster(ca=ca)], state=state, clock=lambda: NOW)

    up({})
    up({"rotation": {"step": "introduce"}})
    up({"rotation": {"step": "switch"}})
    retire = up({"rotation": {"step": "retire"}})
    flags = {r.name: r.protect for r in ca_material(retire)}
    assert flags == {"logs-ca-key": False, "logs-ca-cert": False,
                     "logs-ca-g2-key": True, "logs-ca-g2-cert": True}
    assert retire.changes.deleted == []
    rotation = retire.stack_outputs["clusters"]["logs"]["rotation"]
    assert rotation["retiring"] == [1] and rotation["generations"] == [2]
    assert retire.stack_outputs["clusters"]["logs"]["caProtected"] is True
    # g1 is in no trust list any more: the nodes' CA bundle is g2 alone.
    assert retire.stack_outputs["clusters"]["logs"]["caGenerations"].keys() == {"2"}
    cleanup = up({"generation": 2})
    assert {u.rsplit("::", 1)[1] for u in cleanup.changes.deleted} == {
        "logs-ca", "logs-ca-key", "logs-ca-cert"}
    assert all(r.protect for r in ca_material(cleanup))


def test_protection_turned_off_at_retire_unprotects_the_retiring_generation_first() -> None:
    """protectCa false in the very `up` that retires g1: g1 is still protected in state, so it
    is registered unprotected once (not left for the engine to refuse to delete, which would
    fail this `up` and every later one), and the next `up` deletes it."""
    state = EngineState()

    def up(ca: dict[str, Any], protect: bool) -> Recording:
        return run_clusters([vm_cluster(ca=ca)], state=state, clock=lambda: NOW,
                            settings={"protectCa": protect})

    for step in (None, "introduce", "switch"):
        up({"rotation": {"step": step}} if step else {}, True)
    retire = up({"rotation": {"step": "retire"}}, False)
    assert retire.changes.deleted == []
    assert {r.name: r.protect for r in ca_material(retire)} == {
        "logs-ca-key": False, "logs-ca-cert": False,
        "logs-ca-g2-key": False, "logs-ca-g2-cert": False}
    assert retire.stack_outputs["clusters"]["logs"]["rotation"]["retiring"] == [1]
    cleanup = up({"generation": 2}, False)
    assert {u.rsplit("::", 1)[1] for u in cleanup.changes.deleted} == {
        "logs-ca", "logs-ca-key", "logs-ca-cert"}


def test_a_protected_cluster_cannot_be_dropped_in_one_update() -> None:
    state = EngineState()
    run_clusters([vm_cluster(), vm_cluster("audit")], state=state, clock=lambda: NOW)
    before = dict(state.resources)
    with pytest.raises(ConfigError) as refused:
        run_clusters([vm_cluster()], state=state, clock=lambda: NOW)
    message = str(refused.value)
    assert "es-transport-pki:clusters: cluster 'audit' is deployed with protected CA" in message
    assert "pulumi config set protectCa false" in message
    assert state.resources == before  # refused before anything was registered
    # The documented way: lift the protection with the cluster still configured, then drop it.
    run_clusters([vm_cluster(), vm_cluster("audit")], state=state, clock=lambda: NOW,
                 settings={"protectCa": False})
    gone = run_clusters([vm_cluster()], state=state, clock=lambda: NOW,
                        settings={"protectCa": False})
    assert any(u.endswith("::audit-ca-key") for u in gone.changes.deleted)


def test_dropping_a_protected_http_ca_or_generated_ca_is_refused_up_front() -> None:
    state = EngineState()
    http = {"mode": "generated"}
    run_clusters([vm_cluster(http=http)], state=state, clock=lambda: NOW)
    before = dict(state.resources)
    ca = make_ca("logs transport CA", not_before=CERTS_FROM)
    provided = {"mode": "provided", "certPem": ca.cert_pem, "keyPem": ca.key_pem}
    with pytest.raises(ConfigError) as refused:
        run_clusters([vm_cluster(ca=provided)], secret=True, state=state, clock=lambda: NOW)
    problems = {p.key: p.message for p in refused.value.problems}
    assert problems.keys() == {"clusters[0].ca.mode", "clusters[0].http.mode"}
    assert "would delete cluster logs's generated HTTP CA, which is protected" in (
        problems["clusters[0].http.mode"])
    assert all("pulumi config set protectCa false" in m for m in problems.values())
    assert all(". To do it, first run `pulumi up`" in m for m in problems.values())
    assert state.resources == before
    # Lifted first, the HTTP CA can go.
    run_clusters([vm_cluster(http=http)], state=state, clock=lambda: NOW,
                 settings={"protectCa": False})
    without = run_clusters([vm_cluster()], state=state, clock=lambda: NOW,
                           settings={"protectCa": False})
    assert any(u.endswith("::logs-http-ca-key") for u in without.changes.deleted)


def test_a_cluster_with_a_provided_ca_and_no_http_ca_has_nothing_protected_to_drop() -> None:
    ca = make_ca("audit transport CA", not_before=CERTS_FROM)
    provided = {"mode": "provided", "certPem": ca.cert_pem, "keyPem": ca.key_pem}
    state = EngineState()
    first = run_clusters([vm_cluster(), vm_cluster("audit", ca=provided)], secret=True,
                         state=state, clock=lambda: NOW)
    assert first.stack_outputs["clusters"]["audit"]["caProtected"] is False
    gone = run_clusters([vm_cluster()], secret=True, state=state, clock=lambda: NOW)
    assert any(u.endswith("::audit-audit-1-cert") for u in gone.changes.deleted)


def test_ca_resource_names_are_stable() -> None:
    """The URNs the engine knows each CA by. A refactor that renames a CA resource or moves it
    to another parent must keep these through `aliases`, or the next `up` would replace the
    CA (a protected one: the update fails). Change this list only together with an alias."""
    recording = run_clusters(
        [vm_cluster(ca={"rotation": {"step": "introduce"}}, http={"mode": "generated"})],
        stack="prod", clock=lambda: NOW,
    )
    prefix = "urn:pulumi:prod::es-transport-pki::"
    pki = "es-transport-pki:transport_pki:TransportPki$es-transport-pki:cluster_ca:ClusterCa$"
    http = "es-transport-pki:http_pki:HttpPki$es-transport-pki:cluster_ca:ClusterCa$"
    assert sorted(r.urn.removeprefix(prefix) for r in ca_material(recording)) == sorted([
        f"{pki}tls:index/privateKey:PrivateKey::logs-ca-key",
        f"{pki}tls:index/selfSignedCert:SelfSignedCert::logs-ca-cert",
        f"{pki}tls:index/privateKey:PrivateKey::logs-ca-g2-key",
        f"{pki}tls:index/selfSignedCert:SelfSignedCert::logs-ca-g2-cert",
        f"{http}tls:index/privateKey:PrivateKey::logs-http-ca-key",
        f"{http}tls:index/selfSignedCert:SelfSignedCert::logs-http-ca-cert",
    ])


# --- secrets provider ------------------------------------------------------------------------


def parse(stack: str, secrets: SecretsProvider | None, **settings: Any) -> Any:
    raw = {"clusters": [vm_cluster()], **settings}
    return parse_stack_config(raw, stack=stack, now=NOW, secrets_provider=secrets)


def test_a_passphrase_outside_dev_is_warned_about_by_default() -> None:
    posture = parse("staging", PASSPHRASE).posture
    assert posture.passphrase_secrets is PassphraseSecrets.WARN
    [warning] = posture.warnings
    assert "stack staging encrypts its secrets, the CA private keys in its state among them, " \
        "with a passphrase" in warning
    assert 'pulumi stack change-secrets-provider --stack staging "awskms://' in warning
    assert "passphraseSecrets: refuse" in warning


def test_a_passphrase_is_refused_when_the_stack_says_so() -> None:
    with pytest.raises(ConfigError) as refused:
        parse("prod", PASSPHRASE, passphraseSecrets="refuse")
    [problem] = refused.value.problems
    assert str(problem).startswith("es-transport-pki:passphraseSecrets: is 'refuse' and stack "
                                   "prod encrypts its secrets")
    assert "pulumi stack change-secrets-provider --stack prod" in problem.message


@pytest.mark.parametrize(
    ("stack", "secrets", "settings"),
    [("dev", PASSPHRASE, {}), ("dev-alice", PASSPHRASE, {}), ("prod", KMS, {}),
     ("prod", None, {}), ("staging", PASSPHRASE, {"passphraseSecrets": "allow"}),
     ("prod", SecretsProvider("passphrase", False), {"passphraseSecrets": "allow"})],
    ids=["dev", "personal-dev", "kms", "no-stack-file", "allowed", "named-passphrase"],
)
def test_no_passphrase_warning_where_none_is_due(
    stack: str, secrets: SecretsProvider | None, settings: dict[str, Any]
) -> None:
    assert parse(stack, secrets, **settings).posture.warnings == ()


def test_a_named_passphrase_provider_counts_as_a_passphrase() -> None:
    assert SecretsProvider("passphrase", False).is_passphrase
    assert parse("prod", SecretsProvider("passphrase", False)).posture.warnings


def test_a_key_in_the_stack_file_counts_as_a_local_key() -> None:
    """gocloud's base64key:// puts the key into the URL, so into the committed stack file."""
    in_file = SecretsProvider("base64key://c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5MTIzNA==", False)
    [warning] = parse("staging", in_file).posture.warnings
    assert "with a key written into the stack file itself (base64key://)" in warning
    with pytest.raises(ConfigError, match="passphraseSecrets: is 'refuse'"):
        parse("prod", in_file, passphraseSecrets="refuse")


@pytest.mark.parametrize(
    ("settings", "expected"),
    [({"protectCa": "yes"}, "es-transport-pki:protectCa: must be true or false, got 'yes'"),
     ({"passphraseSecrets": "maybe"},
      "es-transport-pki:passphraseSecrets: must be one of 'allow', 'warn', 'refuse', got 'maybe'"),
     ({"protectCA": True}, "es-transport-pki:protectCA: unknown key; did you mean 'protectCa'?")],
)
def test_bad_posture_settings_name_the_key(settings: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse("prod", None, **settings)
    assert expected in [str(p) for p in refused.value.problems]


def write_project(root: Path, stack: str, document: dict[str, Any]) -> None:
    (root / "Pulumi.yaml").write_text("name: es-transport-pki\nstackConfigDir: stacks\n")
    (root / "stacks").mkdir()
    (root / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document))


def run_in(root: Path, stack: str, config: dict[str, str]) -> Recording:
    return run_program(lambda: main(lambda: NOW), config=config, stack=stack,
                       root_directory=root)


def test_the_program_reads_the_secrets_provider_from_its_stack_file(tmp_path: Path) -> None:
    clusters = {"es-transport-pki:clusters": json.dumps([vm_cluster()])}
    write_project(tmp_path, "staging", {"encryptionsalt": "v1:abc=:v1:def:ghi==",
                                        "config": {}})
    warned = run_in(tmp_path, "staging", clusters)
    assert any("with a passphrase" in w for w in warned.warnings), warned.warnings
    # A plain string from the stack file (the engine passes it unquoted) and nothing created.
    with pytest.raises(ConfigError, match="passphraseSecrets: is 'refuse'"):
        run_in(tmp_path, "staging", clusters | {"es-transport-pki:passphraseSecrets": "refuse"})


def test_plain_text_ca_key_config_is_refused_before_anything_is_created() -> None:
    ca = make_ca("logs transport CA", not_before=CERTS_FROM)
    provided = {"mode": "provided", "certPem": ca.cert_pem, "keyPem": ca.key_pem}
    state = EngineState()
    with pytest.raises(ConfigError) as refused:
        run_clusters([vm_cluster(ca=provided)], state=state, clock=lambda: NOW)
    assert ("`pulumi config set --secret --path 'clusters[0].ca.keyPem' < ca.key`"
            in str(refused.value))
    assert state.resources == {}
    accepted = run_clusters([vm_cluster(ca=provided)], secret=True, clock=lambda: NOW)
    assert accepted.named("logs-logs-1-cert").step == "create"


def test_the_program_judges_each_ca_key_by_its_stack_file_value(tmp_path: Path) -> None:
    cas = [make_ca(f"{name} transport CA", not_before=CERTS_FROM) for name in ("a", "b")]
    clusters = [
        vm_cluster(name, ca={"mode": "provided", "certPem": ca.cert_pem, "keyPem": ca.key_pem})
        for name, ca in zip(("a", "b"), cas, strict=True)
    ]
    # The stack file as `pulumi config set --secret --path 'clusters[0].ca.keyPem'` leaves it,
    # with clusters[1].ca.keyPem pasted in clear; the engine hands the program both decrypted.
    in_file = json.loads(json.dumps(clusters))
    in_file[0]["ca"]["keyPem"] = {"secure": "v1:c2VjcmV0"}
    write_project(tmp_path, "dev", {"config": {"es-transport-pki:clusters": in_file}})
    config = {"es-transport-pki:clusters": json.dumps(clusters)}
    state = EngineState()
    with pytest.raises(ConfigError) as refused:
        run_program(lambda: main(lambda: NOW), config=config, stack="dev", state=state,
                    secret_keys=["es-transport-pki:clusters"], root_directory=tmp_path)
    assert [str(p) for p in refused.value.problems] == [
        "es-transport-pki:clusters[1].ca.keyPem: is plain text in the stack file; store the CA "
        "key encrypted with `pulumi config set --secret --path 'clusters[1].ca.keyPem' < ca.key`"
        " (INV-CUSTODY)"
    ]
    assert state.resources == {}
    read = read_stack_file(tmp_path, "dev")
    assert read is not None and read.secure_values == {
        "clusters": frozenset({"clusters[0].ca.keyPem"})}


# --- the example stack files -----------------------------------------------------------------


def test_example_stack_files_name_a_secrets_provider() -> None:
    providers = {
        path.name: yaml.safe_load(path.read_text()).get("secretsprovider")
        for path in sorted((REPO / "stacks").glob("Pulumi.*.yaml"))
    }
    assert providers.keys() == {"Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml"}
    assert providers["Pulumi.dev.yaml"] == "passphrase"
    for name in ("Pulumi.staging.yaml", "Pulumi.prod.yaml"):
        assert str(providers[name]).startswith(KMS_SCHEMES), providers[name]
    assert providers["Pulumi.staging.yaml"] != providers["Pulumi.prod.yaml"]  # a key per env


@pytest.mark.parametrize(("stack", "passphrase", "policy"), [
    ("dev", True, PassphraseSecrets.ALLOW),
    ("staging", False, PassphraseSecrets.WARN),
    ("prod", False, PassphraseSecrets.REFUSE),
])
def test_example_stack_files_parse_with_their_posture(
    stack: str, passphrase: bool, policy: PassphraseSecrets
) -> None:
    read = read_stack_file(REPO, stack)
    assert read is not None
    secrets = read.secrets_provider
    assert secrets.is_passphrase is passphrase
    stack_file = load_stack_file(REPO / "stacks" / f"Pulumi.{stack}.yaml")
    assert stack_file.secrets_provider == secrets.url
    raw = {key.removeprefix("es-transport-pki:"): json.loads(value)
           if value.startswith(("[", "{")) else value for key, value in stack_file.config.items()}
    spec = parse_stack_config(raw, stack=stack, now=NOW, secrets_provider=secrets)
    assert spec.posture.passphrase_secrets is policy
    assert spec.posture.protect_ca is (stack != "dev")
    assert spec.posture.warnings == ()


def test_the_stack_file_is_read_as_utf8_whatever_the_locale(tmp_path: Path) -> None:
    """The CLI writes stack files in UTF-8; a program under an ASCII (or Windows cp1252)
    locale read it in the locale's encoding and failed on the first non-ASCII byte."""
    in_file = [{"name": "logs", "ca": {"organization": "Société Générale ☃",
                                       "keyPem": {"secure": "v1:c2VjcmV0"}}}]
    write_project(tmp_path, "dev", {})
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_bytes(yaml.safe_dump(
        {"config": {"es-transport-pki:clusters": in_file}}, allow_unicode=True).encode())
    probe = ("import locale, sys; from pathlib import Path; "
             "from components.stack_settings import read_stack_file; "
             "print(locale.getpreferredencoding(), "
             "*sorted(read_stack_file(Path(sys.argv[1]), 'dev').secure_values['clusters']))")
    ascii_locale = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0",
                    "PYTHONCOERCECLOCALE": "0"}
    done = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], cwd=REPO,
                          env=ascii_locale, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ANSI_X3.4-1968", "clusters[0].ca.keyPem"]
