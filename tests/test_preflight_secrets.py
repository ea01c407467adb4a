"""`python -m preflight --decrypted-config`: a stack file with `secure:` values, checked with
the config the Pulumi CLI decrypts (`pulumi config --json --show-secrets`)."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from pulumi.runtime.config import is_config_secret

import components.program
from components.certificate_facts import sha256_fingerprint
from harness.mock_runtime import Secret, reveal, run_program
from harness.stack_file import StackFileError, load_stack_file, read_decrypted_config
from preflight.cli import EXIT_CLEAN, EXIT_CONFIG, main
from tests.stack_runs import LOCALLY_SIGNED
from tests.x509_factory import Issued, make_ca

KEY = "es-transport-pki:clusters"
CIPHERTEXT = {"secure": "v1:bm9uY2U=:Y2lwaGVydGV4dA=="}


@pytest.fixture(scope="module")
def ca() -> Issued:
    return make_ca("ci transport CA")


def clusters(ca: Issued, key_pem: object) -> list[dict[str, Any]]:
    return [{
        "name": "logs", "delivery": "vm",
        "ca": {"mode": "provided", "certPem": ca.cert_pem, "keyPem": key_pem},
        "nodes": [{"name": n, "dns": [f"{n}.logs.internal"]} for n in ("es-1", "es-2")],
    }]


def stack_file(tmp_path: Path, value: object) -> Path:
    path = tmp_path / "Pulumi.ci.yaml"
    path.write_text(yaml.safe_dump({"config": {KEY: value}}))
    return path


@pytest.fixture
def secure_file(tmp_path: Path, ca: Issued) -> Path:
    """A stack file whose provided CA key is `secure:`."""
    return stack_file(tmp_path, clusters(ca, CIPHERTEXT))


def printed(value: list[dict[str, Any]], *, secret: bool = True) -> str:
    """What `pulumi config --json --show-secrets --stack ci` prints for `clusters`."""
    return json.dumps({KEY: {"value": json.dumps(value), "secret": secret, "objectValue": value}})


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], document: str,
    *argv: str,
) -> tuple[int, dict[str, Any], str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(document))
    code = main(["--json", *argv, "--decrypted-config", "-"])
    out, err = capsys.readouterr()
    return code, json.loads(out), out + err


def test_a_secure_ca_key_with_the_decrypted_config_runs_clean_with_that_ca(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    ca: Issued,
) -> None:
    path = stack_file(tmp_path, clusters(ca, CIPHERTEXT))
    code, report, output = run(monkeypatch, capsys, printed(clusters(ca, ca.key_pem)),
                               "--stack-file", str(path), "--handshakes")
    assert code == EXIT_CLEAN, report
    [plan] = report["clusters"]
    assert plan["ca_fingerprint"] == sha256_fingerprint(ca.cert)
    assert not report["violations"]
    # Each node's certificate, issued by that CA, completes mutual TLS with the other.
    assert len(report["handshakes"]) >= 2 and all(h["ok"] for h in report["handshakes"])
    assert "PRIVATE KEY" not in output


def test_the_decrypted_key_reaches_the_program_as_a_secret_and_issues_the_nodes(
    tmp_path: Path, ca: Issued,
) -> None:
    path = stack_file(tmp_path, clusters(ca, CIPHERTEXT))
    stack = load_stack_file(path, read_decrypted_config(printed(clusters(ca, ca.key_pem))))
    assert stack.secret_keys == [KEY]
    secret_in_program: list[bool] = []

    def program() -> None:
        secret_in_program.append(is_config_secret(KEY))
        components.program.main()

    with contextlib.chdir(tmp_path):  # VM bundles go to out/ci, as under `pulumi up`
        recording = run_program(
            program, config=stack.config, secret_keys=stack.secret_keys, stack="ci",
            root_directory=tmp_path,  # the program reads the stack file's secure: paths there
        )
    assert secret_in_program == [True]
    signed = [r for r in recording.registrations if r.type == LOCALLY_SIGNED]
    assert len(signed) == 2
    for registration in signed:
        assert isinstance(registration.inputs["caPrivateKeyPem"], Secret)
        cert = x509.load_pem_x509_certificate(str(reveal(registration.outputs["certPem"]))
                                              .encode())
        cert.verify_directly_issued_by(ca.cert)


def test_without_the_decrypted_config_the_message_names_the_option(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, ca: Issued,
) -> None:
    path = stack_file(tmp_path, clusters(ca, CIPHERTEXT))
    assert main(["--json", "--stack-file", str(path)]) == EXIT_CONFIG
    [message] = json.loads(capsys.readouterr().out)["configErrors"]
    assert f"{KEY} hold encrypted (secure:) values" in message
    assert (f"`pulumi config --json --show-secrets --stack ci | python -m preflight "
            f"--stack-file {path} --decrypted-config -`") in message


def test_a_key_the_decrypted_config_marks_not_secret_is_refused_as_plain_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    ca: Issued,
) -> None:
    path = stack_file(tmp_path, clusters(ca, CIPHERTEXT))
    code, report, output = run(monkeypatch, capsys,
                               printed(clusters(ca, ca.key_pem), secret=False),
                               "--stack-file", str(path))
    assert code == EXIT_CONFIG
    assert report["input"] == "decrypted config" and report["path"] == "<stdin>"
    assert report["configErrors"] == [
        f"{KEY}: the decrypted config marks it not secret, but the stack file encrypts values "
        "in it (secure:): they would reach the program as plain text; print it for this stack "
        "file: `pulumi config --json --show-secrets --stack ci`"
    ]
    assert "PRIVATE KEY" not in output


def test_a_plain_text_key_in_the_stack_file_is_still_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    ca: Issued,
) -> None:
    """The CLI prints such a stack file's config as not secret: the program refuses the key."""
    value = clusters(ca, ca.key_pem)
    path = stack_file(tmp_path, value)
    code, report, _ = run(monkeypatch, capsys, printed(value, secret=False),
                          "--stack-file", str(path))
    assert code == EXIT_CONFIG
    assert any("clusters[0].ca.keyPem: is plain text in the stack file" in e
               and "(INV-CUSTODY)" in e for e in report["configErrors"])
    # Marked secret by hand, the decrypted config contradicts the stack file.
    code, report, _ = run(monkeypatch, capsys, printed(value), "--stack-file", str(path))
    assert code == EXIT_CONFIG
    assert report["configErrors"][0].startswith(
        f"{KEY}: the decrypted config marks it secret, but the stack file holds it in plain text")


