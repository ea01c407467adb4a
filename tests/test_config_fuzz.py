"""Property-based tests of the stack config edge: `parse_stack_config`, and preflight's
reading of a stack file and of a decrypted config.

Inputs start from valid configs (the example stacks, and FULL, which sets nearly every key)
and get one mutation each: a value replaced by one of another type, deleted, nested absurdly
deep, changed a little (a trailing line break, a zone index) or replaced by a secret; a key
added; a list entry duplicated; a map or list emptied. Values are what the engine can hand the
program: `json.loads` of the config text (NaN and infinities included, integers up to the 4300
digits Python decodes). Also maps of junk at the top level and as clusters, and certificates
and keys with damaged DER. The properties:

1. parsing returns a `StackSpec` or raises `ConfigError`, never another exception;
2. every problem names a stack key: a value of the config, or a key missing from one of its
   maps; after one mutation, a key in the mutated value's cluster (its top-level key outside
   `clusters`), or above the mutated value;
3. no message holds a value the stack file encrypts (`secure:`), whole, escaped or a line of it;
4. the same config gives the same result twice, and parsing leaves its input as it was;
5. an accepted config holds valid names, addresses, versions and owners only.

A stack file (YAML documents of any shape, keys of any type, `secure:` values anywhere, odd
tags, anchors, escapes, depth, long integers), alone or with a decrypted config right, a little
wrong or junk, is read by preflight and then by the program, or refused with StackFileError or
ConfigError (exit 2); every message can be printed.

Hypothesis runs derandomized and without an example database: every run checks the same
examples.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from components import config_eck, config_http, config_vm
from components.config import (
    CA_KEYS,
    CLUSTER_KEYS,
    LIFETIME_KEYS,
    TOP_LEVEL_KEYS,
    TRANSPORT_KEYS,
    WAIVER_KEYS,
    ConfigError,
    parse_stack_config,
    read_stack_config,
)
from components.config_reader import NAMESPACE, join, join_name
from components.config_rotation import ROTATION_KEYS
from components.model import StackSpec
from components.stack_settings import is_secure_value
from components.yaml_load import safe_load
from harness.mock_runtime import run_program
from harness.stack_file import StackFile, StackFileError, load_stack_file, read_decrypted_config
from tests.http_x509 import make_server_cert
from tests.test_config import CERTS_FROM, NOW, REPO
from tests.x509_factory import der_of, make_ca, pem_of

Raw = dict[str, Any]
Path_ = tuple[str | int, ...]

FUZZ = settings(
    derandomize=True, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def fuzz(examples: int) -> settings:
    return settings(FUZZ, max_examples=examples)


TRANSPORT_CA = make_ca("logs transport CA", not_before=CERTS_FROM)
ORG_CA = make_ca("org CA", not_before=CERTS_FROM)
HTTP_CERT = make_server_cert(ORG_CA, ["*.logs.example.com"], ["10.0.0.10"],
                             not_before=CERTS_FROM)
# The values the stack file holds as `secure:` (private keys): a message may never quote them.
SECRETS = (TRANSPORT_CA.key_pem, HTTP_CERT.key_pem)

# Nearly every key the config takes, valid together.
FULL: Raw = {
    "protectCa": False,
    "passphraseSecrets": "warn",
    "kubernetes": {"namespace": "elastic", "context": "kind-ci", "kubeconfig": "~/.kube/ci",
                   "renderYamlToDirectory": "out/k8s"},
    "clusters": [
        {
            "name": "logs", "delivery": "vm", "keyAlgorithm": "ecdsa-p384",
            "ca": {"mode": "provided", "certPem": TRANSPORT_CA.cert_pem,
                   "keyPem": TRANSPORT_CA.key_pem},
            "nodeCertificates": {"validityDays": 90, "renewBeforeDays": 14},
            "transport": {"clientAuthentication": "optional", "verificationMode": "certificate",
                          "waiver": {"name": "SEC-42", "reason": "rolling migration",
                                     "expires": "2027-06-30"}},
            "nodes": [
                {"name": "es-1", "dns": ["es-1.logs.internal", "es-1.logs.example.com"],
                 "ips": ["10.0.0.1", "fd00::1"]},
                {"name": "es-2", "dns": ["es-2.logs.internal"], "ips": ["10.0.0.2"]},
            ],
            "vm": {"format": "both", "outputDir": "out/ci", "writeLocalFiles": False,
                   "configDir": "/etc/elasticsearch", "owner": "elasticsearch:elasticsearch"},
            "http": {"mode": "provided", "certPem": HTTP_CERT.cert_pem,
                     "keyPem": HTTP_CERT.key_pem, "caPem": ORG_CA.cert_pem,
                     "dns": ["es.logs.example.com"], "ips": ["10.0.0.10"]},
            "rotationEpoch": 1,
            "nodeRotationEpochs": {"es-1": 2},
        },
        {
            "name": "search", "delivery": "eck",
            "ca": {"commonName": "search transport CA", "organization": "Example Corp",
                   "validityDays": 730, "renewBeforeDays": 90, "generation": 2,
                   "rotation": {"step": "introduce"}},
            "eck": {
                "name": "search", "namespace": "search-ci", "version": "8.19.2",
                "certificates": "per-node", "manageElasticsearch": True,
                "clusterDomain": "cluster.local", "extraDns": ["search.example.com"],
                "extraIps": ["10.1.0.1"],
                "nodeSets": [
                    {"name": "masters", "count": 3, "config": {"node.roles": ["master"]},
                     "podTemplate": {"spec": {"containers": [
                         {"name": "elasticsearch", "resources": {"limits": {"memory": "4Gi"}}},
                     ]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "elasticsearch-data"}}]},
                    {"name": "data", "count": 2},
                ],
                "spec": {"http": {"service": {"spec": {"type": "ClusterIP"}}}},
            },
            "http": {"mode": "generated", "dns": ["search.example.com"],
                     "caCommonName": "search HTTP CA"},
        },
    ],
}


def _example_stack(name: str) -> Raw:
    """The namespace's config of stacks/Pulumi.<name>.yaml, as the CLI reads the file."""
    config = safe_load((REPO / "stacks" / f"Pulumi.{name}.yaml").read_text())["config"]
    prefix = f"{NAMESPACE}:"
    return {key.removeprefix(prefix): value for key, value in config.items()
            if key.startswith(prefix)}


