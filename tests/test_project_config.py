"""The `config:` of Pulumi.yaml (project-level config) is merged into the stack's config as the
Pulumi CLI merges it (pulumi/pulumi sdk/go/common/workspace: `RewriteShorthandConfigValues`
and `Project.Validate` in project.go, `mergeConfig` in config.go), or refused with the key and
the file named where the CLI would refuse it or preflight cannot tell what it would do."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.project_config import fits
from harness.stack_file import StackFileError, load_stack_file
from preflight.cli import EXIT_CLEAN, EXIT_CONFIG, main

NS = "es-transport-pki"


def merged(tmp_path: Path, project: dict[str, Any], stack: dict[str, Any]) -> dict[str, str]:
    """The config `python -m preflight` would run the stack `ci` with."""
    project_file = tmp_path / "Pulumi.yaml"
    project_file.write_text(yaml.safe_dump({"name": NS, "runtime": "python", "config": project}))
    path = tmp_path / "Pulumi.ci.yaml"
    path.write_text(yaml.safe_dump({"config": stack}))
    return load_stack_file(path, project_file=project_file).config


def refused(tmp_path: Path, project: dict[str, Any], stack: dict[str, Any]) -> list[str]:
    with pytest.raises(StackFileError) as caught:
        merged(tmp_path, project, stack)
    return str(caught.value).splitlines()


def test_the_short_form_is_a_default_in_the_project_namespace_and_a_value_in_another(
    tmp_path: Path,
) -> None:
    """A name alone takes the project's namespace; text, a whole number, true/false and a list
    pass as the engine passes them (a list as JSON); the stack file's own keys stay."""
    config = merged(tmp_path, {
        "protectCa": True, f"{NS}:label": "blue", "replicas": 3, "zones": ["a", "b"],
        "aws:region": "us-west-2",
    }, {f"{NS}:other": "kept"})
    assert config == {
        f"{NS}:other": "kept", f"{NS}:protectCa": "true", f"{NS}:label": "blue",
        f"{NS}:replicas": "3", f"{NS}:zones": '["a", "b"]', "aws:region": "us-west-2",
    }


def test_the_long_form_gives_its_default_or_value_and_structured_ones_as_json(
    tmp_path: Path,
) -> None:
    config = merged(tmp_path, {
        "retries": {"type": "integer", "default": 2, "description": "how often"},
        "ports": {"type": "array", "items": {"type": "integer"}, "default": [9300, 9301.0]},
        "limits": {"default": {"cpu": 1.5, "tags": ["x"]}},
        "gcp:project": {"value": "p-1"},
        "undeclared": {"type": "string"},  # no default: the stack file sets it
    }, {f"{NS}:undeclared": "set"})
    assert config[f"{NS}:retries"] == "2"
    assert json.loads(config[f"{NS}:ports"]) == [9300, 9301]  # Go writes 9301.0 as 9301
    assert json.loads(config[f"{NS}:limits"]) == {"cpu": 1.5, "tags": ["x"]}
    assert config["gcp:project"] == "p-1"
    assert config[f"{NS}:undeclared"] == "set"


@pytest.mark.parametrize("declared", [
    "refuse", {"default": "refuse"}, {"type": "string", "default": "refuse"},
], ids=["short", "default", "typed"])
def test_the_stack_file_overrides_a_project_default(tmp_path: Path, declared: object) -> None:
    config = merged(tmp_path, {"passphraseSecrets": declared},
                    {f"{NS}:passphraseSecrets": "allow"})
    assert config == {f"{NS}:passphraseSecrets": "allow"}


def test_the_stack_file_overrides_a_project_value_of_another_namespace(tmp_path: Path) -> None:
    """`mergeConfig` sets a `value` only where the stack does not set the key, as a default."""
    for declared in ("us-west-2", {"value": "us-west-2"}):
        assert merged(tmp_path, {"aws:region": declared}, {"aws:region": "eu-west-1"}) == {
            "aws:region": "eu-west-1"}


def test_a_namespaced_and_a_bare_key_of_the_project_are_one_key(tmp_path: Path) -> None:
    for key in ("protectCa", f"{NS}:protectCa"):
        assert merged(tmp_path, {key: {"type": "boolean", "default": False}}, {}) == {
            f"{NS}:protectCa": "false"}