def test_a_decrypted_config_of_another_stack_file_is_refused_naming_where(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    ca: Issued,
) -> None:
    path = stack_file(tmp_path, clusters(ca, CIPHERTEXT))
    other = clusters(ca, ca.key_pem)
    other[0]["nodes"][1]["name"] = "es-9"
    code, report, _ = run(monkeypatch, capsys, printed(other), "--stack-file", str(path))
    assert code == EXIT_CONFIG
    assert report["configErrors"] == [
        f"{KEY}[0].nodes[1].name: the decrypted config does not hold what the stack file holds "
        "there (another stack's, or printed before the stack file changed); print it for this "
        "stack file: `pulumi config --json --show-secrets --stack ci`"
    ]


def test_a_mismatch_under_a_key_with_a_dot_is_named_as_the_path_syntax_quotes_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    ca: Issued,
) -> None:
    """`node.attr` is one key: `clusters[0].node.attr` would name a key `attr` under `node`."""
    value = clusters(ca, CIPHERTEXT)
    value[0]["node.attr"] = "rack-1"
    path = stack_file(tmp_path, value)
    other = clusters(ca, ca.key_pem)
    other[0]["node.attr"] = "rack-2"
    code, report, _ = run(monkeypatch, capsys, printed(other), "--stack-file", str(path))
    assert code == EXIT_CONFIG
    assert report["configErrors"][0].startswith(
        f'{KEY}[0]["node.attr"]: the decrypted config does not hold what the stack file holds')


def test_keys_yaml_reads_as_a_number_or_true_pass_as_the_text_the_cli_makes_of_them(
    tmp_path: Path, ca: Issued,
) -> None:
    """The CLI prints a key `2` or `true` as Go does ("2", "true"); Python would say "True"."""
    path = tmp_path / "Pulumi.ci.yaml"
    value = clusters(ca, CIPHERTEXT)
    value[0]["nodeRotationEpochs"] = "__EPOCHS__"
    path.write_text(yaml.safe_dump({"config": {KEY: value}}).replace(
        "__EPOCHS__", "{2: 1, true: 3, 18446744073709551615: 4}"))
    value[0]["ca"]["keyPem"] = ca.key_pem
    value[0]["nodeRotationEpochs"] = {"2": 1, "true": 3, "18446744073709551615": 4}
    stack = load_stack_file(path, read_decrypted_config(printed(value)))
    assert json.loads(stack.config[KEY])[0]["nodeRotationEpochs"] == {
        "2": 1, "true": 3, "18446744073709551615": 4}
    without = load_stack_file(stack_file(tmp_path, [{"a": {2: 1, True: 3}}]))
    assert json.loads(without.config[KEY]) == [{"a": {"2": 1, "true": 3}}]