# Base name → (stack name, valid config).
BASES: dict[str, tuple[str, Raw]] = {
    "full": ("ci", FULL),
    **{name: (name, _example_stack(name)) for name in ("dev", "staging", "prod")},
}

# Every key name the config knows, so that junk maps reach deep into the parser.
KNOWN_KEYS = sorted(
    TOP_LEVEL_KEYS | CLUSTER_KEYS | CA_KEYS | LIFETIME_KEYS | TRANSPORT_KEYS | WAIVER_KEYS
    | ROTATION_KEYS | config_eck.ECK_KEYS | config_eck.NODESET_KEYS
    | config_eck.KUBERNETES_KEYS | config_vm.NODE_KEYS | config_vm.VM_KEYS
    | config_http.HTTP_KEYS | {"spec", "transport", "tls", "http", "containers", "volumes"}
)
WORDS = [
    # every enum value, so that a replaced value is sometimes valid elsewhere
    "vm", "eck", "generated", "provided", "none", "optional", "required", "full",
    "certificate", "per-node", "ca-to-eck", "shared", "pem", "pkcs12", "both", "introduce",
    "switch", "retire", "allow", "warn", "refuse", "ecdsa-p256", "ecdsa-p384", "rsa-2048",
    "rsa-1024", "ED25519", "ecdsa-p224",
    # names and addresses, valid and almost valid
    "es-1", "es-1\n", " es-1", "ES-1", "logs", "a" * 64, "es-1.logs.internal",
    "es-1.logs.internal\n", "es-1.logs.internal.", "*.logs.internal", "10.0.0.1",
    "10.0.0.1\n", "fd00::1", "fe80::1%eth0", "::ffff:10.0.0.1", "8.19.2", "8.19.2\n",
    "2027-01-31", "2020-01-01", "20270131", "/etc/elasticsearch", "etc/elasticsearch",
    "elasticsearch:elasticsearch", "elasticsearch\n",
    # text that is not what anyone meant
    "", " ", "\n", "\t", "\x00", "é", "\u212a", "İ", "日本語", "\U0001f600", "null", "true",
    "1e400", "NaN", "x" * 10_000, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    TRANSPORT_CA.cert_pem, ORG_CA.cert_pem, HTTP_CERT.cert_pem + ORG_CA.cert_pem,
    # a secret pasted where it does not belong (the stack file would hold it `secure:` there)
    *SECRETS,
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    # JSON decodes integers up to 4300 digits; 2**63 and beyond overflow Go's and C's ints
    st.sampled_from([0, -1, 2**31, 2**63, -(2**63) - 1, 10**100, -(10**4299)]),
    st.floats(),  # NaN, ±inf, -0.0, subnormals, 1.7e308
    st.text(max_size=12),
    st.sampled_from(WORDS),
)
JUNK = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=6), inner, max_size=4),
    max_leaves=10,
)