def test_a_stack_value_of_another_type_is_refused_with_the_cli_message(tmp_path: Path) -> None:
    problems = refused(tmp_path, {
        "retries": {"type": "integer"}, "debug": {"type": "boolean"},
        "ports": {"type": "array", "items": {"type": "integer"}}, "name": {"type": "string"},
    }, {f"{NS}:retries": "two", f"{NS}:debug": "yes please", f"{NS}:ports": [9300, "x"],
        f"{NS}:name": 7})
    stack = tmp_path / "Pulumi.ci.yaml"
    # A plain stack value reaches the check as text, which `type: string` always takes.
    assert problems == [
        f"{stack}: {NS}:debug: Stack 'ci' with configuration key 'debug' must be of type "
        "'boolean'",
        f"{stack}: {NS}:ports: Stack 'ci' with configuration key 'ports' must be of type "
        "'array<integer>'",
        f"{stack}: {NS}:retries: Stack 'ci' with configuration key 'retries' must be of type "
        "'integer'",
    ]


def test_values_the_types_take_as_the_cli_reads_them(tmp_path: Path) -> None:
    """Text Go's Atoi reads is an integer, `true`/`false` a boolean."""
    config = merged(tmp_path, {
        "retries": {"type": "integer"}, "debug": {"type": "boolean"},
        "ports": {"type": "array", "items": {"type": "integer"}},
    }, {f"{NS}:retries": "+7", f"{NS}:debug": "false", f"{NS}:ports": [1, "2"]})
    assert config[f"{NS}:retries"] == "+7" and config[f"{NS}:ports"] == '[1, "2"]'
    assert fits("integer", None, f"-{'0' * 5000}{2**63}")  # Atoi: any leading zeros, int64


@pytest.mark.parametrize("text", ["1_000", "0x10", "1.0", " 7", str(2**63), "9" * 5000])
def test_text_go_atoi_does_not_read_is_no_integer(tmp_path: Path, text: str) -> None:
    [problem] = refused(tmp_path, {"retries": {"type": "integer"}}, {f"{NS}:retries": text})
    assert problem.endswith("must be of type 'integer'")


def test_a_required_key_the_stack_does_not_set_is_refused_as_the_cli_refuses_it(
    tmp_path: Path,
) -> None:
    """A project key with neither default nor value must be set by every stack; one of another
    namespace never is required."""
    problems = refused(tmp_path, {"owner": {"type": "string"}, "team": {"description": "d"}}, {})
    assert [problem.split(": ", 2)[1:] for problem in problems] == [
        [f"{NS}:owner", "Stack 'ci' is missing configuration value 'owner': "
         f"{tmp_path / 'Pulumi.yaml'} declares it with no default; set it: `pulumi config set "
         f"--stack ci {NS}:owner <value>`"],
        [f"{NS}:team", "Stack 'ci' is missing configuration value 'team': "
         f"{tmp_path / 'Pulumi.yaml'} declares it with no default; set it: `pulumi config set "
         f"--stack ci {NS}:team <value>`"],
    ]


def test_what_the_cli_refuses_in_pulumi_yaml_is_refused_all_at_once(tmp_path: Path) -> None:
    problems = refused(tmp_path, {
        "both": {"default": 1, "value": 2},
        "ports": {"type": "array"},
        "retries": {"type": "integer", "default": "many"},
        "aws:region": {"type": "string", "value": "x"},
        "gcp:project": {"default": "p"},
        "azure:location": {"description": "where"},
    }, {})
    project = tmp_path / "Pulumi.yaml"
    assert problems == [f"{project}: {problem}" for problem in (
        "Configuration key 'aws:region' is not namespaced by the project and should not define "
        "a type",
        "Configuration key 'azure:location' is namespaced and must provide an attribute 'value'",
        "project config 'both' cannot have both a 'default' and 'value' attribute",
        "Configuration key 'gcp:project' is not namespaced by the project and should not define "
        "a default value. Did you mean to use the 'value' attribute instead of 'default'?",
        "The configuration key 'ports' declares an array but does not specify the underlying "
        "type via the 'items' attribute",
        "The default value specified for configuration key 'retries' is not of the expected "
        "type 'integer'",
    )]


