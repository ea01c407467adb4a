"""`components.yaml_load.safe_load`: libyaml's speed, `yaml.safe_load`'s values (timestamps
excepted, as the Pulumi CLI reads them) and errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from components.yaml_load import safe_load

REPO = Path(__file__).resolve().parent.parent
STACK_FILES = sorted((REPO / "stacks").glob("Pulumi.*.yaml"))


@pytest.mark.parametrize("path", STACK_FILES, ids=[p.name for p in STACK_FILES])
def test_stack_files_load_as_with_the_pure_python_parser(path: Path) -> None:
    text = path.read_text()
    assert safe_load(text) == yaml.safe_load(text)


def test_implicit_scalar_types_load_alike() -> None:
    text = "a: [yes, no, ~, 1e3, 1.5e3, 0x1F, 0o17, '01', .inf, 1_000, é]\n"
    assert safe_load(text) == yaml.safe_load(text)


def test_timestamps_stay_the_strings_the_pulumi_cli_hands_the_program() -> None:
    """Go's YAML decoder keeps them as written when decoding into an untyped value."""
    text = "expires: 2027-01-31\nat: [2001-12-14t21:59:43.10-05:00, 2002-12-14]\n"
    assert safe_load(text) == {
        "expires": "2027-01-31", "at": ["2001-12-14t21:59:43.10-05:00", "2002-12-14"]}


def test_a_syntax_error_reads_as_the_pure_python_parser_reports_it() -> None:
    text = "config:\n  a: [1, 2\n  b: 3\n"
    with pytest.raises(yaml.YAMLError) as expected:
        yaml.safe_load(text)
    with pytest.raises(yaml.YAMLError) as raised:
        safe_load(text)
    assert str(raised.value) == str(expected.value)