def walk(value: object) -> Iterator[tuple[Path_, object]]:
    """(path, value) of `value` and everything in it. Iterative: mutations nest 999 deep."""
    pending: list[tuple[Path_, object]] = [((), value)]
    while pending:
        path, item = pending.pop()
        yield path, item
        if isinstance(item, dict):
            pending.extend(((*path, name), child) for name, child in reversed(item.items()))
        elif isinstance(item, list):
            pending.extend(((*path, index), child) for index, child in reversed(
                list(enumerate(item))))


def config_key(path: Path_) -> str:
    """The stack key `nested_values` and `Secrecy` use for `path`."""
    key = ""
    for part in path:
        key = join(key, part)
    return key


def stack_key(path: Path_) -> str:
    """The stack key a problem names for `path` (`join_name` quotes odd map keys)."""
    key = ""
    for part in path:
        key = join(key, part) if isinstance(part, int) else join_name(key, part)
    return key


def parent_and_last(raw: Raw, path: Path_) -> tuple[Any, str | int]:
    target: Any = raw
    for part in path[:-1]:
        target = target[part]
    return target, path[-1]


@dataclass(frozen=True)
class Mutation:
    kind: str
    path: Path_
    # stack keys the mutation touched: problems about it name one of these, or a key in or
    # above one of them
    touched: tuple[str, ...]


# Small changes to a string that make a valid value almost valid: (prefix, suffix).
AFFIXES = [("", "\n"), (" ", ""), ("", " "), ("", "."), ("*.", ""), ("", "%eth0"), ("", "\x00"),
           ("", "-"), ("", "é"), ("", "\u212a")]


def nested(kind: str, levels: int) -> object:
    value: object = "x"
    for _ in range(levels):
        value = {"a": value} if kind == "map" else [value]
    return value


def engine_value(raw: Raw) -> Raw | None:
    """`raw` as the program gets it: JSON text the engine passes, decoded; None when Python's
    decoder cannot read it (nested too deep), which `read_stack_config` reports itself."""
    try:
        decoded: Raw = json.loads(json.dumps(raw))
    except RecursionError:
        return None
    return decoded


MUTATIONS = ["replace", "delete", "add", "duplicate", "empty", "tweak", "nest", "secret"]
# A secret pasted into the wrong key, alone or inside a value.
MISPLACED_SECRETS = st.sampled_from(SECRETS).flatmap(
    lambda secret: st.sampled_from([secret, [secret], {"keyPem": secret}, [1, {"a": secret}]]))