def test_what_preflight_cannot_tell_the_cli_does_is_refused_naming_the_key(
    tmp_path: Path,
) -> None:
    problems = refused(tmp_path, {
        "ratio": 1.5, "nothing": None, "a.b": "x", "x:y:z": "1", "typo": {"defualt": 1},
        "shape": {"type": "object", "default": {}},
        "token": {"default": {"secure": "v1:abc"}},
        "key": {"type": "string", "secret": True, "default": "plain"},
    }, {})
    text = "\n".join(problems)
    for expected in (
        "ratio: 1.5 is no short form the Pulumi CLI takes",
        "nothing: null is no short form the Pulumi CLI takes",
        "a.b: the Pulumi CLI reads a name with `.`, `[`, `]` or quotes as a path",
        "x:y:z: is not `<namespace>:<name>` or a name alone",
        "typo: has \"defualt\", which the project config's long form does not take",
        "shape.type: must be one of string, integer, boolean, array, not 'object'",
        "token: holds a `secure:` value, which the CLI does not decrypt in Pulumi.yaml",
        f"{NS}:key: Stack 'ci' with configuration key 'key' must be encrypted as it's secret; "
        f"set it in the stack file: `pulumi config set --secret --stack ci {NS}:key`",
    ):
        assert expected in text
    assert len(problems) == 8


def test_a_typed_secret_key_set_in_plain_text_is_refused(tmp_path: Path) -> None:
    [problem] = refused(tmp_path, {"token": {"type": "string", "secret": True}},
                        {f"{NS}:token": "plain"})
    assert problem.endswith("Stack 'ci' with configuration key 'token' must be encrypted as "
                            "it's secret; set it in the stack file: `pulumi config set --secret "
                            f"--stack ci {NS}:token`")


def run_with_project(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    project: dict[str, Any], stack_config: dict[str, Any],
) -> tuple[int, dict[str, Any]]:
    """`python -m preflight --stack-file` on a passphrase stack, with `project` as Pulumi.yaml."""
    project_file = tmp_path / "Pulumi.yaml"
    project_file.write_text(yaml.safe_dump({"name": NS, "runtime": "python", "config": project}))
    monkeypatch.setattr("preflight.cli.PROJECT_FILE", project_file)
    stack = tmp_path / "Pulumi.ci.yaml"
    clusters = [{"name": "logs", "delivery": "vm", "vm": {"writeLocalFiles": False},
                 "nodes": [{"name": n, "dns": [f"{n}.logs.internal"]} for n in ("es-1", "es-2")]}]
    stack.write_text(yaml.safe_dump({"secretsprovider": "passphrase",
                                     "config": {f"{NS}:clusters": clusters, **stack_config}}))
    code = main(["--json", "--stack-file", str(stack)])
    return code, json.loads(capsys.readouterr().out)


def test_preflight_runs_with_a_stack_wide_key_from_pulumi_yaml(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    """`passphraseSecrets: refuse` in Pulumi.yaml refuses the passphrase stack, as `pulumi up`
    would; the stack file's own setting overrides it."""
    code, report = run_with_project(monkeypatch, capsys, tmp_path,
                                    {"passphraseSecrets": "refuse"}, {})
    assert code == EXIT_CONFIG
    assert any(f"{NS}:passphraseSecrets: is 'refuse'" in error
               for error in report["configErrors"]), report["configErrors"]
    code, report = run_with_project(monkeypatch, capsys, tmp_path,
                                    {"passphraseSecrets": "refuse"},
                                    {f"{NS}:passphraseSecrets": "allow"})
    assert code == EXIT_CLEAN, report


def test_preflight_refuses_a_stack_value_of_another_type_than_pulumi_yaml_declares(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    code, report = run_with_project(monkeypatch, capsys, tmp_path,
                                    {"protectCa": {"type": "boolean", "default": False}},
                                    {f"{NS}:protectCa": "no"})
    assert code == EXIT_CONFIG
    assert any("Stack 'ci' with configuration key 'protectCa' must be of type 'boolean'" in error
               for error in report["configErrors"]), report["configErrors"]


def _aliases(levels: int) -> str:
    """Keys `a`, `b`, ...: each a list of ten aliases of the one before, 10**levels values."""
    names = "abcdefghij"[:levels]
    lines = ["&a [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"  {name}: &{name} [{', '.join([f'*{before}'] * 10)}]"
              for before, name in itertools.pairwise(names)]
    return "\n".join(lines)


@pytest.mark.parametrize("value", [
    "&a [*a]",  # endless
    _aliases(7),  # more values than any config, under the keys f and g
    "!!binary aGVsbG8=",
], ids=["endless", "aliases", "binary"])
def test_what_no_program_could_be_handed_is_refused_before_it_is_read(
    tmp_path: Path, value: str,
) -> None:
    project_file = tmp_path / "Pulumi.yaml"
    project_file.write_text(f"name: {NS}\nruntime: python\nconfig:\n  a: {value}\n")
    path = tmp_path / "Pulumi.ci.yaml"
    path.write_text("config: {}\n")
    with pytest.raises(StackFileError, match=rf"{project_file}: [a-g]\b"):
        load_stack_file(path, project_file=project_file)
