"""components/yaml_text.py: exactly PyYAML's pure-Python text, libyaml only where it agrees."""

from __future__ import annotations

import json
import random
import string
from typing import Any

import pytest
import yaml

from components import vm_bundle, yaml_text

PRINTABLE = string.ascii_letters + string.digits + string.punctuation + " \n"
# Alphabets that provoke every scalar style: quotes, indicators, folding at the line width,
# breaks next to spaces, tabs, CR, non-ASCII, byte-order marks and NEL.
ALPHABETS = [
    PRINTABLE,
    "ab :#-'\"\n",
    "ab \n",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa \n",
    "AB+/=",
    PRINTABLE + "\t\r\x0b\x0c",
    PRINTABLE + "é€\u2028\x85\ufeff\x00",
]


def pure_python(data: Any, *, sort_keys: bool) -> str:
    text: str = yaml.dump(data, Dumper=yaml.SafeDumper, sort_keys=sort_keys,
                          default_flow_style=False)
    return text


def libyaml(data: Any, *, sort_keys: bool) -> str:
    text: str = yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=sort_keys,
                          default_flow_style=False)
    return text


def strings(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        alphabet = rng.choice(ALPHABETS)
        out.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300))))
    return out


def entry(content: str) -> dict[str, object]:
    return {"path": f"/etc/es/{content[:8]}", "content": content, "owner": "elasticsearch",
            "permissions": "0600", "defer": True}


needs_libyaml = pytest.mark.skipif(not hasattr(yaml, "CSafeDumper"), reason="no libyaml")


@needs_libyaml
def test_libyaml_agrees_wherever_renders_alike_says_so() -> None:
    agreeing = disagreeing = 0
    for text in strings(seed=8, count=2500):
        document = {"write_files": [entry(text)], text[:20]: text}
        if yaml_text.renders_alike(document):
            assert libyaml(document, sort_keys=True) == pure_python(document, sort_keys=True)
            agreeing += 1
        elif libyaml(document, sort_keys=True) != pure_python(document, sort_keys=True):
            disagreeing += 1
    # Both sides of the predicate are exercised, and the emitters really do differ outside it.
    assert agreeing > 400
    assert disagreeing > 400


@pytest.mark.parametrize("text", ["a\tb", "line \nnext", "line\n indented", "café", "\ufeffx"])
def test_strings_libyaml_folds_differently_go_to_the_pure_python_emitter(text: str) -> None:
    assert not yaml_text.renders_alike({"content": text})


def test_dump_is_pure_pythons_text_for_any_string() -> None:
    for text in strings(seed=9, count=600):
        document = {"b": [entry(text)], "a": text, "n": 3, "t": True, "z": None}
        assert yaml_text.dump(document, sort_keys=True) == pure_python(document, sort_keys=True)
        assert yaml_text.dump(document, sort_keys=False) == pure_python(document, sort_keys=False)


def test_a_block_list_renders_item_by_item_as_one_document() -> None:
    texts = strings(seed=10, count=240)
    for start in range(0, len(texts), 6):
        items = [entry(t) for t in texts[start:start + 6]]
        assert yaml_text.dump_block_list("write_files", items) == pure_python(
            {"write_files": items}, sort_keys=False
        )
    assert yaml_text.dump_block_list("write_files", []) == "write_files: []\n"


def test_the_bundle_files_take_the_fast_path_except_indented_json() -> None:
    # What a PEM bundle holds: the fast path must not silently stop applying to it.
    pem = "-----BEGIN CERTIFICATE-----\n" + "MIIB" * 16 + "\n-----END CERTIFICATE-----\n"
    yml = vm_bundle.elasticsearch_yml("c", "es-0", {"xpack.security.transport.ssl.enabled": True,
                                                     "list": ["certs/a.crt", "certs/b.crt"]})
    assert yaml_text.renders_alike(entry(pem))
    assert yaml_text.renders_alike(entry(yml))
    assert yaml_text.renders_alike(entry("QUJD" * 400))  # base64 of a PKCS#12 store
    # secure-settings.json lines start with spaces: double-quoted, pure-Python emitter.
    assert not yaml_text.renders_alike(entry(json.dumps({"k": "v"}, indent=2)))


def random_data(rng: random.Random, depth: int = 0) -> Any:
    """Nested data of every type `dump` builds nodes for, strings from the alphabets above."""
    pick = rng.randrange(9 if depth < 3 else 5)
    if pick == 0:
        return "".join(rng.choice(rng.choice(ALPHABETS)) for _ in range(rng.randint(0, 90)))
    if pick in (1, 2):
        return rng.choice([True, False, rng.randint(-10**20, 10**20), None])
    if pick in (3, 4):
        return rng.choice(["x", "0600", "true", "~", "1e3", "- a", ""])
    if pick in (5, 6):
        return {rng.choice(PRINTABLE[:62]) * rng.randint(1, 3): random_data(rng, depth + 1)
                for _ in range(rng.randint(0, 4))}
    items = [random_data(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return items if pick == 7 else tuple(items)


def test_dump_is_pure_pythons_text_for_any_nesting_of_its_types() -> None:
    rng = random.Random(11)
    for _ in range(700):
        document = {"doc": random_data(rng), "n": 7}
        for sort_keys in (True, False):
            assert yaml_text.dump(document, sort_keys=sort_keys) == pure_python(
                document, sort_keys=sort_keys
            )
