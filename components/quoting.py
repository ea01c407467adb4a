"""How a message quotes a value it refuses: whole when short, else a bounded prefix.

A stack key may hold a 100 KB string (a file pasted into the wrong key); a message that echoed
it whole would bury every other problem. Config, stack-file and policy-config messages quote
values through `quoted`, so each quote is at most a line long and always the same for the same
value. `config_reader.redacted` knows the form of a cut quote, so a secret cut short in one is
still replaced.
"""

from __future__ import annotations

from collections.abc import Callable

MAX_QUOTED = 80  # characters of the value as written before the cut
CUT = "..."


def quoted(value: object, spelled: Callable[[object], str] = repr) -> str:
    """`value` as `spelled` writes it (Python's repr: 'text', 5, ['a']), or its first
    MAX_QUOTED characters, `...` and how long it is: a string's characters, or what `spelled`
    writes of any other value."""
    text = spelled(value)
    if len(text) <= MAX_QUOTED:
        return text
    size = len(value) if isinstance(value, str) else len(text)
    return f"{text[:MAX_QUOTED]}{CUT} ({size:,} characters)"
