"""Messages quote a refused value whole when it is short, and a bounded prefix of a long one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.config import ConfigError, parse_stack_config
from components.quoting import quoted
from harness.analyzer import PolicyInfo, schema_problems
from preflight.cli import EXIT_CONFIG, main
from tests.test_config import NOW, problems_of, stack, vm_cluster
from tests.x509_factory import make_ca

HUGE = "x" * 100_000  # a file pasted into the wrong key


@pytest.mark.parametrize("value", ["no", 5, ["a", "b"], "y" * 78, None],
                         ids=["text", "number", "list", "78 characters", "null"])
def test_a_short_value_is_quoted_whole(value: object) -> None:
    assert quoted(value) == repr(value)


def test_a_long_value_is_quoted_as_a_prefix_with_its_length() -> None:
    assert quoted(HUGE) == "'" + "x" * 79 + "... (100,000 characters)"
    assert quoted(list(range(1000))) == (
        "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 2"
        "... (4,890 characters)")
    assert quoted("z" * 200, json.dumps) == '"' + "z" * 79 + "... (200 characters)"


def test_a_config_error_quotes_a_long_value_bounded_and_a_short_one_whole() -> None:
    cluster = {**vm_cluster(), "ca": {"commonName": HUGE}, "vm": {"writeLocalFiles": "no"}}
    problems = problems_of(stack(cluster))
    assert "es-transport-pki:clusters[0].vm.writeLocalFiles: must be true or false, got 'no'" \
        in problems
    name = next(p for p in problems if "clusters[0].ca.commonName" in p)
    assert name.startswith(
        "es-transport-pki:clusters[0].ca.commonName: '" + "x" * 79 + "... (100,000 characters) "
        "is 100000 characters; X.509 allows")
    assert len(name) < 400


def test_preflight_quotes_a_long_stack_file_value_bounded(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "Pulumi.big.yaml"
    path.write_text(f"config:\n  es-transport-pki:clusters: {HUGE}\n")
    assert main(["--json", "--stack-file", str(path)]) == EXIT_CONFIG
    errors = json.loads(capsys.readouterr().out)["configErrors"]
    assert errors[1:] == [
        "  - es-transport-pki:clusters: must be a non-empty list of clusters, got '"
        + "x" * 79 + "... (100,000 characters)"]


def test_a_secret_cut_short_in_a_quote_is_still_redacted() -> None:
    """A quote of a list is cut inside the CA key it holds: the part that shows is replaced."""
    ca = make_ca("logs transport CA")
    cluster = {**vm_cluster(), "ca": [ca.key_pem]}
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(stack(cluster), stack="dev", now=NOW, secret_keys={"clusters"},
                           secure_values={"clusters": frozenset({"clusters[0].ca[0]"})})
    message = str(caught.value)
    assert message.endswith("clusters[0].ca: must be a map, got a list ['[secret]...")
    assert "PRIVATE" not in message and "MIG" not in message


def test_a_policy_config_setting_is_quoted_bounded_in_the_schema_message() -> None:
    policy = PolicyInfo("es-transport-validity", "", "mandatory", "resource",
                        {"maxLeafValidityHours": {"type": "integer"}})
    assert schema_problems(policy, {"maxLeafValidityHours": HUGE}) == [
        "es-transport-validity.maxLeafValidityHours: '" + "x" * 79
        + "... (100,000 characters) is not of type 'integer'"]
    assert schema_problems(policy, {"maxLeafValidityHours": "a year"}) == [
        "es-transport-validity.maxLeafValidityHours: 'a year' is not of type 'integer'"]
