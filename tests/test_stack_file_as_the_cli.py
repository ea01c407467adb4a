"""Preflight reads a stack file's config as the Pulumi CLI does, checked against the CLI's own
YAML decoder: tests/yaml_v2/main.go decodes each value with gopkg.in/yaml.v2 and writes it as
the CLI's config object does (pulumi/sdk/go/common/resource/config/object.go), and
`load_stack_file` must hand the program the same text, or refuse what the CLI cannot hold.

Needs Go and yaml.v2's source (Debian: golang-go, golang-gopkg-yaml.v2-dev; .ci/run installs
them); skipped without them. tests/test_yaml_load.py holds the readings as a table too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.stack_file import StackFileError, load_stack_file

GOPATH = Path("/usr/share/gocode")  # where Debian installs Go sources
KEY = "es-transport-pki:value"

VALUES = [
    # scalars where yaml.v2 and YAML 1.1 (PyYAML) disagree
    "y", "N", "1:20", "1:2:3:4:5:6:7:8", "1e3", "0o17", "08", "1.5_0", "1e400", "=", "<<",
    "9" * 5000, "+18446744073709551615", "-9223372036854775809", "0b12",
    # whole floats, which the CLI's JSON writes as integers
    "1.0", "-1.0", "1e20", "1e21", "100000000000000000000.0", "0.00001", "-0.0",
    # what the CLI cannot hold
    "9223372036854775808", "18446744073709551615", ".inf", "-.inf", ".nan",
    # where they agree
    "yes", "off", "True", "~", "", "0x1F", "017", "1_000", "+1", "-0", ".5", "1.", "0b101",
    "2027-01-31", "2001-12-14t21:59:43.10-05:00", "8.19.2", "'1e3'", '"yes"', "a b",
    # structured
    "[y, n, 1.0, 1:20, 1e3]", "{a: 1.0, b: [0o17, =], 2: x, true: y, c: {d: 2.5}}",
]


@pytest.fixture(scope="session")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    if go is None or not (GOPATH / "src" / "gopkg.in" / "yaml.v2").is_dir():
        pytest.skip("no Go and gopkg.in/yaml.v2 source (Debian: golang-go, "
                    "golang-gopkg-yaml.v2-dev)")
    build = tmp_path_factory.mktemp("yaml-v2-oracle")
    shutil.copy(Path(__file__).parent / "yaml_v2" / "main.go", build / "main.go")
    env = {**os.environ, "GOPATH": str(GOPATH), "GO111MODULE": "off",
           "GOCACHE": str(build / "cache"), "GOFLAGS": ""}
    subprocess.run([go, "build", "-o", str(build / "oracle"), "."], cwd=build, env=env,
                   check=True, capture_output=True)
    return build / "oracle"


def _canonical(text: str) -> str:
    """JSON text compared as the program reads it (json.loads), with ints and floats apart."""
    try:
        return json.dumps(json.loads(text), sort_keys=True)
    except ValueError:
        return text


@pytest.mark.parametrize("value", VALUES, ids=[v[:24] or "empty" for v in VALUES])
def test_each_value_reaches_the_program_as_through_the_cli(
    oracle: Path, tmp_path: Path, value: str
) -> None:
    document = f"value: {value}\n"
    cli = subprocess.run([str(oracle)], input=document, capture_output=True, text=True,
                         check=True).stdout
    stack = tmp_path / "Pulumi.ci.yaml"
    stack.write_text(f"config:\n  {KEY}: {value}\n", encoding="utf-8")
    if cli.startswith("error: "):
        with pytest.raises(StackFileError, match=KEY):
            load_stack_file(stack)
        return
    text = load_stack_file(stack).config[KEY]
    assert text == cli or _canonical(text) == _canonical(cli)


def test_whole_floats_reach_the_program_as_integers(tmp_path: Path) -> None:
    """Go's encoding/json writes a whole float64 without a fraction: an ECK nodeSet `count:
    3.0` reaches the program as 3, which it takes, not as 3.0, which it would refuse."""
    stack = tmp_path / "Pulumi.ci.yaml"
    stack.write_text(f"config:\n  {KEY}: {{count: 3.0, big: 1e20, half: 0.5, huge: 1e21}}\n",
                     encoding="utf-8")
    value = json.loads(load_stack_file(stack).config[KEY])
    assert value == {"count": 3, "big": 10**20, "half": 0.5, "huge": 1e21}
    assert [type(value[k]) for k in ("count", "big", "half", "huge")] == [int, int, float, float]
