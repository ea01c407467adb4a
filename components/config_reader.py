"""Primitives for reading stack config: typed getters that record problems and go on.

Each problem names its key in `pulumi config set --path` syntax; parsing continues after a
problem so that the user sees every problem of a stack at once.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import json
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

import pulumi

from components.quoting import CUT, MAX_QUOTED, quoted

NAMESPACE = "es-transport-pki"
DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\Z")
# A map key that `pulumi config set --path` reads after a dot as it is written.
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
# Maps and lists in one top-level value. No setting nests this deep (an ECK podTemplate's
# affinity terms are some 17 levels below `clusters`); the checks read values recursively.
MAX_DEPTH = 64
TOO_DEEP = (
    f"nests more than {MAX_DEPTH} maps and lists deep, deeper than any setting, so it is not "
    "read; remove the nesting below this key (a value pasted or generated into it?)"
)

E = TypeVar("E", bound=Enum)


@dataclass(frozen=True)
class ConfigProblem:
    key: str
    message: str

    def __str__(self) -> str:
        return f"{NAMESPACE}:{self.key}: {self.message}"


class ConfigError(pulumi.RunError):
    """Invalid stack configuration; `problems` lists all of them.

    A `RunError`, so `pulumi up` prints the problems without a Python traceback.
    """

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the stack configuration:\n{lines}")


@dataclass(frozen=True)
class Secrecy:
    """Which config values Pulumi holds encrypted.

    The engine tells a program only which top-level keys hold a secret somewhere in their
    value, so one `secure:` value would vouch for every plain-text one beside it; the stack file
    says which values themselves are `secure:`, so a key is judged there when the file holds it.
    """

    secret_keys: frozenset[str]  # top-level keys the engine reports secret
    # Top-level key the stack file holds → stack keys of its `secure:` values (`clusters[1].ca`).
    stack_file: Mapping[str, frozenset[str]]

    def encrypted(self, key: str) -> bool:
        top = re.split(r"[.\[]", key, maxsplit=1)[0]
        secure = self.stack_file.get(top)
        if secure is None:
            return top in self.secret_keys
        # A `secure:` value encrypts everything below it (e.g. the whole `clusters` list).
        return any(is_within(key, path) for path in secure)


def is_within(key: str, path: str) -> bool:
    """Whether stack key `key` is `path` or lies below it (`clusters[1]` holds
    `clusters[1].ca` and `clusters[1]["a.b"]`, not `clusters[10]`)."""
    return key == path or key.startswith((f"{path}.", f"{path}["))


# Shorter encrypted strings are left in messages: replacing them could garble the message's
# own words, and keys, certificates and passwords are longer.
_MIN_REDACTED = 8
REDACTED = "[secret]"


def redacted(
    problems: Sequence[ConfigProblem], raw: Mapping[str, Any], secrecy: Secrecy
) -> list[ConfigProblem]:
    """`problems` quoting no encrypted value of `raw` (`Secrecy.encrypted`: the stack file's
    `secure:` values, else every value under a top-level key the engine calls secret). A
    message may quote the value it refuses (`got a string '...'`), and a decrypted `secure:`
    map is one plain string then: `pulumi up` and preflight print these messages."""
    secrets = sorted(
        {text for key, text in nested_values(raw, "") if isinstance(text, str)
         and len(text) >= _MIN_REDACTED and secrecy.encrypted(key)},
        key=len, reverse=True,
    )
    forms = [form for text in secrets
             for form in (text, repr(text)[1:-1], json.dumps(text)[1:-1]) if form]

    def scrub(message: str) -> str:
        for form in forms:
            message = message.replace(form, REDACTED)
        # A quote cut short (`quoted`) may end in the first characters of a secret; its length
        # goes with them.
        for cut in reversed(list(_CUT_QUOTE.finditer(message))):
            head = message[max(0, cut.start() - MAX_QUOTED):cut.start()]
            if begun := _begun_secret(head, forms):
                message = message[:cut.start() - begun] + REDACTED + CUT + message[cut.end():]
        return message

    return [ConfigProblem(p.key, scrub(p.message)) for p in problems] if forms else list(problems)


_CUT_QUOTE = re.compile(re.escape(CUT) + r" \([\d,]+ characters\)")


def _begun_secret(head: str, forms: Sequence[str]) -> int:
    """How many characters at the end of `head` (a quote cut short) begin one of `forms`."""
    return max((size for form in forms for size in range(min(len(form), len(head)), 0, -1)
                if head.endswith(form[:size])), default=0)


def nested_values(value: object, key: str) -> Iterator[tuple[str, object]]:
    """(stack key, value) of `value`, at `key`, and of every value in it, at any depth."""
    yield key, value
    if isinstance(value, Mapping):
        for name, child in value.items():
            yield from nested_values(child, join(key, str(name)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from nested_values(child, join(key, index))


def too_deep(value: object, key: str) -> str | None:
    """The stack key of a map or list in `value` (at `key`) nested more than MAX_DEPTH maps
    and lists deep, or None. Iterative: the value may nest deeper than Python's stack."""
    # Maps and lists only, each with its steps from `value`: keys are spelled for the one found.
    pending: list[tuple[Mapping[str, Any] | list[Any], tuple[str | int, ...]]] = []
    if isinstance(value, Mapping | list):
        pending.append((value, ()))
    while pending:
        item, steps = pending.pop()
        if len(steps) == MAX_DEPTH:
            for step in steps:
                key = join_name(key, step)
            return key
        children = (
            ((str(name), child) for name, child in item.items()) if isinstance(item, Mapping)
            else enumerate(item)
        )
        pending.extend((child, (*steps, step)) for step, child in children
                       if isinstance(child, Mapping | list))
    return None