@pytest.mark.parametrize(("document", "expected"), [
    ("{", "not JSON (line 1 column 2: Expecting property name enclosed in double quotes)"),
    ("[" * 100_000 + "]" * 100_000, "nests deeper than any stack config"),
    ("[]", "must be a JSON object of config keys"),
    (json.dumps({KEY: {"secret": True}}),
     f'{KEY}: has no "value" string (printed without --show-secrets?)'),
    (json.dumps({KEY: {"value": "x"}}), f'{KEY}: must be an object with "secret": true'),
    (json.dumps({"es-transport-pki:protectCa": {"value": "false", "secret": False}}),
     f"{KEY}: the stack file sets it, the decrypted config does not"),
    ('{"a": {"value": "x", "secret": false, "n": 1' + "0" * 5000 + "}}",
     "holds a number of more than 4300 digits, which no config value has"),
], ids=["not json", "too deep", "a list", "no value", "no secret flag", "a key missing",
        "5001 digits"])
def test_a_decrypted_config_not_as_the_cli_prints_it_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], secure_file: Path,
    document: str, expected: str,
) -> None:
    code, report, _ = run(monkeypatch, capsys, document, "--stack-file", str(secure_file))
    assert code == EXIT_CONFIG
    assert report["input"] == "decrypted config"
    assert report["configErrors"][0].startswith(expected)


def test_a_decrypted_config_with_half_a_surrogate_pair_is_refused_printably(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], secure_file: Path,
) -> None:
    """A `\\udc00` escape is no character: printing the key that held it failed (a traceback,
    exit 1). The CLI prints UTF-8 text only."""
    monkeypatch.setattr("sys.stdin", io.StringIO('{"\\udc00": {"value": "x"}}'))
    assert main(["--stack-file", str(secure_file), "--decrypted-config", "-"]) == EXIT_CONFIG
    assert "holds an escape of half a UTF-16 surrogate pair" in capsys.readouterr().out


def test_a_decrypted_config_file_that_is_not_utf8_is_refused_by_position_only(
    capsys: pytest.CaptureFixture[str], secure_file: Path, tmp_path: Path,
) -> None:
    broken = tmp_path / "decrypted.json"
    broken.write_bytes(b'{"a": {"value": "\xff-----BEGIN PRIVATE KEY-----"}}')
    code = main(["--json", "--stack-file", str(secure_file), "--decrypted-config", str(broken)])
    out, err = capsys.readouterr()
    assert code == EXIT_CONFIG
    assert json.loads(out)["configErrors"][0].startswith("is not UTF-8 text (byte 17)")
    assert "PRIVATE KEY" not in out + err


def test_keys_the_stack_file_does_not_set_pass_as_the_cli_printed_them(
    tmp_path: Path, ca: Issued,
) -> None:
    """Pulumi.yaml's and an ESC environment's values, which the CLI merges in."""
    path = stack_file(tmp_path, clusters(ca, CIPHERTEXT))
    document = json.loads(printed(clusters(ca, ca.key_pem)))
    document["es-transport-pki:protectCa"] = {"value": "false", "secret": False}
    document["aws:profile"] = {"value": "ci", "secret": True}
    stack = load_stack_file(path, read_decrypted_config(json.dumps(document)))
    assert stack.config["es-transport-pki:protectCa"] == "false"
    assert stack.secret_keys == ["aws:profile", KEY]
    assert json.loads(stack.config[KEY]) == copy.deepcopy(clusters(ca, ca.key_pem))


def test_out_is_refused_with_the_decrypted_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--stack", "dev", "--decrypted-config", "-", "--out", str(tmp_path / "out")])
    assert exited.value.code == EXIT_CONFIG
    assert "--out cannot be used with --decrypted-config" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("scalar", "cli_prints"), [
    ("yes", True), ("y", True), ("1:20", "1:20"), ("1e3", 1000),
    ("yes", "yes"), ("on", "on"), ("y", "y"),
], ids=["yes as true", "y as true", "base 60 as text", "1e3 as 1000",
        "yes as text", "on as text", "y as text"])
def test_a_plain_scalar_passes_as_the_cli_read_it(
    tmp_path: Path, ca: Issued, scalar: str, cli_prints: object,
) -> None:
    """The stack file reads as the CLI's yaml.v2 reads it (the first four). A CLI built on a
    YAML 1.2 decoder would print `yes`, `on` or `y` as text (the last three): its reading, in
    the decrypted config, is what `pulumi up` passes, no contradiction."""
    path = tmp_path / "Pulumi.ci.yaml"
    value = clusters(ca, CIPHERTEXT)
    path.write_text(yaml.safe_dump({"config": {KEY: value}})
                    + f"  es-transport-pki:tag: {scalar}\n")
    value[0]["ca"]["keyPem"] = ca.key_pem
    value[0]["nodes"][0]["name"] = "es-1"
    document = json.loads(printed(value))
    text = cli_prints if isinstance(cli_prints, str) else json.dumps(cli_prints)
    document["es-transport-pki:tag"] = {"value": text, "secret": False}
    stack = load_stack_file(path, read_decrypted_config(json.dumps(document)))
    assert stack.config["es-transport-pki:tag"] == text


