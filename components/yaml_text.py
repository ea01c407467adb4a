"""YAML documents the program emits (cloud-init, elasticsearch.yml), rendered fast and unchanged.

The text is an output users feed to their VMs: a different rendering of the same data would
show up as a change on every node. So the text is always what PyYAML's pure-Python emitter
writes. libyaml's emitter (`CSafeDumper`, 10-15x faster) is used only for documents it renders
identically: the representation (the event stream) is the same Python code for both dumpers,
and the two emitters choose the same scalar styles and write plain and single-quoted scalars
the same way. They differ in how a double-quoted scalar is folded at the line width, and
PyYAML writes double quotes only for a string with a character outside printable ASCII (tab,
CR, non-ASCII, ...) or with a space next to a line break; and in which keys they write as
`? ` complex keys (empty ones). Any such string sends the document to the pure-Python emitter.
tests/test_yaml_text.py checks both claims against PyYAML itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

# Printable ASCII and line feeds, with no space at either side of a line feed.
_PLAIN_TEXT = re.compile(r"(?:[\x20-\x7e]|\n(?! ))*")
# A simple key for both emitters (an empty key is a `? ` complex key for PyYAML only).
_SIMPLE_KEY = re.compile(r"[\x20-\x7e]{1,127}")
_FAST_DUMPER: type[yaml.SafeDumper] | None = getattr(yaml, "CSafeDumper", None)


def renders_alike(data: object) -> bool:
    """Whether both emitters give the same text for `data` (its strings, keys included)."""
    if isinstance(data, str):
        return _PLAIN_TEXT.fullmatch(data) is not None and " \n" not in data
    if isinstance(data, Mapping):
        # A simple key is plain text already (no line feed, so no space beside one).
        return all(
            isinstance(k, str) and _SIMPLE_KEY.fullmatch(k) is not None and renders_alike(v)
            for k, v in data.items()
        )
    if isinstance(data, list | tuple):
        return all(renders_alike(v) for v in data)
    return isinstance(data, bool | int) or data is None


def dump(data: Any, *, sort_keys: bool) -> str:
    """`yaml.safe_dump(data, sort_keys=sort_keys, default_flow_style=False)`, exactly."""
    dumper = _FAST_DUMPER if _FAST_DUMPER is not None and renders_alike(data) else yaml.SafeDumper
    text: str = yaml.dump(data, Dumper=dumper, sort_keys=sort_keys, default_flow_style=False)
    return text


def dump_block_list(key: str, items: Sequence[Mapping[str, Any]]) -> str:
    """`dump({key: items}, sort_keys=False)`, each item judged on its own: a block sequence's
    items render independently, so one item needing the pure-Python emitter (JSON indented with
    spaces) does not slow down the others."""
    head = f"{key}:\n"
    if not items:
        return dump({key: items}, sort_keys=False)
    return head + "".join(dump({key: [item]}, sort_keys=False)[len(head):] for item in items)
