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

from typing import Any

import yaml

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


def safe_load(text: str) -> Any:
    """`yaml.safe_load(text)` with timestamps left as strings, faster. On a syntax error the
    pure-Python parser's error is raised: unlike libyaml's it quotes the offending line."""
    try:
        return yaml.load(text, Loader=_FastLoader)
    except yaml.YAMLError:
        return yaml.load(text, Loader=_PythonLoader)
