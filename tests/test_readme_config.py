"""README's configuration tables name exactly the keys the program accepts.

A key the parser takes but the README leaves out is a setting nobody can find; one the README
lists but the parser refuses ("unknown key") is a setting nobody can use. The accepted keys come
from the parser's own key sets, so adding a key to one side alone fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components import (
    config,
    config_eck,
    config_http,
    config_posture,
    config_rotation,
    config_vm,
    eck_passthrough,
)

README = Path(__file__).resolve().parent.parent / "README.md"
NAMESPACE = "es-transport-pki"
# The first cell of a table row: one or more backticked keys, e.g. "`http.dns`, `http.ips`".
_KEYS_CELL = re.compile(r"^\|\s*((?:`[^`]+`(?:,\s*)?)+)\s*\|")


def _tables() -> list[list[str]]:
    """Each README table (after its header) as the keys of its rows, in order."""
    tables: list[list[str]] = []
    current: list[str] | None = None
    for line in README.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            current = None
            continue
        if current is None:
            current = []
            tables.append(current)
        match = _KEYS_CELL.match(line)
        if match:
            current += _expand(re.findall(r"`([^`]+)`", match.group(1)))
    return tables


def _expand(keys: list[str]) -> list[str]:
    """`a.b.c`, `.d` → a.b.c, a.b.d: a key starting with a dot shares the first one's parent."""
    parent = keys[0].rsplit(".", 1)[0]
    return [f"{parent}{key}" if key.startswith(".") else key for key in keys]


def _table_with(key: str) -> set[str]:
    found = [set(table) for table in _tables() if key in table]
    assert len(found) == 1, f"README: {len(found)} tables list {key!r}"
    return found[0]


def _under(prefix: str, keys: frozenset[str]) -> set[str]:
    return {f"{prefix}.{key}" for key in keys}


def accepted_cluster_keys() -> set[str]:
    """Every key a `clusters` item takes, as a dotted path to what the README documents: the
    sections' own keys, and whole values where the README documents one (a node, a nodeSet, a
    waiver) rather than each field inside it."""
    sections = {"ca", "nodeCertificates", "transport", "vm", "http", "eck"}
    keys = set(config.CLUSTER_KEYS - sections)
    keys |= _under("ca", config.CA_KEYS - {"rotation"})
    keys |= _under("ca.rotation", config_rotation.ROTATION_KEYS)
    keys |= _under("nodeCertificates", config.LIFETIME_KEYS)
    keys |= _under("transport", config.TRANSPORT_KEYS)
    keys |= _under("vm", config_vm.VM_KEYS)
    keys |= _under("http", config_http.HTTP_KEYS)
    keys |= _under("eck", config_eck.ECK_KEYS)
    keys |= _under("eck.nodeSets[]", eck_passthrough.NODESET_PASSTHROUGH)
    return keys


def test_the_cluster_table_lists_every_key_a_cluster_takes_and_no_other() -> None:
    documented = _table_with("ca.mode")
    accepted = accepted_cluster_keys()
    assert documented - accepted == set(), "documented, but the parser refuses them"
    assert accepted - documented == set(), "accepted, but the README does not document them"


def test_the_stack_wide_tables_list_every_top_level_key() -> None:
    posture = _table_with(f"{NAMESPACE}:{config_posture.PROTECT_CA_KEY}")
    assert posture == {f"{NAMESPACE}:{key}" for key in config_posture.POSTURE_KEYS}
    assert _table_with("kubeconfig") == set(config_eck.KUBERNETES_KEYS)
    # The two keys with sections of their own head those sections.
    text = README.read_text(encoding="utf-8")
    for key in (config.CLUSTERS_KEY, config.KUBERNETES_KEY):
        assert f"`{NAMESPACE}:{key}` —" in text
    sectioned = {config.CLUSTERS_KEY, config.KUBERNETES_KEY}
    assert config_posture.POSTURE_KEYS | sectioned == config.TOP_LEVEL_KEYS


@pytest.mark.parametrize(("keys", "expanded"), [
    (["eck.nodeSets[].config", ".podTemplate"], ["eck.nodeSets[].config",
                                                  "eck.nodeSets[].podTemplate"]),
    (["http.dns", "http.ips"], ["http.dns", "http.ips"]),
    (["name"], ["name"]),
])
def test_a_row_naming_several_keys_is_read_key_by_key(
    keys: list[str], expanded: list[str]
) -> None:
    assert _expand(keys) == expanded