@st.composite
def mutated_configs(draw: st.DrawFn) -> tuple[str, Raw, Mutation]:
    stack, base = BASES[draw(st.sampled_from(sorted(BASES)))]
    raw = copy.deepcopy(base)
    everything = list(walk(raw))
    kind = draw(st.sampled_from(MUTATIONS))
    touched: tuple[str, ...]
    if kind in ("replace", "delete", "nest", "tweak", "secret"):
        choices = [p for p, v in everything if p and (kind != "tweak" or isinstance(v, str))]
        path = draw(st.sampled_from(choices))
        parent, last = parent_and_last(raw, path)
        if kind == "replace":
            parent[last] = draw(JUNK)
        elif kind == "secret":
            parent[last] = copy.deepcopy(draw(MISPLACED_SECRETS))
        elif kind == "delete":
            del parent[last]
        elif kind == "nest":
            parent[last] = nested(draw(st.sampled_from(["map", "list"])), draw(st.integers(1, 999)))
        else:
            prefix, suffix = draw(st.sampled_from(AFFIXES))
            parent[last] = prefix + parent[last] + suffix
        touched = (stack_key(path),)
    elif kind == "add":
        path = draw(st.sampled_from([p for p, v in everything if isinstance(v, dict)]))
        target: dict[str, Any] = raw if not path else parent_and_last(raw, path)[0][path[-1]]
        name = draw((st.sampled_from(KNOWN_KEYS) | st.text(max_size=8)).filter(
            lambda n: n not in target))
        target[name] = draw(JUNK)
        path = (*path, name)
        touched = (stack_key(path),)
    elif kind == "duplicate":
        path = draw(st.sampled_from([p for p, v in everything if isinstance(v, list) and v]))
        items: list[Any] = parent_and_last(raw, path)[0][path[-1]]
        items.append(copy.deepcopy(items[draw(st.integers(0, len(items) - 1))]))
        touched = (stack_key(path), stack_key((*path, len(items) - 1)))
    else:
        path = draw(st.sampled_from(
            [p for p, v in everything if p and isinstance(v, dict | list)]))
        parent, last = parent_and_last(raw, path)
        parent[last] = type(parent[last])()
        touched = (stack_key(path),)
    decoded = engine_value(raw)
    assume(decoded is not None)
    assert decoded is not None
    return stack, decoded, Mutation(kind, path, touched)


SECRECY_MODES = ["stack file", "engine only"]


def secrecy(raw: Mapping[str, Any], mode: str) -> dict[str, Any]:
    """`parse_stack_config`'s secrecy arguments for a stack whose every secret value is
    `secure:` in the stack file ("stack file"), or whose config comes from elsewhere (an ESC
    environment: "engine only", each top-level key holding one is secret as a whole)."""
    paths = {top: frozenset(config_key((top, *path)) for path, found in walk(value)
                            if isinstance(found, str) and found in SECRETS)
             for top, value in raw.items()}
    secret_keys = {top for top, found in paths.items() if found}
    if mode == "engine only":
        return {"secret_keys": secret_keys}
    return {"secret_keys": secret_keys, "secure_values": paths}


def outcome(raw: Raw, stack: str, mode: str = "stack file") -> StackSpec | ConfigError:
    """The parse's result or its ConfigError; any other exception fails the test."""
    try:
        return parse_stack_config(raw, stack=stack, now=NOW, **secrecy(raw, mode))
    except ConfigError as err:
        return err


# A `pulumi config set --path` key: steps `name`, `.name`, `[index]` or `["name"]` (JSON-quoted).
_STEP = re.compile(
    r'(?P<dot>^|\.)(?P<name>[^.\[\]"]+)|\[(?P<index>\d+)\]|\[(?P<quoted>"(?:[^"\\]|\\.)*")\]'
)


def key_steps(key: str) -> list[str | int] | None:
    """The steps of a stack key, or None when it is not one."""
    steps: list[str | int] = []
    position = 0
    while position < len(key) or not steps:
        found = _STEP.match(key, position)
        if found is None or (found["name"] is not None and found["dot"] == "" and steps):
            return None
        if found["index"] is not None:
            steps.append(int(found["index"]))
        else:
            steps.append(found["name"] if found["name"] is not None
                         else json.loads(found["quoted"]))
        position = found.end()
    return steps if isinstance(steps[0], str) else None


def resolves(raw: Raw, key: str) -> bool:
    """`key` names a value of `raw`, or a key missing from a map of `raw` (one that is
    required, or that another key's value calls for). A null is an empty map, as the config
    reads an empty section."""
    steps = key_steps(key)
    if steps is None:
        return False
    value: Any = raw
    for number, step in enumerate(steps):
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return False
            value = value[step]
            continue
        if value is None or (isinstance(value, dict) and step not in value):
            return number == len(steps) - 1
        if not isinstance(value, dict):
            return False
        value = value[step]
    return True


def within(key: str, ancestor: str) -> bool:
    return key == ancestor or key.startswith((f"{ancestor}.", f"{ancestor}["))


def scope(key: str) -> str:
    """The part of the config a key's value can affect: its cluster, or its top-level key."""
    match = re.match(r"clusters\[\d+\]|[^.\[]+", key)
    return match.group() if match else key


