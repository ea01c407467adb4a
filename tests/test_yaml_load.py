"""`components.yaml_load.safe_load`: libyaml's speed, the values the Pulumi CLI's yaml.v2
reads (checked against yaml.v2 itself where Go is installed), PyYAML's errors."""

from __future__ import annotations

import math
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


# Plain scalars where yaml.v2 (the CLI's decoder) and PyYAML's YAML 1.1 disagree, then some
# where they agree: (scalar, yaml.v2's value), as yaml.v2 2.4.0 printed them under Go 1.19.
YAML_V2_READINGS: list[tuple[str, object]] = [
    ("y", True), ("Y", True), ("n", False), ("N", False),
    ("1:20", "1:20"), ("1:20.5", "1:20.5"), ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
    ("1e3", 1000.0), ("0o17", 15), ("08", 8.0), ("1.5_0", 1.5), ("1e400", "1e400"),
    ("=", "="), ("<<", "<<"), ("9" * 5000, "9" * 5000),
    ("18446744073709551615", 18446744073709551615), ("+18446744073709551615", 2.0**64),
    ("-9223372036854775809", -(2.0**63)), ("0x", "0x"), ("0b12", "0b12"), ("12e", "12e"),
    ("yes", True), ("off", False), ("~", None), ("", None), ("0x1F", 31), ("017", 15),
    ("0123", 83), ("0b101", 5), ("-0b101", -5), ("1_000", 1000), ("+1", 1), ("-0", 0),
    (".5", 0.5), (".5e3", 500.0), ("1.", 1.0), (".inf", math.inf), ("1e-400", 0.0),
    ("2027-01-31", "2027-01-31"), ("8.19.2", "8.19.2"), ("é", "é"),
]


@pytest.mark.parametrize(("scalar", "value"), YAML_V2_READINGS,
                         ids=[s[:24] for s, _ in YAML_V2_READINGS])
def test_plain_scalars_read_as_the_pulumi_cli_reads_them(scalar: str, value: object) -> None:
    loaded = safe_load(f"a: {scalar}\nb:\n  - {scalar}\n")
    assert loaded == {"a": value, "b": [value]}
    assert type(loaded["a"]) is type(value)


def test_quoted_and_tagged_scalars_read_as_written() -> None:
    assert safe_load("a: ['y', \"1e3\", !!str 1:20, !!float 1, !!int '017']\n") == {
        "a": ["y", "1e3", "1:20", 1.0, 15]}


@pytest.mark.parametrize("keys", ["1: x, true: y", "0: x, false: y", "1: x, 1.0: y"])
def test_keys_python_takes_for_one_are_refused_naming_them(keys: str) -> None:
    """The CLI keeps both (`1`, `true`) or either value (`1`, `1.0`); a dict would keep one."""
    with pytest.raises(yaml.YAMLError, match="which Python takes for one key; quote them"):
        safe_load(f"a: {{{keys}}}\n", one_value_per_key=True)
    assert len(safe_load(f"a: {{{keys}}}\n")["a"]) == 1  # the program's reading, for posture


def test_the_merge_key_merges_and_is_text_elsewhere() -> None:
    text = "base: &base {a: 1}\nmerged: {<<: *base, b: 2}\nwords: [<<]\n"
    assert safe_load(text) == {"base": {"a": 1}, "merged": {"a": 1, "b": 2}, "words": ["<<"]}


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
    ("a: !!int " + "9" * 5000 + "\n",
     r"an integer of 5000 digits, more than any setting takes \(Python reads 4300\); quote it "
     r"if it is text"),
    ("a: !!timestamp 2020-13-45\n", r"'2020-13-45' is not a date \(month must be in 1\.\.12\)"),
], ids=["5000 digits", "month 13"])
def test_a_value_python_cannot_make_is_a_yaml_error_with_its_line(text: str, error: str) -> None:
    """Not a ValueError from the constructor, which names no line."""
    with pytest.raises(yaml.YAMLError, match=error) as raised:
        safe_load(text)
    assert "line 1, column" in str(raised.value)
