"""YAML documents read as the Pulumi CLI reads `Pulumi.yaml` and `Pulumi.<stack>.yaml`, parsed
by libyaml when PyYAML was built with it.

The CLI's Go YAML decoder hands a timestamp-looking plain scalar (`expires: 2027-01-31`) to the
program as the string it is written as, for backward compatibility; PyYAML's safe loader makes
it a `date`, which the program would never see (and JSON cannot encode). Timestamps are
therefore not resolved here; every other implicit type resolves as with `yaml.safe_load`.

libyaml parses a 100-node stack file about 8 times faster than PyYAML's pure-Python parser; the
constructor and resolver are the same (`CSafeLoader` is `SafeLoader` on a C parser), so are
the values.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

from components.quoting import quoted

try:
    from yaml import CSafeLoader as _FastestSafeLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _FastestSafeLoader  # type: ignore[assignment]

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_RESOLVERS = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _PythonLoader(yaml.SafeLoader):
    yaml_implicit_resolvers = _RESOLVERS


class _FastLoader(_FastestSafeLoader):
    yaml_implicit_resolvers = _RESOLVERS


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
    _loader.add_constructor("tag:yaml.org,2002:int", _int)
    _loader.add_constructor(_TIMESTAMP, _timestamp)


# libyaml's problems for what the pure-Python parser does not refuse.
_LIBYAML_ONLY = frozenset({
    "exceeded maximum nesting depth", "found invalid Unicode character escape code",
})


def safe_load(text: str) -> Any:
    """`yaml.safe_load(text)` with timestamps left as strings, faster. On a syntax error the
    pure-Python parser's error is raised: unlike libyaml's it quotes the offending line.

    What libyaml refuses stays refused, as by the Pulumi CLI (its Go YAML decoder is a port of
    libyaml): a `\\ud800` escape (half a UTF-16 pair, no character), nesting over 1000 levels.
    The pure-Python parser would take the one and overflow Python's stack on the other."""
    try:
        return yaml.load(text, Loader=_FastLoader)
    except yaml.YAMLError as fast_error:
        if getattr(fast_error, "problem", None) in _LIBYAML_ONLY:
            raise  # the pure-Python parser would take it, or take seconds to overflow
        try:
            yaml.load(text, Loader=_PythonLoader)
        except yaml.YAMLError as error:
            raise error from None
        except RecursionError:
            pass
        raise fast_error from None
