"""Map keys of a stack-file value that YAML reads as something other than text.

The Pulumi CLI reads `Pulumi.<stack>.yaml` with Go's YAML decoder and turns each map key that
is not a string into the text Go's `fmt.Sprintf("%v", key)` prints for it (`unmarshalObject`,
pulumi/sdk/go/common/resource/config/object.go); the program receives that text. For a whole
number or a boolean it is the text preflight passes too (`1`, `true`). For a floating-point
number, null, or a whole number beyond 64 bits (which Go reads as a float) it is not: Go prints
`1.0` as `1`, `1.5e+3` as `1500` and null as `<nil>`, where JSON (preflight) writes `1.0`,
`1500.0` and `null`. Such a key is refused, so that preflight never judges a config other than
the one `pulumi up` would run with. So are two keys of one map that become the same text (`1`
and `"1"`): the CLI would keep either value.
"""

from __future__ import annotations

import json

from components.quoting import quoted

# Go's YAML decoder reads a whole number into int64 or uint64 when it fits, else a float64.
_GO_INTEGERS = range(-(2**63), 2**64)


def key_text(key: object) -> str:
    """The text the program receives for a map key the CLI reads (as `json.dumps` writes it)."""
    return key if isinstance(key, str) else json.dumps(key)


def misread_key(key: object) -> str | None:
    """What YAML read `key` as, when the CLI would hand the program other text for it than
    `key_text`; else None."""
    if isinstance(key, str | bool) or (isinstance(key, int) and key in _GO_INTEGERS):
        return None
    if key is None:
        return "null (the CLI passes <nil>)"
    if isinstance(key, int):
        return "a whole number beyond 64 bits (the CLI passes it as a float: 1.2e+20)"
    if isinstance(key, float):
        return "a floating-point number (the CLI passes it as Go prints it: 1.0 as 1)"
    return None  # another YAML type: refused as unwritable


def shown_key(key: object) -> str:
    """A YAML key as YAML spells it (null, true, 1.5, "text"), or its type."""
    try:
        return quoted(key, json.dumps)
    except (TypeError, ValueError):
        return f"of type {type(key).__name__}"


def misread_key_problem(where: str, key: object, what: str) -> str:
    return (f"{where}: has the key {shown_key(key)}, which YAML reads as {what}, not "
            "as written; quote the key if it is a name, or remove it")


def twice_problem(where: str, text: str) -> str:
    return (f"{where}: has two keys that are both {shown_key(text)} once read as text "
            "(like 1 and \"1\", or true and \"true\"): the Pulumi CLI keeps one of their "
            "values; remove the other")