class Problems:
    """Collects problems; parsing goes on after each so that the user sees all of them."""

    def __init__(self) -> None:
        self.items: list[ConfigProblem] = []

    def add(self, key: str, message: str) -> None:
        self.items.append(ConfigProblem(key, message))


def type_name(value: object) -> str:
    return {dict: "a map", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def mapping(value: object, key: str, problems: Problems) -> Mapping[str, Any] | None:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.add(key, f"must be a map, got {type_name(value)} {quoted(value)}")
        return None
    return value


def check_keys(
    obj: Mapping[str, Any], key: str, allowed: Collection[str], problems: Problems
) -> None:
    for unknown in sorted(set(obj) - set(allowed)):
        hint = difflib.get_close_matches(unknown, allowed, n=1)
        fix = f"did you mean '{hint[0]}'?" if hint else f"known keys: {', '.join(sorted(allowed))}"
        problems.add(join_name(key, unknown), f"unknown key; {fix}")


def join(key: str, child: str | int) -> str:
    if isinstance(child, int):
        return f"{key}[{child}]"
    return f"{key}.{child}" if key else child


def join_name(key: str, name: str | int) -> str:
    """The stack key of the entry `name` of the map at `key` (or of the list entry `name` at
    `key`: `key[0]`), a name as the stack file spells it: `key.name`, or `key["name"]`
    (JSON-escaped) when the `--path` syntax would read the name otherwise (empty, or with `.`,
    `[`, quotes, spaces or characters that do not print). Every key a check of a stack file
    names below its top level is spelled here."""
    if isinstance(name, int) or _PLAIN_NAME.match(name):
        return join(key, name)
    return f"{key}[{json.dumps(name)}]"


def string(
    obj: Mapping[str, Any], name: str, key: str, problems: Problems, *, required: bool = False
) -> str | None:
    value = obj.get(name)
    if value is None:
        if required:
            problems.add(join(key, name), "is required")
        return None
    if not isinstance(value, str) or not value.strip():
        problems.add(join(key, name), f"must be a non-empty string, got {quoted(value)}")
        return None
    return value


def integer(
    obj: Mapping[str, Any], name: str, key: str, problems: Problems, *,
    default: int, low: int, high: int,
) -> int:
    value = obj.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(join(key, name), f"must be a whole number, got {quoted(value)}")
        return default
    if not low <= value <= high:
        problems.add(join(key, name), f"must be between {low} and {high}, got {quoted(value)}")
        return default
    return value


def boolean(
    obj: Mapping[str, Any], name: str, key: str, problems: Problems, *, default: bool
) -> bool:
    value = obj.get(name, default)
    if not isinstance(value, bool):
        problems.add(join(key, name), f"must be true or false, got {quoted(value)}")
        return default
    return value


def choice(
    obj: Mapping[str, Any], name: str, key: str, problems: Problems, *,
    enum: type[E], default: E | None,
) -> E | None:
    value = obj.get(name)
    if value is None:
        if default is None:
            problems.add(join(key, name), f"is required; one of {choices(enum)}")
        return default
    try:
        return enum(value)
    except ValueError:
        problems.add(join(key, name), f"must be one of {choices(enum)}, got {quoted(value)}")
        return default


def choices(enum: type[Enum]) -> str:
    return ", ".join(repr(member.value) for member in enum)


def listing(obj: Mapping[str, Any], name: str, key: str, problems: Problems) -> list[Any]:
    value = obj.get(name, [])
    if not isinstance(value, list):
        problems.add(join(key, name), f"must be a list, got {type_name(value)} {quoted(value)}")
        return []
    return value


def dns_label(value: str, key: str, problems: Problems, what: str) -> bool:
    if DNS_LABEL.match(value):
        return True
    problems.add(
        key,
        f"{quoted(value)} is not a valid {what}: use 1-63 lower-case letters, digits and '-', "
        "starting and ending with a letter or digit",
    )
    return False


def dns_name(
    value: object, key: str, problems: Problems, ips_key: str | None = None
) -> str | None:
    """`ips_key`: the sibling key that lists addresses, named when `value` is one."""
    if not isinstance(value, str):
        problems.add(key, f"must be a DNS name string, got {quoted(value)}")
        return None
    name = value.lower()
    labels = name.split(".")
    # An address here would become a dNSName SAN, which a peer connecting to that address does
    # not match (it compares iPAddress SANs); no top-level domain is all digits either.
    address = _is_ip(name)
    if address or (labels[-1].isascii() and labels[-1].isdigit()):
        what = "is an IP address" if address else "ends in an all-digit label like an address"
        where = f"list it under {ips_key}" if ips_key else "give a DNS name"
        problems.add(
            key,
            f"{quoted(value)} {what}; {where} (a DNS name SAN does not match a peer that connects "
            "by address)",
        )
        return None
    if len(name) > 253 or not all(DNS_LABEL.match(label) for label in labels):
        hint = " (no wildcards: each node certificate names its own node)" if "*" in name else ""
        problems.add(
            key,
            f"{quoted(value)} is not a valid DNS name{hint}; use dot-separated labels of letters, "
            "digits and '-' without a trailing dot",
        )
        return None
    return name


def dns_names(
    obj: Mapping[str, Any], name: str, key: str, problems: Problems, *, ips: str
) -> tuple[str, ...]:
    """The DNS names listed at `name`; `ips` is the sibling key for addresses."""
    return names(obj, name, key, problems, functools.partial(dns_name, ips_key=join(key, ips)))


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def ip_address(value: object, key: str, problems: Problems) -> str | None:
    try:
        address = ipaddress.ip_address(value if isinstance(value, str) else "")
    except ValueError:
        problems.add(key, f"{quoted(value)} is not an IPv4 or IPv6 address")
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        bare = str(address).rsplit("%", 1)[0]
        problems.add(
            key,
            f"{quoted(value)} has a zone index (%{address.scope_id}), which a certificate's IP SAN "
            f"cannot hold (pulumi-tls refuses the address); list it as {quoted(bare)}",
        )
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        problems.add(
            key,
            f"{quoted(value)} is the IPv4 address {address.ipv4_mapped} written as IPv6: as an IP "
            "SAN it does not match a peer connecting over IPv4 (OpenSSL compares the bytes), "
            "while JSSE, Elasticsearch's TLS stack, takes it for that IPv4 address, so it could "
            f"stand for another node's; list it as {quoted(str(address.ipv4_mapped))}",
        )
        return None
    return str(address)


def names(
    obj: Mapping[str, Any], name: str, key: str, problems: Problems,
    parse: Callable[[object, str, Problems], str | None],
) -> tuple[str, ...]:
    parsed: list[str] = []
    for index, item in enumerate(listing(obj, name, key, problems)):
        value = parse(item, join(join(key, name), index), problems)
        if value is None:
            continue
        if value in parsed:
            problems.add(
                join(join(key, name), index), f"{quoted(value)} is listed twice; remove one")
            continue
        parsed.append(value)
    return tuple(parsed)


def report_duplicates(values: Sequence[str], key: str, what: str, problems: Problems) -> None:
    for value, count in sorted(Counter(values).items()):
        if count > 1:
            problems.add(key, f"{what} {quoted(value)} is used {count} times; names must be unique")
