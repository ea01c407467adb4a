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
    text = path.read_text(encoding="utf-8")
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


@pytest.mark.parametrize(("text", "error"), [
    ('a: "\\ud800"\n', "found invalid Unicode character escape code"),
    ("a: " + "[" * 2000 + "]" * 2000 + "\n", "exceeded maximum nesting depth"),
], ids=["half a surrogate pair", "2000 levels"])
def test_what_libyaml_refuses_stays_refused(text: str, error: str) -> None:
    """As by the Pulumi CLI, whose Go YAML decoder ports libyaml. The pure-Python parser takes
    a lone surrogate (its text then cannot be printed) and overflows Python's stack on deep
    nesting (a RecursionError)."""
    with pytest.raises(yaml.YAMLError, match=error):
        safe_load(text)


@pytest.mark.parametrize(("text", "error"), [
    ("a: " + "9" * 5000 + "\n",
     r"an integer of 5000 digits, more than any setting takes \(Python reads 4300\); quote it "
     r"if it is text"),
    ("a: !!timestamp 2020-13-45\n", r"'2020-13-45' is not a date \(month must be in 1\.\.12\)"),
], ids=["5000 digits", "month 13"])
def test_a_value_python_cannot_make_is_a_yaml_error_with_its_line(text: str, error: str) -> None:
    """Not a ValueError from the constructor, which names no line."""
    with pytest.raises(yaml.YAMLError, match=error) as raised:
        safe_load(text)
    assert "line 1, column 4" in str(raised.value)