def test_a_nested_plain_scalar_read_as_a_string_by_the_cli_passes_as_it_read_it(
    tmp_path: Path, ca: Issued,
) -> None:
    path = tmp_path / "Pulumi.ci.yaml"
    value = clusters(ca, CIPHERTEXT)
    value[0]["vm"] = {"writeLocalFiles": "__SCALAR__"}
    path.write_text(yaml.safe_dump({"config": {KEY: value}}).replace("__SCALAR__", "no"))
    assert yaml.safe_load(path.read_text())["config"][KEY][0]["vm"]["writeLocalFiles"] is False
    value[0]["ca"]["keyPem"] = ca.key_pem
    value[0]["vm"]["writeLocalFiles"] = "no"
    stack = load_stack_file(path, read_decrypted_config(printed(value)))
    assert json.loads(stack.config[KEY])[0]["vm"]["writeLocalFiles"] == "no"


@pytest.mark.parametrize("cli_prints", ["no", "true", "1"], ids=["no", "true", "1"])
def test_a_plain_scalar_the_cli_read_as_another_value_is_still_refused(
    tmp_path: Path, ca: Issued, cli_prints: str,
) -> None:
    path = tmp_path / "Pulumi.ci.yaml"
    path.write_text(yaml.safe_dump({"config": {KEY: clusters(ca, CIPHERTEXT)}})
                    + "  es-transport-pki:tag: 'yes'\n")
    document = json.loads(printed(clusters(ca, ca.key_pem)))
    document["es-transport-pki:tag"] = {"value": cli_prints, "secret": False}
    with pytest.raises(StackFileError) as refused:
        load_stack_file(path, read_decrypted_config(json.dumps(document)))
    assert str(refused.value).startswith(
        "es-transport-pki:tag: the decrypted config does not hold what the stack file holds there")


def test_an_esc_environment_needs_the_config_the_cli_merges(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    ca: Issued,
) -> None:
    """Its values reach `pulumi up` and not the stack file: refused, naming the way, rather than
    judged without them; with the CLI's merged config it runs."""
    path = tmp_path / "Pulumi.ci.yaml"
    stored = {"environment": ["team/es-pki"], "config": {KEY: clusters(ca, CIPHERTEXT)}}
    path.write_text(yaml.safe_dump(stored))
    with pytest.raises(StackFileError, match=(
        r"imports Pulumi ESC environments \(environment:\), whose values the Pulumi CLI merges "
        r"into the config and preflight cannot open offline; give preflight the config the CLI "
        r"merges: `pulumi config --json --show-secrets --stack ci \| python -m preflight "
        r"--stack-file .*Pulumi\.ci\.yaml --decrypted-config -`")):
        load_stack_file(path)
    code, _report, _ = run(monkeypatch, capsys, printed(clusters(ca, ca.key_pem)),
                           "--stack-file", str(path))
    assert code == EXIT_CLEAN


def test_project_config_is_merged_and_the_decrypted_config_is_not_merged_again(
    tmp_path: Path, ca: Issued,
) -> None:
    """Without the decrypted config, Pulumi.yaml's `config:` is merged as the CLI merges it
    (tests/test_project_config.py); the decrypted config is the CLI's merge already, so
    Pulumi.yaml is not read again: what it sets is taken as the CLI printed it."""
    path = stack_file(tmp_path, clusters(ca, ca.key_pem))
    project = tmp_path / "Pulumi.yaml"
    project.write_text("name: es-transport-pki\nruntime: python\n")
    assert set(load_stack_file(path, project_file=project).config) == {KEY}
    project.write_text("name: es-transport-pki\nruntime: python\nconfig:\n"
                       "  es-transport-pki:protectCa: {default: true}\n")
    config = load_stack_file(path, project_file=project).config
    assert config["es-transport-pki:protectCa"] == "true"
    printed_by_cli = json.loads(printed(clusters(ca, ca.key_pem), secret=False))
    printed_by_cli["es-transport-pki:protectCa"] = {"value": "false", "secret": False}
    decrypted = read_decrypted_config(json.dumps(printed_by_cli))
    assert load_stack_file(path, decrypted, project_file=project).config[
        "es-transport-pki:protectCa"] == "false"
