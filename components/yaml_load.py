"""YAML documents read as the Pulumi CLI reads `Pulumi.yaml` and `Pulumi.<stack>.yaml`, parsed
by libyaml when PyYAML was built with it.

The CLI decodes them with gopkg.in/yaml.v2 (pulumi/sdk/go/common/encoding), whose plain
scalars resolve by its own table (`resolve.go`), not by YAML 1.1's regular expressions that
PyYAML's safe loader applies. So every plain scalar here is resolved as yaml.v2 2.4.0 resolves
it (`plain_scalar`): `y`/`n` are booleans, `0o17` and `1e3` numbers, `1:20` (a base-60 number
to PyYAML) and `=` text; a timestamp-looking scalar stays the string it is written as, as
yaml.v2 hands it to an untyped value. Quoted and explicitly tagged scalars read as in PyYAML.
tests/test_yaml_load.py holds both readings side by side, and checks them against yaml.v2
itself where Go and its source are installed (.ci/run installs them).

libyaml parses a 100-node stack file about 8 times faster than PyYAML's pure-Python parser; the
constructor and resolver are the same (`CSafeLoader` is `SafeLoader` on a C parser), so are
the values.
"""

from __future__ import annotations

import math
import re
import sys
from typing import Any

import yaml

from components.quoting import quoted

try:
    from yaml import CSafeLoader as _FastestSafeLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _FastestSafeLoader  # type: ignore[assignment]

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
# A plain (unquoted, untagged) scalar, resolved by `plain_scalar` when it is constructed.
_PLAIN = "tag:es-transport-pki,2026:yaml.v2-plain"

_WORDS: dict[str, object] = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"),
                    True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"),
                    False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
# yaml.v2 looks a scalar up in `_WORDS` only when its first character is one of these.
_WORD_STARTS = frozenset("yYnNtTfFoO~.+-0123456789")
_NUMBER_STARTS = frozenset("+-0123456789")
# Go's strconv.ParseInt(text, 0, 64) syntax (underscores already removed, as yaml.v2 does).
_GO_INT = re.compile(
    r"([-+]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|0([0-7]*)|([1-9][0-9]*))\Z")
# yaml.v2's `yamlStyleFloat`, and what Go's ParseFloat reads of a scalar starting with '.'.
_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_DOT_FLOAT = re.compile(r"\.[0-9]+([eE][-+]?[0-9]+)?\Z")
_BASES = (16, 8, 2, 8, 10)  # of _GO_INT's groups after the sign
INT64 = range(-(2**63), 2**63)  # Go's int64
_UINT64 = range(2**64)


def plain_scalar(text: str) -> object:
    """What yaml.v2 2.4.0 makes of a plain scalar `text` decoded into an untyped value
    (`resolve` in its resolve.go, for Go 1.13+'s strconv)."""
    if not text or text[0] in _WORD_STARTS:
        if text in _WORDS:
            return _WORDS[text]
    else:
        return text
    if text[0] == ".":
        return _go_float(text) if _DOT_FLOAT.match(text) else text
    if text[0] not in _NUMBER_STARTS:
        return text
    plain = text.replace("_", "")
    if (number := _GO_INT.match(plain)) is not None:
        sign, *forms = number.groups()
        digits, base = next((d, b) for d, b in zip(forms, _BASES, strict=True) if d is not None)
        # More than 64 digits is beyond 64 bits in any base (and past what int() reads).
        value = int(f"{sign}{digits or 0}", base) if len(digits) <= 64 else None
        # ParseInt, then ParseUint (which takes no sign); else a float, below.
        if value is not None and (value in INT64 or (not sign and value in _UINT64)):
            return value
    if _YAML_STYLE_FLOAT.match(plain):
        return _go_float(plain)
    return text


def _go_float(text: str) -> object:
    """Go's ParseFloat: out of range (±Inf) is an error, and yaml.v2 then keeps the text."""
    value = float(text)
    return text if math.isinf(value) else value