def _secret_forms(secret: str) -> Iterator[str]:
    """The secret as a message could hold it: whole, escaped, or any line of its body."""
    yield secret
    yield repr(secret)[1:-1]
    yield json.dumps(secret)[1:-1]
    yield from (line for line in secret.splitlines() if len(line) >= 16 and "-----" not in line)


def assert_no_secret(result: StackSpec | ConfigError, secrets: tuple[str, ...]) -> None:
    if isinstance(result, ConfigError):
        text = str(result)
        for secret in secrets:
            for form in _secret_forms(secret):
                assert form not in text, f"a secret is quoted: {text[:2000]}"


_LABEL = re.compile(r"\A[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\Z")
_VERSION = re.compile(r"\A\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?\Z")
_OWNER = re.compile(r"\A[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?\Z")


def _dns_name(name: str) -> bool:
    return len(name) <= 253 and all(_LABEL.match(label) for label in name.split("."))


def _address(text: str) -> bool:
    """What Go's net.ParseIP (pulumi-tls) reads back as the same address: no IPv6 zone."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return str(address) == text and "%" not in text


def assert_valid(spec: StackSpec) -> None:
    for cluster in spec.clusters:
        assert _LABEL.match(cluster.name), cluster.name
        for node in cluster.nodes:
            assert _LABEL.match(node.name), node.name
            assert all(_dns_name(name) for name in node.dns_names), node
            assert all(_address(ip) for ip in node.ip_addresses), node
        if cluster.eck is not None:
            assert _LABEL.match(cluster.eck.name) and _LABEL.match(cluster.eck.namespace)
            assert cluster.eck.version is None or _VERSION.match(cluster.eck.version)
            assert _dns_name(cluster.eck.cluster_domain)
        if cluster.vm is not None:
            assert _OWNER.match(cluster.vm.owner), cluster.vm
            assert cluster.vm.config_dir.startswith("/")
        if cluster.http is not None:
            assert all(_dns_name(name) for name in cluster.http.dns_names), cluster.http
            assert all(_address(ip) for ip in cluster.http.ip_addresses), cluster.http


def assert_names_keys(error: ConfigError, raw: Raw) -> None:
    assert error.problems, "a ConfigError without problems"
    for problem in error.problems:
        assert str(problem).startswith(f"{NAMESPACE}:{problem.key}: ")
        assert problem.message.strip(), problem
        assert resolves(raw, problem.key), f"{problem.key!r} is no key of the config: {problem}"


def assert_near(error: ConfigError, mutation: Mutation) -> None:
    """One change reaches no further than its own cluster (or top-level key), and the
    cross-cluster checks that name `clusters` itself."""
    for problem in error.problems:
        assert any(
            within(problem.key, scope(touched)) or within(touched, problem.key)
            for touched in mutation.touched
        ), (mutation, str(problem))


def assert_same(first: StackSpec | ConfigError, second: StackSpec | ConfigError) -> None:
    if isinstance(first, ConfigError):
        assert isinstance(second, ConfigError) and first.problems == second.problems
    else:
        assert first == second


# --- One mutation of a valid config --------------------------------------------------------


@fuzz(600)
@given(mutated_configs(), st.sampled_from(SECRECY_MODES))
def test_a_mutated_config_is_read_or_refused_as_promised(
    case: tuple[str, Raw, Mutation], mode: str,
) -> None:
    stack, raw, mutation = case
    before = json.dumps(raw)  # C code: `raw` may nest deeper than deepcopy's recursion reaches
    result = outcome(raw, stack, mode)  # 1
    assert_same(result, outcome(raw, stack, mode))  # 4
    assert json.dumps(raw) == before, "parsing changed its input"
    assert_no_secret(result, SECRETS)  # 3
    if isinstance(result, ConfigError):  # 2
        assert_names_keys(result, raw)
        assert_near(result, mutation)
    else:  # 5
        assert_valid(result)


# --- Junk ----------------------------------------------------------------------------------


@fuzz(120)
@given(st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=10), JUNK, max_size=5))
def test_junk_at_the_top_level_is_refused_naming_the_keys(raw: Raw) -> None:
    result = outcome(raw, "dev")
    assert isinstance(result, ConfigError)  # `clusters` is never valid junk
    assert_names_keys(result, raw)
    assert_no_secret(result, SECRETS)


@fuzz(120)
@given(st.lists(st.dictionaries(st.sampled_from(sorted(CLUSTER_KEYS)), JUNK, max_size=6),
                min_size=1, max_size=2))
def test_clusters_of_junk_are_refused_naming_the_keys(clusters: list[Raw]) -> None:
    raw: Raw = {"clusters": clusters}
    result = outcome(raw, "dev")
    assert isinstance(result, ConfigError)  # no junk cluster has a delivery and nodes
    assert_names_keys(result, raw)
    assert_no_secret(result, SECRETS)


# --- Certificates and keys damaged byte by byte ----------------------------------------------


# (cluster, section, key, PEM label) of every PEM value FULL holds.
PEM_VALUES = [
    (0, "ca", "certPem", "CERTIFICATE"), (0, "ca", "keyPem", "PRIVATE KEY"),
    (0, "http", "certPem", "CERTIFICATE"), (0, "http", "keyPem", "PRIVATE KEY"),
    (0, "http", "caPem", "CERTIFICATE"),
]


@st.composite
def damaged_pems(draw: st.DrawFn) -> tuple[Raw, str]:
    """FULL with one certificate or key whose DER has a few bytes changed, or is cut short:
    what `cryptography` loads and what it then fails to read differ byte by byte."""
    index, section, name, label = draw(st.sampled_from(PEM_VALUES))
    raw = copy.deepcopy(FULL)
    holder = raw["clusters"][index][section]
    der = bytearray(der_of(holder[name])[1])
    if draw(st.booleans()):
        for _ in range(draw(st.integers(1, 4))):
            der[draw(st.integers(0, len(der) - 1))] = draw(st.integers(0, 255))
    else:
        del der[draw(st.integers(1, len(der) - 1)):]
    holder[name] = pem_of(label, bytes(der))
    return raw, holder[name] if name == "keyPem" else ""


@fuzz(300)
@given(damaged_pems())
def test_a_damaged_certificate_or_key_is_refused_naming_the_key(case: tuple[Raw, str]) -> None:
    raw, damaged_key = case
    secrets = (*SECRETS, damaged_key) if damaged_key else SECRETS
    paths = frozenset(config_key(("clusters", *path)) for path, value in walk(raw["clusters"])
                      if value in secrets)
    try:
        result: StackSpec | ConfigError = parse_stack_config(
            raw, stack="ci", now=NOW, secret_keys={"clusters"},
            secure_values={"clusters": paths})
    except ConfigError as err:
        result = err
    if isinstance(result, ConfigError):
        assert_names_keys(result, raw)
    assert_no_secret(result, secrets)


def test_every_string_changed_a_little_is_refused_or_valid() -> None:
    """Each string of each base with each of AFFIXES, all of them: random draws seldom hit the
    few strings (names, addresses, versions) where such a change matters."""
    for stack, base in BASES.values():
        raw = copy.deepcopy(base)
        for path, value in list(walk(raw)):
            if not isinstance(value, str) or "-----BEGIN" in value:  # PEM: damaged_pems
                continue
            parent, last = parent_and_last(raw, path)
            for prefix, suffix in AFFIXES:
                parent[last] = prefix + value + suffix
                result = outcome(raw, stack)
                if isinstance(result, ConfigError):
                    assert_names_keys(result, raw)
                else:
                    assert_valid(result)
            parent[last] = value


def test_the_bases_are_valid() -> None:
    """The mutations start from valid configs, so each problem comes from the mutation."""
    for stack, raw in BASES.values():
        result = outcome(raw, stack)
        assert not isinstance(result, ConfigError), result
        assert_valid(result)
    assert {"clusters[0].ca.keyPem", "clusters[0].http.keyPem"} == set(
        secrecy(FULL, "stack file")["secure_values"]["clusters"])


# --- preflight --stack-file: the stack file as preflight reads it ---------------------------
#
# preflight reads the YAML itself (harness.stack_file), where `pulumi up` has the CLI's reading;
# then the program reads it again for its secrets provider and `secure:` values
# (components.stack_settings) and its config through the engine (read_stack_config). A stack
# file is read or refused with StackFileError (exit 2), and every message can be printed.

YAML_KEYS = st.one_of(
    st.sampled_from([f"{NAMESPACE}:{name}" for name in sorted(TOP_LEVEL_KEYS)]
                    + ["aws:region", "secure", "config", f"{NAMESPACE}:"]),
    st.text(max_size=6), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False),
)
SECURE_VALUES = st.builds(lambda value: {"secure": value}, st.text(max_size=6) | st.integers())
YAML_VALUES = st.recursive(
    SCALARS.filter(lambda value: not (isinstance(value, str) and len(value) > 100))
    | SECURE_VALUES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(YAML_KEYS, inner, max_size=3),
    max_leaves=8,
)
STACK_DOCUMENTS = st.one_of(
    st.fixed_dictionaries({"config": st.dictionaries(YAML_KEYS, YAML_VALUES, max_size=4)},
                          optional={"secretsprovider": YAML_VALUES,
                                    "encryptionsalt": YAML_VALUES}),
    st.fixed_dictionaries({"config": YAML_VALUES}),
    YAML_VALUES,
)
CLUSTERS = f"config:\n  {NAMESPACE}:clusters: "
# What a YAML parser makes of text no dump writes: tags, anchors, escapes, depth, size.
ODD_STACK_FILES = [
    "", "---\n", "- a\n- b\n", "just text\n", "42\n", "~\n", "config: [1, 2]\n",
    "config: text\n", "secretsprovider: [1]\nconfig: {}\n",
    f"config:\n  {NAMESPACE}:protectCa: {'9' * 5000}\n",
    f"config:\n  {NAMESPACE}:protectCa: -{'9' * 4299}\n",
    CLUSTERS + "[" * 2000 + "]" * 2000 + "\n",
    CLUSTERS + "[" * 900 + "]" * 900 + "\n",
    CLUSTERS + "{a: " * 900 + "1" + "}" * 900 + "\n",
    "config: &c\n  es-transport-pki:clusters: *c\n",
    CLUSTERS + "&l [*l]\n",
    CLUSTERS + "*undefined\n",
    CLUSTERS + "!!binary aGVsbG8=\n",
    CLUSTERS + "!!set {a, b}\n",
    CLUSTERS + "!!timestamp 2020-01-01\n",
    CLUSTERS + "!!timestamp 2020-13-45\n",
    CLUSTERS + "!!omap [a: 1]\n",
    CLUSTERS + "!!pairs [a: 1, a: 2]\n",
    CLUSTERS + "!!float 1e400\n",
    CLUSTERS + '"\\ud800"\n',
    CLUSTERS + "[{name: a, delivery: vm, nodes: [{name: n, dns: [n.a.internal]}], "
    '"\\udc00x": 1}]\n',
    'config:\n  "\\udc00": 1\n',
    "config:\n  1: {secure: x}\n  es-transport-pki:a: {secure: y}\n",
    "config:\n  true: {secure: x}\n",
    "config:\n  ? [a, b]\n  : 1\n",
    CLUSTERS + "[{secure: x}, {secure: [1]}]\n",
    CLUSTERS + "\n    secure: {secure: x}\n",
    "config:\n  es-transport-pki:clusters: [1]\n  es-transport-pki:clusters: [2]\n",
]


def printable(message: str) -> None:
    """preflight prints every message to a UTF-8 stream."""
    message.encode("utf-8")


def program_reads(stack_file: StackFile, root: Path) -> StackSpec | ConfigError:
    """What the program makes of the config `load_stack_file` hands the engine."""
    results: list[StackSpec | ConfigError] = []

    def program() -> None:
        try:
            results.append(read_stack_config(NOW))
        except ConfigError as err:
            results.append(err)

    run_program(program, config=stack_file.config, secret_keys=stack_file.secret_keys,
                stack="fuzz", root_directory=root)
    [result] = results
    return result


def read_or_refused(path: Path, decrypted: str | None = None) -> None:
    try:
        values = None if decrypted is None else read_decrypted_config(decrypted)
        stack_file = load_stack_file(path, values)
    except StackFileError as err:
        printable(str(err))
        return
    assert all(isinstance(key, str) and isinstance(value, str)
               for key, value in stack_file.config.items()), stack_file.config
    result = program_reads(stack_file, path.parent)
    if isinstance(result, ConfigError):
        printable(str(result))


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack-files")


def write_stack_file(directory: Path, text: str) -> Path:
    path = directory / "Pulumi.fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@fuzz(100)
@given(STACK_DOCUMENTS)
def test_a_stack_file_is_read_or_refused_with_a_printable_message(
    stack_dir: Path, document: object,
) -> None:
    read_or_refused(write_stack_file(stack_dir, yaml.safe_dump(document, sort_keys=False)))


@pytest.mark.parametrize("text", ODD_STACK_FILES)
def test_an_odd_stack_file_is_read_or_refused_with_a_printable_message(
    tmp_path: Path, text: str,
) -> None:
    read_or_refused(write_stack_file(tmp_path, text))


def _decrypted(value: object, draw: st.DrawFn) -> object:
    """`value` with each `secure:` value decrypted (a string), as the CLI prints it."""
    if is_secure_value(value):
        return draw(st.text(max_size=6))
    if isinstance(value, dict):
        return {str(name): _decrypted(child, draw) for name, child in value.items()}
    if isinstance(value, list):
        return [_decrypted(child, draw) for child in value]
    return value


@st.composite
def decrypted_configs(draw: st.DrawFn) -> tuple[str, str]:
    """A stack file and what `pulumi config --json --show-secrets` could print for it: right,
    or a little wrong (a flag, a value, a key), or junk."""
    document = draw(STACK_DOCUMENTS)
    text = yaml.safe_dump(document, sort_keys=False)
    config = document.get("config") if isinstance(document, dict) else None
    printed: dict[str, Any] = {}
    for key, value in (config.items() if isinstance(config, dict) else ()):
        plain = _decrypted(value, draw)
        entry: dict[str, Any] = {
            "value": plain if isinstance(plain, str) else json.dumps(plain),
            "secret": json.dumps(value) != json.dumps(plain),
        }
        if isinstance(plain, dict | list):
            entry["objectValue"] = plain
        printed[str(key)] = entry
    wrong_field, extra_key = draw(st.booleans()), draw(st.booleans())
    if printed and wrong_field:
        entry = printed[draw(st.sampled_from(sorted(printed)))]
        entry[draw(st.sampled_from(["value", "secret", "objectValue"]))] = draw(JUNK)
    if extra_key:
        printed[draw(st.text(max_size=6))] = draw(JUNK)
    return text, draw(st.just(json.dumps(printed)) | st.text(max_size=20))


@fuzz(100)
@given(decrypted_configs())
def test_a_stack_file_with_its_decrypted_config_is_read_or_refused_printably(
    stack_dir: Path, case: tuple[str, str],
) -> None:
    text, decrypted = case
    read_or_refused(write_stack_file(stack_dir, text), decrypted)


SECURE_STACK_FILE = CLUSTERS + "[{name: a, ca: {keyPem: {secure: djE6YQ==}}}]\n"
# What a JSON parser makes of text `pulumi config --json` never prints.
ODD_DECRYPTED_CONFIGS = [
    "", "null", "[]", '"text"', "{", "[" * 5000 + "]" * 5000,
    '{"a": ' + "[" * 5000 + "]" * 5000 + "}",
    '{"a": {"value": "x", "secret": false, "n": 1' + "0" * 5000 + "}}",
    '{"\\udc00": {"value": "x"}}', '{"a": {"value": "\\ud800", "secret": true}}',
    '{"es-transport-pki:clusters": {"value": "[]", "secret": true, "objectValue": NaN}}',
    '{"es-transport-pki:clusters": {"value": 1, "secret": true}}',
    '{"es-transport-pki:clusters": {"value": "[{\\"name\\": \\"a\\"}]", "secret": true, '
    '"objectValue": [{"name": "a", "ca": {"keyPem": ["not", "text"]}}]}}',
    '{"es-transport-pki:clusters": {"value": "x", "secret": true, "objectValue": '
    '[{"name": "a", "ca": {"keyPem": "k"}}]}}',
]


@pytest.mark.parametrize("decrypted", ODD_DECRYPTED_CONFIGS)
def test_an_odd_decrypted_config_is_read_or_refused_with_a_printable_message(
    tmp_path: Path, decrypted: str,
) -> None:
    read_or_refused(write_stack_file(tmp_path, SECURE_STACK_FILE), decrypted)