def _resolved_plain(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    return plain_scalar(node.value)


def _merge_as_value(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    """`<<` anywhere but as a map key: yaml.v2 reads it as text."""
    return loader.construct_scalar(node)


class _YamlV2Plain:
    """Plain scalars tagged for `plain_scalar`, `<<` as the merge key: PyYAML's resolver for
    everything else (quoted scalars, maps, lists)."""

    def resolve(self, kind: type[yaml.Node], value: str, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return _MERGE if value == "<<" else _PLAIN
        resolved: str = super().resolve(kind, value, implicit)  # type: ignore[misc]
        return resolved


class _PythonLoader(_YamlV2Plain, yaml.SafeLoader):
    pass


class _FastLoader(_YamlV2Plain, _FastestSafeLoader):
    pass


def _int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    try:
        value: int = loader.construct_yaml_int(node)
    except ValueError:  # more digits than Python converts
        digits = sum(character.isdigit() for character in node.value)
        raise yaml.constructor.ConstructorError(
            None, None, f"an integer of {digits} digits, more than any setting takes (Python "
            f"reads {sys.get_int_max_str_digits()}); quote it if it is text", node.start_mark,
        ) from None
    return value


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError as err:  # an explicit !!timestamp of a day that does not exist
        raise yaml.constructor.ConstructorError(
            None, None, f"{quoted(node.value)} is not a date ({err})", node.start_mark,
        ) from None


for _loader in (_PythonLoader, _FastLoader):
    _loader.add_constructor(_PLAIN, _resolved_plain)
    _loader.add_constructor(_MERGE, _merge_as_value)
    _loader.add_constructor("tag:yaml.org,2002:int", _int)
    _loader.add_constructor(_TIMESTAMP, _timestamp)


class _OneValuePerKey:
    """Python's dict would keep one value of two keys it takes for one, silently, where the
    CLI keeps both keys (`1`, `true`) or either value (`1`, `1.0`)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """PyYAML's map, refusing two keys that Python takes for one (`1` and `true`, `1` and
        `1.0`)."""
        mapping: dict[Any, Any] = super().construct_mapping(node, deep)  # type: ignore[misc]
        first: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep)  # type: ignore[attr-defined]
            earlier = first.setdefault(key, key)
            if type(earlier) is not type(key):
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"found the keys {earlier!r} and {key!r}, which Python takes for one key; "
                    "quote them if they are names, or remove one", key_node.start_mark)
        return mapping


class _StrictPythonLoader(_OneValuePerKey, _PythonLoader):
    pass


class _StrictFastLoader(_OneValuePerKey, _FastLoader):
    pass


# libyaml's problems for what the pure-Python parser does not refuse.
_LIBYAML_ONLY = frozenset({
    "exceeded maximum nesting depth", "found invalid Unicode character escape code",
})


def safe_load(text: str, *, one_value_per_key: bool = False) -> Any:
    """`yaml.safe_load(text)` with plain scalars read as yaml.v2 reads them, faster. On a
    syntax error the pure-Python parser's error is raised: unlike libyaml's it quotes the
    offending line. `one_value_per_key`: refuse two keys of a map that Python takes for one
    (what the config is read for; the program's own reading of its stack file, for its
    secrets provider, keeps PyYAML's dict).

    What libyaml refuses stays refused, as by the Pulumi CLI (its Go YAML decoder is a port of
    libyaml): a `\\ud800` escape (half a UTF-16 pair, no character), nesting over 1000 levels.
    The pure-Python parser would take the one and overflow Python's stack on the other."""
    fast, python = ((_StrictFastLoader, _StrictPythonLoader) if one_value_per_key
                    else (_FastLoader, _PythonLoader))
    try:
        return yaml.load(text, Loader=fast)
    except yaml.YAMLError as fast_error:
        if getattr(fast_error, "problem", None) in _LIBYAML_ONLY:
            raise  # the pure-Python parser would take it, or take seconds to overflow
        try:
            yaml.load(text, Loader=python)
        except yaml.YAMLError as error:
            raise error from None
        except RecursionError:
            pass
        raise fast_error from None
